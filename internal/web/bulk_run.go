package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/jobs"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Running bulk actions. Each container gets its own PVE task; a person has
// at most bulkMaxTasks of them running at once, across every bulk action
// and every dashboard instance: a slot (jobs.Slots, in Redis for serve) is
// reserved before PVE is asked and given back once the task has ended.
// The job's progress is written to jobs.Store after every change, so any
// instance can show it.

// Bulk limits.
const (
	bulkMaxTasks = 4           // PVE tasks one person runs at once
	bulkLease    = time.Minute // a slot's lease, renewed while its task runs
	bulkKeep     = time.Hour   // how long a job's progress stays readable
	bulkMaxItems = 10000       // containers one bulk action may name
	bulkRetry    = 250 * time.Millisecond
	// bulkFirstPoll is the first wait before a task's status is read; it
	// doubles up to Config.BulkPoll.
	bulkFirstPoll = 100 * time.Millisecond
	// bulkLiveStatusMax: a job this small shows each new state in the
	// list at once (each costs every open page of the person a render);
	// larger ones leave it to the next poll (PVE's 10 s cycle).
	bulkLiveStatusMax = 20
)

// bulkRunner runs the bulk actions started on this instance.
type bulkRunner struct {
	s      *Server
	slots  jobs.Slots
	store  jobs.Store
	poll   time.Duration
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	wake chan struct{} // closed when this instance gives a slot back
}

func (s *Server) newBulkRunner() *bulkRunner {
	b := &bulkRunner{s: s, slots: s.cfg.BulkSlots, store: s.cfg.BulkJobs, poll: s.cfg.BulkPoll, wake: make(chan struct{})}
	if b.slots == nil {
		b.slots = jobs.NewMemorySlots(nil)
	}
	if b.store == nil {
		b.store = jobs.NewMemoryStore(nil)
	}
	if b.poll <= 0 {
		b.poll = time.Second
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// close stops every bulk action of this instance (their running PVE
// tasks go on) and waits for the runners to note it.
func (b *bulkRunner) close() {
	b.cancel()
	b.wg.Wait()
}

// start runs job in the background as id.
func (b *bulkRunner) start(id lxc.Identity, job jobs.Job, opts lxc.ActionOptions) {
	b.wg.Go(func() { b.run(id, job, opts) })
}

// storeCtx bounds a store write; it outlives a shutdown so the last
// state is still written.
func (b *bulkRunner) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
}

// set records item i of job.
func (b *bulkRunner) set(job jobs.Job, i int, it jobs.Item) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.store.SetItem(ctx, job.ID, i, it); err != nil {
		b.s.log.Warn("bulk action: progress not saved", "job", job.ID, "vmid", it.VMID, "err", err)
	}
}

func (b *bulkRunner) run(id lxc.Identity, job jobs.Job, opts lxc.ActionOptions) {
	var wg sync.WaitGroup
	action := lxc.Action(job.Action)
	for i, it := range job.Items {
		if it.State != jobs.StateQueued {
			continue
		}
		tok, err := b.acquire(job.User)
		if err != nil {
			msg := "Not started: the dashboard is shutting down."
			if !errors.Is(err, context.Canceled) {
				msg = "Not started: the dashboard's shared store could not be reached."
				b.s.log.Error("bulk action: no slot", "job", job.ID, "err", err)
			}
			for j := i; j < len(job.Items); j++ {
				if job.Items[j].State == jobs.StateQueued {
					b.set(job, j, jobs.Item{Node: job.Items[j].Node, VMID: job.Items[j].VMID, Name: job.Items[j].Name,
						State: jobs.StateFailed, Message: msg})
				}
			}
			break
		}
		wg.Go(func() {
			defer b.release(job.User, tok)
			b.runItem(id, job, i, it, action, opts, tok)
		})
	}
	wg.Wait()
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.store.Finish(ctx, job.ID); err != nil {
		b.s.log.Warn("bulk action: end not saved", "job", job.ID, "err", err)
	}
	b.s.log.Info("audit: bulk action ended", "user", job.User, "job", job.ID, "action", job.Action)
}

