package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// counter is a Fetcher that counts polls per user.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	err   error
}

func (c *counter) fetch(_ context.Context, id lxc.Identity, _ Snapshot) (Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[id.Username]++
	if c.err != nil {
		return Snapshot{}, c.err
	}
	return Snapshot{Containers: []lxc.Container{{VMID: 101, Status: "stopped"}}}, nil
}

func (c *counter) count(user string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[user]
}

func receive(t *testing.T, ch <-chan Snapshot) Snapshot {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot within 5 s")
	}
	return Snapshot{}
}

func TestOnePollerPerUserWhateverTheTabs(t *testing.T) {
	c := &counter{calls: map[string]int{}}
	const interval = 40 * time.Millisecond
	h := New(c.fetch, Options{Interval: interval})
	defer h.Close()

	users := []string{"alice@pve", "bob@pve", "root@pam"}
	const tabs = 10
	var leaves []func()
	chans := map[string][]<-chan Snapshot{}
	for _, u := range users {
		for range tabs {
			ch, leave, err := h.Subscribe(lxc.Identity{Username: u})
			if err != nil {
				t.Fatal(err)
			}
			leaves = append(leaves, leave)
			chans[u] = append(chans[u], ch)
		}
	}
	// Let every tab see several polls.
	for range 3 {
		for _, u := range users {
			for _, ch := range chans[u] {
				receive(t, ch)
			}
		}
	}
	// Each tab received 3 snapshots; with one poller per user that took
	// about 3 polls, never one per tab (which would be ~30).
	for _, u := range users {
		if n := c.count(u); n >= tabs {
			t.Errorf("%s: %d polls for %d tabs over 3 updates: one poller per tab?", u, n, tabs)
		}
	}
	if len(h.users) != len(users) {
		t.Errorf("%d feeds, want %d", len(h.users), len(users))
	}

	// No open page: no polling. Every poller stops (a poll already under
	// way when the last tab left may finish first).
	h.mu.Lock()
	feeds := map[string]*feed{}
	for u, f := range h.users {
		feeds[u] = f
	}
	h.mu.Unlock()
	before := map[string]int{}
	for _, u := range users {
		before[u] = c.count(u)
	}
	for _, l := range leaves {
		l()
	}
	for _, u := range users {
		stopped(t, feeds[u])
		if n := c.count(u); n > before[u]+1 {
			t.Errorf("%s: %d polls after every page closed", u, n-before[u])
		}
	}
	h.mu.Lock()
	left := len(h.users)
	h.mu.Unlock()
	if left != 0 {
		t.Errorf("%d feeds remain after every page closed", left)
	}
}

// stopped waits until f's poller has returned.
func stopped(t *testing.T, f *feed) {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not stop within 5 s")
	}
}

// feedOf returns the feed of a user with open pages.
func feedOf(t *testing.T, h *Hub, username string) *feed {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.users[username]
	if !ok {
		t.Fatalf("no feed for %s", username)
	}
	return f
}

