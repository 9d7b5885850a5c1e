package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Cloning a container (pve-container API2/LXC.pm clone_vm): before the
// task the source gets the lock "disk" and the new container's file is
// written with the lock "create"; the "vzclone" task (its id is the
// source's vmid) copies or links every volume, then unlocks both and, for
// another target node, moves the new file there.

// CloneRequest is POST .../clone.
type CloneRequest struct {
	VMID                                  string
	NewID                                 int
	Hostname, Description, Pool, Snapname string
	Storage, Target                       string
	Full                                  string // "", "0" or "1"
}

// cloneVolume is one mount point to copy or link.
type cloneVolume struct {
	opt    string
	mp     map[string]string
	from   string
	target *state.Storage
	full   bool
}

// Clone answers the UPID of the vzclone task.
func (o *Ops) Clone(c Caller, r CloneRequest) (string, error) {
	if r.Pool != "" && !o.Cluster.Pools[r.Pool] {
		return "", &access.PermError{What: fmt.Sprintf("pool '%s' does not exist", r.Pool)}
	}
	var target *state.Node
	if r.Target != "" && r.Target != "localhost" && r.Target != c.Node.Name {
		if target = o.Cluster.NodeByName(r.Target); target == nil {
			return "", state.Dief("no such cluster node '%s'\n", r.Target)
		}
	}
	if r.Storage != "" {
		st := o.Cluster.StorageByID(r.Storage)
		if st == nil {
			return "", state.Dief("storage '%s' does not exist\n", r.Storage)
		}
		if target != nil && !st.Shared {
			return "", state.Dief("can't clone to non-shared storage '%s'\n", r.Storage)
		}
	}
	if !o.Cluster.Quorate() {
		return "", state.Dief("cluster not ready - no quorum?\n")
	}
	src, err := o.LoadCT(c, r.VMID)
	if err != nil {
		return "", err
	}
	if err := checkLock(src); err != nil {
		return "", err
	}
	o.Cluster.SetOption(src, "lock", "disk")
	if err := o.Cluster.InUseError(r.NewID); err != nil {
		o.Cluster.SetOption(src, "lock", "")
		return "", err
	}
	now := o.Now()
	dst, err := o.Cluster.NewGuest(state.Spec{VMID: r.NewID, Node: c.Node.Name, Lock: "create"}, now)
	if err != nil {
		o.Cluster.SetOption(src, "lock", "")
		return "", state.Dief("%s\n", err.Error())
	}
	o.Cluster.Insert(dst)
	lockOnly := state.NewConf()
	lockOnly.Values["lock"] = "create"
	o.Cluster.WriteConf(dst, lockOnly)

	newconf, vols, err := o.cloneChecks(c, r, src, dst, target)
	if err != nil {
		o.Cluster.SetOption(src, "lock", "")
		o.Cluster.Remove(dst)
		return "", err
	}
	conf := state.NewConf()
	for k, v := range newconf {
		conf.Values[k] = v
	}
	o.Cluster.WriteConf(dst, conf)

	e := o.Tasks
	t := e.Start(c.Node, "vzclone", r.VMID, c.User, now)
	l := &taskLog{e: e, t: t, at: now}
	l.line(50*time.Millisecond, fmt.Sprintf("creating a clone of container %s with ID %d", r.VMID, r.NewID))
	disk := 0
	for _, v := range vols {
		newid := state.DiskVolID(v.target, r.NewID, disk, false)
		disk++
		size, _ := js.ParseSize(v.mp["size"])
		if v.full {
			l.line(50*time.Millisecond, fmt.Sprintf("create full clone of mountpoint %s (%s)", v.opt, v.from))
			allocLog(l, newDisk{opt: v.opt, st: v.target, volid: newid, size: size})
			copyLog(l, size/3)
		} else {
			l.line(50*time.Millisecond, fmt.Sprintf("create linked clone of mount point %s (%s)", v.opt, v.from))
			_, name, _ := state.SplitVolID(newid)
			l.line(300*time.Millisecond, fmt.Sprintf("  Logical volume \"%s\" created.", name))
		}
		v.mp["volume"] = newid
		f := state.MountPointFormat
		if v.opt == "rootfs" {
			f = state.RootfsFormat
		}
		conf.Values[v.opt] = js.PrintPropertyString(f, v.mp)
	}
	delete(conf.Values, "lock")
	e.Schedule(t, l.at.Add(e.Dur(200*time.Millisecond)), func(end time.Time) {
		if o.Cluster.Guests[src.VMID] == src && src.Lock == "disk" {
			o.Cluster.SetOption(src, "lock", "")
		}
		if o.Cluster.Guests[dst.VMID] == dst {
			o.Cluster.WriteConf(dst, conf)
			dst.Pool = r.Pool
			if target != nil {
				dst.Node = target
			}
		}
		e.Finish(t, end, "OK")
	})
	return t.UPID, nil
}

