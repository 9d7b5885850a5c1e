package ops

import (
	"fmt"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// Power actions (pve-container API2/LXC/Status.pm, LXC.pm vm_start,
// vm_stop, vm_reboot). Each answers a UPID at once; preconditions that
// PVE checks before forking are synchronous errors.

// running is check_running: the CT runs on the caller's node.
func (o *Ops) running(c Caller, vmid string) bool {
	g := o.Cluster.LocalCT(c.Node, vmid)
	return g != nil && g.Cur.Running
}

// Task durations at TaskDurationScale 1, varied per container and start.
func startDuration(g *state.Guest) time.Duration {
	return time.Second + time.Duration((g.VMID+g.Cur.Starts)%11)*100*time.Millisecond
}

func stopDuration(g *state.Guest) time.Duration {
	return 500*time.Millisecond + time.Duration(g.VMID%6)*100*time.Millisecond
}

func shutdownDuration(g *state.Guest) time.Duration {
	return 2*time.Second + time.Duration((g.VMID*7+g.Cur.Starts)%21)*100*time.Millisecond
}

func rebootDownDuration(g *state.Guest) time.Duration {
	return 1500*time.Millisecond + time.Duration(g.VMID%11)*100*time.Millisecond
}

// startCT brings g up at at: pending changes are applied first, as
// vm_start does.
func (o *Ops) startCT(g *state.Guest, at time.Time) {
	o.applyAllPending(g)
	g.SetState(at, state.GuestState{Running: true, StartedAt: at, Starts: g.Cur.Starts + 1})
}

func stopCT(g *state.Guest, at time.Time) {
	g.SetState(at, state.GuestState{Starts: g.Cur.Starts})
}

// Start is POST .../status/start (vzstart).
func (o *Ops) Start(c Caller, vmid string, skiplock bool) (string, error) {
	return o.startAt(c, vmid, skiplock, o.Now())
}

// startAt is vm_start called at time now (by a request, or by a task
// that starts the container it created).
func (o *Ops) startAt(c Caller, vmid string, skiplock bool, now time.Time) (string, error) {
	if o.running(c, vmid) {
		return "", state.Dief("CT %s already running\n", vmid)
	}
	if !o.Cluster.Quorate() {
		return "", state.Dief("cluster not ready - no quorum?\n")
	}
	e := o.Tasks
	t := e.Start(c.Node, "vzstart", vmid, c.User, now)
	e.WithConfigLock(t, now, func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, vmid)
		switch {
		case g == nil:
			e.Fail(t, at, noConfigText(t.Node, vmid))
		case g.Template:
			e.Fail(t, at, "you can't start a CT if it's a template")
		case !skiplock && g.Lock != "" && g.Lock != "mounted":
			e.Fail(t, at, fmt.Sprintf("CT is locked (%s)", g.Lock))
		case g.Cur.Running:
			// systemctl start of a running unit changes nothing
			e.Succeed(t, at, e.Dur(tasks.NoopDelay), nil)
		default:
			e.Succeed(t, at, e.Dur(startDuration(g)), func(end time.Time) { o.startCT(g, end) })
		}
	})
	return t.UPID, nil
}

// Stop is POST .../status/stop (vzstop). With overrule, the caller's
// running vzshutdown tasks of the CT (everybody's, with Sys.Modify on
// the node) are aborted first.
func (o *Ops) Stop(c Caller, vmid string, skiplock, overrule bool) (string, error) {
	if !o.running(c, vmid) {
		return "", state.Dief("CT %s not running\n", vmid)
	}
	e := o.Tasks
	now := o.Now()
	t := e.Start(c.Node, "vzstop", vmid, c.User, now)
	if overrule {
		if aborted := o.abortShutdowns(c, vmid, now); len(aborted) > 0 {
			t.Log(now, "overruled vzshutdown tasks: "+strings.Join(aborted, ", "))
		}
	}
	e.WithConfigLock(t, now, func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, vmid)
		switch {
		case g == nil:
			e.Fail(t, at, noConfigText(t.Node, vmid))
		case !skiplock && g.Lock != "" && g.Lock != "mounted":
			e.Fail(t, at, fmt.Sprintf("CT is locked (%s)", g.Lock))
		case !g.Cur.Running:
			e.Succeed(t, at, e.Dur(tasks.NoopDelay), nil)
		default:
			e.Succeed(t, at, e.Dur(stopDuration(g)), func(end time.Time) { stopCT(g, end) })
		}
	})
	return t.UPID, nil
}

