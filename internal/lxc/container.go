package lxc

import (
	"strconv"
	"strings"
	"time"
)

// Container is an LXC container as the cluster overview
// (GET /cluster/resources) reports it. Stats are zero when PVE has none
// (a stopped container, or a node whose data went stale: Status "unknown").
type Container struct {
	VMID     int
	Name     string
	Node     string
	Status   string // running, stopped or unknown
	Template bool
	Pool     string // empty unless the user has Pool.Audit
	Lock     string // e.g. "backup"
	Tags     []string
	CPU      float64 // fraction of MaxCPU
	MaxCPU   float64
	Mem      int64
	MaxMem   int64
	Disk     int64
	MaxDisk  int64
	Uptime   time.Duration
	// Swap, MaxSwap, NetIn and NetOut come from status/current only
	// (NetIn and NetOut are byte counters since the container started).
	Swap    int64
	MaxSwap int64
	NetIn   int64
	NetOut  int64
	// HAState is the HA manager's state ("started", "stopped", ...), or ""
	// when the container is not HA-managed.
	HAState string
}

// Running reports whether the container runs.
func (c Container) Running() bool { return c.Status == "running" }

// SplitTags splits PVE's tag list ("a;b", also "a,b" or "a b") into tags.
func SplitTags(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	if len(f) == 0 {
		return nil
	}
	return f
}

// Action is a lifecycle action on a container.
type Action string

// The lifecycle actions the dashboard offers.
const (
	ActionStart    Action = "start"
	ActionShutdown Action = "shutdown"
	ActionStop     Action = "stop"
	ActionReboot   Action = "reboot"
)

// Actions lists the lifecycle actions in the order the UI shows them.
func Actions() []Action { return []Action{ActionStart, ActionShutdown, ActionReboot, ActionStop} }

// ParseAction returns the Action named s.
func ParseAction(s string) (Action, bool) {
	for _, a := range Actions() {
		if string(a) == s {
			return a, true
		}
	}
	return "", false
}

// Verb is the action in words for messages ("start", "shut down").
func (a Action) Verb() string {
	if a == ActionShutdown {
		return "shut down"
	}
	return string(a)
}

// Label is the button text ("Start", "Shutdown").
func (a Action) Label() string {
	if a == "" {
		return ""
	}
	return strings.ToUpper(string(a[:1])) + string(a[1:])
}

// ActionOptions are the parameters of an action. Timeout and Force apply to
// shutdown only.
type ActionOptions struct {
	Timeout time.Duration // how long shutdown waits; 0 means PVE's default (60 s)
	Force   bool          // stop the container if shutdown times out
}

// Task is a PVE worker task, e.g. a container start.
type Task struct {
	UPID       string
	Node       string
	Type       string // vzstart, vzshutdown, ...
	ID         string // the vmid for container tasks
	User       string
	StartTime  time.Time
	Running    bool
	ExitStatus string // "OK", "WARNINGS: n" or the error text; empty while running
}

// Succeeded reports whether a finished task ended without error.
func (t Task) Succeeded() bool {
	return !t.Running && (t.ExitStatus == "OK" || strings.HasPrefix(t.ExitStatus, "WARNINGS"))
}

// Permissions is GET /access/permissions: path → privilege → propagate.
type Permissions map[string]map[string]bool

// Has reports whether the user holds priv on path, directly or inherited
// from a parent path that propagates it. For a container pass its pool too:
// privileges on /pool/<pool> apply to its members.
func (p Permissions) Has(path, priv string) bool {
	if privs, ok := p[path]; ok {
		if _, ok := privs[priv]; ok {
			return true
		}
	}
	for parent := parentPath(path); parent != ""; parent = parentPath(parent) {
		if privs, ok := p[parent]; ok {
			if prop, ok := privs[priv]; ok && prop {
				return true
			}
		}
	}
	return false
}

// CanOnContainer reports whether the user holds priv on a container,
// through /vms/<id>, its pool, /vms or /.
func (p Permissions) CanOnContainer(vmid int, pool, priv string) bool {
	if p.Has(VMPath(vmid), priv) {
		return true
	}
	return pool != "" && p.Has("/pool/"+pool, priv)
}

// VMPath is the ACL path of a guest.
func VMPath(vmid int) string { return "/vms/" + strconv.Itoa(vmid) }

func parentPath(path string) string {
	if path == "/" || path == "" {
		return ""
	}
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}
