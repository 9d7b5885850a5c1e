// Package tasks is the simulated cluster's worker tasks (PVE's
// fork_worker, PVE::UPID, the task index): a step engine on the clock,
// the containers' config locks, UPIDs, task logs, the task list and the
// pruning of old tasks. A task needs no HTTP request to start.
//
// Nothing runs in the background: a task is a chain of steps, each due
// at a point of the simulated clock. Advance runs the steps that are due,
// in time order, so a manual clock drives tasks as well as the real clock
// does. Nothing here is safe for concurrent use: the simulator serialises
// every access under one lock.
package tasks

import (
	"fmt"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Task is one worker.
type Task struct {
	UPID   string
	Node   *state.Node
	PID    int64
	PStart int64
	Start  time.Time // in whole seconds, as the UPID has it
	Began  time.Time // the exact instant
	Type   string
	ID     string
	User   string
	Serial int64 // creation order

	lines []logLine // output, each visible from its time on
	Done  bool
	End   time.Time
	Exit  string // "OK" or the error text, once done

	next   time.Time       // when step is due
	step   func(time.Time) // the pending step, nil if none
	seq    int64           // orders steps due at the same instant
	onLock func(time.Time) // what to do once the config lock is ours
}

type logLine struct {
	at   time.Time
	text string
}

// Engine holds every task and runs their steps.
type Engine struct {
	scale  float64
	tasks  map[string]*Task
	all    []*Task // by creation
	active []*Task // tasks with a pending step
	flocks map[string]*flock
	seq    int64 // orders steps due at the same instant
	serial int64
	// keep is how many finished tasks per node stay listed.
	keep int
}

// DefaultKeep is how many finished tasks each node keeps: about what
// PVE's task index and its rotated copy hold (2 × 50 KB).
const DefaultKeep = 1000

// NewEngine makes an engine whose durations are multiplied by scale.
func NewEngine(scale float64) *Engine {
	return &Engine{scale: scale, tasks: map[string]*Task{}, flocks: map[string]*flock{}, keep: DefaultKeep}
}

// SetKeep changes how many finished tasks per node are kept.
func (e *Engine) SetKeep(n int) { e.keep = n }

// Dur scales a simulated duration.
func (e *Engine) Dur(d time.Duration) time.Duration {
	return time.Duration(float64(d) * e.scale)
}

// Start forks a worker of type typ for id on node n, for user, at now.
func (e *Engine) Start(n *state.Node, typ, id, user string, now time.Time) *Task {
	pid := n.NextPID
	n.NextPID += 1 + int64(state.Mix64(uint64(pid))%23)
	if n.NextPID > 4194000 {
		n.NextPID = 3000
	}
	pstart := int64(now.Sub(n.Boot) / (10 * time.Millisecond)) // clock ticks since boot (USER_HZ 100)
	t := &Task{
		Node:   n,
		PID:    pid,
		PStart: pstart,
		Start:  now.Truncate(time.Second),
		Began:  now,
		Type:   typ,
		ID:     id,
		User:   user,
		Serial: e.serial,
	}
	e.serial++
	t.UPID = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", n.Name, pid, pstart, now.Unix(), typ, id, user)
	e.tasks[t.UPID] = t
	e.all = append(e.all, t)
	return t
}

// Get returns the task with the given UPID, or nil.
func (e *Engine) Get(upid string) *Task { return e.tasks[upid] }

// All returns every task kept, oldest first.
func (e *Engine) All() []*Task { return append([]*Task(nil), e.all...) }

// Running returns the tasks not yet finished, oldest first.
func (e *Engine) Running() []*Task {
	var out []*Task
	for _, t := range e.all {
		if !t.Done {
			out = append(out, t)
		}
	}
	return out
}

// Schedule makes fn t's next step, due at at.
func (e *Engine) Schedule(t *Task, at time.Time, fn func(time.Time)) {
	if t.step == nil && !t.Done {
		found := false
		for _, a := range e.active {
			if a == t {
				found = true
				break
			}
		}
		if !found {
			e.active = append(e.active, t)
		}
	}
	e.seq++
	t.next, t.step, t.seq = at, fn, e.seq
}

// Advance runs every step due at or before now, earliest first.
func (e *Engine) Advance(now time.Time) {
	for {
		var best *Task
		for _, t := range e.active {
			if t.step == nil || t.next.After(now) {
				continue
			}
			if best == nil || t.next.Before(best.next) || (t.next.Equal(best.next) && t.seq < best.seq) {
				best = t
			}
		}
		if best == nil {
			return
		}
		fn, at := best.step, best.next
		best.step = nil
		fn(at)
	}
}

// Log adds an output line to t, visible from at on.
func (t *Task) Log(at time.Time, text string) {
	t.lines = append(t.lines, logLine{at: at, text: text})
}

// LinesAt is the task's log file as it reads at now.
func (t *Task) LinesAt(now time.Time) []string {
	var out []string
	for _, l := range t.lines {
		if !l.at.After(now) {
			out = append(out, l.text)
		}
	}
	if t.Done {
		if t.Exit == "OK" {
			out = append(out, "TASK OK")
		} else {
			out = append(out, "TASK ERROR: "+t.Exit)
		}
	}
	return out
}

// Finish ends t at at with exit ("OK" or an error text) and hands the
// config lock on.
func (e *Engine) Finish(t *Task, at time.Time, exit string) {
	if t.Done {
		return
	}
	t.Done, t.End, t.Exit, t.step = true, at, exit, nil
	kept := t.lines[:0]
	for _, l := range t.lines {
		if !l.at.After(at) {
			kept = append(kept, l)
		}
	}
	t.lines = kept
	for i, a := range e.active {
		if a == t {
			e.active = append(e.active[:i], e.active[i+1:]...)
			break
		}
	}
	e.releaseLock(t, at)
	e.prune()
}

// ErrorDelay is how long a task failing right after it started runs;
// NoopDelay how long a task with nothing to do runs.
const (
	ErrorDelay = 100 * time.Millisecond
	NoopDelay  = 200 * time.Millisecond
)

// Fail ends t shortly after at with err (a Perl die inside the worker).
func (e *Engine) Fail(t *Task, at time.Time, err string) {
	e.Schedule(t, at.Add(e.Dur(ErrorDelay)), func(end time.Time) { e.Finish(t, end, err) })
}

// Succeed ends t after d with "OK", running effect first.
func (e *Engine) Succeed(t *Task, at time.Time, d time.Duration, effect func(time.Time)) {
	e.Schedule(t, at.Add(d), func(end time.Time) {
		if effect != nil {
			effect(end)
		}
		e.Finish(t, end, "OK")
	})
}

// prune drops the oldest finished tasks of nodes that keep more than
// e.keep of them, once the list has grown well past the limit.
func (e *Engine) prune() {
	if e.keep <= 0 || len(e.all) < 2*e.keep {
		return
	}
	finished := map[*state.Node]int{}
	for _, t := range e.all {
		if t.Done {
			finished[t.Node]++
		}
	}
	kept := e.all[:0]
	for _, t := range e.all {
		if t.Done && finished[t.Node] > e.keep {
			finished[t.Node]--
			delete(e.tasks, t.UPID)
			continue
		}
		kept = append(kept, t)
	}
	for i := len(kept); i < len(e.all); i++ {
		e.all[i] = nil
	}
	e.all = kept
}
