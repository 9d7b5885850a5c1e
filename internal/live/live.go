// Package live keeps the container overview of each signed-in user fresh
// while that user has a page open, with one poll of Proxmox VE per user per
// interval however many pages (tabs, browsers) the user has open, and no
// polling at all for users with no open page. A slow or failing PVE makes
// the poller back off.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Snapshot is one poll's result for one user.
type Snapshot struct {
	Containers []lxc.Container
	Nodes      []lxc.Node
	Perms      lxc.Permissions
	// PermsAt is when Perms were fetched; a fetcher may reuse recent ones.
	PermsAt time.Time
	// Version is PVE's version as the user's pages show it, fetched at
	// VersionAt (zero: not fetched); a fetcher may reuse a recent one.
	Version   lxc.Version
	VersionAt time.Time
	// FetchedAt is when the data was fetched (the last good poll).
	FetchedAt time.Time
	// Err is the last poll's error; when set, the data above is the last
	// good data (or empty) and is stale.
	Err error
	// Seq numbers the snapshots a Hub hands to subscribers, increasing
	// across all its users: every page of a user that receives the same Seq
	// receives the same snapshot, so what is built from it (a rendered
	// view) can be built once and shared. Zero outside a subscription.
	Seq uint64
}

// Stale reports whether the last poll failed.
func (s Snapshot) Stale() bool { return s.Err != nil }

// Fetcher polls PVE for one user. prev is the user's previous good
// snapshot (zero at first), so slow-changing parts can be reused.
type Fetcher func(ctx context.Context, id lxc.Identity, prev Snapshot) (Snapshot, error)

// KeyedFetcher polls PVE for one feed of a hub made with NewKeyed: key is
// the feed's key as given to SubscribeKey.
type KeyedFetcher func(ctx context.Context, key string, id lxc.Identity, prev Snapshot) (Snapshot, error)

// Shared lets the hubs of several dashboard instances share one poll per
// user per interval: one instance leads (polls PVE and publishes), the
// others follow (read what was published). See NewRedisShared.
type Shared interface {
	// TryLead takes the right to poll for username until ttl passes and
	// reports whether it got it.
	TryLead(ctx context.Context, username string, ttl time.Duration) (bool, error)
	// Publish stores a user's latest snapshot (encoded) for ttl.
	Publish(ctx context.Context, username string, data []byte, ttl time.Duration) error
	// Latest returns the user's published snapshot, or nil when there is none.
	Latest(ctx context.Context, username string) ([]byte, error)
	// Follow says that an instance reads the user's snapshots, for ttl.
	Follow(ctx context.Context, username string, ttl time.Duration) error
	// Followed reports whether any instance follows the user: a leader
	// publishes only then (encoding a snapshot of thousands of containers
	// is a fifth of a poll's cost).
	Followed(ctx context.Context, username string) (bool, error)
}

// Options configure a Hub.
type Options struct {
	Interval   time.Duration // normal poll interval (default 3 s)
	MaxBackoff time.Duration // longest wait after failures or slow polls (default 30 s)
	Timeout    time.Duration // bound on one poll (default 10 s)
	Logger     *slog.Logger
	// Shared, when set, makes instances take turns: per user, one poll of
	// PVE per interval across all of them.
	Shared Shared
}

// Hub runs one poller per user with open pages. It is safe for concurrent
// use. Polls run in the background until their user's last subscriber
// leaves or Close is called.
type Hub struct {
	fetch KeyedFetcher
	opts  Options
	log   *slog.Logger

	mu        sync.Mutex
	users     map[string]*feed
	overrides map[string]map[int]override // username -> vmid -> state
	seq       uint64                      // the last Snapshot.Seq handed out
	closed    bool
	wg        sync.WaitGroup
}

// feed is one user's poller and subscribers.
type feed struct {
	id   lxc.Identity // the identity polled with: the newest live one
	subs map[chan Snapshot]lxc.Identity
	last Snapshot // the last poll's result, overrides not applied
	// sent is what subscribers last received (overrides applied, Seq
	// set); a new subscriber gets it too.
	sent   Snapshot
	have   bool
	cancel context.CancelFunc
	done   chan struct{} // closed when the poller has stopped
}

