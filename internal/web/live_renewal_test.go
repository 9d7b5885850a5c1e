package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
)

// TestLiveStreamOutlivesItsFirstTicket: a page left open while the person
// works in another tab keeps updating after the ticket it subscribed with
// has expired, because the session's ticket was renewed meanwhile; the
// refusal of the old ticket must not end the session.
func TestLiveStreamOutlivesItsFirstTicket(t *testing.T) {
	st, clock := clocked(t, apptest.Options{LiveInterval: 200 * time.Millisecond})
	c, id := signIn(t, st)
	ev := openEvents(t, st, c, "")
	if name, _ := ev.next(t); name != "update" {
		t.Fatalf("first event %q", name)
	}
	first := loadStored(t, st, id)

	// Another tab is active after 70 minutes: the ticket is renewed.
	clock.Advance(70 * time.Minute)
	if r := get(t, st, c, "/"); r.status != http.StatusOK {
		t.Fatalf("page after 70 min: %d", r.status)
	}
	if renewed := loadStored(t, st, id); renewed.Ticket == first.Ticket {
		t.Fatal("the ticket was not renewed")
	}
	// 130 minutes after sign-in PVE refuses the stream's first ticket.
	clock.Advance(60 * time.Minute)
	updates := 0
	for updates < 3 {
		name, data := ev.next(t)
		if name != "update" {
			t.Fatalf("after the first ticket expired the stream got %q %q", name, data)
		}
		updates++
	}
	if st.RDB.Exists(context.Background(), "session:"+id).Val() != 1 {
		t.Error("the session was deleted")
	}
	if r := get(t, st, c, "/"); r.status != http.StatusOK {
		t.Errorf("the person was signed out: %d", r.status)
	}
}
