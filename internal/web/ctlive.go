package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// The container page's live part comes from its own feed per user and
// container: status/current once per interval while any page of that user
// shows the container (on any instance, through the hub's shared lead).

// ctFeedKey names the feed of one user's view of one container. PVE user
// ids hold no ':' or '/', so the key is unambiguous.
func ctFeedKey(user string, t target) string {
	return user + ":ct/" + t.Node + "/" + strconv.Itoa(t.VMID)
}

// parseCTFeedKey reads a key made by ctFeedKey.
func parseCTFeedKey(key string) (target, bool) {
	_, rest, ok := strings.Cut(key, ":ct/")
	if !ok {
		return target{}, false
	}
	node, id, ok := strings.Cut(rest, "/")
	vmid, err := strconv.Atoi(id)
	if !ok || err != nil {
		return target{}, false
	}
	return target{Node: node, VMID: vmid}, true
}

// fetchContainerLive is one poll of a container feed: status/current.
func (s *Server) fetchContainerLive(ctx context.Context, key string, id lxc.Identity, _ live.Snapshot) (live.Snapshot, error) {
	t, ok := parseCTFeedKey(key)
	if !ok {
		return live.Snapshot{}, fmt.Errorf("container feed key %q", key)
	}
	ct, err := s.cfg.PVE.ContainerStatus(ctx, id, t.Node, t.VMID)
	if err != nil {
		return live.Snapshot{}, err
	}
	ct.Node = t.Node
	return live.Snapshot{Containers: []lxc.Container{ct}, FetchedAt: s.cfg.Now()}, nil
}

// ctLiveView is what the "ct-live" fragment shows.
type ctLiveView struct {
	CT      lxc.Container
	Problem string
}

// containerEvents streams the container page's live part
// (GET /containers/{node}/{vmid}/events): "update" with the re-rendered
// state, and "expired", "closed" and "bye" as the list's stream does.
func (s *Server) containerEvents(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	rc := http.NewResponseController(w)
	key := ctFeedKey(sess.Username, t)
	updates, leave, err := s.ctLive.SubscribeKey(key, s.identity(sess))
	if err != nil {
		return err
	}
	defer func() { leave() }() // leave may be replaced by a new subscription
	// The page also keeps the user's overview poll going (one per user, as
	// the list's pages do), so its pool, tags and buttons stay current and
	// the next page load needs no poll of its own.
	overview, leaveOverview, err := s.live.Subscribe(s.identity(sess))
	if err != nil {
		return err
	}
	defer func() { leaveOverview() }()
	st := s.streams.open(sess)
	defer s.streams.leave(st)
	view := viewKey{user: sess.Username, view: key}
	s.views.join(view)
	defer s.views.leave(view)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
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
		case _, ok := <-overview:
			if !ok {
				return last("bye", "reconnect")
			}
			continue // only kept warm; the page's own feed carries the state
		case <-st.closed:
			return last("closed", "too many open pages")
		case <-st.sess.ended:
			return last("expired", st.sess.target)
		case snap, ok := <-updates:
			if !ok {
				return last("bye", "reconnect")
			}
			if lxc.ErrorCode(snap.Err) == lxc.EUnauthorized {
				if renewed, ok := s.renewedSince(r.Context(), sess); ok {
					// Subscribe again with the session's current ticket.
					nu, nleave, err := s.ctLive.SubscribeKey(key, s.identity(renewed))
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
			ev, err := s.views.event(view, snap.Seq, func() ([]byte, error) { return s.renderContainerLive(snap, t) })
			if err != nil {
				s.log.Error("render container update", "err", err)
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

// renderContainerLive renders the container page's live part for one
// snapshot as an "update" event.
func (s *Server) renderContainerLive(snap live.Snapshot, t target) ([]byte, error) {
	v := ctLiveView{}
	if len(snap.Containers) > 0 {
		v.CT = snap.Containers[0]
	}
	if snap.Err != nil {
		switch lxc.ErrorCode(snap.Err) {
		case lxc.ERefused:
			v.Problem = msgCTNotFound(t)
		default:
			_, v.Problem = userError(snap.Err)
		}
	}
	var buf bytes.Buffer
	if err := s.pages.fragment(&buf, "container", "ct-live", v); err != nil {
		return nil, err
	}
	return appendEvent(nil, "update", buf.String()), nil
}