// otherIdentity returns the identity of a subscriber whose ticket is not
// ticket, or, when every subscriber has that ticket, that one. The poller
// uses it once the pages of the session it polled for have gone: that
// session may have been signed out, and its ticket is not to be used on its
// behalf any longer. h.mu must be held.
func (f *feed) otherIdentity(ticket string) lxc.Identity {
	var same lxc.Identity
	for _, id := range f.subs {
		if id.Ticket != ticket {
			return id
		}
		same = id
	}
	return same
}

// override is a container state known fresher than the cluster overview.
type override struct {
	status string
	until  time.Time
}

// New returns a Hub that polls with fetch, one feed per user.
func New(fetch Fetcher, opts Options) *Hub {
	return NewKeyed(func(ctx context.Context, _ string, id lxc.Identity, prev Snapshot) (Snapshot, error) {
		return fetch(ctx, id, prev)
	}, opts)
}

// NewKeyed returns a Hub whose feeds are named by keys of the caller's
// choosing (SubscribeKey), each polled with fetch: for example one feed per
// user and container. Everything else is as for New: one poll per key per
// interval, shared across instances with Options.Shared.
func NewKeyed(fetch KeyedFetcher, opts Options) *Hub {
	if opts.Interval <= 0 {
		opts.Interval = 3 * time.Second
	}
	if opts.MaxBackoff < opts.Interval {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{fetch: fetch, opts: opts, log: opts.Logger, users: map[string]*feed{}, overrides: map[string]map[int]override{}}
}

// ErrClosed is returned by Subscribe after Close.
var ErrClosed = errors.New("live: hub closed")

// Subscribe registers a page of id.Username. Snapshots arrive on the
// channel: the latest known one at once (if any), then one per poll. A slow
// reader misses intermediate snapshots, never the newest. Call the returned
// function to leave; the channel is then closed.
func (h *Hub) Subscribe(id lxc.Identity) (<-chan Snapshot, func(), error) {
	return h.SubscribeKey(id.Username, id)
}

// SubscribeKey is Subscribe for the feed named key (of a hub made with
// NewKeyed). A feed polls with one of its subscribers' identities, so a key
// must belong to one user: put the username in it.
func (h *Hub) SubscribeKey(key string, id lxc.Identity) (<-chan Snapshot, func(), error) {
	ch := make(chan Snapshot, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrClosed
	}
	f, ok := h.users[key]
	if !ok {
		ctx, cancel := context.WithCancel(context.Background())
		f = &feed{subs: map[chan Snapshot]lxc.Identity{}, cancel: cancel, done: make(chan struct{})}
		h.users[key] = f
		h.wg.Add(1)
		go h.poll(ctx, key, f)
	}
	// A ticket PVE refused is news for its own session's pages only.
	othersDead := lxc.ErrorCode(f.sent.Err) == lxc.EUnauthorized && f.id.Ticket != id.Ticket
	f.id = id
	f.subs[ch] = id
	if f.have && !othersDead {
		ch <- f.sent
	}
	var once sync.Once
	leave := func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := f.subs[ch]; !ok {
				return // Close has closed the channel already
			}
			delete(f.subs, ch)
			close(ch)
			if len(f.subs) == 0 && h.users[key] == f {
				f.cancel()
				delete(h.users, key)
				return
			}
			if f.id.Ticket == id.Ticket {
				f.id = f.otherIdentity(id.Ticket)
			}
		})
	}
	return ch, leave, nil
}

// Latest returns the newest snapshot of a user whose pages are open, if it
// is younger than maxAge and not stale.
func (h *Hub) Latest(username string, maxAge time.Duration) (Snapshot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.users[username]
	if !ok || !f.have || f.last.Stale() || time.Since(f.last.FetchedAt) > maxAge {
		return Snapshot{}, false
	}
	return h.apply(username, f.last, time.Now()), true
}

// Apply returns snap with the user's recent SetStatus overrides applied;
// pages rendered from a poll of their own use it too.
func (h *Hub) Apply(username string, snap Snapshot) Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.apply(username, snap, time.Now())
}

// SetStatus records that a container of username is now in status (known
// from a finished task and status/current), so pages show it at once
// although PVE's cluster overview lags by up to ten seconds. The override
// holds until the overview agrees or ttl passes.
func (h *Hub) SetStatus(username string, vmid int, status string, ttl time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	m := h.overrides[username]
	if m == nil {
		m = map[int]override{}
		h.overrides[username] = m
	}
	m[vmid] = override{status: status, until: now.Add(ttl)}
	if f, ok := h.users[username]; ok && f.have {
		h.publish(username, f, now)
	}
}

