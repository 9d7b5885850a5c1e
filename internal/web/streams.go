package web

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Default caps on the live-update streams of one instance (Config
// LiveStreamsPerSession, LiveStreamsPerUser).
const (
	defaultStreamsPerSession = 6
	defaultStreamsPerUser    = 30
)

// streamRegistry keeps this instance's open /events streams. It caps them
// per session and per user (a new stream beyond a cap closes the oldest),
// and watches every session with open streams once per interval, however
// many streams it has, so that a session that ended anywhere (signed out
// on another instance, expired, past its maximum age) ends its streams
// here. It is safe for concurrent use.
type streamRegistry struct {
	perSession int
	perUser    int
	interval   time.Duration
	// check reports whether a watched session has ended and, if so, where
	// its pages go.
	check func(ctx context.Context, w *watchedSession) (target string, ended bool)

	ctx    context.Context // ends every watcher on close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*watchedSession // by session id
	users    map[string][]*stream       // by username, oldest first
}

// stream is one open /events response.
type stream struct {
	user string
	sess *watchedSession
	// closed is closed when a newer stream took this one's place; the page
	// is then told not to reconnect.
	closed chan struct{}
}

// watchedSession is a session with open streams on this instance.
type watchedSession struct {
	id   string
	user string
	// expiresAt is the session's expiry as last loaded; only the watcher
	// reads and writes it.
	expiresAt time.Time
	streams   []*stream // oldest first
	// ended is closed when the session has ended; target, set before, is
	// where its pages go. It is endCtx's Done, so that a console can have
	// a function called at the end (context.AfterFunc) without a
	// goroutine of its own waiting for it.
	ended  <-chan struct{}
	endCtx context.Context
	end    context.CancelFunc
	target string
	stop   context.CancelFunc
}

func newStreamRegistry(perSession, perUser int, interval time.Duration,
	check func(context.Context, *watchedSession) (string, bool)) *streamRegistry {
	ctx, cancel := context.WithCancel(context.Background())
	return &streamRegistry{
		perSession: perSession, perUser: perUser, interval: interval, check: check,
		ctx: ctx, cancel: cancel,
		sessions: map[string]*watchedSession{}, users: map[string][]*stream{},
	}
}

// open registers a stream of sess. When that takes the session or the
// user over a cap, the oldest streams are closed to make room.
func (r *streamRegistry) open(sess session.Session) *stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.add(sess)
}

// tryOpen registers a stream of sess unless the session or the user
// already has as many as the caps allow: then it returns nil and closes
// nothing (consoles are refused, not evicted).
func (r *streamRegistry) tryOpen(sess session.Session) *stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := r.sessions[sess.ID]; (w != nil && len(w.streams) >= r.perSession) || len(r.users[sess.Username]) >= r.perUser {
		return nil
	}
	return r.add(sess)
}

// add registers a stream of sess and evicts the oldest beyond the caps.
// r.mu must be held.
func (r *streamRegistry) add(sess session.Session) *stream {
	w := r.sessions[sess.ID]
	if w == nil {
		ctx, stop := context.WithCancel(r.ctx)
		endCtx, end := context.WithCancel(context.Background())
		w = &watchedSession{id: sess.ID, user: sess.Username, expiresAt: sess.ExpiresAt,
			ended: endCtx.Done(), endCtx: endCtx, end: end, stop: stop}
		r.sessions[sess.ID] = w
		r.wg.Add(1)
		go r.watch(ctx, w)
	}
	st := &stream{user: sess.Username, sess: w, closed: make(chan struct{})}
	w.streams = append(w.streams, st)
	r.users[st.user] = append(r.users[st.user], st)
	for len(w.streams) > r.perSession {
		r.evict(w.streams[0])
	}
	for len(r.users[st.user]) > r.perUser {
		r.evict(r.users[st.user][0])
	}
	return st
}

// evict closes a stream to make room for a newer one. r.mu must be held.
func (r *streamRegistry) evict(st *stream) {
	r.drop(st)
	close(st.closed)
}

// leave unregisters a stream that has ended (or was closed).
func (r *streamRegistry) leave(st *stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop(st)
}

// drop removes st from the registry; the last stream of a session stops
// its watcher. r.mu must be held.
func (r *streamRegistry) drop(st *stream) {
	w := st.sess
	w.streams = slices.DeleteFunc(w.streams, func(o *stream) bool { return o == st })
	us := slices.DeleteFunc(r.users[st.user], func(o *stream) bool { return o == st })
	if len(us) == 0 {
		delete(r.users, st.user)
	} else {
		r.users[st.user] = us
	}
	if len(w.streams) == 0 && r.sessions[w.id] == w {
		w.stop()
		delete(r.sessions, w.id)
	}
}

// watch checks a session once per interval until it ends or its last
// stream leaves.
func (r *streamRegistry) watch(ctx context.Context, w *watchedSession) {
	defer r.wg.Done()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if target, ended := r.check(ctx, w); ended {
			w.target = target
			w.end()
			return
		}
	}
}

// close stops every watcher and waits for them.
func (r *streamRegistry) close() {
	r.cancel()
	r.wg.Wait()
}
