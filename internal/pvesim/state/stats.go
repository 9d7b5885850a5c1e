package state

import (
	"math"
	"time"
)

// Guest statistics are pure functions of the guest's seed, its state and
// the simulated clock, so two runs with the same clock readings answer
// the same numbers. Counters (netin, netout, diskread, diskwrite) grow
// with the uptime; cpu, mem and the pressure values wander from sample to
// sample.

// Stats are the values vmstatus measures at one instant.
type Stats struct {
	Uptime                             int64
	CPU                                float64
	Mem, Swap                          int64
	Disk, MaxDisk                      int64
	NetIn, NetOut, DiskRead, DiskWrite int64
	Pressure                           [6]float64 // cpu some/full, io some/full, memory some/full
}

// StatsAt measures the guest in state st at time t.
func (g *Guest) StatsAt(st GuestState, t time.Time) Stats {
	var gs Stats
	gs.MaxDisk = g.DiskBytes
	if !st.Running {
		return gs
	}
	up := int64(t.Sub(st.StartedAt) / time.Second)
	if up < 0 {
		up = 0
	}
	sec := uint64(t.Unix())
	sample := g.Seed ^ uint64(st.Starts)*0xD6E8FEB86659FD93
	gs.Uptime = up
	base := 0.004 + 0.22*Unit(g.Seed, 1)*Unit(g.Seed, 2)
	gs.CPU = Round4(math.Min(1, base*(0.5+Unit(sample, sec))))
	maxmem := int64(g.MemMiB) << 20
	gs.Mem = int64(float64(maxmem) * (0.12 + 0.45*Unit(g.Seed, 3)) * (0.95 + 0.1*Unit(sample, sec/10+7)))
	if g.SwapMiB > 0 {
		gs.Swap = int64(float64(int64(g.SwapMiB)<<20) * 0.03 * Unit(g.Seed, 4))
	}
	// df inside a running CT sees a little less than the volume size.
	gs.MaxDisk = g.DiskBytes - g.DiskBytes/32
	gs.Disk = int64(float64(gs.MaxDisk)*(0.08+0.5*Unit(g.Seed, 5))) + min(up, 86400)*4096
	rateIn, rateOut := g.netRates()
	gs.NetIn = int64(rateIn*float64(up)) + (up/60)*int64(1<<20*Unit(g.Seed, 10))
	gs.NetOut = int64(rateOut * float64(up))
	readRate, writeRate := g.diskRates()
	gs.DiskRead = 48<<20 + int64(float64(up)*readRate)
	gs.DiskWrite = 4<<20 + int64(float64(up)*writeRate)
	for i := 0; i < 6; i += 2 {
		some := math.Round(100*gs.CPU*Unit(sample, sec/10+uint64(i)+20)) / 100
		gs.Pressure[i] = some
		gs.Pressure[i+1] = math.Round(50*some*Unit(sample, sec/10+uint64(i)+21)) / 100
	}
	return gs
}

// netRates are the guest's mean network rates in bytes per second.
func (g *Guest) netRates() (in, out float64) {
	return 300 + 90000*Unit(g.Seed, 6)*Unit(g.Seed, 7), 200 + 60000*Unit(g.Seed, 8)*Unit(g.Seed, 9)
}

// diskRates are the guest's mean disk rates in bytes per second.
func (g *Guest) diskRates() (read, write float64) {
	return 100 + 20000*Unit(g.Seed, 11), 50 + 40000*Unit(g.Seed, 12)
}

// PIDOf is the process id of the running container's init.
func (g *Guest) PIDOf(st GuestState) int {
	return 2000 + int((g.Seed>>20)%400000) + 97*st.Starts
}

// Round4 keeps four decimals, enough for a CPU fraction.
func Round4(f float64) float64 {
	return math.Round(f*1e4) / 1e4
}

// Mix64 is SplitMix64's finaliser: a cheap, well-spread hash.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// Unit is a deterministic pseudo-random number in [0, 1) for (seed, k).
func Unit(seed, k uint64) float64 {
	return float64(Mix64(seed^Mix64(k+0x9E3779B97F4A7C15))>>11) / (1 << 53)
}

// HashString is FNV-1a, for seeds derived from names.
func HashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// GuestSeed is the statistics seed of guest vmid.
func GuestSeed(vmid int) uint64 {
	return Mix64(uint64(vmid)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)
}
