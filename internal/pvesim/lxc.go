package pvesim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Containers: /nodes/{node}/lxc (pve-container API2/LXC.pm and
// API2/LXC/Status.pm, PVE::LXC::vmstatus).

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
	if name == "localhost" || name == s.nodes[0].name {
		c.node = s.nodes[0]
		return nil
	}
	n := s.nodeByName(name)
	if n == nil {
		return errorReply(internalError("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known\n", name, name))
	}
	if !n.online {
		return bareReply(595, "Errors during connection establishment, proxy handshake: No route to host")
	}
	c.node = n
	return nil
}

// vmidParam is the standard option pve-vmid.
var vmidParam = prop{Type: "integer", Format: "pve-vmid", Minimum: fptr(100), Maximum: fptr(999999999)}

func (s *Sim) lxcRoutes(rr *router) {
	nodeParam := prop{Type: "string", Format: "pve-node"}
	skiplock := prop{Type: "boolean", Optional: true}
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
	power := []string{"VM.PowerMgmt"}
	rr.add(&route{
		name: "vm_start", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/start",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: schema{"node": nodeParam, "vmid": vmidParam, "skiplock": skiplock,
			"debug": {Type: "boolean", Optional: true}},
		fn: s.ctStart,
	})
	stop := schema{"node": nodeParam, "vmid": vmidParam, "skiplock": skiplock}
	if s.versionAtLeast(8, 2, 0) {
		stop["overrule-shutdown"] = prop{Type: "boolean", Optional: true}
	}
	rr.add(&route{
		name: "vm_stop", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/stop",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: stop,
		fn:     s.ctStop,
	})
	rr.add(&route{
		name: "vm_shutdown", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/shutdown",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"timeout":   {Type: "integer", Optional: true, Minimum: fptr(0)},
			"forceStop": {Type: "boolean", Optional: true}},
		fn: s.ctShutdown,
	})
	rr.add(&route{
		name: "vm_reboot", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/reboot",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"timeout": {Type: "integer", Optional: true, Minimum: fptr(0)}},
		fn: s.ctReboot,
	})
}

// localCT is the container vmid if its config lives on n (PVE reads
// nodes/<n>/lxc/<vmid>.conf), else nil.
func (s *Sim) localCT(n *node, vmid string) *guest {
	id, err := strconv.Atoi(vmid)
	if err != nil {
		return nil
	}
	g := s.guests[id]
	if g == nil || g.node != n || g.typ != "lxc" {
		return nil
	}
	return g
}

// noConfig is load_config's error for a container that is not on n.
func noConfig(n *node, vmid string) string {
	return fmt.Sprintf("Configuration file 'nodes/%s/lxc/%s.conf' does not exist", n.name, vmid)
}

// ctStatusEntry is one element of vmstatus: every CT has the base
// fields, running ones add pid and (PVE 9) the pressure stall values.
type ctStatusEntry struct {
	VMID      int     `json:"vmid"`
	Type      string  `json:"type"`
	Status    string  `json:"status"`
	Name      string  `json:"name"`
	CPUs      int     `json:"cpus"`
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
func (s *Sim) ctEntry(g *guest, now time.Time) *ctStatusEntry {
	st := g.cur
	m := g.statsAt(st, now)
	e := &ctStatusEntry{
		VMID: g.vmid, Type: "lxc", Status: "stopped", Name: g.displayName(), CPUs: g.cpus(),
		Tags: g.tags, Disk: m.disk, MaxDisk: m.maxdisk, Mem: m.mem, Swap: m.swap,
		MaxMem: int64(g.memMiB) << 20, MaxSwap: int64(g.swapMiB) << 20, Uptime: m.uptime, CPU: m.cpu,
		NetOut: m.netout, NetIn: m.netin, DiskRead: m.diskread, DiskWrite: m.diskwrite, Lock: g.lock,
	}
	if g.template {
		e.Template = 1
	}
	if st.running {
		e.Status = "running"
		e.PID = g.pidOf(st)
		if s.versionAtLeast(9, 0, 0) {
			p := m.pressure
			e.ctPressure = &ctPressure{p[0], p[1], p[2], p[3], p[4], p[5]}
		}
	}
	return e
}

// listCTs is GET /nodes/{node}/lxc: the node's containers the user may
// audit. PVE returns them in hash order; here they are sorted by vmid.
func (s *Sim) listCTs(c *call) (any, *apiError) {
	now := s.now()
	audit := s.perms.vmAuditor(c.user, "VM.Audit")
	var list []*guest
	for _, g := range s.guests {
		if g.node == c.node && g.typ == "lxc" && audit.can(g.vmid) {
			list = append(list, g)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].vmid < list[j].vmid })
	out := make([]*ctStatusEntry, len(list))
	for i, g := range list {
		out[i] = s.ctEntry(g, now)
	}
	return out, nil
}

