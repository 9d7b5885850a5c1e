package pvesim

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Guests (containers and a few QEMU VMs) and their statistics.
//
// Statistics are pure functions of the guest's seed, its state and the
// simulated clock, so two runs with the same ManualClock readings answer
// the same numbers. Counters (netin, netout, diskread, diskwrite) grow with
// the uptime; cpu, mem and the pressure values wander from sample to
// sample.

// Guest describes one guest of the simulated cluster. It is the argument
// of Sim.AddGuest and the snapshot returned by Sim.Container.
type Guest struct {
	VMID     int
	Type     string // "lxc" (default) or "qemu"
	Node     string // cluster member it lives on
	Name     string // hostname; "" shows as "CT<vmid>" (lxc) or "VM <vmid>" (qemu)
	Status   string // "running" or "stopped" (default)
	Template bool   // templates are always stopped
	Lock     string // config lock ("backup", "snapshot", ...), "" for none
	Tags     string // ';'-separated, like "prod;web"
	Pool     string // resource pool, "" for none; pools are created on first use
	Cores    int    // 0: unlimited, counted as the node's CPU count (PVE's fallback)
	// MemoryMiB is the memory limit; 0 means PVE's default 512.
	MemoryMiB int
	SwapMiB   int
	DiskGiB   int // root disk size; 0 means PVE's fallback of 4 GiB
	// IgnoreShutdown makes the guest ignore clean shutdown requests, like
	// a container whose init does not react to SIGPWR: shutdown tasks
	// without forceStop then fail with "container did not stop".
	IgnoreShutdown bool
	// Uptime: in a snapshot, how long the guest has been running (0 when
	// stopped); for AddGuest, how long a running guest has already been
	// up (0: it just started).
	Uptime time.Duration
}

// guestState is the part of a guest that tasks change.
type guestState struct {
	running   bool
	startedAt time.Time // valid while running
	starts    int       // how often it was started (varies pid and timings)
}

type stateChange struct {
	at    time.Time
	state guestState
}

// historyKeep is how long state changes stay available for the lagged
// views (pmxcfs data up to 5 minutes old).
const historyKeep = 6 * time.Minute

// guest is one VM or CT. Fields are guarded by Sim.mu.
type guest struct {
	vmid           int
	id             string // decimal vmid
	typ            string
	node           *node
	name           string
	template       bool
	lock           string
	tags           string
	pool           string
	cores          int
	memMiB         int
	swapMiB        int
	diskBytes      int64
	ignoreShutdown bool
	seed           uint64
	created        time.Time // pvestatd has data on it from the next cycle on

	cur  guestState
	base guestState    // state before hist[0]
	hist []stateChange // recent changes, oldest first
}

var (
	tagRe    = regexp.MustCompile(`^(?i)[a-z0-9_][a-z0-9_\-+.]*$`)
	poolIDRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_\-.]*$`)
	dnsRe    = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?))*$`)
	ctLocks  = map[string]bool{"backup": true, "create": true, "destroyed": true, "disk": true, "fstrim": true,
		"migrate": true, "mounted": true, "rollback": true, "snapshot": true, "snapshot-delete": true}
	qemuLocks = map[string]bool{"backup": true, "clone": true, "create": true, "migrate": true, "rollback": true,
		"snapshot": true, "snapshot-delete": true, "suspending": true, "suspended": true}
)

// validLock checks a lock value against the guest type's config schema.
func validLock(typ, lock string) bool {
	if lock == "" {
		return true
	}
	if typ == "qemu" {
		return qemuLocks[lock]
	}
	return ctLocks[lock]
}

