package ops

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Creating a container (pve-container API2/LXC.pm create_vm): the checks
// before the task in PVE's order, the container's file written at once
// with the lock "create", then a "vzcreate" task that allocates and
// formats the disks, extracts the template and writes the configuration
// with PVE's defaults. A failure inside the task frees the disks and
// removes the configuration again.

// CreateRequest is POST /nodes/{node}/lxc with its parameters verified.
type CreateRequest struct {
	VMID       int
	OSTemplate string
	Storage    string // "" for PVE's default, local
	Pool       string
	SSHKeys    string
	HasSSHKeys bool
	// Unprivileged is "0", "1", or "" when not given.
	Unprivileged     string
	Start, HAManaged bool
	// Options are the configuration options given (rootfs, mpN, netN,
	// hostname, memory, ...).
	Options map[string]string
}

var (
	unusedOptRe = regexp.MustCompile(`^unused\d+$`)
	bareSizeRe  = regexp.MustCompile(`^\d+(\.\d+)?$`)
)

// createPlan is what the checks before the task found.
type createPlan struct {
	req      CreateRequest
	vmid     string
	unpriv   bool
	mps      map[string]string // rootfs and mpN, sizes as "STORAGE:GiB"
	conf     map[string]string // the other options, as update_pct_config writes them
	tmplSID  string
	tmplName string
}

// Create is POST /nodes/{node}/lxc. It answers the UPID of the vzcreate
// task.
func (o *Ops) Create(c Caller, r CreateRequest) (string, error) {
	p, err := o.createChecks(c, r)
	if err != nil {
		return "", err
	}
	// create_and_lock_config: the file exists from now on.
	now := o.Now()
	g, err := o.Cluster.NewGuest(state.Spec{VMID: r.VMID, Node: c.Node.Name, Lock: "create"}, now)
	if err != nil {
		return "", state.Dief("unable to create CT %d - %s\n", r.VMID, err.Error())
	}
	conf := state.NewConf()
	conf.Values["lock"] = "create"
	o.Cluster.Insert(g)
	o.Cluster.WriteConf(g, conf)

	e := o.Tasks
	t := e.Start(c.Node, "vzcreate", p.vmid, c.User, now)
	e.WithConfigLock(t, now, func(at time.Time) { o.runCreate(c, t, g, p, at) })
	return t.UPID, nil
}

// createChecks are create_vm's checks before it forks the task.
func (o *Ops) createChecks(c Caller, r CreateRequest) (createPlan, error) {
	p := createPlan{req: r, vmid: strconv.Itoa(r.VMID), conf: map[string]string{}, mps: map[string]string{}}
	if !o.Cluster.Quorate() {
		return p, state.Dief("cluster not ready - no quorum?\n")
	}
	p.unpriv = perl.True(r.Unprivileged, r.Unprivileged != "")
	if r.Unprivileged == "" {
		p.unpriv = o.VersionAtLeast(9, 0, 0) // the API default was 0 before 9.0
	}
	if !p.unpriv && o.VersionAtLeast(9, 0, 0) {
		if err := o.ACL.Check(c.User, "/", "Sys.Modify"); err != nil {
			return p, err
		}
	}
	if r.HAManaged {
		if err := o.ACL.Check(c.User, "/", "Sys.Console"); err != nil {
			return p, err
		}
	}
	if err := o.Cluster.InUseError(r.VMID); err != nil {
		return p, err // force counts only for a restore (restore.go)
	}
	if r.HasSSHKeys {
		if err := validateSSHKeys(r.SSHKeys); err != nil {
			return p, err
		}
	}
	if r.Pool != "" && !o.Cluster.Pools[r.Pool] {
		return p, &access.PermError{What: fmt.Sprintf("pool '%s' does not exist", r.Pool)}
	}
	if !o.ACL.Can(c.User, "/vms/"+p.vmid, "VM.Allocate") &&
		(r.Pool == "" || !o.ACL.Can(c.User, "/pool/"+r.Pool, "VM.Allocate")) {
		return p, &access.PermError{}
	}
	storage := r.Storage
	if storage == "" {
		storage = "local"
	}
	// check_ct_modify_config_perm, with the pool's privileges counting
	probe := &state.Guest{VMID: r.VMID, ID: p.vmid, Pool: r.Pool}
	if err := o.checkModifyPerm(c.User, probe, map[string]string{}, r.Options, nil, p.unpriv); err != nil {
		return p, err
	}
	if r.OSTemplate == "-" {
		return p, state.Dief("pipe requires cli environment\n")
	}
	if err := o.CheckVolumeAccess(c.User, r.VMID, r.OSTemplate, "vztmpl"); err != nil {
		return p, err
	}
	p.tmplSID, p.tmplName, _ = state.SplitVolID(r.OSTemplate)
	for _, k := range sortedKeys(r.Options) {
		v := r.Options[k]
		switch {
		case k == "rootfs" || mpRe.MatchString(k):
			if bareSizeRe.MatchString(v) {
				v = storage + ":" + v
			}
			p.mps[k] = v
		case unusedOptRe.MatchString(k):
			// "ignoring 'unusedN', cannot create/restore with unused volume"
		default:
			p.conf[k] = v
		}
	}
	if len(p.mps) > 0 && p.mps["rootfs"] == "" {
		return p, state.Dief("mount points configured, but 'rootfs' not set - aborting\n")
	}
	for _, k := range sortedKeys(p.mps) {
		mp, ok := mountPoint(k, p.mps[k])
		if !ok {
			continue // refused by the parameter check already
		}
		if mountType(mp["volume"]) != "volume" {
			if c.User != access.RootUser {
				return p, state.Dief("Only root can pass arbitrary filesystem paths.\n")
			}
			continue
		}
		sid, _, _ := state.SplitVolID(mp["volume"])
		if err := o.checkRootdirStorage(c.User, sid); err != nil {
			return p, err
		}
	}
	if p.mps["rootfs"] == "" {
		if err := o.checkRootdirStorage(c.User, storage); err != nil {
			return p, err
		}
		p.mps["rootfs"] = storage + ":4" // PVE's default: 4 GiB
	}
	o.normaliseCreateOptions(p)
	return p, nil
}

