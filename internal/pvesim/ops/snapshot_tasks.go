package ops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// The snapshot tasks (pve-container API2/LXC/Snapshot.pm; pve-guest-common
// AbstractConfig.pm snapshot_create, snapshot_delete, snapshot_rollback).
// Each runs in steps: a first one under the config lock file checks the
// container and sets its "lock" option, the volumes are worked on with
// the lock file released (others then find "CT is locked (...)"), and a
// last step writes the result and removes the lock option. Errors found
// inside the worker fail the task after the UPID was returned.

// Volume work at TaskDurationScale 1: per volume.
const (
	snapshotVolumeTime = 600 * time.Millisecond
	rollbackVolumeTime = 900 * time.Millisecond
)

// snapshotCopySkip are the options __snapshot_copy_config leaves out.
var snapshotCopySkip = regexp.MustCompile(`^(snapshots|snapstate|snaptime|vmstate|lock|digest|description|unused\d+)$`)

// copySnapshotConfig is __snapshot_copy_config: src's options into dst.
func copySnapshotConfig(src, dst map[string]string) {
	for k, v := range src {
		if !snapshotCopySkip.MatchString(k) {
			dst[k] = v
		}
	}
}

// lvCreated and lvRemoved are what lvcreate and lvremove print for a
// thin volume.
func lvCreated(name string) string { return fmt.Sprintf("  Logical volume \"%s\" created.", name) }
func lvRemoved(name string) string {
	return fmt.Sprintf("  Logical volume \"%s\" successfully removed.", name)
}

// trimDie is a die message as a task's exit status.
func trimDie(err error) string { return strings.TrimSuffix(err.Error(), "\n") }

// Snapshot is POST .../snapshot (vzsnapshot). The reserved names are
// refused before the worker starts; a duplicate name, missing storage
// support, a lock or a template fail the task.
func (o *Ops) Snapshot(c Caller, vmid, name, description string) (string, error) {
	if name == "current" || name == "vzdump" {
		return "", state.Dief("unable to use snapshot name '%s' (reserved name)\n", name)
	}
	e := o.Tasks
	t := e.Start(c.Node, "vzsnapshot", vmid, c.User, o.Now())
	e.WithConfigLock(t, o.Now(), func(at time.Time) {
		g, err := o.snapshotPrepare(t, vmid, name, description, at)
		if err != nil {
			e.Fail(t, at, trimDie(err))
			return
		}
		e.Unlock(t, at)
		vols := volumesOf(o.Cluster.ConfOf(g).Snapshots[name])
		step := e.Dur(snapshotVolumeTime)
		for i, m := range vols {
			t.Log(at.Add(time.Duration(i+1)*step), lvCreated("snap_"+m.Name()+"_"+name))
		}
		e.Succeed(t, at, time.Duration(len(vols)+1)*step, func(time.Time) {
			next := o.Cluster.ConfOf(g).Clone()
			if snap := next.Snapshots[name]; snap != nil {
				delete(snap, "snapstate")
			}
			delete(next.Values, "lock")
			next.Values["parent"] = name
			o.Cluster.WriteConf(g, next)
		})
	})
	return t.UPID, nil
}

// snapshotPrepare is __snapshot_prepare: the checks, then the new
// section (a copy of the current options, in state "prepare") and the
// lock option "snapshot".
func (o *Ops) snapshotPrepare(t *tasks.Task, vmid, name, description string, at time.Time) (*state.Guest, error) {
	g := o.Cluster.LocalCT(t.Node, vmid)
	if g == nil {
		return nil, NoConfig(t.Node, vmid)
	}
	conf := o.Cluster.ConfOf(g)
	switch {
	case g.Template:
		return nil, state.Dief("you can't take a snapshot if it's a template\n")
	case g.Lock != "":
		return nil, checkLock(g)
	}
	if _, dup := conf.Snapshots[name]; dup {
		return nil, state.Dief("snapshot name '%s' already used\n", name)
	}
	if !o.hasFeature("snapshot", conf.Values, false, false) {
		return nil, state.Dief("snapshot feature is not available\n")
	}
	next := conf.Clone()
	snap := map[string]string{}
	copySnapshotConfig(next.Values, snap)
	snap["snapstate"] = "prepare"
	snap["snaptime"] = strconv.FormatInt(at.Unix(), 10)
	if description != "" {
		snap["description"] = description
	}
	next.Snapshots[name] = snap
	next.Values["lock"] = "snapshot"
	o.Cluster.WriteConf(g, next)
	return g, nil
}

