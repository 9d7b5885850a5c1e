package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// heartbeat keeps idle event streams open through proxies.
const heartbeat = 25 * time.Second

// events streams live updates of the container list as server-sent events:
// "update" carries the re-rendered live part of the page for the view in
// the URL; "expired" tells the page that the session has ended. The stream
// joins the user's poller, so any number of open pages cost one PVE poll
// per interval.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	q := parseListQuery(r.URL.Query())
	rc := http.NewResponseController(w)

	updates, leave, err := s.live.Subscribe(s.identity(sess))
	if err != nil {
		return err
	}
	defer leave()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client is gone, or the writer cannot stream
	}

	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		case snap, ok := <-updates:
			if !ok {
				// The server is shutting down: tell the page to reconnect
				// later (to this or another instance).
				_, _ = fmt.Fprint(w, "event: bye\ndata: reconnect\n\n")
				_ = rc.Flush()
				return nil
			}
			if lxc.ErrorCode(snap.Err) == lxc.EUnauthorized {
				s.endSession(r.Context(), sess)
				s.log.Info("session ended: PVE refused the ticket", "user", sess.Username)
				_, _ = fmt.Fprint(w, "event: expired\ndata: /login?reason=expired\n\n")
				_ = rc.Flush()
				return nil
			}
			var buf bytes.Buffer
			if err := s.pages.fragment(&buf, "containers", "live", buildLiveView(snap, q)); err != nil {
				s.log.Error("render live update", "err", err)
				return nil
			}
			if err := writeEvent(w, "update", buf.String()); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// writeEvent writes one server-sent event; every line of data becomes a
// "data:" line, as the format requires.
func writeEvent(w http.ResponseWriter, event, data string) error {
	var b strings.Builder
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteByte('\n')
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: ")
		b.WriteString(strings.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := fmt.Fprint(w, b.String())
	return err
}
