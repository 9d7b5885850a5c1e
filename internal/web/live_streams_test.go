package web_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// The caps on open streams (web.Config defaults).
const (
	streamsPerSession = 6
	streamsPerUser    = 30
)

// awaitClosed checks that s is told "closed" (skipping updates before it)
// and then ends.
func awaitClosed(t *testing.T, s *sseClient, who string) {
	t.Helper()
	awaitEnd(t, s, time.Now().Add(10*time.Second), "closed", "too many open pages")
	t.Logf("%s: closed", who)
}

// TestLiveStreamCaps: a session keeps at most 6 streams and a user 30 on
// an instance; a new one beyond a cap closes the oldest (which is told not
// to reconnect), and the others keep their updates.
func TestLiveStreamCaps(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, LiveInterval: 200 * time.Millisecond, Sim: pvesim.Options{Scenario: "demo"}})
	first := signInAs(t, st, "root@pam")
	var mine []*sseClient
	for range streamsPerSession {
		s := openEvents(t, st, first, "")
		nextUpdate(t, s, "a stream within the cap")
		mine = append(mine, s)
	}

	// The seventh page of the session closes the first.
	seventh := openEvents(t, st, first, "?status=running")
	nextUpdate(t, seventh, "the 7th stream")
	awaitClosed(t, mine[0], "the session's oldest stream")
	mine = append(mine[1:], seventh)
	for i, s := range mine {
		nextUpdate(t, s, fmt.Sprintf("session stream %d after the 7th opened", i))
	}

	// Four more sessions of the user fill its 30; a sixth session's first
	// page closes the user's oldest, which is the first session's.
	all := append([]*sseClient(nil), mine...)
	for range streamsPerUser/streamsPerSession - 1 {
		c := signInAs(t, st, "root@pam")
		for range streamsPerSession {
			s := openEvents(t, st, c, "")
			nextUpdate(t, s, "a stream within the user's cap")
			all = append(all, s)
		}
	}
	if len(all) != streamsPerUser {
		t.Fatalf("%d streams open, want %d", len(all), streamsPerUser)
	}
	late := openEvents(t, st, signInAs(t, st, "root@pam"), "")
	nextUpdate(t, late, "the user's 31st stream")
	awaitClosed(t, all[0], "the user's oldest stream")
	for i, s := range append(all[1:], late) {
		nextUpdate(t, s, fmt.Sprintf("user stream %d after the 31st opened", i))
	}

	// Another user is not affected by root's streams.
	alice := openEvents(t, st, signInAs(t, st, "alice@pve"), "")
	nextUpdate(t, alice, "another user's stream")
	nextUpdate(t, alice, "another user's stream")
}

// TestLiveRendersOncePerView opens 22 streams over three views (two users)
// and counts renders of the live part of the page: one per view per
// snapshot, not one per stream. Each stream still shows its own view.
func TestLiveRendersOncePerView(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, LiveInterval: 200 * time.Millisecond, Sim: pvesim.Options{Scenario: "demo"}})
	type page struct {
		user, view string
		s          *sseClient
	}
	var pages []page
	for range 4 {
		c := signInAs(t, st, "root@pam")
		for range 3 {
			pages = append(pages, page{user: "root@pam", view: ""})
			pages[len(pages)-1].s = openEvents(t, st, c, "")
		}
		for range 2 {
			pages = append(pages, page{user: "root@pam", view: "?status=running"})
			pages[len(pages)-1].s = openEvents(t, st, c, "?status=running")
		}
	}
	c := signInAs(t, st, "alice@pve")
	for range 2 {
		pages = append(pages, page{user: "alice@pve", view: ""})
		pages[len(pages)-1].s = openEvents(t, st, c, "")
	}
	const views = 3
	for _, p := range pages {
		nextUpdate(t, p.s, "first")
	}

	renders := func() int64 { return web.LiveRenders(st.Server.Config.Handler) }
	polls := func() int64 { return st.Sim.Calls(http.MethodGet, "/cluster/resources") }
	r0, p0 := renders(), polls()
	const rounds = 4
	for range rounds {
		for _, p := range pages {
			data := nextUpdate(t, p.s, p.user+p.view)
			shown := rows(data)
			if len(shown) == 0 {
				t.Fatalf("%s %q: no rows", p.user, p.view)
			}
			stopped := false
			for vmid, status := range shown {
				stopped = stopped || status == "stopped"
				if p.view == "?status=running" && status != "running" {
					t.Errorf("%s %q shows CT %s %s", p.user, p.view, vmid, status)
				}
				if p.user == "alice@pve" {
					var id int
					fmt.Sscan(vmid, &id)
					if ct, ok := st.Sim.Container(id); !ok || ct.Pool != "dev" {
						t.Errorf("alice's page shows CT %s outside her pool", vmid)
					}
				}
			}
			if p.user == "root@pam" && p.view == "" && !stopped {
				t.Errorf("root's full view shows no stopped container: another view's render?")
			}
		}
	}
	rendered, polled := renders()-r0, polls()-p0
	delivered := int64(len(pages) * rounds)
	t.Logf("%d updates delivered to %d streams: %d renders for %d polls", delivered, len(pages), rendered, polled)
	// One render per view per snapshot; each poll makes one snapshot of
	// one user, and a poll under way at either end may add one each.
	if limit := views * (polled + 2); rendered > limit {
		t.Errorf("%d renders for %d polls of %d views (limit %d): rendered per stream?", rendered, polled, views, limit)
	}
}
