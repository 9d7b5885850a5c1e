// Package jobs holds what bulk actions share across dashboard instances:
// per-person task slots (a leased semaphore, so one person has at most a
// few PVE tasks running however many instances serve them) and each bulk
// job's progress, readable from any instance. Redis keeps both in serve
// mode; the memory versions serve the demo and single instances.
package jobs

import (
	"context"
	"errors"
	"time"
)

// Slots is a counting semaphore per key (a person) whose slots are
// leased: a holder that disappears (a crashed instance) loses its slot
// when the lease runs out. The contract:
//
//   - TryAcquire takes one slot of key if fewer than limit are held and
//     returns its token; ok is false, with nothing taken, when all are
//     held. Of concurrent callers on one key at most limit succeed.
//   - Renew extends a held slot's lease; it reports false when the slot
//     was lost (its lease ran out and it was taken back).
//   - Release gives a slot back; releasing a lost slot is no error.
//
// Errors wrap ErrUnavailable.
type Slots interface {
	TryAcquire(ctx context.Context, key string, limit int, lease time.Duration) (token string, ok bool, err error)
	Renew(ctx context.Context, key, token string, lease time.Duration) (bool, error)
	Release(ctx context.Context, key, token string) error
}

// Item states.
const (
	StateQueued  = "queued"  // waiting for a slot
	StateRunning = "running" // holds a slot; the PVE task runs
	StateOK      = "ok"
	StateFailed  = "failed"
	StateSkipped = "skipped" // nothing to do (already in the wanted state)
)

// Item is one container of a bulk job.
type Item struct {
	Node    string `json:"node"`
	VMID    int    `json:"vmid"`
	Name    string `json:"name,omitempty"`
	State   string `json:"state"`
	UPID    string `json:"upid,omitempty"`
	Message string `json:"message,omitempty"` // why it failed or was skipped, in words
}

// Job is a bulk action: one action on many containers, each its own
// PVE task.
type Job struct {
	ID      string    `json:"id"`
	User    string    `json:"user"` // the PVE userid who started it
	Action  string    `json:"action"`
	Created time.Time `json:"created"`
	Done    bool      `json:"done"`
	Items   []Item    `json:"-"`
}

// Store keeps jobs. The contract:
//
//   - Create stores a new job with its items, kept for ttl after the
//     last change.
//   - SetItem replaces item i of job id; Finish marks the job done.
//   - Get returns the job with every item; ErrNotFound when there is none
//     (never created, or expired).
//
// Errors other than ErrNotFound wrap ErrUnavailable.
type Store interface {
	Create(ctx context.Context, job Job, ttl time.Duration) error
	SetItem(ctx context.Context, id string, i int, item Item) error
	Finish(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (Job, error)
}

// Errors.
var (
	// ErrUnavailable means the store (Redis) could not be asked.
	ErrUnavailable = errors.New("jobs: store unavailable")
	// ErrNotFound means there is no such job.
	ErrNotFound = errors.New("jobs: no such job")
)