// apply returns snap with username's overrides applied, dropping those that
// expired or that PVE's data now agrees with. h.mu must be held.
func (h *Hub) apply(username string, snap Snapshot, now time.Time) Snapshot {
	m := h.overrides[username]
	if len(m) == 0 {
		return snap
	}
	for vmid, o := range m {
		if now.After(o.until) {
			delete(m, vmid)
		}
	}
	cs := make([]lxc.Container, len(snap.Containers))
	copy(cs, snap.Containers)
	for i, c := range cs {
		o, ok := m[c.VMID]
		switch {
		case !ok:
		case o.status == c.Status:
			delete(m, c.VMID)
		default:
			cs[i].Status = o.status
		}
	}
	if len(m) == 0 {
		delete(h.overrides, username)
	}
	snap.Containers = cs
	return snap
}

// publish sends f.last, with overrides applied, to every subscriber. A
// slow subscriber's unread snapshot is replaced by the newer one. h.mu must
// be held.
func (h *Hub) publish(username string, f *feed, now time.Time) {
	snap := h.apply(username, f.last, now)
	h.seq++
	snap.Seq = h.seq
	f.sent = snap
	dead := lxc.ErrorCode(snap.Err) == lxc.EUnauthorized
	for ch, id := range f.subs {
		if dead && id.Ticket != f.id.Ticket {
			continue // another session's ticket died, not this one's
		}
		select {
		case old := <-ch: // drop the unread older snapshot
			if !dead && lxc.ErrorCode(old.Err) == lxc.EUnauthorized {
				// ...unless it tells this page its ticket was refused:
				// that is its last word, which a newer snapshot polled
				// with another session's ticket must not hide.
				ch <- old
				continue
			}
		default:
		}
		ch <- snap
	}
}

// Close stops every poller and waits for them.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for name, f := range h.users {
		f.cancel()
		for ch := range f.subs {
			close(ch)
			delete(f.subs, ch)
		}
		delete(h.users, name)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// poll is one user's loop: fetch, publish, wait; back off while PVE fails
// or answers slowly.
func (h *Hub) poll(ctx context.Context, username string, f *feed) {
	defer h.wg.Done()
	defer close(f.done)
	wait := time.Duration(0)
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		h.mu.Lock()
		id, prev := f.id, f.last
		h.mu.Unlock()
		if prev.Stale() {
			prev = Snapshot{}
		}

		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
		snap, fresh, err := h.obtain(pctx, username, id, prev)
		cancel()
		took := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		if !fresh {
			// Another instance leads and has published nothing new yet.
			wait = h.opts.Interval
			continue
		}
		h.mu.Lock()
		if err != nil {
			prev := f.last
			snap = Snapshot{Containers: prev.Containers, Nodes: prev.Nodes, Perms: prev.Perms, PermsAt: prev.PermsAt, FetchedAt: prev.FetchedAt, Err: err}
		} else if snap.FetchedAt.IsZero() {
			snap.FetchedAt = time.Now()
		}
		f.last, f.have = snap, true
		h.publish(username, f, time.Now())
		h.mu.Unlock()

		wait = jittered(h.nextWait(wait, took, err))
		if err != nil {
			h.log.Warn("live: poll failed", "user", username, "retry_in", wait, "err", err)
		}
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			if !h.dropDeadTicket(username, f, id) {
				return
			}
			wait = 0 // poll again at once with the live ticket
		}
	}
}

// dropDeadTicket handles a ticket PVE refused: the pages of that session
// got the refusal (they end it); the poller goes on with another session's
// ticket if the user has pages open in one. It reports whether to go on.
func (h *Hub) dropDeadTicket(username string, f *feed, dead lxc.Identity) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range f.subs {
		if id.Ticket != dead.Ticket {
			f.id = id
			f.last.Err = nil // the refusal was that session's only
			return true
		}
	}
	// No other session: a later subscriber (signed in again) starts a new
	// poller.
	if h.users[username] == f {
		delete(h.users, username)
	}
	f.cancel()
	return false
}

