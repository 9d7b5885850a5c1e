// Package state is the simulated cluster's state: its members, guests
// (with their configuration files and state history), pools and storages,
// and the statistics derived from them on the clock. It knows nothing of
// HTTP; operations on it live in package ops, the API in package pvesim.
//
// Nothing here is safe for concurrent use: the simulator serialises every
// access under one lock.
package state

import (
	"sort"
	"strconv"
)

// Storage is one storage.cfg entry, enabled on every node.
type Storage struct {
	ID, Type, Content string
	Shared            bool
}

// DefaultStorages are the storages of every simulated cluster.
func DefaultStorages() []Storage {
	return []Storage{
		{ID: "local", Type: "dir", Content: "backup,iso,vztmpl"},
		{ID: "local-lvm", Type: "lvmthin", Content: "images,rootdir"},
		{ID: "nfs", Type: "nfs", Content: "backup,images,rootdir,vztmpl", Shared: true},
	}
}

// Cluster is the whole state.
type Cluster struct {
	Nodes    []*Node
	Guests   map[int]*Guest
	Order    []*Guest        // every guest, by vmid as a decimal string (PVE's "sort keys")
	Pools    map[string]bool // pool names
	Storages []Storage
	// Keys are the container options of the simulated version.
	Keys map[string]ConfigKey
	// PoolComments are the pools' comments ("" for none).
	PoolComments map[string]string

	vols map[string]*Volume // stored volumes (volumes.go), by location and volid
}

// NewCluster makes a cluster of nodes running pve-manager version, with
// the default storages and no guests or pools.
func NewCluster(nodes []*Node, version [3]int) *Cluster {
	return &Cluster{Nodes: nodes, Guests: map[int]*Guest{}, Pools: map[string]bool{}, Storages: DefaultStorages(),
		Keys: ConfigKeys(version)}
}

// NodeByName returns the member called name, or nil.
func (c *Cluster) NodeByName(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// SortedNodes returns the members by name (get_nodelist order).
func (c *Cluster) SortedNodes() []*Node {
	out := append([]*Node(nil), c.Nodes...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Quorate reports whether a majority of the members is online.
func (c *Cluster) Quorate() bool {
	online := 0
	for _, n := range c.Nodes {
		if n.Online {
			online++
		}
	}
	return 2*online > len(c.Nodes)
}

// Insert adds g to the indexes; its pool is created if needed.
func (c *Cluster) Insert(g *Guest) {
	c.Guests[g.VMID] = g
	i := sort.Search(len(c.Order), func(i int) bool { return c.Order[i].ID >= g.ID })
	c.Order = append(c.Order, nil)
	copy(c.Order[i+1:], c.Order[i:])
	c.Order[i] = g
	if g.Pool != "" {
		c.Pools[g.Pool] = true
	}
}

// SortOrder sorts Order by decimal vmid string, after guests were
// appended to it directly.
func (c *Cluster) SortOrder() {
	sort.Slice(c.Order, func(i, j int) bool { return c.Order[i].ID < c.Order[j].ID })
}

// PoolOf is the pool guest vmid belongs to ("" for none).
func (c *Cluster) PoolOf(vmid int) string {
	if g := c.Guests[vmid]; g != nil {
		return g.Pool
	}
	return ""
}

// LocalCT is the container vmid if its config lives on n (PVE reads
// nodes/<n>/lxc/<vmid>.conf), else nil.
func (c *Cluster) LocalCT(n *Node, vmid string) *Guest {
	id, err := strconv.Atoi(vmid)
	if err != nil {
		return nil
	}
	g := c.Guests[id]
	if g == nil || g.Node != n || g.Type != "lxc" {
		return nil
	}
	return g
}
