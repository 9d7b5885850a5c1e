package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
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
// requireSession: the session is checked at the upgrade. Once the console
// is open the handler returns and two relays carry it, one each way: an
// idle console holds those two goroutines and the connections, not the
// request's handler with its stack.
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
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.consoles.left()
		s.log.Info("console: websocket refused", "request_id", rid, "err", err)
		return
	}
	ws.SetReadLimit(browserReadLimit)
	sess, _ := currentSession(r.Context())
	// The request's context ends with the upgrade and holds the request;
	// the console keeps only its id and client address.
	ctx := detached(r.Context())
	c := &consoleConn{s: s, ws: ws, sess: sess, user: sess.Username, t: t, client: clientAddr(r), rid: rid}
	c.open(ctx)
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
	s  *Server
	ws *websocket.Conn
	// sess is the session as last kept alive; once the relays run, only
	// the keep-alive (one at a time: touching) reads and writes it.
	sess   session.Session
	user   string
	t      target
	client string // the client's address
	rid    string
	// lastInput is when the person last typed or resized (unix nanos).
	lastInput atomic.Int64
	touching  atomic.Bool
	lastTouch atomic.Int64

	// Set by open before the relays start.
	con    lxc.Console
	st     *stream
	opened time.Time
	// idle and ping are timers (their functions run on goroutines of
	// their own only when due); stopSession and stopDown unhook end from
	// the session's end and the shutdown.
	idle, ping            *time.Timer
	stopSession, stopDown func() bool

	// endOnce makes the first reason to end the console the one it ends
	// with (why); ended tells the ping it is over.
	endOnce sync.Once
	why     consoleState
	ended   atomic.Bool
}

// browserLeft is why a console ends when its browser went away: nothing
// is left to tell.
const browserLeft consoleState = ""

// open checks the container, opens PVE's console and starts the relays;
// when it cannot, it tells the browser why and closes the socket.
func (c *consoleConn) open(ctx context.Context) {
	s, t := c.s, c.t
	c.st = s.consoles.reg.tryOpen(c.sess)
	if c.st == nil {
		s.log.Info("console refused: too many in the session", "request_id", c.rid, "user", c.user, "vmid", t.VMID)
		c.refuse(ctx, s.noteFor(consoleLimit, t))
		return
	}
	sctx, cancel := context.WithTimeout(ctx, consoleSetupTimeout)
	_, state, err := s.consoleCheck(sctx, c.sess, t)
	if state == consoleReady {
		c.con, err = s.cfg.PVE.OpenConsole(sctx, s.identity(c.sess), t.Node, t.VMID)
		if err != nil {
			state = stateOf(err)
		}
	}
	cancel()
	if state != consoleReady {
		s.log.Info("console not opened", "request_id", c.rid, "user", c.user, "vmid", t.VMID, "node", t.Node, "state", string(state), "err", err)
		if state == consoleEnded {
			s.endSession(ctx, c.sess)
		}
		s.consoles.reg.leave(c.st)
		c.refuse(ctx, s.noteFor(state, t))
		return
	}
	c.opened = time.Now()
	c.lastInput.Store(c.opened.UnixNano())
	s.log.Info("audit: console opened", "request_id", c.rid, "user", c.user, "client", c.client,
		"vmid", t.VMID, "node", t.Node)
	open, _ := json.Marshal(consoleNote{State: consoleOpen})
	wctx, cancel := context.WithTimeout(ctx, consoleWriteTimeout)
	_ = c.ws.Write(wctx, websocket.MessageText, open)
	cancel()
	// The timers are armed once their fields are set: their functions
	// read them.
	c.idle = time.AfterFunc(time.Duration(math.MaxInt64), c.checkIdle)
	c.ping = time.AfterFunc(time.Duration(math.MaxInt64), c.pingPVE)
	c.idle.Reset(s.consoles.idle)
	c.ping.Reset(consolePingEvery)
	c.stopSession = context.AfterFunc(c.st.sess.endCtx, func() { c.end(consoleEnded) })
	c.stopDown = context.AfterFunc(s.consoles.downCtx, func() { c.end(consoleShutdown) })
	go c.toBrowser(ctx)
	go c.fromBrowser(ctx)
}

