package ops

import (
	"fmt"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Destroying a container (pve-container API2/LXC.pm destroy_vm,
// LXC.pm destroy_lxc_container): checks before the task, the same again
// under the config lock, then the volumes go, the container leaves its
// pool and ACLs, and its configuration is removed last.

// DestroyRequest is DELETE /nodes/{node}/lxc/{vmid}.
type DestroyRequest struct {
	VMID                     string
	Force, Purge             bool
	DestroyUnreferencedDisks bool
}

// destroyChecks are the early checks, before and inside the task.
func (o *Ops) destroyChecks(g *state.Guest) error {
	conf := o.Cluster.ConfOf(g)
	if err := checkProtection(conf, "can't remove CT "+g.ID); err != nil {
		return err
	}
	return checkLock(g)
}

// Destroy answers the UPID of a vzdestroy task.
func (o *Ops) Destroy(c Caller, r DestroyRequest) (string, error) {
	g, err := o.LoadCT(c, r.VMID)
	if err != nil {
		return "", err
	}
	if err := o.destroyChecks(g); err != nil {
		return "", err
	}
	running := func() string { return fmt.Sprintf("unable to destroy CT %s - container is running", r.VMID) }
	if !r.Force && g.Cur.Running {
		return "", state.Dief("%s\n", running())
	}
	e := o.Tasks
	now := o.Now()
	t := e.Start(c.Node, "vzdestroy", r.VMID, c.User, now)
	e.WithConfigLock(t, now, func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, r.VMID)
		if g == nil {
			e.Fail(t, at, noConfigText(t.Node, r.VMID))
			return
		}
		if err := o.destroyChecks(g); err != nil {
			e.Fail(t, at, strings.TrimSuffix(err.Error(), "\n"))
			return
		}
		l := &taskLog{e: e, t: t, at: at}
		if g.Cur.Running {
			if !r.Force {
				e.Fail(t, at, running())
				return
			}
			l.line(0, fmt.Sprintf("forced to stop CT %s before destroying!", r.VMID))
			l.wait(stopDuration(g))
			stopCT(g, l.at)
		}
		o.Cluster.SetOption(g, "lock", "destroyed")
		var stored []*state.Volume
		for _, d := range o.Cluster.GuestDisks(g) {
			freeLog(l, o.Cluster.StorageByID(storageOf(d.VolID)), d.VolID)
		}
		if r.DestroyUnreferencedDisks {
			stored = o.unreferencedDisks(g)
			for _, v := range stored {
				freeLog(l, o.Cluster.StorageByID(storageOf(v.VolID)), v.VolID)
			}
		}
		if r.Purge {
			l.line(20*time.Millisecond, fmt.Sprintf("purging CT %s from related configurations..", r.VMID))
		}
		e.Schedule(t, l.at.Add(e.Dur(100*time.Millisecond)), func(end time.Time) {
			for _, v := range stored {
				o.Cluster.RemoveVolume(storageOf(v.VolID), g.Node, v.VolID)
			}
			o.ACL.RemovePath("/vms/" + g.ID) // remove_vm_access: ACLs and pool membership
			g.Pool = ""
			o.Cluster.Remove(g)
			e.Finish(t, end, "OK")
		})
	})
	return t.UPID, nil
}

// unreferencedDisks are the stored disks of g's vmid on every storage g's
// node sees that its configuration does not name.
func (o *Ops) unreferencedDisks(g *state.Guest) []*state.Volume {
	var out []*state.Volume
	for i := range o.Cluster.Storages {
		st := &o.Cluster.Storages[i]
		for _, v := range o.Cluster.ListVolumes(st.ID, g.Node, "", g.VMID) {
			if v.Content != "images" && v.Content != "rootdir" {
				continue
			}
			if sv, ok := o.Cluster.StoredVolume(st.ID, g.Node, v.VolID); ok {
				out = append(out, sv)
			}
		}
	}
	return out
}

// storageOf is the storage ID of a volid.
func storageOf(volid string) string {
	sid, _, _ := state.SplitVolID(volid)
	return sid
}

// freeLog is what freeing a volume prints: lvremove's line on LVM,
// nothing for a file.
func freeLog(l *taskLog, st *state.Storage, volid string) {
	if st == nil {
		return
	}
	_, volname, _ := state.SplitVolID(volid)
	if st.Type == "lvmthin" || st.Type == "lvm" {
		l.line(150*time.Millisecond, fmt.Sprintf("  Logical volume \"%s\" successfully removed.", volname))
		return
	}
	l.wait(50 * time.Millisecond)
}