// cloneChecks are clone_vm's checks after the locks: what the new
// configuration holds and which volumes to copy or link.
func (o *Ops) cloneChecks(c Caller, r CloneRequest, src, dst *state.Guest, target *state.Node) (map[string]string, []cloneVolume, error) {
	running := src.Cur.Running
	full := !src.Template
	if r.Full != "" {
		full = r.Full == "1"
	}
	if r.Storage != "" && !full {
		return nil, nil, state.Dief("parameter 'storage' not allowed for linked clones\n")
	}
	conf := o.Cluster.ConfOf(src)
	values := conf.Values
	if r.Snapname != "" {
		snap, ok := conf.Snapshots[r.Snapname]
		if !ok {
			return nil, nil, state.Dief("snapshot '%s' does not exist\n", r.Snapname)
		}
		values = snap
	}
	newconf := map[string]string{}
	var vols []cloneVolume
	shared := true
	for _, opt := range sortedKeys(values) {
		v := values[opt]
		switch {
		case unusedOptRe.MatchString(opt):
		case opt == "rootfs" || mpRe.MatchString(opt):
			mp, ok := mountPoint(opt, v)
			if !ok {
				continue
			}
			if t := mountType(mp["volume"]); t != "volume" {
				return nil, nil, state.Dief("unable to clone mountpoint '%s' (type %s)\n", opt, t)
			}
			sid := storageOf(mp["volume"])
			if r.Storage != "" {
				sid = r.Storage
			}
			st := o.Cluster.StorageByID(sid)
			if st == nil {
				return nil, nil, state.Dief("storage '%s' does not exist\n", sid)
			}
			shared = shared && st.Shared
			if err := o.ACL.Check(c.User, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return nil, nil, err
			}
			if full && running && r.Snapname == "" {
				return nil, nil, state.Dief("Full clone of a running container is only possible from a snapshot\n")
			}
			if !full && !o.canLinkClone(mp["volume"], r.Snapname != "") {
				return nil, nil, state.Dief("Linked clone feature for '%s' is not available\n", mp["volume"])
			}
			vols = append(vols, cloneVolume{opt: opt, mp: mp, from: mp["volume"], target: st, full: full})
		case netKeyRe.MatchString(opt):
			n, _ := strconv.Atoi(strings.TrimPrefix(opt, "net"))
			net, err := js.ParsePropertyString(state.NetFormat, v, "", js.Base())
			if err == nil {
				net["hwaddr"] = state.MacAddr(dst, generatedMAC+n)
				v = js.PrintPropertyString(state.NetFormat, net)
			}
			if err := o.checkBridgeAccess(c.User, v); err != nil {
				return nil, nil, err
			}
			newconf[opt] = v
		case opt == "snapshots" || opt == "parent" || opt == "snaptime" || opt == "snapstate" || opt == "template":
		default:
			newconf[opt] = v
		}
	}
	if target != nil && !shared {
		return nil, nil, state.Dief("can't clone CT to node '%s' (CT uses local storage)\n", target.Name)
	}
	newconf["lock"] = "create"
	if r.Hostname != "" {
		newconf["hostname"] = r.Hostname
	}
	if r.Description != "" {
		newconf["description"] = r.Description
	}
	return newconf, vols, nil
}

// canLinkClone is volume_has_feature('clone') for a container volume:
// LVM-thin clones a base volume or a snapshot; a directory or NFS storage
// would need qcow2, which containers cannot use.
func (o *Ops) canLinkClone(volid string, fromSnapshot bool) bool {
	st := o.Cluster.StorageByID(storageOf(volid))
	if st == nil || st.Type != "lvmthin" {
		return false
	}
	_, name, _ := state.SplitVolID(volid)
	vi, err := st.ParseVolName(name)
	return err == nil && (vi.Base || fromSnapshot)
}

// copyLog is rsync's summary after a full clone copied used bytes.
func copyLog(l *taskLog, used int64) {
	files := used / 45000
	l.line(time.Duration(used)*time.Second/(150<<20), fmt.Sprintf("Number of files: %d (reg: %d, dir: %d, link: %d)",
		files, files*79/100, files*9/100, files*12/100))
	l.line(10*time.Millisecond, fmt.Sprintf("Total file size: %d bytes", used))
	l.line(10*time.Millisecond, fmt.Sprintf("Total transferred file size: %d bytes", used))
	l.line(10*time.Millisecond, "")
	l.line(10*time.Millisecond, fmt.Sprintf("sent %d bytes  received %d bytes  %d.00 bytes/sec", used+used/1000, files*16, 150<<20))
	l.line(10*time.Millisecond, fmt.Sprintf("total size is %d  speedup is 1.00", used))
}
