package web_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/throttle"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// racingStore is the real session store with two interferences a test can
// arm: a sign-out (the session deleted in Redis) right after a request has
// loaded its session, and a failing renewal lock.
type racingStore struct {
	session.Store
	signOutAfterLoad atomic.Bool
	lockFails        atomic.Bool
}

func (s *racingStore) Load(ctx context.Context, id string) (session.Session, error) {
	sess, err := s.Store.Load(ctx, id)
	if err == nil && s.signOutAfterLoad.CompareAndSwap(true, false) {
		if derr := s.Store.Delete(ctx, id); derr != nil {
			return sess, derr
		}
	}
	return sess, err
}

func (s *racingStore) TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if s.lockFails.Load() {
		return false, &session.UnavailableError{Op: "lock", Err: errors.New("connection reset by peer")}
	}
	return s.Store.TryLock(ctx, name, ttl)
}

// clock is a dashboard clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// racingDashboard is a dashboard like the stack's (real PVE client to the
// simulator, sessions in the stack's Redis) whose store is a racingStore and
// whose clock the test moves. It returns a copy of st that addresses it.
func racingDashboard(t *testing.T) (*apptest.Stack, *racingStore, *clock) {
	t.Helper()
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	pve, err := proxmox.New(proxmox.Options{BaseURL: st.Config.ProxmoxURL(), Fingerprint: st.Config.TLSFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	store := &racingStore{Store: session.Sealed(session.NewRedisStore(st.RDB), st.Codec)}
	clk := &clock{now: time.Now()}
	logs := &apptest.SafeBuffer{}
	srv, err := web.New(web.Config{
		PVE: pve, Store: store, Codec: st.Codec, Limiter: throttle.NewMemory(clk.Now), StepClaims: throttle.NewMemoryClaims(clk.Now),
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	mine := *st
	mine.URL, mine.Logs = hs.URL, logs
	return &mine, store, clk
}

// TestSignOutDuringRequestStaysSignedOut: a request that loaded its session
// just before another request signed it out must not write it back, whether
// it only records LastSeen or renews the ticket.
func TestSignOutDuringRequestStaysSignedOut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
	}{
		{"last seen", 2 * time.Minute},
		{"ticket renewal", 90 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, store, clk := racingDashboard(t)
			c, id := signIn(t, st)
			ctx := context.Background()
			clk.Advance(tc.advance)
			store.signOutAfterLoad.Store(true)
			r := get(t, st, c, "/sessions")
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
				t.Errorf("the signed-out request: %d %q, want a redirect to /login", r.status, r.header.Get("Location"))
			}
			if store.signOutAfterLoad.Load() {
				t.Fatal("the sign-out was not applied between load and write")
			}
			if n := st.RDB.Exists(ctx, session.Key(id)).Val(); n != 0 {
				t.Fatal("the request brought the signed-out session back")
			}
			if r := get(t, st, c, "/sessions"); r.status != http.StatusSeeOther {
				t.Errorf("the next request with the old cookie: %d, want a redirect", r.status)
			}
		})
	}
}

// TestRenewalLockErrorIsLogged: when the renewal lock cannot be taken the
// request goes on with its still-valid ticket, and the failure is logged
// without the session id.
func TestRenewalLockErrorIsLogged(t *testing.T) {
	st, store, clk := racingDashboard(t)
	c, id := signIn(t, st)
	before := st.Sim.Calls(http.MethodPost, "/access/ticket")
	clk.Advance(90 * time.Minute)
	store.lockFails.Store(true)
	if r := get(t, st, c, "/sessions"); r.status != http.StatusOK {
		t.Fatalf("with the lock failing: %d", r.status)
	}
	if n := st.Sim.Calls(http.MethodPost, "/access/ticket") - before; n != 0 {
		t.Errorf("%d renewals without the lock", n)
	}
	logs := st.Logs.String()
	if !strings.Contains(logs, "ticket renewal lock failed") || !strings.Contains(logs, "connection reset by peer") {
		t.Errorf("the lock failure is not logged:\n%s", logs)
	}
	if strings.Contains(logs, id) {
		t.Error("the log holds the session id")
	}
	// Once the store answers again the ticket is renewed.
	store.lockFails.Store(false)
	if r := get(t, st, c, "/sessions"); r.status != http.StatusOK {
		t.Fatalf("after the store recovered: %d", r.status)
	}
	if n := st.Sim.Calls(http.MethodPost, "/access/ticket") - before; n != 1 {
		t.Errorf("%d renewals after the store recovered, want 1", n)
	}
}
