package web

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// The backups section of the container page: "Back up now", the
// container's backups across every backup storage the viewer may see
// (newest first), and restore, delete, notes and protection, each offered
// only with the privileges PVE will ask for (§5.4, §6.20 of the facts).

// Backup privileges.
const (
	privBackup        = "VM.Backup"
	privVMAllocate    = "VM.Allocate"
	privSpace         = "Datastore.AllocateSpace"
	privStoreAllocate = "Datastore.Allocate"
	privStoreAudit    = "Datastore.Audit"
)

// storageOpt is a storage offered in a form.
type storageOpt struct {
	ID     string
	Shared bool
	Free   int64 // bytes free as the container's node sees it; 0 if unknown
}

// backupRow is one backup in the list.
type backupRow struct {
	lxc.Backup
	When, ISO, Ago string
	CanDelete      bool // Datastore.AllocateSpace there and VM.Backup on the container
	CanEdit        bool // notes and protection: what PVE asks to access the backup
	CanRestore     bool
}

// backupCan says what the viewer may start from the section.
type backupCan struct {
	Backup      bool // VM.Backup and a backup storage with Datastore.AllocateSpace
	RestoreOver bool // VM.Allocate or VM.Backup on the container, a target storage
	RestoreNew  bool // VM.Allocate on /vms or the container's pool, a target storage
}

// backupsView is the data of the section.
type backupsView struct {
	Base    string
	VMID    int
	Loaded  bool
	Problem string
	Rows    []backupRow
	// Storages are the backup storages listed; Hidden is set when the
	// viewer may access none of them (PVE then lists no backups).
	Storages []string
	Hidden   bool
	Targets  []storageOpt // where "Back up now" may write
	Restore  []storageOpt // where a restore may create volumes
	// Pools a new container may join (VM.Allocate there); NoPool is set
	// when it may also join none (VM.Allocate on /vms).
	Pools   []string
	NoPool  bool
	Can     backupCan
	Running bool
	Lock    string
	// The "Back up now" form after a refused attempt.
	Form backupForm
	// Error is a refusal of another backup form, shown above the list.
	Error string

	now      time.Time
	perms    lxc.Permissions // per storage, from /access/permissions?path=
	entries  []lxc.StorageEntry
	pool     string
	template bool
}

// backupForm is the "Back up now" form.
type backupForm struct {
	Storage, Mode, Compress, Notes string
	Protected                      bool
	Error                          string
}

// IsStale reports whether a backup taken at t is older than the
// threshold (defaultStaleBackup on the container page).
func (v backupsView) IsStale(t time.Time) bool { return v.now.Sub(t) > defaultStaleBackup }

// StaleText is the threshold in words.
func (v backupsView) StaleText() string { return formatStale(defaultStaleBackup) }

// ModeOptions and CompressOptions are the choices of the form.
func (v backupsView) ModeOptions() string {
	return "options=snapshot:Snapshot (no downtime),suspend:Suspend (short pause),stop:Stop (the container is stopped meanwhile)"
}

// CompressOptions lists the compressions, zstd first.
func (v backupsView) CompressOptions() string {
	return "options=zstd:ZSTD (fast and good),gzip:GZIP (good),lzo:LZO (fast),0:None"
}

// TargetOptions is the storage choice of "Back up now".
func (v backupsView) TargetOptions() string { return storageOptions(v.Targets) }

// storageOptions renders storages as the "options=" of the field template.
func storageOptions(s []storageOpt) string {
	out := "options="
	for i, o := range s {
		if i > 0 {
			out += ","
		}
		label := o.ID
		if o.Shared {
			label += " (shared)"
		}
		if o.Free > 0 {
			label += " – " + formatBytes(o.Free) + " free"
		}
		out += o.ID + ":" + label
	}
	return out
}

