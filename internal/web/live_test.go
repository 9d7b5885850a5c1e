package web_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// TestLiveFanOut opens 200 pages for 20 users (two sessions each, within
// the per-session cap) and counts the simulator's /cluster/resources calls:
// one poll per user per interval, whatever the number of pages.
func TestLiveFanOut(t *testing.T) {
	const (
		users           = 20
		sessionsPerUser = 2
		pagesPerSession = 5
		interval        = 250 * time.Millisecond
	)
	st := apptest.Start(t, apptest.Options{MemorySessions: true, LiveInterval: interval, Sim: pvesim.Options{Scenario: "demo"}})
	var streams []*sseClient
	for i := range users {
		userid := "root@pam"
		if i > 0 {
			userid = fmt.Sprintf("viewer%02d@pve", i)
			st.Sim.SetUser(pvesim.User{ID: userid, Password: "viewer-pass"})
			if err := st.Sim.SetACL("/", userid, "PVEAuditor", true); err != nil {
				t.Fatal(err)
			}
			demoPasswords[userid] = "viewer-pass"
		}
		for range sessionsPerUser {
			c := signInAs(t, st, userid)
			for range pagesPerSession {
				streams = append(streams, openEvents(t, st, c, ""))
			}
		}
	}
	for _, s := range streams {
		if name, _ := s.next(t); name != "update" {
			t.Fatalf("first event %q", name)
		}
	}
	route := "/cluster/resources"
	before := st.Sim.Calls(http.MethodGet, route)
	start := time.Now()
	// Every page must keep receiving updates.
	for range 4 {
		for _, s := range streams {
			if name, _ := s.next(t); name != "update" {
				t.Fatalf("event %q", name)
			}
		}
	}
	elapsed := time.Since(start)
	polls := st.Sim.Calls(http.MethodGet, route) - before
	intervals := int64(elapsed/interval) + 1
	t.Logf("%d pages of %d users: %d polls of %s in %v (%d intervals)", len(streams), users, polls, route, elapsed.Round(time.Millisecond), intervals)
	if limit := int64(users) * intervals; polls > limit {
		t.Errorf("%d polls in %d intervals: more than one per user per interval (limit %d)", polls, intervals, limit)
	}
	if polls < int64(users) {
		t.Errorf("only %d polls: some users were not polled", polls)
	}
}

// BenchmarkContainerListLarge renders the container list of the "large"
// scenario (10,000 containers on 20 nodes) for root.
//
//   - render: the list page served from the live poller's snapshot (what a
//     person with the page open gets: the dashboard's own time);
//   - with-poll: the same page when no poll is fresh, so the request also
//     fetches 10,000 containers from PVE over HTTPS.
func BenchmarkContainerListLarge(b *testing.B) {
	st := apptest.Start(b, apptest.Options{MemorySessions: true, LiveInterval: time.Minute, Sim: pvesim.Options{Scenario: "large"}})
	c := st.Client(b)
	if r := benchLogin(b, st, c); r != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", r)
	}
	fetchPage := func(b *testing.B) {
		req, _ := http.NewRequest(http.MethodGet, st.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := drain(resp)
		if resp.StatusCode != http.StatusOK || n < 100<<10 {
			b.Fatalf("page: %d, %d bytes", resp.StatusCode, n)
		}
	}
	b.Run("with-poll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fetchPage(b)
		}
	})
	b.Run("render", func(b *testing.B) {
		// An open page keeps a fresh snapshot in the poller.
		req, _ := http.NewRequest(http.MethodGet, st.URL+"/events", nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 64<<10)
		if _, err := resp.Body.Read(buf); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			fetchPage(b)
		}
	})
}
