package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// heartbeat keeps idle event streams open through proxies.
const heartbeat = 25 * time.Second

// events streams live updates of the container list as server-sent events:
//
//   - "update" carries the re-rendered live part of the page for the view
//     in the URL, rendered once per snapshot for all the user's streams of
//     that view;
//   - "expired" tells the page that the session has ended (signed out here
//     or on another instance, expired, past its maximum age, or its ticket
//     refused) and carries the path to go to;
//   - "closed" tells the page that newer pages took this stream's place
//     (too many open for the session or the user) and not to reconnect;
//   - "bye" tells it that the server is shutting down (reconnect later).
//
// The stream joins the user's poller, so any number of open pages cost one
// PVE poll per interval.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	q := parseListQuery(r.URL.Query())
	return s.stream(w, r, sess, liveStream{
		subscribe: func(sess session.Session) (<-chan live.Snapshot, func(), error) {
			return s.live.Subscribe(s.identity(sess))
		},
		view: viewKey{user: sess.Username, view: q.Values().Encode()},
		render: func(ctx context.Context, snap live.Snapshot, sess session.Session) ([]byte, error) {
			return s.renderLive(snap, q, s.backupAges(ctx, sess, false))
		},
	})
}

// liveStream is what one event stream follows: a feed to subscribe to
// (again, with a renewed ticket), the view its renders are shared under,
// and how a snapshot becomes an "update" event. keepWarm, when set,
// subscribes to a feed the stream only keeps going.
type liveStream struct {
	subscribe func(sess session.Session) (<-chan live.Snapshot, func(), error)
	view      viewKey
	render    func(ctx context.Context, snap live.Snapshot, sess session.Session) ([]byte, error)
	keepWarm  func() (<-chan live.Snapshot, func(), error)
}

// stream serves one server-sent-event stream (the list's and a container
// page's): updates rendered once per view and snapshot, heartbeats, and
// one last event when it ends — "closed" when newer pages took its place,
// "expired" when the session ended, "bye" at shutdown. A ticket PVE
// refuses re-subscribes when the session was renewed meanwhile, and ends
// the session otherwise.
//
// The connection is taken over from net/http (eventConn) and the handler
// returns: an open page then costs one goroutine (followed.follow) and the
// socket, not net/http's connection with its buffers, the request and a
// goroutine reading the socket. Where it cannot be taken over, the stream
// is served through the response in the handler instead.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sess session.Session, ls liveStream) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		// The head only: a stream nobody can read would run until the
		// connection closes.
		w.WriteHeader(http.StatusOK)
		return nil
	}
	updates, leave, err := ls.subscribe(sess)
	if err != nil {
		return err
	}
	f := &followed{s: s, ctx: detached(r.Context()), sess: sess, ls: ls, updates: updates, leave: leave, leaveWarm: func() {}}
	if ls.keepWarm != nil {
		if f.warm, f.leaveWarm, err = ls.keepWarm(); err != nil {
			leave()
			return err
		}
	}
	f.st = s.streams.open(sess)
	s.views.join(ls.view)
	if !s.eventConns.enter() {
		f.done()
		return live.ErrClosed
	}
	ec, err := s.takeOver(w, r)
	switch {
	case err == nil:
		go f.follow(ec)
		return nil
	case !errors.Is(err, errNotTaken):
		f.abandon() // taken, but the page is gone already
		return nil
	}
	// The connection cannot be taken over (HTTP/2, a recorder): serve the
	// stream from this handler.
	w.WriteHeader(http.StatusOK)
	rw := &responseSink{w: w, rc: http.NewResponseController(w), done: r.Context().Done()}
	if err := rw.rc.Flush(); err != nil {
		f.abandon()
		return nil // the client is gone, or the writer cannot stream
	}
	f.follow(rw)
	return nil
}

// followed is one open event stream.
type followed struct {
	s       *Server
	ctx     context.Context // the request's id and client, not its end
	sess    session.Session
	ls      liveStream
	updates <-chan live.Snapshot
	leave   func()
	// warm is the feed the stream only keeps going (nil: none).
	warm      <-chan live.Snapshot
	leaveWarm func()
	st        *stream
}

