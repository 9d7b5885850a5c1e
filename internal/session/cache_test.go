package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// cachedStore returns a cached store (one dashboard instance) on its own
// client for o, once its tracking connections are up.
func cachedStore(t *testing.T, o session.RedisOptions) *session.RedisStore {
	t.Helper()
	c, err := session.NewUniversalClient(o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := session.NewCachedRedisStore(c, session.CacheOptions{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		_ = c.Close()
	})
	waitLive(t, st)
	return st
}

// waitLive waits until st's tracking connections are up.
func waitLive(t *testing.T, st *session.RedisStore) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !st.CacheStats().Live {
		if time.Now().After(deadline) {
			t.Fatal("the session cache's tracking did not come up within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveSession is a session that expires in an hour (the cache serves a
// session no longer than its ExpiresAt).
func liveSession(t *testing.T) session.Session {
	t.Helper()
	s := newSession(t)
	s.ExpiresAt = time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	return s
}

// assertCached loads s on st until a Load is served from memory. The
// write that stored s reaches st as an invalidation too, a moment later,
// and empties the entry once; the next Load fills it again.
func assertCached(t *testing.T, st *session.RedisStore, s session.Session) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		before := st.CacheStats().Hits
		assertLoads(t, st, s)
		if st.CacheStats().Hits > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Load was served from the cache within 2 s: %+v", st.CacheStats())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCachedRedisStoreContract(t *testing.T) {
	srv := redistest.Start(t)
	st := cachedStore(t, session.RedisOptions{URL: srv.URL})
	testStoreContract(t, func(*testing.T) storeEnv {
		return storeEnv{store: st, pass: time.Sleep}
	})
}

// TestCacheInvalidationAcrossInstances: a session cached on instance B is
// changed on instance A (or by Redis itself); B's very next Load, without
// any wait, sees the change. Each case first shows that B serves the
// session from memory, so what is tested is the invalidation.
func TestCacheInvalidationAcrossInstances(t *testing.T) {
	for _, topo := range []struct {
		name string
		opts func(t *testing.T) session.RedisOptions
	}{
		{"one server", func(t *testing.T) session.RedisOptions { return session.RedisOptions{URL: redistest.Start(t).URL} }},
		{"cluster", func(t *testing.T) session.RedisOptions { return redistest.StartCluster(t, 3).Options() }},
		{"TLS", func(t *testing.T) session.RedisOptions {
			srv := redistest.StartTLS(t)
			return session.RedisOptions{URL: srv.TLSURL, TLS: srv.Config}
		}},
	} {
		t.Run(topo.name, func(t *testing.T) {
			o := topo.opts(t)
			a, b := cachedStore(t, o), cachedStore(t, o)
			raw, err := session.NewUniversalClient(o)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			ctx := context.Background()
			cases := []struct {
				name   string
				ttl    time.Duration
				change func(t *testing.T, s *session.Session)
				gone   bool
			}{
				{"sign-out", time.Hour, func(t *testing.T, s *session.Session) {
					if err := a.Delete(ctx, s.ID); err != nil {
						t.Fatal(err)
					}
				}, true},
				{"renewal", time.Hour, func(t *testing.T, s *session.Session) {
					s.Ticket, s.CSRFToken = "PVE:root@pam:NEW::c2ln", "NEW:Y3NyZg"
					if err := a.Update(ctx, *s, 2*time.Hour); err != nil {
						t.Fatal(err)
					}
				}, false},
				{"last seen", time.Hour, func(t *testing.T, s *session.Session) {
					s.Realm = "pve" // any field: the whole value is replaced
					if err := a.Update(ctx, *s, session.KeepTTL); err != nil {
						t.Fatal(err)
					}
				}, false},
				{"deleted by another program", time.Hour, func(t *testing.T, s *session.Session) {
					if err := raw.Del(ctx, session.Key(s.ID)).Err(); err != nil {
						t.Fatal(err)
					}
				}, true},
				{"expiry", 2 * time.Second, func(t *testing.T, s *session.Session) {
					// Wait for Redis to expire the key (its TTL, not the
					// session's ExpiresAt, an hour away).
					deadline := time.Now().Add(10 * time.Second)
					for raw.Exists(ctx, session.Key(s.ID)).Val() == 1 {
						if time.Now().After(deadline) {
							t.Fatal("the key did not expire")
						}
						time.Sleep(50 * time.Millisecond)
					}
				}, true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := liveSession(t)
					mustSave(t, a, s, tc.ttl)
					assertCached(t, b, s)
					tc.change(t, &s)
					if tc.gone {
						assertNotFound(t, b, s.ID)
						return
					}
					got, err := b.Load(ctx, s.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Ticket != s.Ticket || got.Realm != s.Realm {
						t.Errorf("instance B serves the session as it was before the change")
					}
					assertCached(t, b, s)
				})
			}
		})
	}
}

// TestCacheEmptiedWhenTrackingIsLost: when the invalidation connection
// drops, the cache is emptied and serves nothing until the connection is
// back, so a change made meanwhile is never served stale. The store signs
// in as an ACL user; the test takes CLIENT TRACKING away from that user to
// keep the connection from coming back at once.
func TestCacheEmptiedWhenTrackingIsLost(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-pw-1", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	st := cachedStore(t, session.RedisOptions{URL: "redis://app:app-pw-1@" + srv.Addr() + "/0"})
	s := liveSession(t)
	mustSave(t, st, s, time.Hour)
	assertCached(t, st, s)

	// In one transaction: no more tracking for the user, the tracking
	// connection killed, the session deleted. The invalidation can never
	// reach the instance.
	id := trackingClientID(t, admin)
	tx := admin.TxPipeline()
	tx.Do(ctx, "ACL", "SETUSER", "app", "-client|tracking")
	tx.ClientKillByFilter(ctx, "ID", id)
	tx.Del(ctx, session.Key(s.ID))
	if _, err := tx.Exec(ctx); err != nil {
		t.Fatalf("ACL SETUSER + CLIENT KILL + DEL: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.CacheStats().Live {
		if time.Now().After(deadline) {
			t.Fatal("the cache still serves 5 s after losing its invalidation connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := st.CacheStats().Entries; n != 0 {
		t.Errorf("the cache holds %d sessions without its invalidation connection", n)
	}
	assertNotFound(t, st, s.ID)
	s2 := liveSession(t)
	mustSave(t, st, s2, time.Hour)
	for range 3 {
		assertLoads(t, st, s2)
	}
	if got := st.CacheStats(); got.Entries != 0 || got.Live {
		t.Errorf("the cache filled without its invalidation connection: %+v", got)
	}

	// Tracking allowed again: the connection comes back by itself and the
	// cache serves again.
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "+client|tracking").Err(); err != nil {
		t.Fatal(err)
	}
	waitLive(t, st)
	if trackingClientID(t, admin) == id {
		t.Fatal("the tracking connection was not replaced")
	}
	assertCached(t, st, s2)
}

// trackingClientID finds the one tracking connection in CLIENT LIST.
func trackingClientID(t *testing.T, admin *redis.Client) string {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.SplitSeq(list, "\n") {
		if strings.Contains(line, " name=lxcm-session-tracking ") {
			for f := range strings.FieldsSeq(line) {
				if v, ok := strings.CutPrefix(f, "id="); ok {
					ids = append(ids, v)
				}
			}
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d tracking connections in CLIENT LIST, want 1", len(ids))
	}
	return ids[0]
}

// TestCacheNeedsAKnownClient: a client kind the tracking cannot follow is
// refused, not silently served stale.
func TestCacheNeedsAKnownClient(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := session.NewCachedRedisStore(ring, session.CacheOptions{}); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("NewCachedRedisStore(ring) = %v, want ErrInvalid", err)
	}
}
