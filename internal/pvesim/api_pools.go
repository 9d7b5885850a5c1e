package pvesim

import (
	"net/http"
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// GET /pools (pve-manager API2/Pool.pm index) and GET /cluster/nextid
// (API2/Cluster.pm nextid).

// nextID bounds are datacenter.cfg's next-id defaults.
const (
	nextIDLower = 100
	nextIDUpper = 1000000
)

func (s *Sim) poolRoutes(rr *router) {
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/pools",
		allowToken: true,
		params: schema{
			"poolid": {Type: "string", Optional: true, Format: "pve-poolid"},
			"type":   {Type: "string", Optional: true, Enum: []string{"qemu", "lxc", "storage"}, Requires: "poolid"},
		},
		fn: s.listPools,
	})
	rr.add(&route{
		name: "nextid", method: http.MethodGet, path: "/cluster/nextid",
		allowToken: true,
		params: schema{"vmid": {Type: "integer", Optional: true, Format: "pve-vmid",
			Minimum: fptr(100), Maximum: fptr(999999999)}},
		fn: s.nextID,
	})
}

// listPools is GET /pools: the pools the user may audit, or with poolid
// the one pool with its members (whose Pool.Audit check PVE makes and
// then ignores).
func (s *Sim) listPools(c *call) (any, error) {
	poolid, ok := c.params.str("poolid")
	if !ok || poolid == "" {
		out := []map[string]any{}
		for _, p := range sortedKeys(s.cluster.Pools) {
			if !s.acl.Can(c.user, "/pool/"+p, "Pool.Audit") {
				continue
			}
			e := map[string]any{"poolid": p}
			if cm := s.cluster.PoolComments[p]; cm != "" {
				e["comment"] = cm
			}
			out = append(out, e)
		}
		return out, nil
	}
	if !s.cluster.Pools[poolid] {
		return nil, state.Dief("pool '%s' does not exist\n", poolid)
	}
	typ, _ := c.params.str("type")
	now := s.now()
	members := []any{}
	for _, g := range s.cluster.Order {
		if g.Pool != poolid || (typ != "" && typ != g.Type) {
			continue
		}
		rrd := s.guestRRD(g, now)
		var st state.GuestState
		if rrd != nil {
			bt, _ := g.Node.Broadcast(now)
			st = g.StateAt(bt)
		}
		members = append(members, &resGuest{ID: g.Type + "/" + g.ID, Type: g.Type, VMID: g.VMID, Node: g.Node.Name,
			Status: statusOf(rrd, st), resGuestStats: rrd})
	}
	e := map[string]any{"poolid": poolid, "members": members}
	if cm := s.cluster.PoolComments[poolid]; cm != "" {
		e["comment"] = cm
	}
	return []any{e}, nil
}

// nextID is GET /cluster/nextid: the lowest free VMID, or the one asked
// for if it is free. PVE sends it as a JSON string.
func (s *Sim) nextID(c *call) (any, error) {
	if v, ok := c.params.str("vmid"); ok {
		id, _ := strconv.Atoi(v)
		if s.cluster.Guests[id] != nil {
			return nil, paramError(map[string]string{"vmid": "VM " + v + " already exists"})
		}
		return v, nil
	}
	id := s.cluster.NextFreeID(nextIDLower, nextIDUpper)
	if id == 0 {
		return nil, state.Dief("unable to get any free VMID in range [%d, %d]\n", nextIDLower, nextIDUpper-1)
	}
	return strconv.Itoa(id), nil
}
