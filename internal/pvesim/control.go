package pvesim

import (
	"fmt"
	"sort"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Test controls: changes a test makes behind the API's back, and the
// request counters. All are safe for concurrent use.

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
	n := s.cluster.NodeByName(name)
	if n == nil {
		return fmt.Errorf("pvesim: node %q is not a cluster member", name)
	}
	if n == s.localNode() && !online {
		return fmt.Errorf("pvesim: %s answers the API and cannot be offline", name)
	}
	now := s.now()
	s.tasks.Advance(now)
	if online == n.Online {
		return nil
	}
	n.Online = online
	if online {
		n.OfflineAt = time.Time{}
	} else {
		n.OfflineAt = now
	}
	return nil
}

// guestLocked returns guest vmid, advancing tasks first. Called with s.mu
// held. The error wraps state.ErrNotFound.
func (s *Sim) guestLocked(vmid int) (*state.Guest, error) {
	s.tasks.Advance(s.now())
	g := s.cluster.Guests[vmid]
	if g == nil {
		return nil, fmt.Errorf("pvesim: no guest %d: %w", vmid, state.ErrNotFound)
	}
	return g, nil
}

// SetLock sets a guest's config lock, like a backup or snapshot holding
// it ("backup", "snapshot", "migrate", ... as PVE's schema allows); ""
// removes it. Power tasks then fail with "CT is locked (<lock>)", and
// configuration changes with the same synchronous error.
func (s *Sim) SetLock(vmid int, lock string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return err
	}
	if !state.ValidLock(g.Type, lock) {
		return fmt.Errorf("pvesim: invalid lock %q for a %s guest: %w", lock, g.Type, state.ErrInvalid)
	}
	s.cluster.SetOption(g, "lock", lock)
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
		if g.Template {
			return fmt.Errorf("pvesim: guest %d is a template", vmid)
		}
		if !g.Cur.Running {
			g.SetState(now, state.GuestState{Running: true, StartedAt: now, Starts: g.Cur.Starts + 1})
		}
	case "stopped":
		if g.Cur.Running {
			g.SetState(now, state.GuestState{Starts: g.Cur.Starts})
		}
	default:
		return fmt.Errorf("pvesim: status %q is neither running nor stopped: %w", status, state.ErrInvalid)
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
	g.IgnoreShutdown = ignore
	return nil
}

// AddGuest adds a guest at run time (vmid unique, node a member; see
// Guest for defaults). Like a freshly created one, it has no statistics
// in /cluster/resources until its node's next pvestatd cycle.
func (s *Sim) AddGuest(g Guest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.tasks.Advance(now)
	ng, err := s.cluster.NewGuest(state.Spec(g), now)
	if err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	s.cluster.Insert(ng)
	return nil
}

// Container returns the current state of guest vmid (a container or a
// VM), with every task due by now applied.
func (s *Sim) Container(vmid int) (Guest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.tasks.Advance(now)
	g := s.cluster.Guests[vmid]
	if g == nil {
		return Guest{}, false
	}
	return snapshot(g, now), true
}

// Containers returns every guest (containers and VMs), by vmid.
func (s *Sim) Containers() []Guest {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.tasks.Advance(now)
	out := make([]Guest, 0, len(s.cluster.Guests))
	for _, g := range s.cluster.Guests {
		out = append(out, snapshot(g, now))
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