// done lets go of what the stream holds.
func (f *followed) done() {
	f.leave()
	f.s.streams.leave(f.st)
	f.s.views.leave(f.ls.view)
	f.leaveWarm()
}

// abandon lets go of a stream that never started to follow.
func (f *followed) abandon() {
	f.done()
	f.s.eventConns.wg.Done()
}

// eventSink is where a stream's events go.
type eventSink interface {
	// send writes p (whole events or comments) and flushes it.
	send(p []byte) error
	// gone is closed when the page went away, when that can be known
	// before a write fails; it may be nil.
	gone() <-chan struct{}
	// end ends the response.
	end()
}

// follow serves the stream into out until it ends, then lets go.
func (f *followed) follow(out eventSink) {
	s := f.s
	defer s.eventConns.wg.Done()
	defer out.end()
	defer f.done()
	ctx, ls, st := f.ctx, f.ls, f.st
	// last ends the stream with one event.
	last := func(event, data string) { _ = out.send(appendEvent(nil, event, data)) }
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-out.gone():
			return
		case <-tick.C:
			if out.send([]byte(": keep-alive\n\n")) != nil {
				return
			}
		case _, ok := <-f.warm:
			if !ok {
				last("bye", "reconnect")
				return
			}
			// Only kept going; the stream's own feed carries the state.
		case <-st.closed:
			last("closed", "too many open pages")
			return
		case <-st.sess.ended:
			last("expired", st.sess.target)
			return
		case snap, ok := <-f.updates:
			if !ok {
				// The server is shutting down: tell the page to reconnect
				// later (to this or another instance).
				last("bye", "reconnect")
				return
			}
			if lxc.ErrorCode(snap.Err) == lxc.EUnauthorized {
				if renewed, ok := s.renewedSince(ctx, f.sess); ok {
					// Subscribe again with the session's current ticket.
					nu, nleave, err := ls.subscribe(renewed)
					if err != nil {
						last("bye", "reconnect")
						return
					}
					f.leave()
					f.sess, f.updates, f.leave = renewed, nu, nleave
					continue
				}
				s.endSession(ctx, f.sess)
				s.log.Info("session ended: PVE refused the ticket", "request_id", requestID(ctx), "user", f.sess.Username)
				last("expired", "/login?reason=expired")
				return
			}
			cur := f.sess
			ev, err := s.views.event(ls.view, snap.Seq, func() ([]byte, error) { return ls.render(ctx, snap, cur) })
			if err != nil {
				s.log.Error("render live update", "request_id", requestID(ctx), "err", err)
				return
			}
			if out.send(ev) != nil {
				return
			}
		}
	}
}

// responseSink serves a stream through the handler's response.
type responseSink struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	done <-chan struct{} // the request's end
}

func (o *responseSink) send(p []byte) error {
	if _, err := o.w.Write(p); err != nil {
		return err
	}
	return o.rc.Flush()
}

func (o *responseSink) gone() <-chan struct{} { return o.done }

func (o *responseSink) end() {}

// renderLive renders the live part of the page for one snapshot and view
// as an "update" event.
func (s *Server) renderLive(snap live.Snapshot, q listQuery, ages backupAges) ([]byte, error) {
	s.liveRenders.Add(1)
	var buf bytes.Buffer
	v := buildLiveView(snap, q)
	v.addBackups(ages, snap.Perms, s.cfg.Now())
	if err := s.pages.fragment(&buf, "containers", "live", v); err != nil {
		return nil, err
	}
	return appendEvent(nil, "update", buf.String()), nil
}

// appendEvent appends one server-sent event to dst. Every line of data
// becomes a "data:" line. The format ends a line at CR LF, a lone LF or a
// lone CR, so data is split at all three: a CR left inside a data line
// would let the data (which holds PVE's text, such as container names)
// start a field or an event of its own. The page receives the lines joined
// with LF.
func appendEvent(dst []byte, event, data string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, event...)
	dst = append(dst, '\n')
	for {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}