// ctIndex answers a directory index after load_config's existence check.
func (s *Sim) ctIndex(subdirs ...string) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		vmid, _ := c.params.str("vmid")
		if s.localCT(c.node, vmid) == nil {
			return nil, internalError("%s\n", noConfig(c.node, vmid))
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
func (s *Sim) ctStatus(c *call) (any, *apiError) {
	vmid, _ := c.params.str("vmid")
	g := s.localCT(c.node, vmid)
	if g == nil {
		return nil, internalError("%s\n", noConfig(c.node, vmid))
	}
	e := s.ctEntry(g, s.now())
	e.HA = &haStatus{}
	return e, nil
}

// skiplockAllowed is the handlers' raise_param_exc for skiplock.
func skiplockAllowed(c *call) (bool, *apiError) {
	v, ok := c.params.str("skiplock")
	if !perlTrue(v, ok) {
		return false, nil
	}
	if c.user != rootUser {
		return false, paramError(map[string]string{"skiplock": "Only root may use this option."})
	}
	return true, nil
}

// running is check_running: the CT runs on the node handling the call.
func (s *Sim) running(c *call, vmid string) bool {
	g := s.localCT(c.node, vmid)
	return g != nil && g.cur.running
}

// Task durations at TaskDurationScale 1, varied per container and start.
func startDuration(g *guest) time.Duration {
	return time.Second + time.Duration((g.vmid+g.cur.starts)%11)*100*time.Millisecond
}

func stopDuration(g *guest) time.Duration {
	return 500*time.Millisecond + time.Duration(g.vmid%6)*100*time.Millisecond
}

func shutdownDuration(g *guest) time.Duration {
	return 2*time.Second + time.Duration((g.vmid*7+g.cur.starts)%21)*100*time.Millisecond
}

func rebootDownDuration(g *guest) time.Duration {
	return 1500*time.Millisecond + time.Duration(g.vmid%11)*100*time.Millisecond
}

// ctStart is POST .../status/start (vzstart).
func (s *Sim) ctStart(c *call) (any, *apiError) {
	vmid, _ := c.params.str("vmid")
	skiplock, perr := skiplockAllowed(c)
	if perr != nil {
		return nil, perr
	}
	if s.running(c, vmid) {
		return nil, internalError("CT %s already running\n", vmid)
	}
	if !s.quorate() {
		return nil, internalError("cluster not ready - no quorum?\n")
	}
	t := s.newTask(c, "vzstart", vmid)
	s.withConfigLock(t, s.now(), func(at time.Time) {
		g := s.localCT(t.node, vmid)
		switch {
		case g == nil:
			s.fail(t, at, noConfig(t.node, vmid))
		case g.template:
			s.fail(t, at, "you can't start a CT if it's a template")
		case !skiplock && g.lock != "" && g.lock != "mounted":
			s.fail(t, at, fmt.Sprintf("CT is locked (%s)", g.lock))
		case g.cur.running:
			// systemctl start of a running unit changes nothing
			s.succeed(t, at, s.dur(noopDelay), nil)
		default:
			s.succeed(t, at, s.dur(startDuration(g)), func(end time.Time) {
				g.setState(end, guestState{running: true, startedAt: end, starts: g.cur.starts + 1})
			})
		}
	})
	return t.upid, nil
}

// ctStop is POST .../status/stop (vzstop).
func (s *Sim) ctStop(c *call) (any, *apiError) {
	vmid, _ := c.params.str("vmid")
	skiplock, perr := skiplockAllowed(c)
	if perr != nil {
		return nil, perr
	}
	ov, ovSet := c.params.str("overrule-shutdown")
	overrule := perlTrue(ov, ovSet)
	if !s.running(c, vmid) {
		return nil, internalError("CT %s not running\n", vmid)
	}
	t := s.newTask(c, "vzstop", vmid)
	now := s.now()
	if overrule {
		if aborted := s.abortShutdowns(c, vmid, now); len(aborted) > 0 {
			t.log(now, "overruled vzshutdown tasks: "+strings.Join(aborted, ", "))
		}
	}
	s.withConfigLock(t, now, func(at time.Time) {
		g := s.localCT(t.node, vmid)
		switch {
		case g == nil:
			s.fail(t, at, noConfig(t.node, vmid))
		case !skiplock && g.lock != "" && g.lock != "mounted":
			s.fail(t, at, fmt.Sprintf("CT is locked (%s)", g.lock))
		case !g.cur.running:
			s.succeed(t, at, s.dur(noopDelay), nil)
		default:
			s.succeed(t, at, s.dur(stopDuration(g)), func(end time.Time) {
				g.setState(end, guestState{starts: g.cur.starts})
			})
		}
	})
	return t.upid, nil
}

// abortShutdowns is abort_guest_tasks for 'vzshutdown': the caller's own
// tasks, or all with Sys.Modify on the node. It returns the aborted UPIDs.
func (s *Sim) abortShutdowns(c *call, vmid string, at time.Time) []string {
	all := s.perms.can(c.user, "/nodes/"+c.node.name, "Sys.Modify")
	var aborted []string
	for _, t := range append([]*task(nil), s.active...) {
		if t.done || t.node != c.node || t.typ != "vzshutdown" || t.id != vmid {
			continue
		}
		if !all && t.user != c.user {
			continue
		}
		s.dequeue(t)
		s.finish(t, at, "received interrupt")
		aborted = append(aborted, t.upid)
	}
	return aborted
}

// ctShutdown is POST .../status/shutdown (vzshutdown): lxc-stop with
// --timeout, and --nokill unless forceStop. A container that has not
// stopped when lxc-stop gives up is polled for timeout+5 s more before
// the task fails with "container did not stop".
func (s *Sim) ctShutdown(c *call) (any, *apiError) {
	vmid, _ := c.params.str("vmid")
	timeout := 60
	if v, ok := c.params.str("timeout"); ok {
		timeout, _ = strconv.Atoi(v)
	}
	fs, fsSet := c.params.str("forceStop")
	force := perlTrue(fs, fsSet)
	if !s.running(c, vmid) {
		return nil, internalError("CT %s not running\n", vmid)
	}
	t := s.newTask(c, "vzshutdown", vmid)
	s.withConfigLock(t, s.now(), func(at time.Time) {
		g := s.localCT(t.node, vmid)
		switch {
		case g == nil:
			s.fail(t, at, noConfig(t.node, vmid))
			return
		case g.lock != "":
			s.fail(t, at, fmt.Sprintf("CT is locked (%s)", g.lock))
			return
		case !g.cur.running:
			s.succeed(t, at, s.dur(noopDelay), nil)
			return
		}
		stopped := func(end time.Time) { g.setState(end, guestState{starts: g.cur.starts}) }
		limit := s.dur(time.Duration(timeout) * time.Second)
		clean := s.dur(shutdownDuration(g))
		stops := !g.ignoreShutdown
		switch {
		case stops && clean <= limit:
			s.succeed(t, at, clean, stopped)
		case force:
			s.succeed(t, at, limit, stopped) // killed after the timeout
		default:
			t.log(at.Add(limit), fmt.Sprintf("command 'lxc-stop -n %s --nokill --timeout %d' failed: exit code 1", vmid, timeout))
			poll := limit + s.dur(time.Duration(timeout+5)*time.Second)
			if stops && clean <= poll {
				s.succeed(t, at, clean, stopped)
				return
			}
			s.schedule(t, at.Add(poll), func(end time.Time) { s.finish(t, end, "container did not stop") })
		}
	})
	return t.upid, nil
}

// ctReboot is POST .../status/reboot (vzreboot): vm_reboot shuts the CT
// down (killing it after timeout, lxc-stop's default 60 s) and starts it
// again. Like PVE it checks no config lock.
func (s *Sim) ctReboot(c *call) (any, *apiError) {
	vmid, _ := c.params.str("vmid")
	timeout := 60
	if v, ok := c.params.str("timeout"); ok {
		timeout, _ = strconv.Atoi(v)
	}
	if !s.running(c, vmid) {
		return nil, internalError("VM %s not running\n", vmid)
	}
	t := s.newTask(c, "vzreboot", vmid)
	s.withConfigLock(t, s.now(), func(at time.Time) {
		g := s.localCT(t.node, vmid)
		if g == nil || !g.cur.running {
			s.succeed(t, at, s.dur(noopDelay), nil)
			return
		}
		down := s.dur(rebootDownDuration(g))
		if limit := s.dur(time.Duration(timeout) * time.Second); g.ignoreShutdown || down > limit {
			down = limit
		}
		s.schedule(t, at.Add(down), func(mid time.Time) {
			g.setState(mid, guestState{starts: g.cur.starts})
			s.succeed(t, mid, s.dur(startDuration(g)), func(end time.Time) {
				g.setState(end, guestState{running: true, startedAt: end, starts: g.cur.starts + 1})
			})
		})
	})
	return t.upid, nil
}
