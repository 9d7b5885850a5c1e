package ops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// Restoring a backup (pve-container API2/LXC.pm create_vm with restore=1,
// LXC/Create.pm): the checks before the task in PVE's order, the
// container's file written with the lock "create", then a "vzrestore"
// task that allocates the volumes at their backed-up sizes, extracts the
// archive and merges the backed-up configuration with the given options.
// Over an existing (stopped) container with force, its old volumes are
// destroyed and its snapshots are gone.

// RestoreRequest is POST /nodes/{node}/lxc with restore=1, its
// parameters verified.
type RestoreRequest struct {
	VMID    int
	Archive string // ostemplate: the backup's volid
	Storage string // "" for PVE's default, local
	Pool    string
	// Unprivileged is "0", "1", or "" when not given (then the backup's).
	Unprivileged         string
	Force, Unique, Start bool
	// Options are configuration options given; they win over the
	// backup's.
	Options map[string]string
}

// hwaddrRe finds the MAC address in a netN value.
var hwaddrRe = regexp.MustCompile(`hwaddr=[0-9A-Fa-f:]+`)

// restoreSkip are the backed-up options a restore does not take over.
var restoreSkip = regexp.MustCompile(`^(digest|rootfs|mp\d+|unused\d+|snapshots|parent|template|lock)$`)

// Restore is POST /nodes/{node}/lxc with restore=1. It answers the UPID
// of the vzrestore task.
func (o *Ops) Restore(c Caller, r RestoreRequest) (string, error) {
	vmid := strconv.Itoa(r.VMID)
	if !o.Cluster.Quorate() {
		return "", state.Dief("cluster not ready - no quorum?\n")
	}
	old := o.Cluster.LocalCT(c.Node, vmid)
	if old == nil || !r.Force {
		if g := o.Cluster.Guests[r.VMID]; g != nil {
			typ := "CT"
			if g.Type == "qemu" {
				typ = "VM"
			}
			return "", state.Dief("%s %d already exists on node '%s'\n", typ, r.VMID, g.Node.Name)
		}
	} else {
		if old.Cur.Running {
			return "", state.Dief("can't overwrite running container\n")
		}
		if err := checkProtection(o.Cluster.ConfOf(old), "unable to restore CT "+vmid); err != nil {
			return "", err
		}
	}
	if r.Pool != "" && !o.Cluster.Pools[r.Pool] {
		return "", &access.PermError{What: fmt.Sprintf("pool '%s' does not exist", r.Pool)}
	}
	switch {
	case o.ACL.Can(c.User, "/vms/"+vmid, "VM.Allocate"):
	case r.Pool != "" && o.ACL.Can(c.User, "/pool/"+r.Pool, "VM.Allocate"):
	case r.Force && old != nil && o.ACL.Can(c.User, "/vms/"+vmid, "VM.Backup"):
	default:
		return "", &access.PermError{}
	}
	storage := r.Storage
	if storage == "" {
		storage = "local"
	}
	if len(r.Options) > 0 {
		probe := &state.Guest{VMID: r.VMID, ID: vmid, Pool: r.Pool}
		if err := o.checkModifyPerm(c.User, probe, map[string]string{}, r.Options, nil, r.Unprivileged != "0"); err != nil {
			return "", err
		}
	}
	if _, ok := backupOwner(r.Archive); !ok {
		return "", state.Dief("unable to use volume %s - content type needs to be 'backup'\n", r.Archive)
	}
	if err := o.backupAccess(c.User, r.VMID, r.Archive); err != nil {
		return "", err
	}
	st, ok := o.storage(storage)
	switch {
	case !ok:
		return "", state.Dief("storage '%s' does not exist\n", storage)
	case !storageHolds(st, "rootdir"):
		return "", state.ParamErr("storage", fmt.Sprintf("storage '%s' does not support container directories", storage))
	}
	if err := o.ACL.Check(c.User, "/storage/"+storage, "Datastore.AllocateSpace"); err != nil {
		return "", err
	}
	// create_and_lock_config
	now := o.Now()
	g := old
	if g != nil {
		if g.Lock != "" {
			return "", state.Dief("unable to restore CT %s - CT is locked (%s)\n", vmid, g.Lock)
		}
		o.Cluster.SetOption(g, "lock", "create")
	} else {
		ng, err := o.Cluster.NewGuest(state.Spec{VMID: r.VMID, Node: c.Node.Name, Lock: "create"}, now)
		if err != nil {
			return "", state.Dief("unable to restore CT %s - %s\n", vmid, err.Error())
		}
		conf := state.NewConf()
		conf.Values["lock"] = "create"
		o.Cluster.Insert(ng)
		o.Cluster.WriteConf(ng, conf)
		g = ng
	}
	e := o.Tasks
	t := e.Start(c.Node, "vzrestore", vmid, c.User, now)
	e.WithConfigLock(t, now, func(at time.Time) { o.runRestore(c, r, t, g, old != nil, st, at) })
	return t.UPID, nil
}

