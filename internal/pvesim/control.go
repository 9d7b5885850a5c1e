package pvesim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Test controls: changes a test makes behind the API's back, the request
// counters and the request recorder. All are safe for concurrent use.

// SetNodeOnline takes a member off the network or brings it back. While
// it is offline every call proxied to it answers 595 with an empty body;
// /cluster/resources and /nodes show it "offline" and keep its last
// statistics and its guests' for 5 minutes of clock time (pmxcfs expiry),
// after which the guests show status "unknown" without statistics. Tasks
// already running there go on. The first node answers the API and cannot
// go offline.
func (s *Sim) SetNodeOnline(name string, online bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodeByName(name)
	if n == nil {
		return fmt.Errorf("pvesim: node %q is not a cluster member", name)
	}
	if n == s.nodes[0] && !online {
		return fmt.Errorf("pvesim: %s answers the API and cannot be offline", name)
	}
	now := s.now()
	s.advance(now)
	if online == n.online {
		return nil
	}
	n.online = online
	if online {
		n.offlineAt = time.Time{}
	} else {
		n.offlineAt = now
	}
	return nil
}

// guestLocked returns guest vmid, advancing tasks first. Called with s.mu
// held.
func (s *Sim) guestLocked(vmid int) (*guest, error) {
	s.advance(s.now())
	g := s.guests[vmid]
	if g == nil {
		return nil, fmt.Errorf("pvesim: no guest %d", vmid)
	}
	return g, nil
}

// SetLock sets a guest's config lock, like a backup or snapshot holding
// it ("backup", "snapshot", "migrate", ... as PVE's schema allows); ""
// removes it. Power tasks then fail with "CT is locked (<lock>)".
func (s *Sim) SetLock(vmid int, lock string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return err
	}
	if !validLock(g.typ, lock) {
		return fmt.Errorf("pvesim: invalid lock %q for a %s guest", lock, g.typ)
	}
	g.lock = lock
	return nil
}

// SetStatus starts ("running") or stops ("stopped") a guest at once,
// without a task, as if it happened outside the API (a crash, a start on
// the host). The change reaches /cluster/resources with the next pvestatd
// cycle, like any other.
func (s *Sim) SetStatus(vmid int, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return err
	}
	now := s.now()
	switch status {
	case "running":
		if g.template {
			return fmt.Errorf("pvesim: guest %d is a template", vmid)
		}
		if !g.cur.running {
			g.setState(now, guestState{running: true, startedAt: now, starts: g.cur.starts + 1})
		}
	case "stopped":
		if g.cur.running {
			g.setState(now, guestState{starts: g.cur.starts})
		}
	default:
		return fmt.Errorf("pvesim: status %q is neither running nor stopped", status)
	}
	return nil
}

// SetIgnoreShutdown makes a guest ignore (or again obey) clean shutdown
// requests: a shutdown without forceStop then fails after timeout with
// "container did not stop"; with forceStop, and in a reboot, it is killed
// after the timeout.
func (s *Sim) SetIgnoreShutdown(vmid int, ignore bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return err
	}
	g.ignoreShutdown = ignore
	return nil
}

// AddGuest adds a guest at run time (vmid unique, node a member; see
// Guest for defaults). Like a freshly created one, it has no statistics
// in /cluster/resources until its node's next pvestatd cycle.
func (s *Sim) AddGuest(g Guest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.advance(now)
	ng, err := s.newGuest(g, now)
	if err != nil {
		return err
	}
	s.insertGuest(ng)
	return nil
}

// snapshot converts g to a Guest at now.
func (g *guest) snapshot(now time.Time) Guest {
	out := Guest{
		VMID: g.vmid, Type: g.typ, Node: g.node.name, Name: g.name, Status: "stopped",
		Template: g.template, Lock: g.lock, Tags: g.tags, Pool: g.pool, Cores: g.cores,
		MemoryMiB: g.memMiB, SwapMiB: g.swapMiB, DiskGiB: int(g.diskBytes / gib),
		IgnoreShutdown: g.ignoreShutdown,
	}
	if g.cur.running {
		out.Status = "running"
		out.Uptime = now.Sub(g.cur.startedAt)
	}
	return out
}

// Container returns the current state of guest vmid (a container or a
// VM), with every task due by now applied.
func (s *Sim) Container(vmid int) (Guest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.advance(now)
	g := s.guests[vmid]
	if g == nil {
		return Guest{}, false
	}
	return g.snapshot(now), true
}

// Containers returns every guest (containers and VMs), by vmid.
func (s *Sim) Containers() []Guest {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.advance(now)
	out := make([]Guest, 0, len(s.guests))
	for _, g := range s.guests {
		out = append(out, g.snapshot(now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}

// Calls returns how many requests resolved to the API method given by
// its HTTP method and schema path, e.g. ("GET", "/cluster/resources") or
// ("POST", "/nodes/{node}/lxc/{vmid}/status/start"), whatever their
// outcome (authentication failures, 403s, 595s included). It is 0 for a
// method the simulator does not serve.
func (s *Sim) Calls(method, route string) int64 {
	rt := s.routes.byKey[method+" "+route]
	if rt == nil {
		return 0
	}
	return rt.calls.Load()
}

// Routes returns "METHOD /schema/path" for every API method served.
func (s *Sim) Routes() []string {
	out := make([]string, 0, len(s.routes.all))
	for _, rt := range s.routes.all {
		out = append(out, rt.key())
	}
	return out
}

// RecordedCall is one API call as the simulator received it.
type RecordedCall struct {
	Method string // "GET", "POST", ...
	Route  string // schema path, "/nodes/{node}/lxc"; "" when no method matched
	Path   string // the path as called, below /api2/json
	// Params holds the path variables and the query and body parameters
	// (after "_dc" is dropped), as pveproxy merges them. Values are the
	// strings PVE sees: JSON true/false become "1"/"0", arrays are joined
	// with ",", objects are JSON text; parameters sent without a value
	// (undefined for PVE) are left out.
	Params map[string]string
	Status int // HTTP status of the answer
}

// Record turns the request recorder on or off. Turning it on clears what
// was recorded before. Calls rejected before their parameters are read
// (authentication failures, transport errors) are not recorded.
func (s *Sim) Record(on bool) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if on {
		s.recorded = nil
	}
	s.recording.Store(on)
}

// Recorded returns the calls recorded since Record(true), in order.
func (s *Sim) Recorded() []RecordedCall {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return append([]RecordedCall(nil), s.recorded...)
}

// record stores c.
func (s *Sim) record(c *call, status int) {
	rc := RecordedCall{Method: c.method, Path: c.relURI, Params: map[string]string{}, Status: status}
	if c.route != nil {
		rc.Route = c.route.path
	}
	for k, v := range c.params {
		if str, ok := paramString(v); ok {
			rc.Params[k] = str
		}
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.recording.Load() {
		s.recorded = append(s.recorded, rc)
	}
}

// paramString renders a parameter value as PVE would see it as a string.
func paramString(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case bool:
		if t {
			return "1", true
		}
		return "0", true
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := paramString(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	return string(b), true
}
