package state

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Spec describes a guest to add: the argument of Cluster.NewGuest, and
// the shape of the simulator's public Guest type.
type Spec struct {
	VMID           int
	Type           string // "lxc" (default) or "qemu"
	Node           string // cluster member it lives on
	Name           string // hostname; "" shows as "CT<vmid>" (lxc) or "VM <vmid>" (qemu)
	Status         string // "running" or "stopped" (default)
	Template       bool   // templates are always stopped
	Lock           string // config lock ("backup", "snapshot", ...), "" for none
	Tags           string // ';'-separated, like "prod;web"
	Pool           string // resource pool, "" for none; pools are created on first use
	Cores          int    // 0: unlimited, counted as the node's CPU count (PVE's fallback)
	MemoryMiB      int    // 0 means PVE's default 512
	SwapMiB        int
	DiskGiB        int  // root disk size; 0 means PVE's fallback of 4 GiB
	IgnoreShutdown bool // the guest ignores clean shutdown requests
	Uptime         time.Duration
}

// GuestState is the part of a guest that tasks change.
type GuestState struct {
	Running   bool
	StartedAt time.Time // valid while running
	Starts    int       // how often it was started (varies pid and timings)
}

// StateChange is one entry of a guest's state history.
type StateChange struct {
	At    time.Time
	State GuestState
}

// History limits: state changes are kept for a year (the RRD's longest
// timeframe), at most historyMax of them.
const (
	historyKeep = 366 * 24 * time.Hour
	historyMax  = 4096
)

// Guest is one VM or CT. The fields below conf are derived from the
// container's configuration (see Conf) and kept in step with it.
type Guest struct {
	VMID           int
	ID             string // decimal vmid
	Type           string // "lxc" or "qemu"
	Node           *Node
	Pool           string
	IgnoreShutdown bool
	Seed           uint64
	Created        time.Time // pvestatd has data on it from the next cycle on

	Cur  GuestState
	Base GuestState    // state before Hist[0]
	Hist []StateChange // changes, oldest first

	conf *Conf // nil until first needed (containers only)

	Name      string
	Template  bool
	Lock      string
	Tags      string
	Cores     int
	CPULimit  string // "" for none
	MemMiB    int
	SwapMiB   int
	DiskBytes int64
}

var (
	// TagRe is a valid tag (pve-tag).
	TagRe    = regexp.MustCompile(`^(?i)[a-z0-9_][a-z0-9_\-+.]*$`)
	poolIDRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_\-.]*$`)
	// DNSNameRe is PVE's dns-name format.
	DNSNameRe = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?))*$`)
	ctLocks   = map[string]bool{"backup": true, "create": true, "destroyed": true, "disk": true, "fstrim": true,
		"migrate": true, "mounted": true, "rollback": true, "snapshot": true, "snapshot-delete": true}
	qemuLocks = map[string]bool{"backup": true, "clone": true, "create": true, "migrate": true, "rollback": true,
		"snapshot": true, "snapshot-delete": true, "suspending": true, "suspended": true}
)

// ValidLock checks a lock value against the guest type's config schema.
func ValidLock(typ, lock string) bool {
	if lock == "" {
		return true
	}
	if typ == "qemu" {
		return qemuLocks[lock]
	}
	return ctLocks[lock]
}

