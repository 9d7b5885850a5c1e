package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// clocked starts a stack whose dashboard and simulator share a manual clock.
func clocked(t *testing.T, opts apptest.Options) (*apptest.Stack, *pvesim.ManualClock) {
	t.Helper()
	clock := pvesim.NewManualClock(time.Now())
	opts.Now = clock.Now
	opts.Sim.Now = clock.Now
	if opts.Sim.Scenario == "" {
		opts.Sim.Scenario = "demo"
	}
	return apptest.Start(t, opts), clock
}

func loadStored(t *testing.T, st *apptest.Stack, id string) session.Session {
	t.Helper()
	store := session.Sealed(session.NewRedisStore(st.RDB), st.Codec)
	s, err := store.Load(context.Background(), id)
	if err == nil {
		s, err = store.Open(s)
	}
	if err != nil {
		t.Fatalf("load session: %v", err)
	}
	return s
}

func TestTicketRenewalAcrossTwoHours(t *testing.T) {
	st, clock := clocked(t, apptest.Options{})
	c, id := signIn(t, st)
	first := loadStored(t, st, id)
	renewals := func() int64 { return st.Sim.Calls(http.MethodPost, "/access/ticket") }
	before := renewals()

	// Active every 50 minutes for 5 hours: the ticket is renewed before it
	// is two hours old and the person stays signed in throughout.
	for step := 1; step <= 6; step++ {
		clock.Advance(50 * time.Minute)
		if r := get(t, st, c, "/"); r.status != http.StatusOK {
			t.Fatalf("after %d min: status %d (location %q)", step*50, r.status, r.header.Get("Location"))
		}
	}
	if n := renewals() - before; n < 2 {
		t.Errorf("%d renewals in 5 hours", n)
	}
	now := loadStored(t, st, id)
	if now.Ticket == first.Ticket || !now.ExpiresAt.After(first.ExpiresAt.Add(2*time.Hour)) {
		t.Errorf("ticket or expiry did not move: expires %v -> %v", first.ExpiresAt, now.ExpiresAt)
	}
	if raw := st.RDB.Get(context.Background(), "session:"+id).Val(); strings.Contains(raw, "PVE:") || strings.Contains(raw, now.CSRFToken) {
		t.Error("after a renewal Redis holds a usable ticket or CSRF token")
	}
	if ttl := st.RDB.TTL(context.Background(), "session:"+id).Val(); ttl <= 0 || ttl > 2*time.Hour {
		t.Errorf("Redis TTL %v", ttl)
	}

	// Idle past the ticket's lifetime: the session ends.
	clock.Advance(2*time.Hour + time.Minute)
	if r := get(t, st, c, "/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("idle session still open: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestMaximumSessionAge(t *testing.T) {
	st, clock := clocked(t, apptest.Options{SessionMaxAge: 3 * time.Hour})
	c, id := signIn(t, st)
	for range 3 {
		clock.Advance(55 * time.Minute)
		if r := get(t, st, c, "/"); r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
	}
	clock.Advance(20 * time.Minute) // 3 h 5 min after sign-in
	r := get(t, st, c, "/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?reason=expired" {
		t.Fatalf("past the maximum age: %d %q", r.status, r.header.Get("Location"))
	}
	if st.RDB.Exists(context.Background(), "session:"+id).Val() != 0 {
		t.Error("session still stored")
	}
}

func TestConcurrentRenewalRenewsOnce(t *testing.T) {
	st, clock := clocked(t, apptest.Options{})
	c, _ := signIn(t, st)
	clock.Advance(90 * time.Minute)
	before := st.Sim.Calls(http.MethodPost, "/access/ticket")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, st.URL+"/sessions", nil)
			req.Header.Set("Accept", "text/html")
			resp, err := c.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("request %d: %d", i, s)
		}
	}
	if n := st.Sim.Calls(http.MethodPost, "/access/ticket") - before; n != 1 {
		t.Errorf("%d renewals for one session, want 1", n)
	}
	if r := get(t, st, c, "/"); r.status != http.StatusOK {
		t.Errorf("after the concurrent renewal: %d", r.status)
	}
}

func TestSessionsPageAndSignOutEverywhere(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	a, idA := signIn(t, st)
	b, idB := signIn(t, st)
	c, idC := signIn(t, st)
	page := get(t, st, a, "/sessions")
	if page.status != http.StatusOK {
		t.Fatalf("sessions page: %d", page.status)
	}
	handles := regexp.MustCompile(`<tr data-session="([^"]+)"( data-current="1")?>`).FindAllStringSubmatch(page.body, -1)
	if len(handles) != 3 {
		t.Fatalf("%d sessions listed, want 3", len(handles))
	}
	for _, want := range []string{"this session", "Go HTTP client", "127.0.0.1", "Sign out everywhere"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("sessions page lacks %q", want)
		}
	}
	for _, id := range []string{idA, idB, idC} {
		if strings.Contains(page.body, id) {
			t.Error("the page shows a session id")
		}
	}
	// Sign out session B from A.
	hb := loadStored(t, st, idB).Handle
	if r := postForm(t, st, a, "/sessions/"+url.PathEscape(hb)+"/logout", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/sessions" {
		t.Fatalf("sign out B: %d %q", r.status, r.header.Get("Location"))
	}
	if r := get(t, st, b, "/"); r.status != http.StatusSeeOther {
		t.Errorf("B still signed in: %d", r.status)
	}
	if r := get(t, st, a, "/"); r.status != http.StatusOK {
		t.Errorf("A signed out too: %d", r.status)
	}
	// Everywhere: A and C end.
	if r := postForm(t, st, a, "/sessions/logout-all", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("sign out everywhere: %d", r.status)
	}
	for name, cl := range map[string]*http.Client{"A": a, "C": c} {
		if r := get(t, st, cl, "/"); r.status != http.StatusSeeOther {
			t.Errorf("%s still signed in", name)
		}
	}
	if n, _ := st.RDB.Keys(context.Background(), "session:*").Result(); len(n) != 0 {
		t.Errorf("sessions left in Redis: %d", len(n))
	}
	// Someone else's handle does nothing.
	d, _ := signIn(t, st)
	if r := postForm(t, st, d, "/sessions/not-a-handle/logout", nil); r.status != http.StatusSeeOther {
		t.Errorf("unknown handle: %d", r.status)
	}
	if r := get(t, st, d, "/"); r.status != http.StatusOK {
		t.Error("an unknown handle signed the person out")
	}
}
