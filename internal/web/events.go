package web

import (
	"bytes"
	"io"
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
		render: func(snap live.Snapshot, sess session.Session) ([]byte, error) {
			return s.renderLive(snap, q, s.backupAges(r.Context(), sess, false))
		},
	})
}

// liveStream is what one event stream follows: a feed to subscribe to
// (again, with a renewed ticket), the view its renders are shared under,
// and how a snapshot becomes an "update" event. warm, when set, is a feed
// the stream only keeps going.
type liveStream struct {
	subscribe func(sess session.Session) (<-chan live.Snapshot, func(), error)
	view      viewKey
	render    func(snap live.Snapshot, sess session.Session) ([]byte, error)
	warm      <-chan live.Snapshot
}

// stream serves one server-sent-event stream (the list's and a container
// page's): updates rendered once per view and snapshot, heartbeats, and
// one last event when it ends — "closed" when newer pages took its place,
// "expired" when the session ended, "bye" at shutdown. A ticket PVE
// refuses re-subscribes when the session was renewed meanwhile, and ends
// the session otherwise.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sess session.Session, ls liveStream) error {
	rc := http.NewResponseController(w)
	updates, leave, err := ls.subscribe(sess)
	if err != nil {
		return err
	}
	defer func() { leave() }() // leave may be replaced by a new subscription
	st := s.streams.open(sess)
	defer s.streams.leave(st)
	s.views.join(ls.view)
	defer s.views.leave(ls.view)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client is gone, or the writer cannot stream
	}

	// last ends the stream with one event.
	last := func(event, data string) error {
		_ = writeEvent(w, event, data)
		_ = rc.Flush()
		return nil
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		case _, ok := <-ls.warm:
			if !ok {
				return last("bye", "reconnect")
			}
			continue // only kept going; the stream's own feed carries the state
		case <-st.closed:
			return last("closed", "too many open pages")
		case <-st.sess.ended:
			return last("expired", st.sess.target)
		case snap, ok := <-updates:
			if !ok {
				// The server is shutting down: tell the page to reconnect
				// later (to this or another instance).
				return last("bye", "reconnect")
			}
			if lxc.ErrorCode(snap.Err) == lxc.EUnauthorized {
				if renewed, ok := s.renewedSince(r.Context(), sess); ok {
					// Subscribe again with the session's current ticket.
					nu, nleave, err := ls.subscribe(renewed)
					if err != nil {
						return last("bye", "reconnect")
					}
					leave()
					sess, updates, leave = renewed, nu, nleave
					continue
				}
				s.endSession(r.Context(), sess)
				s.log.Info("session ended: PVE refused the ticket", "user", sess.Username)
				return last("expired", "/login?reason=expired")
			}
			cur := sess
			ev, err := s.views.event(ls.view, snap.Seq, func() ([]byte, error) { return ls.render(snap, cur) })
			if err != nil {
				s.log.Error("render live update", "err", err)
				return nil
			}
			if _, err := w.Write(ev); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

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

// writeEvent writes one server-sent event (see appendEvent).
func writeEvent(w io.Writer, event, data string) error {
	_, err := w.Write(appendEvent(nil, event, data))
	return err
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