// runRestore is the vzrestore task once it holds the config lock.
func (o *Ops) runRestore(c Caller, r RestoreRequest, t *tasks.Task, g *state.Guest, existed bool, st state.Storage, at time.Time) {
	e := o.Tasks
	step := func(d time.Duration) time.Time { at = at.Add(e.Dur(d)); return at }
	sid, _, _ := strings.Cut(r.Archive, ":")
	fail := func(msg string) {
		e.Schedule(t, step(100*time.Millisecond), func(end time.Time) {
			if existed {
				o.Cluster.SetOption(g, "lock", "")
			} else {
				o.dropGuest(g)
			}
			e.Finish(t, end, "unable to restore CT "+g.ID+" - "+msg)
		})
	}
	t.Log(at, fmt.Sprintf("recovering backed-up configuration from '%s'", r.Archive))
	a, err := o.archiveConfig(sid, t.Node, r.Archive)
	if err != nil {
		fail(trimDie(err))
		return
	}
	oldVols := volumesOf(o.Cluster.ConfOf(g).Values)
	used := map[string]bool{}
	for _, v := range oldVols {
		used[v.Volume] = true
	}
	values := map[string]string{}
	for k, v := range a.Config {
		if !restoreSkip.MatchString(k) {
			values[k] = v
		}
	}
	var data int64
	for _, v := range volumesOf(a.Config) {
		if !v.Backup || mountType(v.Volume) != "volume" {
			continue
		}
		mp, _ := mountPoint(v.Key, a.Config[v.Key])
		size := sizeOf(mp["size"])
		if size == 0 {
			size = 4 * state.GiB
		}
		volid := newDiskVolID(st, g.VMID, used)
		used[volid] = true
		for _, line := range allocLines(st, volid, size) {
			t.Log(step(120*time.Millisecond), line)
		}
		mp["volume"] = volid
		mp["size"] = js.FormatSize(size)
		f := state.MountPointFormat
		if v.Key == "rootfs" {
			f = state.RootfsFormat
		}
		values[v.Key] = js.PrintPropertyString(f, mp)
		data += int64(float64(size) * (0.12 + 0.3*state.Unit(g.Seed, uint64(7+len(v.Key)))))
	}
	if existed { // destroy_lxc_container: the old volumes go
		for _, v := range oldVols {
			if vsid, name, ok := strings.Cut(v.Volume, ":"); ok {
				if vst, ok := o.storage(vsid); ok && vst.Type == "lvmthin" {
					t.Log(step(100*time.Millisecond), lvRemoved(name))
				}
			}
		}
	}
	_, file, _ := strings.Cut(r.Archive, ":")
	arch, _ := o.storage(sid)
	t.Log(step(50*time.Millisecond), fmt.Sprintf("restoring '%s' now..", r.Archive))
	t.Log(step(20*time.Millisecond), fmt.Sprintf("extracting archive '%s/%s'", dumpDir(arch), strings.TrimPrefix(file, "backup/")))
	took := bytesTime(data, tarRate)
	t.Log(step(took), fmt.Sprintf("Total bytes read: %d (%s, %dMiB/s)", data, humanGiB(data), int(float64(data>>20)/max(took.Seconds(), 1))))
	t.Log(step(50*time.Millisecond), "merging backed-up and given configuration..")
	for k, v := range r.Options {
		values[k] = v
	}
	if r.Unprivileged != "" {
		values["unprivileged"] = r.Unprivileged
	}
	if r.Unique {
		for k, v := range values {
			if _, isNet := netIndex(k); isNet {
				values[k] = hwaddrRe.ReplaceAllString(v, "hwaddr="+state.MacAddr(g, int(state.HashString(k)%97)))
			}
		}
	}
	if values["hostname"] == "" {
		values["hostname"] = "CT" + g.ID
	}
	if values["memory"] == "" {
		values["memory"] = "512"
	}
	if _, ok := values["swap"]; !ok {
		values["swap"] = "512"
	}
	e.Schedule(t, step(150*time.Millisecond), func(end time.Time) {
		conf := state.NewConf()
		for k, v := range values {
			conf.Values[k] = v
		}
		o.Cluster.WriteConf(g, conf)
		if r.Pool != "" {
			g.Pool = r.Pool
			o.Cluster.Pools[r.Pool] = true
		}
		if r.Start {
			if _, err := o.startAt(c, g.ID, false, end); err != nil {
				e.Finish(t, end, trimDie(err))
				return
			}
		}
		e.Finish(t, end, "OK")
	})
}

// netIndex reports whether key is a netN option.
func netIndex(key string) (int, bool) {
	n, ok := strings.CutPrefix(key, "net")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && strconv.Itoa(i) == n
}

// newDiskVolID is find_free_diskname on storage st: the lowest
// vm-<vmid>-disk-<n> not in used.
func newDiskVolID(st state.Storage, vmid int, used map[string]bool) string {
	for n := 0; ; n++ {
		name := fmt.Sprintf("vm-%d-disk-%d", vmid, n)
		volid := st.ID + ":" + name
		if st.Type != "lvmthin" && st.Type != "lvm" && st.Type != "zfspool" && st.Type != "rbd" {
			volid = fmt.Sprintf("%s:%d/%s.raw", st.ID, vmid, name)
		}
		if !used[volid] {
			return volid
		}
	}
}

// allocLines is what allocating and formatting a volume prints.
func allocLines(st state.Storage, volid string, size int64) []string {
	_, name, _ := strings.Cut(volid, ":")
	var out []string
	if st.Type == "lvmthin" || st.Type == "lvm" {
		out = append(out, lvCreated(name))
	} else {
		out = append(out, fmt.Sprintf("Formatting '%s/images/%s', fmt=raw size=%d preallocation=off",
			strings.TrimSuffix(dumpDir(st), "/dump"), name, size))
	}
	return append(out, fmt.Sprintf("Creating filesystem with %d 4k blocks and %d inodes", size/4096, size/16384))
}

// dropGuest removes a guest that a failed restore created.
func (o *Ops) dropGuest(g *state.Guest) {
	delete(o.Cluster.Guests, g.VMID)
	for i, x := range o.Cluster.Order {
		if x == g {
			o.Cluster.Order = append(o.Cluster.Order[:i], o.Cluster.Order[i+1:]...)
			break
		}
	}
}