// newGuest validates g and builds the internal guest. Called with s.mu
// held (or before the Sim is shared).
func (s *Sim) newGuest(g Guest, now time.Time) (*guest, error) {
	if g.VMID < 100 || g.VMID > 999999999 {
		return nil, fmt.Errorf("pvesim: vmid %d out of range 100-999999999", g.VMID)
	}
	if _, dup := s.guests[g.VMID]; dup {
		return nil, fmt.Errorf("pvesim: vmid %d already exists", g.VMID)
	}
	typ := g.Type
	if typ == "" {
		typ = "lxc"
	}
	if typ != "lxc" && typ != "qemu" {
		return nil, fmt.Errorf("pvesim: guest %d: type %q is neither lxc nor qemu", g.VMID, g.Type)
	}
	n := s.nodeByName(g.Node)
	if n == nil {
		return nil, fmt.Errorf("pvesim: guest %d: node %q is not a cluster member", g.VMID, g.Node)
	}
	if g.Name != "" && (!dnsRe.MatchString(g.Name) || len(g.Name) > 255) {
		return nil, fmt.Errorf("pvesim: guest %d: name %q is not a DNS name", g.VMID, g.Name)
	}
	if !validLock(typ, g.Lock) {
		return nil, fmt.Errorf("pvesim: guest %d: invalid lock %q", g.VMID, g.Lock)
	}
	if g.Tags != "" {
		for _, t := range strings.Split(g.Tags, ";") {
			if !tagRe.MatchString(t) {
				return nil, fmt.Errorf("pvesim: guest %d: invalid tag %q", g.VMID, t)
			}
		}
	}
	if g.Pool != "" && !poolIDRe.MatchString(g.Pool) {
		return nil, fmt.Errorf("pvesim: guest %d: invalid pool name %q", g.VMID, g.Pool)
	}
	running := false
	switch g.Status {
	case "", "stopped":
	case "running":
		running = true
	default:
		return nil, fmt.Errorf("pvesim: guest %d: status %q is neither running nor stopped", g.VMID, g.Status)
	}
	if g.Template && running {
		return nil, fmt.Errorf("pvesim: guest %d: a template cannot run", g.VMID)
	}
	if g.Cores < 0 || g.MemoryMiB < 0 || g.SwapMiB < 0 || g.DiskGiB < 0 || g.Uptime < 0 {
		return nil, fmt.Errorf("pvesim: guest %d: negative size", g.VMID)
	}
	mem := g.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	disk := int64(g.DiskGiB) * gib
	if disk == 0 {
		disk = 4 * gib
	}
	ng := &guest{
		vmid:           g.VMID,
		id:             strconv.Itoa(g.VMID),
		typ:            typ,
		node:           n,
		name:           g.Name,
		template:       g.Template,
		lock:           g.Lock,
		tags:           g.Tags,
		pool:           g.Pool,
		cores:          g.Cores,
		memMiB:         mem,
		swapMiB:        g.SwapMiB,
		diskBytes:      disk,
		ignoreShutdown: g.IgnoreShutdown,
		seed:           mix64(uint64(g.VMID)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019),
		created:        now,
	}
	if running {
		ng.cur = guestState{running: true, startedAt: now.Add(-g.Uptime).Truncate(time.Second), starts: 1}
		ng.base = ng.cur
	}
	return ng, nil
}

// insertGuest adds g to the indexes. Called with s.mu held.
func (s *Sim) insertGuest(g *guest) {
	s.guests[g.vmid] = g
	i := sort.Search(len(s.order), func(i int) bool { return s.order[i].id >= g.id })
	s.order = append(s.order, nil)
	copy(s.order[i+1:], s.order[i:])
	s.order[i] = g
	if g.pool != "" {
		s.perms.pools[g.pool] = true
		s.perms.vmPool[g.vmid] = g.pool
	}
}

// sortGuestsByID orders guests by their decimal vmid string, the order of
// Perl's "sort keys" over the vmlist.
func sortGuestsByID(gs []*guest) {
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
}

// setState records a state change at time at.
func (g *guest) setState(at time.Time, st guestState) {
	g.hist = append(g.hist, stateChange{at: at, state: st})
	g.cur = st
	cut := at.Add(-historyKeep)
	drop := 0
	for drop < len(g.hist)-1 && g.hist[drop].at.Before(cut) {
		g.base = g.hist[drop].state
		drop++
	}
	if drop > 0 {
		g.hist = append(g.hist[:0], g.hist[drop:]...)
	}
}

