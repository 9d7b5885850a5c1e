package pvesim

import (
	"net/http"
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// A container's statistics history and interfaces: GET .../rrddata and
// GET .../interfaces (pve-container API2/LXC.pm rrddata, ip).

func itoa(i int) string { return strconv.Itoa(i) }

func (s *Sim) statsRoutes(rr *router) {
	audit := []string{"VM.Audit"}
	rr.add(&route{
		name: "rrddata", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/rrddata",
		allowToken: true, protected: true,
		checkPath: "/vms/{vmid}", checkPrivs: audit,
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"timeframe": {Type: "string", Enum: []string{"hour", "day", "week", "month", "year"}},
			"cf":        {Type: "string", Optional: true, Enum: []string{"AVERAGE", "MAX"}}},
		fn: s.rrdData,
	})
	rr.add(&route{
		name: "ip", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/interfaces",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: audit,
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.interfaces,
	})
}

// rrdData is GET .../rrddata. It has no proxyto: every node holds the
// RRD files of the whole cluster, so the node in the path only has to be
// a valid name and any guest's history (a VM's too) is there.
func (s *Sim) rrdData(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	timeframe, _ := c.params.str("timeframe")
	cf, ok := c.params.str("cf")
	if !ok || cf == "" {
		cf = "AVERAGE"
	}
	v9 := s.versionAtLeast(9, 0, 0)
	id, _ := strconv.Atoi(vmid)
	g := s.cluster.Guests[id]
	if g == nil {
		dir := "pve2-vm"
		if v9 {
			dir = "pve-vm-9.0"
		}
		return nil, state.Dief("RRD error: opening '/var/lib/rrdcached/db/%s/%s': No such file or directory\n", dir, vmid)
	}
	return g.RRDData(timeframe, cf, s.now(), v9), nil
}

// interfaces is GET .../interfaces: null unless the container runs here.
func (s *Sim) interfaces(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	list := s.ops.Interfaces(c.caller(), vmid)
	if list == nil {
		return nil, nil
	}
	return list, nil
}
