package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// A container's console: the page (GET /containers/{node}/{vmid}/console)
// shows the container's state first, as PVE's own console page does, and
// its script opens the terminal through the dashboard's websocket
// (console_socket.go), never PVE's.

const privConsole = "VM.Console"

// consoleState is what a console page or socket tells the person.
type consoleState string

// The states a console can be in, besides open.
const (
	consoleReady       consoleState = "ready"       // the terminal may be opened
	consoleOpen        consoleState = "open"        // it is open
	consoleForbidden   consoleState = "forbidden"   // no VM.Console
	consoleStopped     consoleState = "stopped"     // the container does not run
	consoleOffline     consoleState = "offline"     // its node is down
	consoleClosed      consoleState = "closed"      // the connection ended (Reconnect)
	consoleIdle        consoleState = "idle"        // closed after CONSOLE_IDLE_TIMEOUT
	consoleShutdown    consoleState = "shutdown"    // the dashboard is stopping
	consoleLimit       consoleState = "limit"       // too many consoles in the session
	consoleEnded       consoleState = "ended"       // the session ended
	consoleUnreachable consoleState = "unreachable" // PVE cannot be reached
	consoleNotFound    consoleState = "notfound"    // no such container there
	consoleFailed      consoleState = "error"       // anything else
)

// consoleNote is a state with its curated text.
type consoleNote struct {
	State    consoleState `json:"state"`
	Message  string       `json:"message,omitempty"`
	CanStart bool         `json:"canStart,omitempty"`
	// Redirect is where the page goes (an ended session: the sign-in page).
	Redirect string `json:"redirect,omitempty"`
	// Reconnect: offering to open the console again makes sense.
	Reconnect bool `json:"reconnect,omitempty"`
}

// noteFor writes the curated text of a state about container t.
func (s *Server) noteFor(st consoleState, t target) consoleNote {
	n := consoleNote{State: st}
	ct := containerLabel(t.VMID)
	switch st {
	case consoleForbidden:
		n.Message = fmt.Sprintf("You don't have permission to open a console on %s (needs %s).", ct, privConsole)
	case consoleStopped:
		n.Message = ct + " is stopped — start it to open a console."
	case consoleOffline:
		n.Message = "Node " + t.Node + " is offline."
		n.Reconnect = true
	case consoleClosed:
		n.Message, n.Reconnect = "The console connection was closed.", true
	case consoleIdle:
		n.Message = "The console was closed after " + spelledDuration(s.consoles.idle) + " without input."
		n.Reconnect = true
	case consoleShutdown:
		n.Message, n.Reconnect = "LXC Manager is restarting, so the console was closed. Reconnect in a moment.", true
	case consoleLimit:
		n.Message = fmt.Sprintf("This session already has %d consoles open. Close one to open another.", consolesPerSession)
		n.Reconnect = true
	case consoleEnded:
		n.Message, n.Redirect = msgSessionExpired, targetSignedOut
	case consoleUnreachable:
		n.Message, n.Reconnect = msgUnreachable, true
	case consoleNotFound:
		n.Message = msgCTNotFound(t)
	case consoleFailed:
		n.Message, n.Reconnect = msgInternal, true
	}
	return n
}

// consoleView is the console page's data.
type consoleView struct {
	Target target
	CT     lxc.Container
	Note   consoleNote
	WSURL  string
}

// Title is the page's heading.
func (v consoleView) Title() string {
	if v.CT.Name != "" {
		return "Console · " + containerLabel(v.Target.VMID) + " " + v.CT.Name
	}
	return "Console · " + containerLabel(v.Target.VMID)
}

// BaseURL is the container page's path.
func (v consoleView) BaseURL() string {
	return fmt.Sprintf("/containers/%s/%d", url.PathEscape(v.Target.Node), v.Target.VMID)
}

// consolePage shows a container's console page.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	v := consoleView{Target: t, WSURL: fmt.Sprintf("/containers/%s/%d/console/ws", url.PathEscape(t.Node), t.VMID)}
	var st consoleState
	v.CT, st, err = s.consoleCheck(r.Context(), sess, t)
	var moved *errMoved
	switch {
	case errors.As(err, &moved):
		http.Redirect(w, r, fmt.Sprintf("/containers/%s/%d/console", url.PathEscape(moved.node), t.VMID), http.StatusSeeOther)
		return nil
	case st == consoleEnded:
		s.endSession(r.Context(), sess)
		s.toLogin(w, r, "expired")
		return nil
	case st == consoleNotFound:
		return s.renderError(w, r, http.StatusNotFound, "Not Found", msgCTNotFound(t))
	case err != nil && st == consoleFailed:
		return err
	}
	v.Note = s.noteFor(st, t)
	if st == consoleStopped {
		v.Note.CanStart = s.may(r.Context(), sess, t, v.CT.Pool, privPower)
	}
	s.render(w, r, http.StatusOK, "console", v)
	return nil
}

// consoleCheck is what the console page and socket ask before opening:
// the container's state now and the person's VM.Console, as PVE's own
// console page does. It returns the state to show (consoleReady when the
// terminal may be opened); err keeps the cause of a failure.
func (s *Server) consoleCheck(ctx context.Context, sess session.Session, t target) (lxc.Container, consoleState, error) {
	id := s.identity(sess)
	var (
		ct         lxc.Container
		perms      lxc.Permissions
		serr, perr error
		wg         sync.WaitGroup
	)
	wg.Go(func() { ct, serr = s.cfg.PVE.ContainerStatus(ctx, id, t.Node, t.VMID) })
	wg.Go(func() { perms, perr = s.cfg.PVE.Permissions(ctx, id, lxc.VMPath(t.VMID)) })
	wg.Wait()
	if serr != nil {
		serr = s.classifyMissing(ctx, sess, t, serr)
		return ct, stateOf(serr), serr
	}
	if perr != nil {
		return ct, stateOf(perr), perr
	}
	ct.Node = t.Node
	s.mergeOverview(sess, &ct)
	switch {
	case !perms.CanOnContainer(t.VMID, ct.Pool, privConsole):
		return ct, consoleForbidden, nil
	case !ct.Running():
		return ct, consoleStopped, nil
	}
	return ct, consoleReady, nil
}

// stateOf is the state a failed PVE call leaves the console in.
func stateOf(err error) consoleState {
	var moved *errMoved
	if errors.As(err, &moved) {
		return consoleNotFound
	}
	switch lxc.ErrorCode(err) {
	case lxc.EForbidden:
		return consoleForbidden
	case lxc.ENodeOffline:
		return consoleOffline
	case lxc.EUnauthorized:
		return consoleEnded
	case lxc.EUnreachable, lxc.ETLS:
		return consoleUnreachable
	case lxc.ENotFound:
		return consoleNotFound
	}
	return consoleFailed
}

// may reports whether the person holds priv on the container (false when
// PVE cannot tell).
func (s *Server) may(ctx context.Context, sess session.Session, t target, pool, priv string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	perms, err := s.cfg.PVE.Permissions(ctx, s.identity(sess), lxc.VMPath(t.VMID))
	return err == nil && perms.CanOnContainer(t.VMID, pool, priv)
}