// stateAt is the guest's state at time t (for views that lag).
func (g *guest) stateAt(t time.Time) guestState {
	for i := len(g.hist) - 1; i >= 0; i-- {
		if !g.hist[i].at.After(t) {
			return g.hist[i].state
		}
	}
	if len(g.hist) == 0 {
		return g.cur
	}
	return g.base
}

// displayName is the name PVE reports.
func (g *guest) displayName() string {
	if g.name != "" {
		return g.name
	}
	if g.typ == "qemu" {
		return "VM " + g.id
	}
	return "CT" + g.id
}

// cpus is vmstatus' "cpus": cores, else the host's CPU count.
func (g *guest) cpus() int {
	if g.cores > 0 {
		return g.cores
	}
	return g.node.maxcpu
}

// guestStats are the values vmstatus measures at one instant.
type guestStats struct {
	uptime                             int64
	cpu                                float64
	mem, swap                          int64
	disk, maxdisk                      int64
	netin, netout, diskread, diskwrite int64
	pressure                           [6]float64 // cpu some/full, io some/full, memory some/full
}

// statsAt measures the guest in state st at time t.
func (g *guest) statsAt(st guestState, t time.Time) guestStats {
	var gs guestStats
	gs.maxdisk = g.diskBytes
	if !st.running {
		return gs
	}
	up := int64(t.Sub(st.startedAt) / time.Second)
	if up < 0 {
		up = 0
	}
	sec := uint64(t.Unix())
	sample := g.seed ^ uint64(st.starts)*0xD6E8FEB86659FD93
	gs.uptime = up
	base := 0.004 + 0.22*unit(g.seed, 1)*unit(g.seed, 2)
	gs.cpu = round4(math.Min(1, base*(0.5+unit(sample, sec))))
	maxmem := int64(g.memMiB) << 20
	gs.mem = int64(float64(maxmem) * (0.12 + 0.45*unit(g.seed, 3)) * (0.95 + 0.1*unit(sample, sec/10+7)))
	if g.swapMiB > 0 {
		gs.swap = int64(float64(int64(g.swapMiB)<<20) * 0.03 * unit(g.seed, 4))
	}
	// df inside a running CT sees a little less than the volume size.
	gs.maxdisk = g.diskBytes - g.diskBytes/32
	gs.disk = int64(float64(gs.maxdisk)*(0.08+0.5*unit(g.seed, 5))) + min(up, 86400)*4096
	rateIn := 300 + 90000*unit(g.seed, 6)*unit(g.seed, 7)
	rateOut := 200 + 60000*unit(g.seed, 8)*unit(g.seed, 9)
	gs.netin = int64(rateIn*float64(up)) + (up/60)*int64(1<<20*unit(g.seed, 10))
	gs.netout = int64(rateOut * float64(up))
	gs.diskread = 48<<20 + int64(float64(up)*(100+20000*unit(g.seed, 11)))
	gs.diskwrite = 4<<20 + int64(float64(up)*(50+40000*unit(g.seed, 12)))
	for i := 0; i < 6; i += 2 {
		some := math.Round(100*gs.cpu*unit(sample, sec/10+uint64(i)+20)) / 100
		gs.pressure[i] = some
		gs.pressure[i+1] = math.Round(50*some*unit(sample, sec/10+uint64(i)+21)) / 100
	}
	return gs
}

// pidOf is the process id of the running container's init.
func (g *guest) pidOf(st guestState) int {
	return 2000 + int((g.seed>>20)%400000) + 97*st.starts
}

// round4 keeps four decimals, enough for a CPU fraction.
func round4(f float64) float64 {
	return math.Round(f*1e4) / 1e4
}

// mix64 is SplitMix64's finaliser: a cheap, well-spread hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// unit is a deterministic pseudo-random number in [0, 1) for (seed, k).
func unit(seed, k uint64) float64 {
	return float64(mix64(seed^mix64(k+0x9E3779B97F4A7C15))>>11) / (1 << 53)
}

// hashString is FNV-1a, for seeds derived from names.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