// checkRootdirStorage is create_vm's check_and_activate_storage.
func (o *Ops) checkRootdirStorage(user, sid string) error {
	st := o.Cluster.StorageByID(sid)
	if st == nil {
		return state.Dief("storage '%s' does not exist\n", sid)
	}
	if !st.Supports("rootdir") {
		return state.ParamErr("storage", fmt.Sprintf("storage '%s' does not support container directories", sid))
	}
	return o.ACL.Check(user, "/storage/"+sid, "Datastore.AllocateSpace")
}

// normaliseCreateOptions is update_pct_config on an empty file: network
// interfaces get their type and a MAC address, tags and DNS lists PVE's
// spelling.
func (o *Ops) normaliseCreateOptions(p createPlan) {
	g := &state.Guest{VMID: p.req.VMID, ID: p.vmid, Seed: state.GuestSeed(p.req.VMID)}
	for k, v := range p.conf {
		switch {
		case netKeyRe.MatchString(k):
			p.conf[k] = o.normaliseNet(g, k, v)
		case k == "tags":
			p.conf[k] = uniqueTags(v)
		case k == "nameserver" || k == "searchdomain":
			p.conf[k] = strings.Join(perl.SplitList(v), " ")
		case k == "cpuunits":
			if n, err := strconv.Atoi(v); err == nil && n >= 10000 {
				p.conf[k] = "10000" // clamp_cpu_shares on a cgroup v2 host
			}
		}
	}
}

// newDisk is a volume the task allocates.
type newDisk struct {
	opt   string
	st    *state.Storage
	volid string
	size  int64
	mp    map[string]string
}

// plannedDisks names the volumes of the new container's mount points
// ("STORAGE:GiB"), numbered in option order.
func (o *Ops) plannedDisks(p createPlan) []newDisk {
	var out []newDisk
	keys := make([]string, 0, len(p.mps))
	for k := range p.mps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] == "rootfs" || (keys[j] != "rootfs" && keys[i] < keys[j]) })
	n := 0
	for _, k := range keys {
		mp, ok := mountPoint(k, p.mps[k])
		if !ok {
			continue
		}
		d := newDisk{opt: k, mp: mp}
		if m := newDiskRe.FindStringSubmatch(mp["volume"]); m != nil {
			gib, _ := strconv.ParseFloat(m[2], 64)
			d.st = o.Cluster.StorageByID(m[1])
			d.size = int64(gib*1024) * 1024 * 1024
			d.volid = state.DiskVolID(d.st, p.req.VMID, n, false)
			n++
			mp["volume"] = d.volid
			mp["size"] = js.FormatSize(d.size)
		}
		out = append(out, d)
	}
	return out
}
