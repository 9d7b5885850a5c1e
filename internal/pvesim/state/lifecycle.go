package state

import "sort"

// Guests come and go: created by the API (create, clone) and destroyed.

// Remove drops guest g from the cluster (its configuration file is gone).
func (c *Cluster) Remove(g *Guest) {
	if c.Guests[g.VMID] != g {
		return
	}
	delete(c.Guests, g.VMID)
	i := sort.Search(len(c.Order), func(i int) bool { return c.Order[i].ID >= g.ID })
	if i < len(c.Order) && c.Order[i] == g {
		c.Order = append(c.Order[:i], c.Order[i+1:]...)
	}
}

// InUseError is check_vmid_unused's refusal: "CT 105 already exists on
// node 'pve1'" ("VM" for a QEMU guest).
func (c *Cluster) InUseError(vmid int) error {
	g := c.Guests[vmid]
	if g == nil {
		return nil
	}
	kind := "CT"
	if g.Type == "qemu" {
		kind = "VM"
	}
	return Dief("%s %d already exists on node '%s'\n", kind, vmid, g.Node.Name)
}

// NextFreeID is the lowest vmid from lower on that no guest uses, or 0.
func (c *Cluster) NextFreeID(lower, upper int) int {
	for id := lower; id < upper; id++ {
		if c.Guests[id] == nil {
			return id
		}
	}
	return 0
}
