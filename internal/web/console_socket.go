package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// The console's websocket (GET /containers/{node}/{vmid}/console/ws): the
// browser's only connection for a terminal. The dashboard checks the
// container, opens PVE's console as the person (proxmox.OpenConsole: the
// PVE ticket never leaves the dashboard) and relays:
//
//	browser -> dashboard: binary messages are keystrokes (UTF-8), text
//	  messages are JSON: {"resize":[cols,rows]};
//	dashboard -> browser: binary messages are terminal output, text
//	  messages are JSON notes ({"state":"open"}, or the reason it ended,
//	  with the curated message: consoleNote).
//
// Output is relayed as PVE sends it, one piece at a time through a pooled
// buffer: a browser that reads slowly holds back the reading from PVE
// (and PVE holds back the container), so memory stays bounded and other
// consoles go on. Keystrokes are never logged.

const (
	// browserReadLimit bounds one message from the browser (the script
	// sends pastes in 16 KiB pieces).
	browserReadLimit = 64 << 10
	// consoleWriteTimeout: a browser that takes no output for this long
	// is gone.
	consoleWriteTimeout = 30 * time.Second
	// consolePingEvery is how often PVE is pinged, as its own page does.
	consolePingEvery = 30 * time.Second
	// consoleSetupTimeout bounds the checks and PVE's handshake.
	consoleSetupTimeout = 20 * time.Second
	// maxTermSize bounds a window size from the browser.
	maxTermSize = 1000
)

// consoleBuffers are the relays' copy buffers, taken only while output
// flows: an idle console holds none.
var consoleBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// consoleSocket serves the console's websocket. It runs inside
// requireSession: the session is checked at the upgrade.
func (s *Server) consoleSocket(w http.ResponseWriter, r *http.Request) {
	rid := requestID(r.Context())
	if !sameOrigin(r) {
		s.log.Warn("console: websocket from another origin refused", "request_id", rid, "origin", r.Header.Get("Origin"))
		http.Error(w, msgCrossOrigin, http.StatusForbidden)
		return
	}
	t, err := parseTarget(r)
	if err != nil {
		http.Error(w, "That is not a valid container.", http.StatusBadRequest)
		return
	}
	if !s.consoles.enter() {
		http.Error(w, "LXC Manager is restarting.", http.StatusServiceUnavailable)
		return
	}
	defer s.consoles.wg.Done()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("console: websocket refused", "request_id", rid, "err", err)
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(browserReadLimit)
	sess, _ := currentSession(r.Context())
	// The request's context ends with the upgrade; the console keeps its
	// values (request id, client address) but not its end.
	ctx := context.WithoutCancel(r.Context())
	c := &consoleConn{s: s, ws: ws, sess: sess, t: t, req: r.WithContext(ctx), rid: rid}
	c.run(ctx)
}

// sameOrigin reports whether the request's Origin is this site: a
// browser always sends one with a websocket.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}

// consoleConn is one browser's console.
type consoleConn struct {
	s    *Server
	ws   *websocket.Conn
	sess session.Session
	t    target
	req  *http.Request // for the session's keep-alive
	rid  string
	// lastInput is when the person last typed or resized (unix nanos).
	lastInput atomic.Int64
	touching  atomic.Bool
	lastTouch atomic.Int64
}

func (c *consoleConn) run(ctx context.Context) {
	s, t := c.s, c.t
	st := s.consoles.reg.tryOpen(c.sess)
	if st == nil {
		s.log.Info("console refused: too many in the session", "request_id", c.rid, "user", c.sess.Username, "vmid", t.VMID)
		c.finish(ctx, s.noteFor(consoleLimit, t))
		return
	}
	defer s.consoles.reg.leave(st)
	sctx, cancel := context.WithTimeout(ctx, consoleSetupTimeout)
	_, state, err := s.consoleCheck(sctx, c.sess, t)
	var con lxc.Console
	if state == consoleReady {
		con, err = s.cfg.PVE.OpenConsole(sctx, s.identity(c.sess), t.Node, t.VMID)
		if err != nil {
			state = stateOf(err)
		}
	}
	cancel()
	if state != consoleReady {
		s.log.Info("console not opened", "request_id", c.rid, "user", c.sess.Username, "vmid", t.VMID, "node", t.Node, "state", string(state), "err", err)
		if state == consoleEnded {
			s.endSession(ctx, c.sess)
		}
		c.finish(ctx, s.noteFor(state, t))
		return
	}
	opened := time.Now()
	s.log.Info("audit: console opened", "request_id", c.rid, "user", c.sess.Username, "client", clientAddr(c.req),
		"vmid", t.VMID, "node", t.Node)
	end := c.relay(ctx, con, st)
	s.log.Info("audit: console closed", "request_id", c.rid, "user", c.sess.Username, "client", clientAddr(c.req),
		"vmid", t.VMID, "node", t.Node, "duration", time.Since(opened).Round(time.Second).String(), "reason", string(end))
	if end == "" {
		return // the browser left
	}
	note := s.noteFor(end, t)
	if end == consoleEnded {
		note.Redirect = st.sess.target
	}
	c.finish(ctx, note)
}

