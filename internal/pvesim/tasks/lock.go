package tasks

import (
	"fmt"
	"time"
)

// Like PVE, the tasks of one container serialise on its config lock
// (/run/lock/lxc/pve-config-<vmid>.lock): a task that cannot get it
// within 10 s fails with "can't lock file ... - got timeout".

// LockTimeout is lock_config's flock timeout.
const LockTimeout = 10 * time.Second

// flock is a container's config lock: one holder, waiters in order.
type flock struct {
	holder *Task
	queue  []*Task
}

func flockKey(t *Task) string { return t.Node.Name + "/" + t.ID }

// WithConfigLock runs begin once t holds its container's config lock
// (lock_config with its 10 s timeout).
func (e *Engine) WithConfigLock(t *Task, at time.Time, begin func(time.Time)) {
	key := flockKey(t)
	fl := e.flocks[key]
	if fl == nil {
		fl = &flock{}
		e.flocks[key] = fl
	}
	if fl.holder == nil {
		fl.holder = t
		e.Schedule(t, at, begin)
		return
	}
	t.onLock = begin
	fl.queue = append(fl.queue, t)
	e.Schedule(t, at.Add(e.Dur(LockTimeout)), func(end time.Time) {
		e.Dequeue(t)
		e.Finish(t, end, fmt.Sprintf("can't lock file '/run/lock/lxc/pve-config-%s.lock' - got timeout", t.ID))
	})
}

// Dequeue removes t from the waiters of its container's config lock.
func (e *Engine) Dequeue(t *Task) {
	fl := e.flocks[flockKey(t)]
	if fl == nil {
		return
	}
	for i, q := range fl.queue {
		if q == t {
			fl.queue = append(fl.queue[:i], fl.queue[i+1:]...)
			return
		}
	}
}

// releaseLock gives the config lock held by t to the next waiter.
func (e *Engine) releaseLock(t *Task, at time.Time) {
	key := flockKey(t)
	fl := e.flocks[key]
	if fl == nil {
		return
	}
	e.Dequeue(t)
	if fl.holder != t {
		return
	}
	fl.holder = nil
	if len(fl.queue) > 0 {
		next := fl.queue[0]
		fl.queue = fl.queue[1:]
		fl.holder = next
		e.Schedule(next, at, next.onLock)
		return
	}
	delete(e.flocks, key)
}

// Unlock gives up the config lock t holds before t ends, as PVE's
// workers do between the steps of an operation that keeps the container
// locked through its configuration's "lock" option instead (snapshots,
// rollbacks, backups): another task then gets the lock file at once and
// finds "CT is locked (...)".
func (e *Engine) Unlock(t *Task, at time.Time) { e.releaseLock(t, at) }
