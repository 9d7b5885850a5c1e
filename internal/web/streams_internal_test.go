package web

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitClosed waits for ch to close, at most 5 s.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not within 5 s", what)
	}
}

func TestStreamRegistryCaps(t *testing.T) {
	never := func(context.Context, *watchedSession) (string, bool) { return "", false }
	r := newStreamRegistry(2, 3, time.Hour, never)
	defer r.close()
	a := session.Session{ID: "a", Username: "u@pve"}
	b := session.Session{ID: "b", Username: "u@pve"}
	other := session.Session{ID: "c", Username: "v@pve"}

	a1, a2 := r.open(a), r.open(a)
	v1 := r.open(other)
	a3 := r.open(a) // over the session's 2: a1 goes
	if !isClosed(a1.closed) || isClosed(a2.closed) || isClosed(a3.closed) {
		t.Fatal("the session's cap did not close exactly its oldest stream")
	}
	b1 := r.open(b)
	b2 := r.open(b) // u has a2, a3, b1, b2: over the user's 3, a2 goes
	if !isClosed(a2.closed) || isClosed(a3.closed) || isClosed(b1.closed) || isClosed(b2.closed) {
		t.Fatal("the user's cap did not close exactly the user's oldest stream")
	}
	if isClosed(v1.closed) {
		t.Error("another user's stream was closed")
	}
	if ns, nu := len(r.sessions["a"].streams), len(r.users["u@pve"]); ns != 1 || nu != 3 {
		t.Errorf("session a has %d streams, user u %d; want 1 and 3", ns, nu)
	}
	// Leaving twice (a closed stream's handler leaves too) changes nothing.
	r.leave(a1)
	r.leave(a2)
	for _, st := range []*stream{a3, b1, b2, v1} {
		r.leave(st)
	}
	if len(r.sessions) != 0 || len(r.users) != 0 {
		t.Errorf("after every stream left: %d sessions, %d users", len(r.sessions), len(r.users))
	}
	// Every watcher has stopped.
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	waitClosed(t, done, "the watchers to stop after their streams left")
}

// TestStreamRegistryWatchesOncePerSession: a session has one watcher
// however many streams it has; when it ends, all of them hear.
func TestStreamRegistryWatchesOncePerSession(t *testing.T) {
	var (
		mu      sync.Mutex
		checked = map[*watchedSession]int{}
	)
	end := make(chan struct{})
	check := func(_ context.Context, w *watchedSession) (string, bool) {
		mu.Lock()
		checked[w]++
		mu.Unlock()
		select {
		case <-end:
			return "/login", true
		default:
			return "", false
		}
	}
	r := newStreamRegistry(6, 30, 10*time.Millisecond, check)
	defer r.close()
	a := session.Session{ID: "a", Username: "u@pve"}
	var streams []*stream
	for range 6 {
		streams = append(streams, r.open(a))
	}
	other := r.open(session.Session{ID: "b", Username: "u@pve"})
	if len(r.sessions) != 2 {
		t.Fatalf("%d watched sessions for 2 sessions", len(r.sessions))
	}
	close(end)
	for _, st := range streams {
		waitClosed(t, st.sess.ended, "the session's end")
		if st.sess != streams[0].sess || st.sess.target != "/login" {
			t.Errorf("stream of session a: watcher %p target %q", st.sess, st.sess.target)
		}
	}
	waitClosed(t, other.sess.ended, "the other session's end")
	mu.Lock()
	defer mu.Unlock()
	if len(checked) != 2 {
		t.Errorf("%d watchers checked 2 sessions", len(checked))
	}
}

func TestViewCacheRendersOncePerSnapshot(t *testing.T) {
	var c viewCache
	k := viewKey{user: "u@pve", view: "status=running"}
	var renders atomic.Int64
	render := func(out string) func() ([]byte, error) {
		return func() ([]byte, error) {
			renders.Add(1)
			return []byte(out), nil
		}
	}
	for range 40 {
		c.join(k)
	}
	var wg sync.WaitGroup
	got := make([]string, 40)
	for i := range got {
		wg.Go(func() {
			ev, err := c.event(k, 7, render("seven"))
			if err != nil {
				t.Error(err)
			}
			got[i] = string(ev)
		})
	}
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Errorf("%d renders of one snapshot for 40 streams", n)
	}
	for _, g := range got {
		if g != "seven" {
			t.Fatalf("a stream got %q", g)
		}
	}
	steps := []struct {
		name    string
		key     viewKey
		seq     uint64
		want    string
		renders int64
	}{
		{"an older snapshot renders for itself", k, 6, "six", 2},
		{"the newest stays shared", k, 7, "seven", 2},
		{"a newer snapshot renders", k, 8, "eight", 3},
		{"and is shared", k, 8, "eight", 3},
		{"another user's same view is not shared", viewKey{user: "v@pve", view: k.view}, 8, "v-eight", 4},
	}
	outs := map[string]string{"six": "six", "seven": "seven", "eight": "eight", "v-eight": "v-eight"}
	for _, s := range steps {
		ev, _ := c.event(s.key, s.seq, render(outs[s.want]))
		if string(ev) != s.want || renders.Load() != s.renders {
			t.Errorf("%s: got %q after %d renders, want %q after %d", s.name, ev, renders.Load(), s.want, s.renders)
		}
	}
	for range 40 {
		c.leave(k)
	}
	if len(c.views) != 0 {
		t.Errorf("%d views kept after every stream left", len(c.views))
	}
}
