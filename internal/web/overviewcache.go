package web

import (
	"context"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/live"
)

// recentOverviews keeps each user's last polled overview for one live
// interval, for pages loaded while no live poller runs for that user (no
// page of theirs has an event stream open on this instance): the list
// page, the container page. Loads within the interval reuse it and cost no
// PVE call; the next poll passes it as prev, so permissions and PVE's
// version are reused as with the live poller. Concurrent loads of one
// session wait for one poll. Sessions do not share a poll in flight (a
// ticket PVE refuses ends only its own session), only its result.
type recentOverviews struct {
	mu       sync.Mutex
	byUser   map[string]recentOverview
	inFlight map[string]*overviewCall // by session id
}

type recentOverview struct {
	snap live.Snapshot
	at   time.Time
}

type overviewCall struct {
	done chan struct{}
	snap live.Snapshot
	err  error
}

// recentOverviewsMax bounds the users kept; beyond it, entries older than
// recentOverviewsKeep are dropped.
const (
	recentOverviewsMax  = 4096
	recentOverviewsKeep = time.Minute
)

// get returns username's overview: the kept one when younger than maxAge,
// else a poll (fetch with the kept one as prev, shared with the session's
// concurrent loads).
func (ro *recentOverviews) get(ctx context.Context, username, sessionID string, maxAge time.Duration,
	fetch func(ctx context.Context, prev live.Snapshot) (live.Snapshot, error)) (live.Snapshot, error) {
	now := time.Now()
	ro.mu.Lock()
	if ro.byUser == nil {
		ro.byUser, ro.inFlight = map[string]recentOverview{}, map[string]*overviewCall{}
	}
	kept, ok := ro.byUser[username]
	if ok && now.Sub(kept.at) < maxAge {
		ro.mu.Unlock()
		return kept.snap, nil
	}
	if call, ok := ro.inFlight[sessionID]; ok {
		ro.mu.Unlock()
		select {
		case <-call.done:
			return call.snap, call.err
		case <-ctx.Done():
			return live.Snapshot{}, ctx.Err()
		}
	}
	call := &overviewCall{done: make(chan struct{})}
	ro.inFlight[sessionID] = call
	ro.mu.Unlock()

	call.snap, call.err = fetch(ctx, kept.snap)

	ro.mu.Lock()
	delete(ro.inFlight, sessionID)
	if call.err == nil {
		if len(ro.byUser) >= recentOverviewsMax {
			for u, o := range ro.byUser {
				if now.Sub(o.at) > recentOverviewsKeep {
					delete(ro.byUser, u)
				}
			}
		}
		ro.byUser[username] = recentOverview{snap: call.snap, at: time.Now()}
	}
	ro.mu.Unlock()
	close(call.done)
	return call.snap, call.err
}