// NewGuest validates sp and builds the guest (not yet inserted).
func (c *Cluster) NewGuest(sp Spec, now time.Time) (*Guest, error) {
	if sp.VMID < 100 || sp.VMID > 999999999 {
		return nil, fmt.Errorf("vmid %d out of range 100-999999999", sp.VMID)
	}
	if _, dup := c.Guests[sp.VMID]; dup {
		return nil, fmt.Errorf("vmid %d already exists", sp.VMID)
	}
	typ := sp.Type
	if typ == "" {
		typ = "lxc"
	}
	if typ != "lxc" && typ != "qemu" {
		return nil, fmt.Errorf("guest %d: type %q is neither lxc nor qemu", sp.VMID, sp.Type)
	}
	n := c.NodeByName(sp.Node)
	if n == nil {
		return nil, fmt.Errorf("guest %d: node %q is not a cluster member", sp.VMID, sp.Node)
	}
	if sp.Name != "" && (!DNSNameRe.MatchString(sp.Name) || len(sp.Name) > 255) {
		return nil, fmt.Errorf("guest %d: name %q is not a DNS name", sp.VMID, sp.Name)
	}
	if !ValidLock(typ, sp.Lock) {
		return nil, fmt.Errorf("guest %d: invalid lock %q", sp.VMID, sp.Lock)
	}
	if sp.Tags != "" {
		for _, t := range strings.Split(sp.Tags, ";") {
			if !TagRe.MatchString(t) {
				return nil, fmt.Errorf("guest %d: invalid tag %q", sp.VMID, t)
			}
		}
	}
	if sp.Pool != "" && !poolIDRe.MatchString(sp.Pool) {
		return nil, fmt.Errorf("guest %d: invalid pool name %q", sp.VMID, sp.Pool)
	}
	running := false
	switch sp.Status {
	case "", "stopped":
	case "running":
		running = true
	default:
		return nil, fmt.Errorf("guest %d: status %q is neither running nor stopped", sp.VMID, sp.Status)
	}
	if sp.Template && running {
		return nil, fmt.Errorf("guest %d: a template cannot run", sp.VMID)
	}
	if sp.Cores < 0 || sp.MemoryMiB < 0 || sp.SwapMiB < 0 || sp.DiskGiB < 0 || sp.Uptime < 0 {
		return nil, fmt.Errorf("guest %d: negative size", sp.VMID)
	}
	mem := sp.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	disk := int64(sp.DiskGiB) * GiB
	if disk == 0 {
		disk = 4 * GiB
	}
	g := &Guest{
		VMID: sp.VMID, ID: strconv.Itoa(sp.VMID), Type: typ, Node: n, Name: sp.Name,
		Template: sp.Template, Lock: sp.Lock, Tags: sp.Tags, Pool: sp.Pool, Cores: sp.Cores,
		MemMiB: mem, SwapMiB: sp.SwapMiB, DiskBytes: disk, IgnoreShutdown: sp.IgnoreShutdown,
		Seed: GuestSeed(sp.VMID), Created: now,
	}
	if running {
		g.Cur = GuestState{Running: true, StartedAt: now.Add(-sp.Uptime).Truncate(time.Second), Starts: 1}
		g.Base = g.Cur
	}
	return g, nil
}

// SetState records a state change at time at.
func (g *Guest) SetState(at time.Time, st GuestState) {
	g.Hist = append(g.Hist, StateChange{At: at, State: st})
	g.Cur = st
	cut := at.Add(-historyKeep)
	drop := 0
	for drop < len(g.Hist)-1 && (g.Hist[drop].At.Before(cut) || len(g.Hist)-drop > historyMax) {
		g.Base = g.Hist[drop].State
		drop++
	}
	if drop > 0 {
		g.Hist = append(g.Hist[:0], g.Hist[drop:]...)
	}
}

// StateAt is the guest's state at time t (for views that lag).
func (g *Guest) StateAt(t time.Time) GuestState {
	i := sort.Search(len(g.Hist), func(i int) bool { return g.Hist[i].At.After(t) })
	if i > 0 {
		return g.Hist[i-1].State
	}
	if len(g.Hist) == 0 {
		return g.Cur
	}
	return g.Base
}

// DisplayName is the name PVE reports.
func (g *Guest) DisplayName() string {
	if g.Name != "" {
		return g.Name
	}
	if g.Type == "qemu" {
		return "VM " + g.ID
	}
	return "CT" + g.ID
}

// CPUs is vmstatus' "cpus": cores, else cpulimit, else the host's CPU
// count.
func (g *Guest) CPUs() float64 {
	if g.Cores > 0 {
		return float64(g.Cores)
	}
	if f, err := strconv.ParseFloat(g.CPULimit, 64); err == nil && f > 0 {
		return f
	}
	return float64(g.Node.MaxCPU)
}
