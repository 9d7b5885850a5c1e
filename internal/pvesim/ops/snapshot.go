package ops

import (
	"sort"
	"strconv"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Reading snapshots and changing their description (pve-container
// API2/LXC/Snapshot.pm list, get_snapshot_config, update_snapshot_config;
// API2/LXC.pm vm_feature). The snapshot tasks are in snapshot_tasks.go.

// snapshotKeys are the options of a snapshot section beyond the
// container options, with their types (LXC/Config.pm confdesc: parent is
// a pve-configid, snaptime an integer).
var snapshotKeys = map[string]string{"snaptime": "integer", "parent": "string", "snapstate": "string"}

// jsonValue types one option of a snapshot section as PVE's JSON shows
// it.
func (o *Ops) jsonValue(key, value string) any {
	if snapshotKeys[key] == "integer" {
		if n, err := strconv.ParseInt(value, 10, 64); err == nil {
			return n
		}
		return value
	}
	return state.JSONValue(o.Cluster.Keys, key, value)
}

// Snapshots is GET .../snapshot: one entry per snapshot and the entry
// "current" ("You are here!") whose parent is the snapshot the container
// was last taken from or rolled back to. PVE answers in hash order; here
// the snapshots are sorted by name, "current" last as in PVE.
func (o *Ops) Snapshots(c Caller, vmid string) ([]map[string]any, error) {
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return nil, err
	}
	conf := o.Cluster.ConfOf(g)
	names := make([]string, 0, len(conf.Snapshots))
	for name := range conf.Snapshots {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names)+1)
	for _, name := range names {
		snap := conf.Snapshots[name]
		t, _ := strconv.ParseInt(snap["snaptime"], 10, 64)
		item := map[string]any{"name": name, "snaptime": t, "description": snap["description"]}
		if p, ok := snap["parent"]; ok {
			item["parent"] = p
		}
		if s := snap["snapstate"]; s != "" {
			item["snapstate"] = s
		}
		out = append(out, item)
	}
	running := 0
	if g.Cur.Running {
		running = 1
	}
	current := map[string]any{"name": "current", "digest": conf.Digest(), "running": running, "description": "You are here!"}
	if p, ok := conf.Values["parent"]; ok {
		current["parent"] = p
	}
	return append(out, current), nil
}

// snapshotSection returns snapshot name of g, or PVE's error.
func (o *Ops) snapshotSection(g *state.Guest, name string) (map[string]string, error) {
	snap, ok := o.Cluster.ConfOf(g).Snapshots[name]
	if !ok {
		return nil, state.Dief("snapshot '%s' does not exist\n", name)
	}
	return snap, nil
}

// SnapshotConfig is GET .../snapshot/{snapname}/config: the options the
// snapshot captured, without a digest (unlike GET .../config?snapshot=).
func (o *Ops) SnapshotConfig(c Caller, vmid, name string) (map[string]any, error) {
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return nil, err
	}
	snap, err := o.snapshotSection(g, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(snap))
	for k, v := range snap {
		if k == "env" {
			continue // raw lxc.* keys are dropped
		}
		out[k] = o.jsonValue(k, v)
	}
	return out, nil
}

// SetSnapshotDescription is PUT .../snapshot/{snapname}/config. Without
// a description PVE returns at once, without even loading the
// configuration; otherwise the container must not be locked.
func (o *Ops) SetSnapshotDescription(c Caller, vmid, name string, description *string) error {
	if description == nil {
		return nil
	}
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return err
	}
	if err := checkLock(g); err != nil {
		return err
	}
	if _, err := o.snapshotSection(g, name); err != nil {
		return err
	}
	next := o.Cluster.ConfOf(g).Clone()
	if *description == "" {
		delete(next.Snapshots[name], "description")
	} else {
		next.Snapshots[name]["description"] = *description
	}
	o.Cluster.WriteConf(g, next)
	return nil
}

// Feature is GET .../feature: whether every volume of the container (or
// of snapshot snapname) allows feature ("snapshot", "clone", "copy").
func (o *Ops) Feature(c Caller, vmid, feature, snapname string) (map[string]any, error) {
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return nil, err
	}
	values := o.Cluster.ConfOf(g).Values
	if snapname != "" {
		if values, err = o.snapshotSection(g, snapname); err != nil {
			return nil, err
		}
	}
	has := 0
	if o.hasFeature(feature, values, snapname != "", false) {
		has = 1
	}
	return map[string]any{"hasFeature": has}, nil
}

// AddSnapshot records a finished snapshot of container g taken at at,
// as the snapshot task leaves it, without a task (scenarios and test
// controls). values overrides options the snapshot captured (a snapshot
// taken before a change). It fails like the task would.
func (o *Ops) AddSnapshot(g *state.Guest, name, description string, at time.Time, values map[string]string) error {
	conf := o.Cluster.ConfOf(g)
	if _, dup := conf.Snapshots[name]; dup || name == "current" || name == "vzdump" {
		return state.Dief("snapshot name '%s' already used\n", name)
	}
	if g.Template || !o.hasFeature("snapshot", conf.Values, false, false) {
		return state.Dief("snapshot feature is not available\n")
	}
	next := conf.Clone()
	snap := map[string]string{"snaptime": strconv.FormatInt(at.Unix(), 10)}
	copySnapshotConfig(next.Values, snap)
	for k, v := range values {
		snap[k] = v
	}
	if description != "" {
		snap["description"] = description
	}
	next.Snapshots[name] = snap
	next.Values["parent"] = name
	o.Cluster.WriteConf(g, next)
	return nil
}