// obtain gets this interval's snapshot: from PVE, or, when another instance
// leads the polling for this user, from what it published. fresh is false
// when there is nothing new to show.
func (h *Hub) obtain(ctx context.Context, username string, id lxc.Identity, prev Snapshot) (snap Snapshot, fresh bool, err error) {
	sh := h.opts.Shared
	if sh == nil {
		snap, err = h.fetch(ctx, username, id, prev)
		return snap, true, err
	}
	// The lead outlasts the interval by more than the jitter, so that its
	// holder keeps it while it polls.
	lead, lerr := sh.TryLead(ctx, username, h.opts.Interval+h.opts.Interval/5)
	if lerr != nil || lead {
		snap, err = h.fetch(ctx, username, id, prev)
		if err == nil && snap.FetchedAt.IsZero() {
			snap.FetchedAt = time.Now() // followers tell new from old by it
		}
		// A refused ticket is this session's own news, never shared.
		if lerr == nil && lxc.ErrorCode(err) != lxc.EUnauthorized && followed(ctx, sh, username) {
			if data, eerr := encodeShared(snap, err); eerr == nil {
				if perr := sh.Publish(ctx, username, data, 3*h.opts.Interval); perr != nil {
					h.log.Warn("live: publish snapshot", "user", username, "err", perr)
				}
			}
		}
		return snap, true, err
	}
	// Following: the leader publishes from its next poll on.
	if ferr := sh.Follow(ctx, username, 3*h.opts.Interval); ferr != nil {
		h.log.Warn("live: follow", "user", username, "err", ferr)
	}
	data, rerr := sh.Latest(ctx, username)
	if rerr != nil || data == nil {
		return Snapshot{}, false, nil
	}
	snap, derr := decodeShared(data)
	if derr != nil || (!snap.FetchedAt.After(prev.FetchedAt) && snap.Err == nil) {
		return Snapshot{}, false, nil
	}
	err, snap.Err = snap.Err, nil
	return snap, true, err
}

// followed reports whether another instance follows username; when
// Redis cannot tell, it says yes (publishing costs only time).
func followed(ctx context.Context, sh Shared, username string) bool {
	f, err := sh.Followed(ctx, username)
	return err != nil || f
}

// sharedSnapshot is a Snapshot as instances exchange it. An error travels
// as its code only.
type sharedSnapshot struct {
	Containers []lxc.Container
	Nodes      []lxc.Node
	Perms      lxc.Permissions
	PermsAt    time.Time
	Version    lxc.Version
	VersionAt  time.Time
	FetchedAt  time.Time
	Err        lxc.Code `json:",omitempty"`
}

func encodeShared(s Snapshot, err error) ([]byte, error) {
	out := sharedSnapshot{Containers: s.Containers, Nodes: s.Nodes, Perms: s.Perms, PermsAt: s.PermsAt,
		Version: s.Version, VersionAt: s.VersionAt, FetchedAt: s.FetchedAt}
	if err != nil {
		out.Err = lxc.ErrorCode(err)
	}
	return json.Marshal(out)
}

// decodeShared reads a published snapshot; a poll error travels in its Err.
func decodeShared(data []byte) (Snapshot, error) {
	var in sharedSnapshot
	if err := json.Unmarshal(data, &in); err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Containers: in.Containers, Nodes: in.Nodes, Perms: in.Perms, PermsAt: in.PermsAt,
		Version: in.Version, VersionAt: in.VersionAt, FetchedAt: in.FetchedAt}
	if in.Err != "" {
		snap.Err = &lxc.Error{Code: in.Err, Message: "reported by the instance that polls for this user"}
	}
	return snap, nil
}

// jittered moves d by up to a tenth either way, at random: users whose
// pages opened together (or whose polls slowed down together) would
// otherwise poll PVE in the same instant, interval after interval.
func jittered(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := d / 10
	return d - spread + rand.N(2*spread+1)
}

// nextWait is the pause before the next poll: normally what is left of
// the interval after the poll that took took, so that polls start one
// interval apart; doubling (up to MaxBackoff) after a failure or a poll
// that took longer than half the interval.
func (h *Hub) nextWait(prev, took time.Duration, err error) time.Duration {
	if err == nil && took <= h.opts.Interval/2 {
		return h.opts.Interval - took
	}
	next := max(prev*2, h.opts.Interval*2)
	return min(next, h.opts.MaxBackoff)
}