// refuse tells the browser why no console opened and lets the socket go.
func (c *consoleConn) refuse(ctx context.Context, note consoleNote) {
	c.finish(ctx, note)
	_ = c.ws.CloseNow()
	c.s.consoles.left()
}

// end ends the open console for why (the first reason given wins): PVE's
// side is closed, which ends the output relay, which tells the browser.
func (c *consoleConn) end(why consoleState) {
	c.endOnce.Do(func() {
		c.why = why
		c.ended.Store(true)
		_ = c.con.Close()
	})
}

// checkIdle ends a console nobody typed in for CONSOLE_IDLE_TIMEOUT.
func (c *consoleConn) checkIdle() {
	if c.ended.Load() {
		return // not armed again
	}
	idle := c.s.consoles.idle
	quiet := time.Since(time.Unix(0, c.lastInput.Load()))
	if quiet >= idle {
		c.end(consoleIdle)
		return
	}
	c.idle.Reset(idle - quiet)
}

// pingPVE pings PVE's side, as PVE's own page does, every
// consolePingEvery while the console is open.
func (c *consoleConn) pingPVE() {
	pctx, cancel := context.WithTimeout(context.Background(), consoleWriteTimeout)
	_ = c.con.Ping(pctx)
	cancel()
	if !c.ended.Load() {
		c.ping.Reset(consolePingEvery)
	}
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

// toBrowser relays PVE's output until the console ends, then closes it:
// it tells the browser why, logs the end and lets the console go.
func (c *consoleConn) toBrowser(ctx context.Context) {
	err := c.relayOutput(ctx)
	if !errors.Is(err, io.EOF) && !c.ended.Load() {
		c.s.log.Info("console: output relay ended", "request_id", c.rid, "vmid", c.t.VMID, "err", err)
	}
	c.end(consoleClosed)
	c.idle.Stop()
	c.ping.Stop()
	c.stopSession()
	c.stopDown()
	s, t := c.s, c.t
	s.log.Info("audit: console closed", "request_id", c.rid, "user", c.user, "client", c.client,
		"vmid", t.VMID, "node", t.Node, "duration", time.Since(c.opened).Round(time.Second).String(), "reason", string(c.why))
	if c.why != browserLeft {
		note := s.noteFor(c.why, t)
		if c.why == consoleEnded {
			note.Redirect = c.st.sess.target
		}
		c.finish(ctx, note)
	}
	_ = c.ws.CloseNow()
	s.consoles.reg.leave(c.st)
	s.consoles.left()
}

// relayOutput forwards PVE's output to the browser until either side
// ends.
func (c *consoleConn) relayOutput(ctx context.Context) error {
	for {
		r, err := c.con.Next(ctx)
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

// fromBrowser relays keystrokes and window sizes until the browser
// leaves, then ends the console.
func (c *consoleConn) fromBrowser(ctx context.Context) {
	_ = c.relayInput(ctx)
	c.end(browserLeft)
}

// relayInput forwards the browser's messages to PVE until one side fails.
func (c *consoleConn) relayInput(ctx context.Context) error {
	con := c.con
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		c.lastInput.Store(time.Now().UnixNano())
		c.touch(ctx)
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
func (c *consoleConn) touch(ctx context.Context) {
	now := time.Now()
	if now.Sub(time.Unix(0, c.lastTouch.Load())) < touchEvery || !c.touching.CompareAndSwap(false, true) {
		return
	}
	c.lastTouch.Store(now.UnixNano())
	go func() {
		defer c.touching.Store(false)
		// A session that ended is noticed by the registry.
		if sess, err := c.s.keepAlive(ctx, c.sess); err == nil {
			c.sess = sess
		}
	}()
}