// acquire waits for one of user's slots: woken by a release on this
// instance, and trying again every bulkRetry for releases elsewhere.
func (b *bulkRunner) acquire(user string) (string, error) {
	for {
		b.mu.Lock()
		wake := b.wake
		b.mu.Unlock()
		tok, ok, err := b.slots.TryAcquire(b.ctx, user, bulkMaxTasks, bulkLease)
		if err != nil {
			if b.ctx.Err() != nil {
				return "", b.ctx.Err()
			}
			return "", err
		}
		if ok {
			return tok, nil
		}
		t := time.NewTimer(bulkRetry)
		select {
		case <-b.ctx.Done():
			t.Stop()
			return "", b.ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// release gives a slot back and wakes this instance's waiters.
func (b *bulkRunner) release(user, tok string) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.slots.Release(ctx, user, tok); err != nil {
		b.s.log.Warn("bulk action: slot not released (its lease will end it)", "user", user, "err", err)
	}
	b.mu.Lock()
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// runItem runs one container's task to its end, holding the slot tok.
func (b *bulkRunner) runItem(id lxc.Identity, job jobs.Job, i int, it jobs.Item, action lxc.Action, opts lxc.ActionOptions, tok string) {
	it.State = jobs.StateRunning
	b.set(job, i, it)
	upid, err := b.s.cfg.PVE.Act(b.ctx, id, it.Node, it.VMID, action, opts)
	if err != nil {
		it.State, it.Message = b.refused(id, it, action, err)
		b.set(job, i, it)
		return
	}
	it.UPID = upid
	b.set(job, i, it)
	renewed := time.Now()
	wait := min(bulkFirstPoll, b.poll)
	for {
		select {
		case <-b.ctx.Done():
			it.State, it.Message = jobs.StateFailed, "No longer followed: the dashboard is shutting down (the task goes on in Proxmox VE)."
			b.set(job, i, it)
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, b.poll) // quick tasks are seen at once, long ones cost one call a poll
		if time.Since(renewed) > bulkLease/3 {
			ctx, cancel := b.storeCtx()
			if _, err := b.slots.Renew(ctx, job.User, tok, bulkLease); err != nil {
				b.s.log.Warn("bulk action: lease not renewed", "user", job.User, "err", err)
			}
			cancel()
			renewed = time.Now()
		}
		t, err := b.s.cfg.PVE.Task(b.ctx, id, it.Node, upid)
		switch {
		case lxc.ErrorCode(err) == lxc.EUnauthorized:
			it.State, it.Message = jobs.StateFailed, "No longer followed: your session ended."
			b.set(job, i, it)
			return
		case err != nil:
			continue // PVE busy or a node briefly away: ask again
		case t.Running:
			continue
		}
		if t.Succeeded() {
			it.State, it.Message = jobs.StateOK, ""
			if len(job.Items) <= bulkLiveStatusMax {
				b.s.live.SetStatus(job.User, it.VMID, statusAfter(action), 15*time.Second)
			}
		} else {
			it.State, it.Message = jobs.StateFailed, b.taskFailed(id, it, t)
		}
		b.set(job, i, it)
		return
	}
}

// statusAfter is the state a container is in after action succeeded.
func statusAfter(a lxc.Action) string {
	if a == lxc.ActionStop || a == lxc.ActionShutdown {
		return "stopped"
	}
	return "running"
}

// refused explains PVE's refusal to start a container's task from its
// error class and, for a refusal, the container's state now.
func (b *bulkRunner) refused(id lxc.Identity, it jobs.Item, action lxc.Action, err error) (string, string) {
	label := containerLabel(it.VMID)
	switch lxc.ErrorCode(err) {
	case lxc.EForbidden:
		return jobs.StateFailed, fmt.Sprintf("You may not %s %s (needs %s).", action.Verb(), label, privPower)
	case lxc.ENodeOffline:
		return jobs.StateFailed, fmt.Sprintf("Node %s is offline.", it.Node)
	case lxc.EUnauthorized:
		return jobs.StateFailed, "Not started: your session ended."
	case lxc.ERefused:
		cur, serr := b.s.cfg.PVE.ContainerStatus(b.ctx, id, it.Node, it.VMID)
		switch {
		case serr != nil:
		case action == lxc.ActionStart && cur.Running():
			return jobs.StateSkipped, label + " is already running."
		case action != lxc.ActionStart && !cur.Running():
			return jobs.StateSkipped, label + " is not running."
		case cur.Lock != "":
			return jobs.StateFailed, fmt.Sprintf("%s is locked (%s).", label, cur.Lock)
		}
		return jobs.StateFailed, fmt.Sprintf("Proxmox VE refused to %s %s.", action.Verb(), label)
	}
	_, msg := userError(err)
	return jobs.StateFailed, msg
}

// taskFailed explains a failed task: from the container's state when it
// tells (a lock), else with the task's exit status as PVE wrote it.
func (b *bulkRunner) taskFailed(id lxc.Identity, it jobs.Item, t lxc.Task) string {
	label := containerLabel(it.VMID)
	if cur, err := b.s.cfg.PVE.ContainerStatus(b.ctx, id, it.Node, it.VMID); err == nil && cur.Lock != "" {
		return fmt.Sprintf("%s is locked (%s).", label, cur.Lock)
	}
	return fmt.Sprintf("%s: %s", label, t.ExitStatus)
}
