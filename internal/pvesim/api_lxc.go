package pvesim

import (
	"net/http"
	"sort"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Containers: the list, the directory indexes and status/current
// (pve-container API2/LXC.pm and API2/LXC/Status.pm, PVE::LXC::vmstatus),
// and proxying to the node in the path.

// proxy is rest_handler's proxyto step, run after the permission check
// and before parameter verification: the call is answered by the node
// named in param; "localhost" and the local node answer it here. An
// unknown name fails the DNS lookup pveproxy falls back to (500); an
// offline member cannot be reached (595, empty body). On success c.node
// is the answering node. Called with s.mu held.
func (s *Sim) proxy(c *call, param string) *reply {
	name, _ := c.params.str(param)
	if name == "" {
		return errorReply(paramError(map[string]string{param: "proxyto parameter does not exist"}))
	}
	if name == "localhost" || name == s.localNode().Name {
		c.node = s.localNode()
		return nil
	}
	n := s.cluster.NodeByName(name)
	if n == nil {
		return errorReply(internalError("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known\n", name, name))
	}
	if !n.Online {
		return bareReply(595, "Errors during connection establishment, proxy handshake: No route to host")
	}
	c.node = n
	return nil
}

// Standard parameters.
var (
	nodeParam = prop{Type: "string", Format: "pve-node"}
	vmidParam = prop{Type: "integer", Format: "pve-vmid", Minimum: fptr(100), Maximum: fptr(999999999)}
)

func (s *Sim) lxcRoutes(rr *router) {
	rr.add(&route{
		name: "vmlist", method: http.MethodGet, path: "/nodes/{node}/lxc",
		allowToken: true, protected: true, proxyTo: "node",
		params: schema{"node": nodeParam},
		fn:     s.listCTs,
	})
	rr.add(&route{
		name: "vmdiridx", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}",
		allowToken: true, proxyTo: "node",
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn: s.ctIndex("config", "pending", "status", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy",
			"migrate", "clone", "rrd", "rrddata", "firewall", "snapshot", "resize", "interfaces"),
	})
	rr.add(&route{
		name: "vmcmdidx", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/status",
		allowToken: true, proxyTo: "node",
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.ctIndex("current", "start", "stop", "shutdown", "reboot", "migrate"),
	})
	rr.add(&route{
		name: "vm_status", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/status/current",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Audit"},
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.ctStatus,
	})
}

// ctStatusEntry is one element of vmstatus: every CT has the base
// fields, running ones add pid and (PVE 9) the pressure stall values.
type ctStatusEntry struct {
	VMID      int     `json:"vmid"`
	Type      string  `json:"type"`
	Status    string  `json:"status"`
	Name      string  `json:"name"`
	CPUs      float64 `json:"cpus"`
	Tags      string  `json:"tags,omitempty"`
	Disk      int64   `json:"disk"`
	MaxDisk   int64   `json:"maxdisk"`
	Mem       int64   `json:"mem"`
	Swap      int64   `json:"swap"`
	MaxMem    int64   `json:"maxmem"`
	MaxSwap   int64   `json:"maxswap"`
	Uptime    int64   `json:"uptime"`
	CPU       float64 `json:"cpu"`
	NetOut    int64   `json:"netout"`
	NetIn     int64   `json:"netin"`
	DiskRead  int64   `json:"diskread"`
	DiskWrite int64   `json:"diskwrite"`
	Template  int     `json:"template,omitempty"`
	Lock      string  `json:"lock,omitempty"`
	PID       int     `json:"pid,omitempty"`
	*ctPressure
	HA *haStatus `json:"ha,omitempty"`
}

type ctPressure struct {
	CPUSome float64 `json:"pressurecpusome"`
	CPUFull float64 `json:"pressurecpufull"`
	IOSome  float64 `json:"pressureiosome"`
	IOFull  float64 `json:"pressureiofull"`
	MemSome float64 `json:"pressurememorysome"`
	MemFull float64 `json:"pressurememoryfull"`
}

// haStatus is pve-ha-manager's get_service_status for an unmanaged guest.
type haStatus struct {
	Managed int `json:"managed"`
}

// ctEntry is vmstatus for one container, measured now.
func (s *Sim) ctEntry(g *state.Guest, now time.Time) *ctStatusEntry {
	st := g.Cur
	m := g.StatsAt(st, now)
	e := &ctStatusEntry{
		VMID: g.VMID, Type: "lxc", Status: "stopped", Name: g.DisplayName(), CPUs: g.CPUs(),
		Tags: g.Tags, Disk: m.Disk, MaxDisk: m.MaxDisk, Mem: m.Mem, Swap: m.Swap,
		MaxMem: int64(g.MemMiB) << 20, MaxSwap: int64(g.SwapMiB) << 20, Uptime: m.Uptime, CPU: m.CPU,
		NetOut: m.NetOut, NetIn: m.NetIn, DiskRead: m.DiskRead, DiskWrite: m.DiskWrite, Lock: g.Lock,
	}
	if g.Template {
		e.Template = 1
	}
	if st.Running {
		e.Status = "running"
		e.PID = g.PIDOf(st)
		if s.versionAtLeast(9, 0, 0) {
			p := m.Pressure
			e.ctPressure = &ctPressure{p[0], p[1], p[2], p[3], p[4], p[5]}
		}
	}
	return e
}

// listCTs is GET /nodes/{node}/lxc: the node's containers the user may
// audit. PVE returns them in hash order; here they are sorted by vmid.
func (s *Sim) listCTs(c *call) (any, error) {
	now := s.now()
	audit := s.acl.NewVMAuditor(c.user, "VM.Audit")
	var list []*state.Guest
	for _, g := range s.cluster.Guests {
		if g.Node == c.node && g.Type == "lxc" && audit.Can(g.VMID) {
			list = append(list, g)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].VMID < list[j].VMID })
	out := make([]*ctStatusEntry, len(list))
	for i, g := range list {
		out[i] = s.ctEntry(g, now)
	}
	return out, nil
}

// ctIndex answers a directory index after load_config's existence check.
func (s *Sim) ctIndex(subdirs ...string) func(c *call) (any, error) {
	return func(c *call) (any, error) {
		vmid, _ := c.params.str("vmid")
		if _, err := s.ops.LoadCT(c.caller(), vmid); err != nil {
			return nil, err
		}
		out := make([]map[string]any, len(subdirs))
		for i, d := range subdirs {
			out[i] = map[string]any{"subdir": d}
		}
		return out, nil
	}
}

// ctStatus is GET /nodes/{node}/lxc/{vmid}/status/current: live values,
// no lag.
func (s *Sim) ctStatus(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	g, err := s.ops.LoadCT(c.caller(), vmid)
	if err != nil {
		return nil, err
	}
	e := s.ctEntry(g, s.now())
	e.HA = &haStatus{}
	return e, nil
}
