package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's current time.
func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// storeEnv is a Store under test and a way to let time pass for it.
type storeEnv struct {
	store session.Store
	// pass lets d elapse on the store's clock.
	pass func(d time.Duration)
}

// newSession returns a filled-in session with a fresh, unique id.
func newSession(t *testing.T) session.Session {
	t.Helper()
	id, err := session.NewID()
	if err != nil {
		t.Fatal(err)
	}
	cest := time.FixedZone("CEST", 2*60*60)
	return session.Session{
		ID:        id,
		Ticket:    "PVE:root@pam:6630A1B2::c2lnbmF0dXJl",
		CSRFToken: "6630A1B2:Y3NyZi10b2tlbg",
		Username:  "root@pam",
		Realm:     "pam",
		ExpiresAt: time.Date(2026, 3, 1, 16, 30, 15, 123456789, cest),
	}
}

// assertSameSession fails unless got equals want, with ExpiresAt as the same
// instant in UTC.
func assertSameSession(t *testing.T, got, want session.Session) {
	t.Helper()
	if got.ID != want.ID || got.Ticket != want.Ticket || got.CSRFToken != want.CSRFToken ||
		got.Username != want.Username || got.Realm != want.Realm {
		// Never print tickets: compare field by field without dumping them.
		t.Errorf("loaded session differs: id %v, ticket %v, csrf %v, username %q/%q, realm %q/%q",
			got.ID == want.ID, got.Ticket == want.Ticket, got.CSRFToken == want.CSRFToken,
			got.Username, want.Username, got.Realm, want.Realm)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
	if got.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt location = %v, want UTC", got.ExpiresAt.Location())
	}
}

func mustSave(t *testing.T, st session.Store, s session.Session, ttl time.Duration) {
	t.Helper()
	if err := st.Save(context.Background(), s, ttl); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// Keep a shared REDIS_URL database tidy; the store may be down by then.
	t.Cleanup(func() { _ = st.Delete(context.Background(), s.ID) })
}

func assertNotFound(t *testing.T, st session.Store, id string) {
	t.Helper()
	got, err := st.Load(context.Background(), id)
	if !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load = %+v, %v; want ErrNotFound", got.Username, err)
	}
	if errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Load error %v also matches ErrUnavailable", err)
	}
}