func TestFailedPollKeepsLastDataAsStale(t *testing.T) {
	c := &counter{calls: map[string]int{}}
	h := New(c.fetch, Options{Interval: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	defer h.Close()
	ch, leave, _ := h.Subscribe(lxc.Identity{Username: "u@pve"})
	defer leave()
	good := receive(t, ch)
	if good.Stale() || len(good.Containers) != 1 {
		t.Fatalf("first snapshot %+v", good)
	}
	c.mu.Lock()
	c.err = &lxc.Error{Code: lxc.EUnreachable}
	c.mu.Unlock()
	var bad Snapshot
	for !bad.Stale() {
		bad = receive(t, ch)
	}
	if len(bad.Containers) != 1 || bad.FetchedAt != good.FetchedAt {
		t.Errorf("stale snapshot lost the last good data: %+v", bad)
	}
	if _, ok := h.Latest("u@pve", time.Hour); ok {
		t.Error("Latest returned a stale snapshot")
	}
}

func TestUnauthorizedStopsThePoller(t *testing.T) {
	c := &counter{calls: map[string]int{}, err: &lxc.Error{Code: lxc.EUnauthorized}}
	h := New(c.fetch, Options{Interval: 10 * time.Millisecond})
	defer h.Close()
	ch, leave, _ := h.Subscribe(lxc.Identity{Username: "u@pve"})
	defer leave()
	f := feedOf(t, h, "u@pve")
	if s := receive(t, ch); lxc.ErrorCode(s.Err) != lxc.EUnauthorized {
		t.Fatalf("err = %v", s.Err)
	}
	stopped(t, f) // the page is still open: only the refusal stops it
	if n := c.count("u@pve"); n != 1 {
		t.Errorf("%d polls with a dead ticket, want 1", n)
	}
}

func TestBackoff(t *testing.T) {
	h := New(nil, Options{Interval: 3 * time.Second, MaxBackoff: 30 * time.Second})
	boom := errors.New("boom")
	cases := []struct {
		name string
		prev time.Duration
		took time.Duration
		err  error
		want time.Duration
	}{
		{"healthy: the next starts an interval after this one did", 3 * time.Second, 100 * time.Millisecond, nil, 2900 * time.Millisecond},
		{"first failure", 3 * time.Second, 100 * time.Millisecond, boom, 6 * time.Second},
		{"repeated failure", 6 * time.Second, 0, boom, 12 * time.Second},
		{"capped", 24 * time.Second, 0, boom, 30 * time.Second},
		{"slow answer", 3 * time.Second, 2 * time.Second, nil, 6 * time.Second},
		{"recovered", 30 * time.Second, 100 * time.Millisecond, nil, 2900 * time.Millisecond},
		{"half the interval is not slow yet", 3 * time.Second, 1500 * time.Millisecond, nil, 1500 * time.Millisecond},
	}
	for _, tc := range cases {
		if got := h.nextWait(tc.prev, tc.took, tc.err); got != tc.want {
			t.Errorf("%s: nextWait = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSetStatusOverridesUntilPVEAgrees(t *testing.T) {
	c := &counter{calls: map[string]int{}}
	h := New(c.fetch, Options{Interval: time.Hour})
	defer h.Close()
	ch, leave, _ := h.Subscribe(lxc.Identity{Username: "u@pve"})
	defer leave()
	receive(t, ch)
	h.SetStatus("u@pve", 101, "running", time.Minute)
	if s := receive(t, ch); s.Containers[0].Status != "running" {
		t.Errorf("override not applied: %+v", s.Containers[0])
	}
	h.SetStatus("u@pve", 101, "running", -time.Second) // expired at once
	if s := receive(t, ch); s.Containers[0].Status != "stopped" {
		t.Errorf("expired override still applied: %+v", s.Containers[0])
	}
}

func TestSubscribeAfterClose(t *testing.T) {
	h := New((&counter{calls: map[string]int{}}).fetch, Options{})
	h.Close()
	if _, _, err := h.Subscribe(lxc.Identity{Username: "u"}); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v", err)
	}
}

// TestInstancesShareOnePoll runs two hubs (two dashboard instances) on one
// Redis: a user with pages on both still costs one PVE poll per interval.
func TestInstancesShareOnePoll(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	c := &counter{calls: map[string]int{}}
	const interval = 100 * time.Millisecond
	a := New(c.fetch, Options{Interval: interval, Shared: NewRedisShared(rdb, "a")})
	b := New(c.fetch, Options{Interval: interval, Shared: NewRedisShared(rdb, "b")})
	defer a.Close()
	defer b.Close()
	user := "shared-" + time.Now().Format("150405.000000") + "@pve"
	cha, leaveA, _ := a.Subscribe(lxc.Identity{Username: user})
	chb, leaveB, _ := b.Subscribe(lxc.Identity{Username: user})
	defer leaveA()
	defer leaveB()
	start := time.Now()
	for range 5 {
		receive(t, cha)
		receive(t, chb)
	}
	elapsed := time.Since(start)
	polls := c.count(user)
	intervals := int(elapsed/interval) + 2
	t.Logf("%d polls in %v (%d intervals) for pages on two instances", polls, elapsed.Round(time.Millisecond), intervals)
	if polls > intervals {
		t.Errorf("%d polls in %d intervals: the instances did not share", polls, intervals)
	}
	// The follower shows the leader's error too.
	c.mu.Lock()
	c.err = &lxc.Error{Code: lxc.EUnreachable}
	c.mu.Unlock()
	for _, ch := range []<-chan Snapshot{cha, chb} {
		var s Snapshot
		for range 50 {
			if s = receive(t, ch); s.Stale() {
				break
			}
		}
		if lxc.ErrorCode(s.Err) != lxc.EUnreachable {
			t.Errorf("instance did not learn of the failure: %v", s.Err)
		}
	}
}

// TestOneDeadTicketEndsOnlyItsSession: a user with pages in two sessions,
// one of whose ticket PVE refuses; only that session's pages hear of it.
func TestOneDeadTicketEndsOnlyItsSession(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	fetch := func(_ context.Context, id lxc.Identity, _ Snapshot) (Snapshot, error) {
		mu.Lock()
		calls[id.Ticket]++
		mu.Unlock()
		if id.Ticket == "dead" {
			return Snapshot{}, &lxc.Error{Code: lxc.EUnauthorized}
		}
		return Snapshot{Containers: []lxc.Container{{VMID: 101}}}, nil
	}
	h := New(fetch, Options{Interval: 20 * time.Millisecond})
	defer h.Close()
	good, leaveGood, _ := h.Subscribe(lxc.Identity{Username: "u@pve", Ticket: "live"})
	defer leaveGood()
	bad, leaveBad, _ := h.Subscribe(lxc.Identity{Username: "u@pve", Ticket: "dead"}) // newest: polled with
	// The dead session's page reads late: the refusal waits for it, not
	// replaced by the snapshots polled with the live ticket meanwhile.
	for range 5 {
		receive(t, good)
	}
	var s Snapshot
	for range 20 {
		if s = receive(t, bad); s.Err != nil {
			break
		}
	}
	if lxc.ErrorCode(s.Err) != lxc.EUnauthorized {
		t.Fatalf("dead session got %v", s.Err)
	}
	leaveBad()
	for range 3 {
		if s := receive(t, good); s.Err != nil {
			t.Fatalf("live session got %v", s.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["live"] == 0 {
		t.Error("the poller did not go on with the live ticket")
	}
}

// TestSubscribersShareSeq: every page of a user receives the same Seq for
// the same snapshot, a later page gets the current one at once, and each
// publish (poll or SetStatus) has a higher Seq than the one before.
func TestSubscribersShareSeq(t *testing.T) {
	c := &counter{calls: map[string]int{}}
	h := New(c.fetch, Options{Interval: time.Hour})
	defer h.Close()
	a, leaveA, _ := h.Subscribe(lxc.Identity{Username: "u@pve"})
	defer leaveA()
	b, leaveB, _ := h.Subscribe(lxc.Identity{Username: "u@pve"})
	defer leaveB()
	other, leaveOther, _ := h.Subscribe(lxc.Identity{Username: "v@pve"})
	defer leaveOther()
	sa, sb, so := receive(t, a), receive(t, b), receive(t, other)
	if sa.Seq == 0 || sa.Seq != sb.Seq {
		t.Errorf("one poll, Seq %d and %d", sa.Seq, sb.Seq)
	}
	if so.Seq == sa.Seq {
		t.Errorf("two users' snapshots share Seq %d", so.Seq)
	}
	late, leaveLate, _ := h.Subscribe(lxc.Identity{Username: "u@pve"})
	defer leaveLate()
	if sl := receive(t, late); sl.Seq != sa.Seq {
		t.Errorf("late page got Seq %d, want the current %d", sl.Seq, sa.Seq)
	}
	h.SetStatus("u@pve", 101, "running", time.Minute)
	na, nb, nl := receive(t, a), receive(t, b), receive(t, late)
	if na.Seq <= sa.Seq || na.Seq != nb.Seq || na.Seq != nl.Seq {
		t.Errorf("after SetStatus: Seq %d, %d, %d (before %d)", na.Seq, nb.Seq, nl.Seq, sa.Seq)
	}
	if na.Containers[0].Status != "running" || nl.Containers[0].Status != "running" {
		t.Error("override missing from the shared snapshot")
	}
}

// TestPollerDropsTheTicketOfAClosedSession: when the last page of the
// session whose ticket the poller uses closes (the session may have been
// signed out), the poller goes on with the ticket of a session that still
// has pages open.
func TestPollerDropsTheTicketOfAClosedSession(t *testing.T) {
	var (
		mu      sync.Mutex
		tickets []string
	)
	fetch := func(_ context.Context, id lxc.Identity, _ Snapshot) (Snapshot, error) {
		mu.Lock()
		tickets = append(tickets, id.Ticket)
		mu.Unlock()
		return Snapshot{Containers: []lxc.Container{{VMID: 101}}}, nil
	}
	h := New(fetch, Options{Interval: 10 * time.Millisecond})
	defer h.Close()
	stay, leaveStay, _ := h.Subscribe(lxc.Identity{Username: "u@pve", Ticket: "stays"})
	defer leaveStay()
	gone, leaveGone, _ := h.Subscribe(lxc.Identity{Username: "u@pve", Ticket: "signed-out"}) // newest: polled with
	for {
		receive(t, stay)
		mu.Lock()
		n := len(tickets)
		last := tickets[n-1]
		mu.Unlock()
		if last == "signed-out" {
			break
		}
		if n > 100 {
			t.Fatal("the poller never used the newest session's ticket")
		}
	}
	receive(t, gone)
	leaveGone()
	mu.Lock()
	at := len(tickets)
	mu.Unlock()
	// A poll under way when the page left may still use its ticket; every
	// later one must not.
	for range 3 {
		receive(t, stay)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, tk := range tickets[at:] {
		if tk == "signed-out" && i > 0 {
			t.Fatalf("poll %d after the session's last page left used its ticket", i)
		}
	}
	if tickets[len(tickets)-1] != "stays" {
		t.Errorf("last poll with %q", tickets[len(tickets)-1])
	}
}

// TestLeaveAfterClose: a page that leaves after the hub closed (a stream
// ending at shutdown) does not close its channel a second time.
func TestLeaveAfterClose(t *testing.T) {
	c := &counter{calls: map[string]int{}}
	h := New(c.fetch, Options{Interval: time.Hour})
	ch, leave, err := h.Subscribe(lxc.Identity{Username: "u@pve", Ticket: "t"})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if _, ok := <-ch; ok {
		t.Fatal("the channel stays open after Close")
	}
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("leave after Close panicked: %v", v)
		}
	}()
	leave()
}

// Polls are spread: a wait moves by up to a tenth either way, and not
// always by the same amount.
func TestJitteredWaits(t *testing.T) {
	const d = 3 * time.Second
	seen := map[time.Duration]bool{}
	for range 200 {
		got := jittered(d)
		if got < d-d/10 || got > d+d/10 {
			t.Fatalf("jittered(%v) = %v, more than a tenth off", d, got)
		}
		seen[got] = true
	}
	if len(seen) < 2 {
		t.Error("every wait is the same: polls that start together stay together")
	}
	if jittered(0) != 0 {
		t.Error("no wait became a wait")
	}
}

// The instance holding a user's lead keeps it when it polls again (its
// lead renewed, not lost to the key's expiry); another instance gets it
// only once nobody holds it.
func TestLeadIsKeptByItsHolder(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	a, b := NewRedisShared(rdb, "a"), NewRedisShared(rdb, "b")
	take := func(s *RedisShared) bool {
		t.Helper()
		got, err := s.TryLead(ctx, "u", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if !take(a) {
		t.Fatal("a could not take a free lead")
	}
	if err := rdb.PExpire(ctx, "live-lead:u", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if !take(a) {
		t.Error("a lost the lead it holds")
	}
	if ttl := rdb.PTTL(ctx, "live-lead:u").Val(); ttl < 30*time.Second {
		t.Errorf("a's lead was not renewed: %v left", ttl)
	}
	if take(b) {
		t.Error("b took a lead a holds")
	}
	if err := rdb.Del(ctx, "live-lead:u").Err(); err != nil {
		t.Fatal(err)
	}
	if !take(b) {
		t.Error("b could not take the lead once a's was gone")
	}
	if take(a) {
		t.Error("a took the lead b holds")
	}
}

// A leader publishes its snapshots only while another instance follows the
// user: alone, it encodes nothing for Redis; once a second instance has a
// page of the user's open, that page gets the leader's snapshots.
func TestLeaderPublishesOnlyWhenFollowed(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	c := &counter{calls: map[string]int{}}
	const interval = 50 * time.Millisecond
	a := New(c.fetch, Options{Interval: interval, Shared: NewRedisShared(rdb, "a")})
	defer a.Close()
	user := "alone@pve"
	cha, leaveA, _ := a.Subscribe(lxc.Identity{Username: user})
	defer leaveA()
	for range 3 {
		receive(t, cha)
	}
	if n := rdb.Exists(context.Background(), "live-snapshot:"+user).Val(); n != 0 {
		t.Fatal("a leader without followers published its snapshot")
	}
	b := New(c.fetch, Options{Interval: interval, Shared: NewRedisShared(rdb, "b")})
	defer b.Close()
	chb, leaveB, _ := b.Subscribe(lxc.Identity{Username: user})
	defer leaveB()
	receive(t, chb)
	if n := rdb.Exists(context.Background(), "live-snapshot:"+user).Val(); n != 1 {
		t.Error("the follower got a snapshot the leader did not publish")
	}
}