// DeleteSnapshot is DELETE .../snapshot/{snapname} (vzdelsnapshot). The
// snapshot's children (and the current state, if it was taken from it)
// then hang below its parent.
func (o *Ops) DeleteSnapshot(c Caller, vmid, name string) (string, error) {
	e := o.Tasks
	t := e.Start(c.Node, "vzdelsnapshot", vmid, c.User, o.Now())
	e.WithConfigLock(t, o.Now(), func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, vmid)
		if g == nil {
			e.Fail(t, at, noConfigText(t.Node, vmid))
			return
		}
		if _, err := o.snapshotSection(g, name); err != nil {
			e.Fail(t, at, trimDie(err))
			return
		}
		switch {
		case g.Lock != "": // set_lock
			e.Fail(t, at, trimDie(checkLock(g)))
			return
		case g.Template:
			e.Fail(t, at, "you can't delete a snapshot if vm is a template")
			return
		}
		next := o.Cluster.ConfOf(g).Clone()
		next.Values["lock"] = "snapshot-delete"
		next.Snapshots[name]["snapstate"] = "delete"
		o.Cluster.WriteConf(g, next)
		e.Unlock(t, at)
		vols := volumesOf(next.Snapshots[name])
		step := e.Dur(snapshotVolumeTime)
		for i, m := range vols {
			t.Log(at.Add(time.Duration(i+1)*step), lvRemoved("snap_"+m.Name()+"_"+name))
		}
		e.Succeed(t, at, time.Duration(len(vols)+1)*step, func(time.Time) {
			next := o.Cluster.ConfOf(g).Clone()
			parent, hasParent := next.Snapshots[name]["parent"]
			relink := func(values map[string]string) {
				if values["parent"] != name {
					return
				}
				if hasParent && parent != "" {
					values["parent"] = parent
				} else {
					delete(values, "parent")
				}
			}
			relink(next.Values)
			for other, snap := range next.Snapshots {
				if other != name {
					relink(snap)
				}
			}
			delete(next.Snapshots, name)
			delete(next.Values, "lock")
			o.Cluster.WriteConf(g, next)
		})
	})
	return t.UPID, nil
}

// Rollback is POST .../snapshot/{snapname}/rollback (vzrollback): a
// running container is killed first; the snapshot's options replace the
// current ones (the notes and unused volumes stay, pending changes go).
// With start, a vzstart task of its own follows once the rollback is
// done.
func (o *Ops) Rollback(c Caller, vmid, name string, start bool) (string, error) {
	e := o.Tasks
	t := e.Start(c.Node, "vzrollback", vmid, c.User, o.Now())
	e.WithConfigLock(t, o.Now(), func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, vmid)
		if g == nil {
			e.Fail(t, at, noConfigText(t.Node, vmid))
			return
		}
		if g.Template {
			e.Fail(t, at, "you can't rollback if vm is a template")
			return
		}
		snap, err := o.snapshotSection(g, name)
		if err != nil {
			e.Fail(t, at, trimDie(err))
			return
		}
		if s := snap["snapstate"]; s != "" {
			e.Fail(t, at, fmt.Sprintf("unable to rollback to incomplete snapshot (snapstate = %s)", s))
			return
		}
		if g.Lock != "" {
			e.Fail(t, at, trimDie(checkLock(g)))
			return
		}
		if g.Cur.Running {
			stopCT(g, at) // vm_stop with kill
		}
		next := o.Cluster.ConfOf(g).Clone()
		next.Values["lock"] = "rollback"
		o.Cluster.WriteConf(g, next)
		e.Unlock(t, at)
		vols := volumesOf(snap)
		step := e.Dur(rollbackVolumeTime)
		for i, m := range vols {
			t.Log(at.Add(time.Duration(i)*step+step/2), lvRemoved(m.Name()))
			t.Log(at.Add(time.Duration(i+1)*step), lvCreated(m.Name()))
		}
		e.Succeed(t, at, time.Duration(len(vols)+1)*step, func(end time.Time) {
			o.applySnapshot(g, name)
			if start {
				_, _ = o.startAt(Caller{User: t.User, Node: t.Node}, vmid, false, end)
			}
		})
	})
	return t.UPID, nil
}

// applySnapshot is the commit of snapshot_rollback
// (__snapshot_apply_config): the snapshot list, the notes and unused
// volumes stay; volumes the snapshot does not know become unused; the
// rest comes from the snapshot.
func (o *Ops) applySnapshot(g *state.Guest, name string) {
	cur := o.Cluster.ConfOf(g)
	snap := cur.Snapshots[name]
	next := state.NewConf()
	for k, v := range cur.Snapshots {
		next.Snapshots[k] = v
	}
	for k, v := range cur.Values {
		if k == "description" || strings.HasPrefix(k, "unused") {
			next.Values[k] = v
		}
	}
	inSnap := map[string]bool{}
	for _, m := range volumesOf(snap) {
		inSnap[m.Volume] = true
	}
	for _, m := range volumesOf(cur.Values) {
		if m.Storage() != "" && !inSnap[m.Volume] {
			addUnused(next, m.Volume)
		}
	}
	copySnapshotConfig(snap, next.Values)
	next.Values["parent"] = name
	o.Cluster.WriteConf(g, next.Clone())
}