func assertLoads(t *testing.T, st session.Store, want session.Session) {
	t.Helper()
	got, err := st.Load(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	assertSameSession(t, got, want)
}

// testStoreContract runs the Store contract against the store newEnv returns.
// newEnv is called once per case.
func testStoreContract(t *testing.T, newEnv func(t *testing.T) storeEnv) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, env storeEnv)
	}{
		{name: "save then load", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, 2*time.Hour)
			assertLoads(t, env.store, s)
		}},
		{name: "zero ExpiresAt round trips", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			s.ExpiresAt = time.Time{}
			mustSave(t, env.store, s, time.Hour)
			assertLoads(t, env.store, s)
		}},
		{name: "list a user's sessions", run: func(t *testing.T, env storeEnv) {
			user := "list-" + newSession(t).ID[:8] + "@pve"
			var ids []string
			for range 3 {
				s := newSession(t)
				s.Username = user
				mustSave(t, env.store, s, 2*time.Second)
				ids = append(ids, s.ID)
			}
			other := newSession(t)
			mustSave(t, env.store, other, time.Hour)
			if err := env.store.Delete(ctx, ids[0]); err != nil {
				t.Fatal(err)
			}
			list, err := env.store.ListUser(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, s := range list {
				got[s.ID] = true
				if s.Username != user {
					t.Errorf("listed another user's session")
				}
			}
			if len(list) != 2 || !got[ids[1]] || !got[ids[2]] {
				t.Errorf("ListUser = %d sessions %v, want %v", len(list), got, ids[1:])
			}
			env.pass(3 * time.Second)
			if list, err := env.store.ListUser(ctx, user); err != nil || len(list) != 0 {
				t.Errorf("after expiry: %d sessions, %v", len(list), err)
			}
		}},
		{name: "try lock", run: func(t *testing.T, env storeEnv) {
			name := "renew:" + newSession(t).ID
			if ok, err := env.store.TryLock(ctx, name, 2*time.Second); err != nil || !ok {
				t.Fatalf("first TryLock = %v, %v", ok, err)
			}
			if ok, err := env.store.TryLock(ctx, name, 2*time.Second); err != nil || ok {
				t.Fatalf("second TryLock = %v, %v", ok, err)
			}
			env.pass(3 * time.Second)
			if ok, err := env.store.TryLock(ctx, name, time.Second); err != nil || !ok {
				t.Fatalf("TryLock after expiry = %v, %v", ok, err)
			}
		}},
		{name: "load missing", run: func(t *testing.T, env storeEnv) {
			assertNotFound(t, env.store, newSession(t).ID)
		}},
		{name: "load empty id", run: func(t *testing.T, env storeEnv) {
			assertNotFound(t, env.store, "")
		}},
		{name: "save overwrites", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Hour)
			s.Ticket, s.Username = "PVE:alice@pve:NEW", "alice@pve"
			mustSave(t, env.store, s, time.Hour)
			assertLoads(t, env.store, s)
		}},
		{name: "delete", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Hour)
			if err := env.store.Delete(ctx, s.ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			assertNotFound(t, env.store, s.ID)
		}},
		{name: "delete missing is not an error", run: func(t *testing.T, env storeEnv) {
			if err := env.store.Delete(ctx, newSession(t).ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}},
		{name: "delete empty id is not an error", run: func(t *testing.T, env storeEnv) {
			if err := env.store.Delete(ctx, ""); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}},
		{name: "delete leaves other sessions", run: func(t *testing.T, env storeEnv) {
			a, b := newSession(t), newSession(t)
			mustSave(t, env.store, a, time.Hour)
			mustSave(t, env.store, b, time.Hour)
			if err := env.store.Delete(ctx, a.ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			assertNotFound(t, env.store, a.ID)
			assertLoads(t, env.store, b)
		}},
		{name: "save rejects empty id", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			s.ID = ""
			if err := env.store.Save(ctx, s, time.Hour); !errors.Is(err, session.ErrInvalid) {
				t.Fatalf("Save = %v, want ErrInvalid", err)
			}
		}},
		{name: "save rejects zero ttl", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			if err := env.store.Save(ctx, s, 0); !errors.Is(err, session.ErrInvalid) {
				t.Fatalf("Save = %v, want ErrInvalid", err)
			}
			assertNotFound(t, env.store, s.ID)
		}},
		{name: "save rejects negative ttl", run: func(t *testing.T, env storeEnv) {
			if err := env.store.Save(ctx, newSession(t), -time.Second); !errors.Is(err, session.ErrInvalid) {
				t.Fatalf("Save = %v, want ErrInvalid", err)
			}
		}},
		{name: "update replaces a stored session", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Hour)
			s.Ticket, s.LastSeen = "PVE:root@pam:NEW", time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
			if err := env.store.Update(ctx, s, session.KeepTTL); err != nil {
				t.Fatalf("Update: %v", err)
			}
			assertLoads(t, env.store, s)
			if got, _ := env.store.Load(ctx, s.ID); !got.LastSeen.Equal(s.LastSeen) {
				t.Errorf("LastSeen = %v, want %v", got.LastSeen, s.LastSeen)
			}
		}},
		{name: "update never brings back a deleted session", run: func(t *testing.T, env storeEnv) {
			for _, ttl := range []time.Duration{session.KeepTTL, time.Hour} {
				s := newSession(t)
				s.Username = "deleted-" + s.ID[:8] + "@pve"
				mustSave(t, env.store, s, time.Hour)
				if err := env.store.Delete(ctx, s.ID); err != nil {
					t.Fatal(err)
				}
				err := env.store.Update(ctx, s, ttl)
				if !errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrUnavailable) {
					t.Errorf("Update(ttl %v) of a deleted session = %v, want ErrNotFound", ttl, err)
				}
				assertNotFound(t, env.store, s.ID)
				if list, err := env.store.ListUser(ctx, s.Username); err != nil || len(list) != 0 {
					t.Errorf("ListUser after Update of a deleted session: %d sessions, %v", len(list), err)
				}
			}
		}},
		{name: "update of a missing session", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			if err := env.store.Update(ctx, s, session.KeepTTL); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("Update = %v, want ErrNotFound", err)
			}
			assertNotFound(t, env.store, s.ID)
		}},
		{name: "update rejects an empty id and a bad ttl", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Hour)
			empty := s
			empty.ID = ""
			for _, tc := range []struct {
				s   session.Session
				ttl time.Duration
			}{{empty, time.Hour}, {s, 0}, {s, -2 * time.Second}} {
				if err := env.store.Update(ctx, tc.s, tc.ttl); !errors.Is(err, session.ErrInvalid) {
					t.Errorf("Update(id %q, ttl %v) = %v, want ErrInvalid", tc.s.ID, tc.ttl, err)
				}
			}
		}},
		{name: "update keeps the ttl", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Second)
			env.pass(600 * time.Millisecond)
			if err := env.store.Update(ctx, s, session.KeepTTL); err != nil {
				t.Fatalf("Update: %v", err)
			}
			env.pass(600 * time.Millisecond)
			assertNotFound(t, env.store, s.ID)
		}},
		{name: "update with a ttl sets it", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Second)
			env.pass(600 * time.Millisecond)
			if err := env.store.Update(ctx, s, time.Second); err != nil {
				t.Fatalf("Update: %v", err)
			}
			env.pass(600 * time.Millisecond)
			assertLoads(t, env.store, s)
		}},
		{name: "expires after ttl", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Second)
			env.pass(300 * time.Millisecond)
			assertLoads(t, env.store, s)
			env.pass(900 * time.Millisecond)
			assertNotFound(t, env.store, s.ID)
		}},
		{name: "overwrite restarts ttl", run: func(t *testing.T, env storeEnv) {
			s := newSession(t)
			mustSave(t, env.store, s, time.Second)
			env.pass(600 * time.Millisecond)
			mustSave(t, env.store, s, time.Second)
			env.pass(600 * time.Millisecond)
			assertLoads(t, env.store, s)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newEnv(t))
		})
	}
}
