package pvesim

import (
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

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

// snapshot converts g to a Guest at now.
func snapshot(g *state.Guest, now time.Time) Guest {
	out := Guest{
		VMID: g.VMID, Type: g.Type, Node: g.Node.Name, Name: g.Name, Status: "stopped",
		Template: g.Template, Lock: g.Lock, Tags: g.Tags, Pool: g.Pool, Cores: g.Cores,
		MemoryMiB: g.MemMiB, SwapMiB: g.SwapMiB, DiskGiB: int(g.DiskBytes / state.GiB),
		IgnoreShutdown: g.IgnoreShutdown,
	}
	if g.Cur.Running {
		out.Status = "running"
		out.Uptime = now.Sub(g.Cur.StartedAt)
	}
	return out
}
