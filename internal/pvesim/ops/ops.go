// Package ops is what the simulated cluster does: power actions, the
// container configuration and its pending changes, disk resizing, the
// interfaces of running containers, statistics history, as operations
// over package state and package tasks, with the permission checks PVE
// makes inside its handlers (package access). It knows nothing of HTTP:
// a caller is a user and the node handling the call.
//
// Nothing here is safe for concurrent use: the simulator serialises every
// access under one lock.
package ops

import (
	"fmt"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// Ops binds the operations to one cluster.
type Ops struct {
	Cluster *state.Cluster
	Tasks   *tasks.Engine
	ACL     *access.ACL
	Now     func() time.Time
	// Version is the simulated pve-manager version.
	Version [3]int

	dumpJobs map[*state.Node][]*dumpJob // per node: the running vzdump job first
}

// Caller is who asks, and the node that handles the call (the node in
// the path, after pveproxy forwarded it).
type Caller struct {
	User string
	Node *state.Node
}

// VersionAtLeast compares the simulated pve-manager version.
func (o *Ops) VersionAtLeast(major, minor, patch int) bool {
	want := [3]int{major, minor, patch}
	for i := 0; i < 3; i++ {
		if o.Version[i] != want[i] {
			return o.Version[i] > want[i]
		}
	}
	return true
}

// NoConfig is load_config's error for a container that is not on n.
func NoConfig(n *state.Node, vmid string) *state.Die {
	return state.Dief("Configuration file 'nodes/%s/lxc/%s.conf' does not exist\n", n.Name, vmid)
}

// noConfigText is NoConfig's text without the newline, for task exits.
func noConfigText(n *state.Node, vmid string) string {
	return fmt.Sprintf("Configuration file 'nodes/%s/lxc/%s.conf' does not exist", n.Name, vmid)
}

// LoadCT is load_config for container vmid on the caller's node.
func (o *Ops) LoadCT(c Caller, vmid string) (*state.Guest, error) {
	g := o.Cluster.LocalCT(c.Node, vmid)
	if g == nil {
		return nil, NoConfig(c.Node, vmid)
	}
	return g, nil
}

// checkLock is check_lock.
func checkLock(g *state.Guest) error {
	if g.Lock != "" {
		return state.Dief("CT is locked (%s)\n", g.Lock)
	}
	return nil
}

// SkiplockAllowed is the handlers' check of skiplock: root only.
func SkiplockAllowed(user string, requested bool) (bool, error) {
	if !requested {
		return false, nil
	}
	if user != access.RootUser {
		return false, state.ParamErr("skiplock", "Only root may use this option.")
	}
	return true, nil
}