// loadBackups finds the backup storages (/cluster/resources), then asks,
// in parallel, for the viewer's privileges on every storage and for the
// container's backups on each backup storage as its node sees it.
func (s *Server) loadBackups(ctx context.Context, id lxc.Identity, t target) backupsView {
	v := backupsView{Base: containerPath(t), VMID: t.VMID, perms: lxc.Permissions{},
		Form: backupForm{Mode: "snapshot", Compress: "zstd", Notes: "{{guestname}}"}}
	entries, err := s.cfg.PVE.StorageEntries(ctx, id)
	if err != nil {
		s.log.Warn("container page: storages", "vmid", t.VMID, "err", err)
		v.Problem = "The backups could not be loaded."
		return v
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if e.Node == t.Node {
			v.entries = append(v.entries, e)
			ids[e.Storage] = true
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for sid := range ids {
		wg.Go(func() {
			p, err := s.cfg.PVE.Permissions(ctx, id, "/storage/"+sid)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for path, privs := range p {
				v.perms[path] = privs
			}
		})
	}
	for _, e := range v.entries {
		if !e.Holds("backup") {
			continue
		}
		v.Storages = append(v.Storages, e.Storage)
		wg.Go(func() {
			list, err := s.cfg.PVE.Backups(ctx, id, t.Node, e.Storage, t.VMID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, b := range list {
				v.Rows = append(v.Rows, backupRow{Backup: b})
			}
		})
	}
	wg.Wait()
	sort.Strings(v.Storages)
	if len(errs) > 0 {
		s.log.Warn("container page: backups", "vmid", t.VMID, "err", errs[0])
		v.Problem = "Some backups could not be loaded."
	}
	now := s.cfg.Now()
	v.now = now
	sort.Slice(v.Rows, func(i, j int) bool {
		if !v.Rows[i].Time.Equal(v.Rows[j].Time) {
			return v.Rows[i].Time.After(v.Rows[j].Time)
		}
		return v.Rows[i].VolID < v.Rows[j].VolID
	})
	for i := range v.Rows {
		r := &v.Rows[i]
		r.When, r.ISO, r.Ago = r.Time.Format("2006-01-02 15:04"), r.Time.UTC().Format(time.RFC3339), formatAge(now.Sub(r.Time))
	}
	v.Loaded = true
	return v
}

// finish adds what the rest of the page knows: the container's state,
// pool and the viewer's VM privileges.
func (v *backupsView) finish(p lxc.Permissions, ct lxc.Container) {
	v.Running, v.Lock, v.pool, v.template = ct.Running(), ct.Lock, ct.Pool, ct.Template
	onCT := func(priv string) bool { return p.CanOnContainer(v.VMID, ct.Pool, priv) }
	onStore := func(sid, priv string) bool { return v.perms.Has("/storage/"+sid, priv) }
	access := func(sid string) bool {
		return onStore(sid, privStoreAllocate) || (onStore(sid, privSpace) && onCT(privBackup))
	}
	v.Hidden = v.Loaded && len(v.Storages) > 0
	for _, sid := range v.Storages {
		v.Hidden = v.Hidden && !access(sid)
	}
	v.NoPool = p.Has("/vms", privVMAllocate)
	v.Pools = allocatePools(p, ct.Pool)
	newOK := v.NoPool || len(v.Pools) > 0
	for _, e := range v.entries {
		opt := storageOpt{ID: e.Storage, Shared: e.Shared, Free: max(e.Total-e.Used, 0)}
		if e.Holds("backup") && onStore(e.Storage, privSpace) && onCT(privBackup) {
			v.Targets = append(v.Targets, opt)
		}
		if e.Holds("rootdir") && onStore(e.Storage, privSpace) {
			v.Restore = append(v.Restore, opt)
		}
	}
	v.Can = backupCan{Backup: len(v.Targets) > 0 && !ct.Template,
		RestoreOver: len(v.Restore) > 0 && (onCT(privVMAllocate) || onCT(privBackup)),
		RestoreNew:  len(v.Restore) > 0 && newOK}
	for i := range v.Rows {
		r := &v.Rows[i]
		r.CanEdit = access(r.Storage)
		r.CanDelete = onStore(r.Storage, privSpace) && onCT(privBackup)
		r.CanRestore = v.Can.RestoreOver || (v.Can.RestoreNew && r.CanEdit)
	}
	if v.Form.Storage == "" && len(v.Targets) > 0 {
		v.Form.Storage = v.Targets[0].ID
	}
}

// row returns the listed backup volid.
func (v backupsView) row(volid string) (backupRow, bool) {
	for _, r := range v.Rows {
		if r.VolID == volid {
			return r, true
		}
	}
	return backupRow{}, false
}

// allocatePools are the pools where the viewer may create containers
// (VM.Allocate on /pool/<name>), the container's own first. PVE lists the
// pool of a container only to those with Pool.Audit, so the privileges
// are what names the pools.
func allocatePools(p lxc.Permissions, own string) []string {
	var out []string
	for path := range p {
		name, ok := strings.CutPrefix(path, "/pool/")
		if ok && name != "" && p.Has(path, privVMAllocate) {
			out = append(out, name)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == own) != (out[j] == own) {
			return out[i] == own
		}
		return out[i] < out[j]
	})
	return out
}