// finish tells the browser why the console ended and closes it.
func (c *consoleConn) finish(ctx context.Context, note consoleNote) {
	b, _ := json.Marshal(note)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c.ws.Write(wctx, websocket.MessageText, b) == nil {
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
	}
}

// relay runs the open console until it ends, and returns why ("" when
// the browser left).
func (c *consoleConn) relay(ctx context.Context, con lxc.Console, st *stream) consoleState {
	out := make(chan error, 1)
	in := make(chan error, 1)
	c.lastInput.Store(time.Now().UnixNano())
	go func() { out <- c.toBrowser(ctx, con) }()
	go func() { in <- c.fromBrowser(ctx, con) }()
	open, _ := json.Marshal(consoleNote{State: consoleOpen})
	wctx, cancel := context.WithTimeout(ctx, consoleWriteTimeout)
	_ = c.ws.Write(wctx, websocket.MessageText, open)
	cancel()

	idle := c.s.consoles.idle
	idleTimer := time.NewTimer(idle)
	defer idleTimer.Stop()
	ping := time.NewTicker(consolePingEvery)
	defer ping.Stop()
	var end consoleState
	outDone := false
loop:
	for {
		select {
		case err := <-out:
			outDone = true
			if !errors.Is(err, io.EOF) {
				c.s.log.Info("console: output relay ended", "request_id", c.rid, "vmid", c.t.VMID, "err", err)
			}
			end = consoleClosed
			break loop
		case <-in:
			break loop
		case <-st.sess.ended:
			end = consoleEnded
			break loop
		case <-c.s.consoles.down:
			end = consoleShutdown
			break loop
		case <-idleTimer.C:
			quiet := time.Since(time.Unix(0, c.lastInput.Load()))
			if quiet >= idle {
				end = consoleIdle
				break loop
			}
			idleTimer.Reset(idle - quiet)
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, consoleWriteTimeout)
			_ = con.Ping(pctx)
			cancel()
		}
	}
	_ = con.Close()
	if !outDone {
		select {
		case <-out:
		case <-time.After(consoleGoodbye):
		}
	}
	return end
}

// toBrowser relays PVE's output until the console ends.
func (c *consoleConn) toBrowser(ctx context.Context, con lxc.Console) error {
	for {
		r, err := con.Next(ctx)
		if err != nil {
			return err
		}
		if err := c.forward(ctx, r); err != nil {
			return err
		}
	}
}

// forward writes one piece of output to the browser.
func (c *consoleConn) forward(ctx context.Context, r io.Reader) error {
	bp := consoleBuffers.Get().(*[]byte)
	defer consoleBuffers.Put(bp)
	wctx, cancel := context.WithTimeout(ctx, consoleWriteTimeout)
	defer cancel()
	w, err := c.ws.Writer(wctx, websocket.MessageBinary)
	if err != nil {
		return err
	}
	buf := *bp
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return w.Close()
		}
		if rerr != nil {
			_ = w.Close()
			return rerr
		}
	}
}

// resizeMsg is the browser's window size message.
type resizeMsg struct {
	Resize []int `json:"resize"`
}

// fromBrowser relays keystrokes and window sizes until the browser leaves.
func (c *consoleConn) fromBrowser(ctx context.Context, con lxc.Console) error {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		c.lastInput.Store(time.Now().UnixNano())
		c.touch()
		wctx, cancel := context.WithTimeout(ctx, consoleWriteTimeout)
		switch typ {
		case websocket.MessageBinary:
			err = con.Input(wctx, data)
		case websocket.MessageText:
			var m resizeMsg
			if json.Unmarshal(data, &m) == nil && len(m.Resize) == 2 &&
				m.Resize[0] > 0 && m.Resize[0] <= maxTermSize && m.Resize[1] > 0 && m.Resize[1] <= maxTermSize {
				err = con.Resize(wctx, m.Resize[0], m.Resize[1])
			}
		}
		cancel()
		if err != nil {
			return err
		}
	}
}

// touch keeps the session alive while the person works in the console,
// at most once per touchEvery, as a page request would.
func (c *consoleConn) touch() {
	now := time.Now()
	if now.Sub(time.Unix(0, c.lastTouch.Load())) < touchEvery || !c.touching.CompareAndSwap(false, true) {
		return
	}
	c.lastTouch.Store(now.UnixNano())
	go func() {
		defer c.touching.Store(false)
		_, _ = c.s.keepAlive(c.req, c.sess) // a session that ended is noticed by the registry
	}()
}
