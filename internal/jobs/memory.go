package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// MemorySlots keeps the semaphores in this process. It is safe for
// concurrent use.
type MemorySlots struct {
	now   func() time.Time
	mu    sync.Mutex
	slots map[string]map[string]time.Time // key -> token -> lease end
}

var _ Slots = (*MemorySlots)(nil)

// NewMemorySlots returns in-process Slots; now is the clock (time.Now if nil).
func NewMemorySlots(now func() time.Time) *MemorySlots {
	if now == nil {
		now = time.Now
	}
	return &MemorySlots{now: now, slots: map[string]map[string]time.Time{}}
}

// TryAcquire implements Slots.
func (m *MemorySlots) TryAcquire(_ context.Context, key string, limit int, lease time.Duration) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	held := m.slots[key]
	for tok, until := range held {
		if !now.Before(until) {
			delete(held, tok)
		}
	}
	if len(held) >= limit {
		return "", false, nil
	}
	if held == nil {
		held = map[string]time.Time{}
		m.slots[key] = held
	}
	tok := newToken()
	held[tok] = now.Add(lease)
	return tok, true, nil
}

// Renew implements Slots.
func (m *MemorySlots) Renew(_ context.Context, key, token string, lease time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	until, ok := m.slots[key][token]
	if !ok || !now.Before(until) {
		delete(m.slots[key], token)
		return false, nil
	}
	m.slots[key][token] = now.Add(lease)
	return true, nil
}

// Release implements Slots.
func (m *MemorySlots) Release(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.slots[key], token)
	if len(m.slots[key]) == 0 {
		delete(m.slots, key)
	}
	return nil
}

// newToken is a random slot token.
func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MemoryStore keeps jobs in this process. It is safe for concurrent use.
type MemoryStore struct {
	now  func() time.Time
	mu   sync.Mutex
	jobs map[string]*memJob
}

type memJob struct {
	job   Job
	ttl   time.Duration
	until time.Time
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an in-process Store; now is the clock (time.Now if nil).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, jobs: map[string]*memJob{}}
}

// live returns job id if it has not expired. Called with m.mu held.
func (m *MemoryStore) live(id string) (*memJob, bool) {
	j, ok := m.jobs[id]
	if ok && !m.now().Before(j.until) {
		delete(m.jobs, id)
		return nil, false
	}
	return j, ok
}

// Create implements Store.
func (m *MemoryStore) Create(_ context.Context, job Job, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, j := range m.jobs { // drop expired jobs now and then
		if !m.now().Before(j.until) {
			delete(m.jobs, id)
		}
	}
	job.Items = append([]Item(nil), job.Items...)
	m.jobs[job.ID] = &memJob{job: job, ttl: ttl, until: m.now().Add(ttl)}
	return nil
}

// SetItem implements Store.
func (m *MemoryStore) SetItem(_ context.Context, id string, i int, item Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.live(id)
	if !ok || i < 0 || i >= len(j.job.Items) {
		return ErrNotFound
	}
	j.job.Items[i] = item
	j.until = m.now().Add(j.ttl)
	return nil
}

// Finish implements Store.
func (m *MemoryStore) Finish(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.live(id)
	if !ok {
		return ErrNotFound
	}
	j.job.Done = true
	j.until = m.now().Add(j.ttl)
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, id string) (Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.live(id)
	if !ok {
		return Job{}, ErrNotFound
	}
	out := j.job
	out.Items = append([]Item(nil), j.job.Items...)
	return out, nil
}
