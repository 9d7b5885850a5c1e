package web

import (
	"context"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

// TestStreamRegistryTryOpen: consoles are refused beyond a cap, and
// nothing already open is closed; leaving makes room again.
func TestStreamRegistryTryOpen(t *testing.T) {
	never := func(context.Context, *watchedSession) (string, bool) { return "", false }
	r := newStreamRegistry(2, 3, time.Hour, never)
	defer r.close()
	a := session.Session{ID: "a", Username: "u@pve"}
	b := session.Session{ID: "b", Username: "u@pve"}
	a1, a2 := r.tryOpen(a), r.tryOpen(a)
	if a1 == nil || a2 == nil {
		t.Fatal("refused below the session's cap")
	}
	if r.tryOpen(a) != nil {
		t.Fatal("a third of the session's was opened")
	}
	if isClosed(a1.closed) || isClosed(a2.closed) {
		t.Fatal("a refusal closed an open stream")
	}
	b1 := r.tryOpen(b)
	if b1 == nil || r.tryOpen(b) != nil {
		t.Fatal("the user's cap of 3 did not hold")
	}
	r.leave(a1)
	if r.tryOpen(b) == nil {
		t.Error("no room after one left")
	}
}

// TestStreamRegistryTryOpenEndsWithSession: a console's stream sees its
// session end like a live stream does.
func TestStreamRegistryTryOpenEndsWithSession(t *testing.T) {
	ended := func(context.Context, *watchedSession) (string, bool) { return "/login", true }
	r := newStreamRegistry(4, 100, 10*time.Millisecond, ended)
	defer r.close()
	st := r.tryOpen(session.Session{ID: "a", Username: "u@pve"})
	waitClosed(t, st.sess.ended, "session end")
	if st.sess.target != "/login" {
		t.Errorf("target %q", st.sess.target)
	}
}

func TestSpelledDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Minute: "30 minutes", time.Minute: "1 minute",
		45 * time.Second: "45 seconds", time.Second: "1 second", 90 * time.Second: "90 seconds"} {
		if got := spelledDuration(d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}
