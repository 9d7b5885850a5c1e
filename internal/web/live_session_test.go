package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// otherInstance starts a second dashboard on st's Redis and secret, as a
// second `serve` behind the same load balancer, with the clock now, and
// returns a copy of st that talks to it. Cookies are kept per host, not per
// port, so a client signed in on one instance is signed in on both.
func otherInstance(t *testing.T, st *apptest.Stack, now func() time.Time) *apptest.Stack {
	t.Helper()
	d, err := app.NewDashboard(context.Background(), st.Config, app.Deps{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Server)
	t.Cleanup(func() {
		srv.Close()
		d.Server.Close()
		_ = d.Close()
	})
	other := *st
	other.Server, other.URL = srv, srv.URL
	return &other
}

// awaitEnd reads s until an event other than an update arrives, at the
// latest by until, and checks that it is name with data and that the
// stream then ends.
func awaitEnd(t *testing.T, s *sseClient, until time.Time, name, data string) {
	t.Helper()
	deadline := time.NewTimer(time.Until(until))
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended without a %q event", name)
			}
			if ev[0] == "update" {
				continue
			}
			if ev[0] != name || ev[1] != data {
				t.Fatalf("event %q %q, want %q %q", ev[0], ev[1], name, data)
			}
			select {
			case ev, ok := <-s.events:
				if ok {
					t.Fatalf("event %q after %q: the stream goes on", ev[0], name)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the stream stays open after %q", name)
			}
			return
		case <-deadline.C:
			t.Fatalf("no %q event in time", name)
		}
	}
}

// nextUpdate checks that the next event of s is an update.
func nextUpdate(t *testing.T, s *sseClient, who string) string {
	t.Helper()
	name, data := s.next(t)
	if name != "update" {
		t.Fatalf("%s: event %q %q, want an update", who, name, data)
	}
	return data
}

// TestLiveStreamsEndWithTheirSession: however a session ends (signed out
// on this or another instance, signed out everywhere, expired, past
// SESSION_MAX_AGE), its open streams are told within a poll interval and
// close; the streams of a session that goes on keep their updates.
func TestLiveStreamsEndWithTheirSession(t *testing.T) {
	const (
		interval = 400 * time.Millisecond
		within   = interval + time.Second // one interval, and slack for a busy machine
	)
	type env struct {
		here    *apptest.Stack // where the sign-in and the sign-out happen
		streams *apptest.Stack // where the pages' streams are open
		clock   *pvesim.ManualClock
		victim  *http.Client // the session that ends
		other   *http.Client // another session of the same user
	}
	cases := []struct {
		name         string
		memory       bool
		twoInstances bool
		maxAge       time.Duration
		end          func(t *testing.T, e env)
		target       string
		otherEnds    bool
	}{
		{
			name: "sign-out, memory store", memory: true,
			end:    func(t *testing.T, e env) { postForm(t, e.here, e.victim, "/logout", nil) },
			target: "/login",
		},
		{
			name: "sign-out on another instance", twoInstances: true,
			end:    func(t *testing.T, e env) { postForm(t, e.here, e.victim, "/logout", nil) },
			target: "/login",
		},
		{
			name: "signed out everywhere from another session and instance", twoInstances: true,
			end: func(t *testing.T, e env) {
				if r := postForm(t, e.here, e.other, "/sessions/logout-all", nil); r.status != http.StatusSeeOther {
					t.Fatalf("sign out everywhere: %d", r.status)
				}
			},
			target: "/login", otherEnds: true,
		},
		{
			name: "expired, memory store", memory: true,
			end:    func(t *testing.T, e env) { e.clock.Advance(2*time.Hour + time.Minute) },
			target: "/login?reason=expired", otherEnds: true,
		},
		{
			name: "expired, Redis", twoInstances: true,
			end:    func(t *testing.T, e env) { e.clock.Advance(2*time.Hour + time.Minute) },
			target: "/login?reason=expired", otherEnds: true,
		},
		{
			name: "past SESSION_MAX_AGE", twoInstances: true, maxAge: time.Hour,
			end:    func(t *testing.T, e env) { e.clock.Advance(time.Hour + time.Minute) },
			target: "/login?reason=expired", otherEnds: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The dashboard's clock is moved; PVE's is not, so PVE goes on
			// accepting the tickets and only the dashboard can end a stream.
			clock := pvesim.NewManualClock(time.Now())
			st := apptest.Start(t, apptest.Options{MemorySessions: tc.memory, LiveInterval: interval, Now: clock.Now,
				SessionMaxAge: tc.maxAge, Sim: pvesim.Options{Scenario: "demo"}})
			e := env{here: st, streams: st, clock: clock}
			if tc.twoInstances {
				e.streams = otherInstance(t, st, clock.Now)
			}
			e.victim = signInAs(t, st, "root@pam")
			e.other = signInAs(t, st, "root@pam")
			victims := []*sseClient{openEvents(t, e.streams, e.victim, ""), openEvents(t, e.streams, e.victim, "?status=running")}
			bystander := openEvents(t, e.streams, e.other, "")
			for _, s := range append(victims, bystander) {
				nextUpdate(t, s, "before")
			}

			cookie := sessionCookie(t, st, e.victim)
			id := sessionID(t, st, e.victim)
			tc.end(t, e)
			ended := time.Now()
			for _, s := range victims {
				awaitEnd(t, s, ended.Add(within), "expired", tc.target)
			}
			t.Logf("the session's streams ended %v after it (interval %v)", time.Since(ended).Round(time.Millisecond), interval)
			if tc.otherEnds {
				awaitEnd(t, bystander, ended.Add(within), "expired", tc.target)
			} else {
				for range 2 {
					nextUpdate(t, bystander, "the session that goes on")
				}
			}
			// The ended session opens no new stream, and is gone.
			req, _ := http.NewRequest(http.MethodGet, e.streams.URL+"/events", nil)
			req.Header.Set("Accept", "text/event-stream")
			req.AddCookie(cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a new stream of the ended session: %d, want 401", resp.StatusCode)
			}
			if st.RDB != nil && st.RDB.Exists(context.Background(), "session:"+id).Val() != 0 {
				t.Error("the ended session is still stored")
			}
		})
	}
}
