package ops

import (
	"sort"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Reading a container's configuration (pve-container API2/LXC/Config.pm
// vm_config, API2/LXC.pm vm_pending).

// restrictedRead are the options only users with a privilege may read
// (delete_read_restricted_options).
var restrictedRead = map[string]string{"env": "VM.Config.Options"}

// readable drops the options the caller may not read from values.
func (o *Ops) readable(c Caller, g *state.Guest, values map[string]string) {
	for key, priv := range restrictedRead {
		if _, ok := values[key]; ok && !o.ACL.Can(c.User, "/vms/"+g.ID, priv) {
			delete(values, key)
		}
	}
}

// Config is GET .../config: every option (with the pending changes taken
// in unless current) plus "digest", typed as PVE's JSON shows them.
func (o *Ops) Config(c Caller, vmid string, current bool, snapshot string) (map[string]any, error) {
	if snapshot != "" && current {
		msg := "cannot use 'snapshot' parameter with 'current'"
		return nil, &state.ParamError{Errors: map[string]string{"snapshot": msg, "current": msg}}
	}
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return nil, err
	}
	conf := o.Cluster.ConfOf(g)
	var values map[string]string
	if snapshot != "" {
		snap, ok := conf.Snapshots[snapshot]
		if !ok {
			return nil, state.Dief("snapshot '%s' does not exist\n", snapshot)
		}
		values = make(map[string]string, len(snap))
		for k, v := range snap {
			values[k] = v
		}
	} else {
		values = conf.Current(current)
	}
	o.readable(c, g, values)
	out := make(map[string]any, len(values)+1)
	for k, v := range values {
		out[k] = state.JSONValue(o.Cluster.Keys, k, v)
	}
	out["digest"] = conf.Digest()
	return out, nil
}

// PendingEntry is one element of GET .../pending.
type PendingEntry struct {
	Key     string `json:"key"`
	Value   any    `json:"value,omitempty"`
	Pending any    `json:"pending,omitempty"`
	Delete  int    `json:"delete,omitempty"`
}

// Pending is GET .../pending (config_with_pending_array): every current
// option with its pending value or deletion, then the options only set
// in the pending section. PVE answers in hash order; here the keys are
// sorted.
func (o *Ops) Pending(c Caller, vmid string) ([]PendingEntry, error) {
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return nil, err
	}
	conf := o.Cluster.ConfOf(g)
	values := conf.Current(true)
	values["digest"] = conf.Digest()
	pending := map[string]string{}
	for k, v := range conf.Pending {
		if k != "delete" {
			pending[k] = v
		}
	}
	o.readable(c, g, values)
	o.readable(c, g, pending)
	deletes := conf.PendingDeletes()
	keys := o.Cluster.Keys
	out := []PendingEntry{}
	for _, k := range sortedKeys(values) {
		e := PendingEntry{Key: k, Value: state.JSONValue(keys, k, values[k])}
		if p, ok := pending[k]; ok {
			e.Pending = state.JSONValue(keys, k, p)
			delete(pending, k)
		}
		if force, ok := deletes[k]; ok {
			e.Delete = 1
			if force {
				e.Delete = 2
			}
			delete(deletes, k)
		}
		out = append(out, e)
	}
	for _, k := range sortedKeys(pending) {
		out = append(out, PendingEntry{Key: k, Pending: state.JSONValue(keys, k, pending[k])})
	}
	for _, k := range sortedKeys(deletes) {
		// config_with_pending_array tests the hash entry, always true.
		out = append(out, PendingEntry{Key: k, Delete: 2})
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