// abortShutdowns is abort_guest_tasks for 'vzshutdown': the caller's own
// tasks, or all with Sys.Modify on the node. It returns the aborted UPIDs.
func (o *Ops) abortShutdowns(c Caller, vmid string, at time.Time) []string {
	all := o.ACL.Can(c.User, "/nodes/"+c.Node.Name, "Sys.Modify")
	var aborted []string
	for _, t := range o.Tasks.Running() {
		if t.Node != c.Node || t.Type != "vzshutdown" || t.ID != vmid {
			continue
		}
		if !all && t.User != c.User {
			continue
		}
		o.Tasks.Dequeue(t)
		o.Tasks.Finish(t, at, "received interrupt")
		aborted = append(aborted, t.UPID)
	}
	return aborted
}

// Shutdown is POST .../status/shutdown (vzshutdown): lxc-stop with
// --timeout, and --nokill unless force. A container that has not stopped
// when lxc-stop gives up is polled for timeout+5 s more before the task
// fails with "container did not stop".
func (o *Ops) Shutdown(c Caller, vmid string, timeout int, force bool) (string, error) {
	if !o.running(c, vmid) {
		return "", state.Dief("CT %s not running\n", vmid)
	}
	e := o.Tasks
	t := e.Start(c.Node, "vzshutdown", vmid, c.User, o.Now())
	e.WithConfigLock(t, o.Now(), func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, vmid)
		switch {
		case g == nil:
			e.Fail(t, at, noConfigText(t.Node, vmid))
			return
		case g.Lock != "":
			e.Fail(t, at, fmt.Sprintf("CT is locked (%s)", g.Lock))
			return
		case !g.Cur.Running:
			e.Succeed(t, at, e.Dur(tasks.NoopDelay), nil)
			return
		}
		stopped := func(end time.Time) { stopCT(g, end) }
		limit := e.Dur(time.Duration(timeout) * time.Second)
		clean := e.Dur(shutdownDuration(g))
		stops := !g.IgnoreShutdown
		switch {
		case stops && clean <= limit:
			e.Succeed(t, at, clean, stopped)
		case force:
			e.Succeed(t, at, limit, stopped) // killed after the timeout
		default:
			t.Log(at.Add(limit), fmt.Sprintf("command 'lxc-stop -n %s --nokill --timeout %d' failed: exit code 1", vmid, timeout))
			poll := limit + e.Dur(time.Duration(timeout+5)*time.Second)
			if stops && clean <= poll {
				e.Succeed(t, at, clean, stopped)
				return
			}
			e.Schedule(t, at.Add(poll), func(end time.Time) { e.Finish(t, end, "container did not stop") })
		}
	})
	return t.UPID, nil
}

// Reboot is POST .../status/reboot (vzreboot): vm_reboot shuts the CT
// down (killing it after timeout, lxc-stop's default 60 s) and starts it
// again, applying pending changes. Like PVE it checks no config lock.
func (o *Ops) Reboot(c Caller, vmid string, timeout int) (string, error) {
	if !o.running(c, vmid) {
		return "", state.Dief("VM %s not running\n", vmid)
	}
	e := o.Tasks
	t := e.Start(c.Node, "vzreboot", vmid, c.User, o.Now())
	e.WithConfigLock(t, o.Now(), func(at time.Time) {
		g := o.Cluster.LocalCT(t.Node, vmid)
		if g == nil || !g.Cur.Running {
			e.Succeed(t, at, e.Dur(tasks.NoopDelay), nil)
			return
		}
		down := e.Dur(rebootDownDuration(g))
		if limit := e.Dur(time.Duration(timeout) * time.Second); g.IgnoreShutdown || down > limit {
			down = limit
		}
		e.Schedule(t, at.Add(down), func(mid time.Time) {
			stopCT(g, mid)
			e.Succeed(t, mid, e.Dur(startDuration(g)), func(end time.Time) { o.startCT(g, end) })
		})
	})
	return t.UPID, nil
}
