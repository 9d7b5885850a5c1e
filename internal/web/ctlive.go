package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
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
	key := ctFeedKey(sess.Username, t)
	// The page also keeps the user's overview poll going (one per user, as
	// the list's pages do), so its pool, tags and buttons stay current and
	// the next page load needs no poll of its own.
	return s.stream(w, r, sess, liveStream{
		subscribe: func(sess session.Session) (<-chan live.Snapshot, func(), error) {
			return s.ctLive.SubscribeKey(key, s.identity(sess))
		},
		view: viewKey{user: sess.Username, view: key},
		render: func(_ context.Context, snap live.Snapshot, _ session.Session) ([]byte, error) {
			return s.renderContainerLive(snap, t)
		},
		keepWarm: func() (<-chan live.Snapshot, func(), error) { return s.live.Subscribe(s.identity(sess)) },
	})
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
