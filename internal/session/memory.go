package session

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryStore is a Store that keeps sessions in process memory, for demo
// mode. It honours TTLs against an injectable clock: expired entries are
// removed lazily by Load and swept by Save. It never blocks on I/O, so the
// contexts passed to it are not consulted, and it is never unavailable. It is
// safe for concurrent use.
type MemoryStore struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memoryEntry
	locks   map[string]time.Time // name -> held until
}

// memoryEntry is one stored session and the instant it stops being valid.
type memoryEntry struct {
	session  Session
	deadline time.Time
}

// expired reports whether the entry is no longer valid at now.
func (e memoryEntry) expired(now time.Time) bool { return !now.Before(e.deadline) }

// NewMemoryStore returns an empty MemoryStore that reads the time from now;
// a nil now means time.Now.
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, entries: make(map[string]memoryEntry), locks: make(map[string]time.Time)}
}

var _ Store = (*MemoryStore)(nil)

// Load returns the session stored under id, or ErrNotFound if there is none
// or its TTL has passed (the expired entry is then removed).
func (m *MemoryStore) Load(_ context.Context, id string) (Session, error) {
	if id == "" {
		return Session{}, fmt.Errorf("%w: empty session id", ErrNotFound)
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok {
		return Session{}, ErrNotFound
	}
	if e.expired(now) {
		delete(m.entries, id)
		return Session{}, ErrNotFound
	}
	return e.session, nil
}

// Save stores s under s.ID until ttl has passed, overwriting any previous
// value, and removes every entry that has already expired.
func (m *MemoryStore) Save(_ context.Context, s Session, ttl time.Duration) error {
	if err := validateSave(s, ttl); err != nil {
		return err
	}
	now := m.now()
	s.ExpiresAt = s.ExpiresAt.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range m.entries {
		if e.expired(now) {
			delete(m.entries, id)
		}
	}
	m.entries[s.ID] = memoryEntry{session: s, deadline: now.Add(ttl)}
	return nil
}

// Update replaces the session stored under s.ID if it is there and has not
// expired, keeping its deadline (ttl KeepTTL) or moving it to ttl from now;
// otherwise it returns ErrNotFound and stores nothing.
func (m *MemoryStore) Update(_ context.Context, s Session, ttl time.Duration) error {
	if err := validateUpdate(s, ttl); err != nil {
		return err
	}
	now := m.now()
	s.ExpiresAt = s.ExpiresAt.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[s.ID]
	if !ok || e.expired(now) {
		delete(m.entries, s.ID)
		return ErrNotFound
	}
	if ttl != KeepTTL {
		e.deadline = now.Add(ttl)
	}
	e.session = s
	m.entries[s.ID] = e
	return nil
}

// Delete removes the session stored under id. Deleting a missing id is not an
// error.
func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, id)
	return nil
}

// ListUser returns the user's live sessions.
func (m *MemoryStore) ListUser(_ context.Context, username string) ([]Session, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Session
	for _, e := range m.entries {
		if e.session.Username == username && !e.expired(now) {
			out = append(out, e.session)
		}
	}
	return out, nil
}

// TryLock takes a lock held until ttl passes.
func (m *MemoryStore) TryLock(_ context.Context, name string, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.locks[name]; ok && now.Before(until) {
		return false, nil
	}
	for n, until := range m.locks {
		if !now.Before(until) {
			delete(m.locks, n)
		}
	}
	m.locks[name] = now.Add(ttl)
	return true, nil
}

// Count returns the number of live sessions.
func (m *MemoryStore) Count(_ context.Context) (int, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.entries {
		if !e.expired(now) {
			n++
		}
	}
	return n, nil
}
