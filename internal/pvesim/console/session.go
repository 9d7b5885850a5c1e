// Package console is the simulated container console behind PVE's
// termproxy: the termproxy process itself (ticket line, authentication,
// the client's 0:LEN:DATA / 1:COLS:ROWS: framing) and, behind it, one
// dtach session per container (dtach -A /var/run/dtach/vzctlconsole<vmid>
// -r winch) running a small line-oriented shell instead of lxc-console and
// the container's getty.
//
// A second console on the same container shares its session, as dtach
// does: every attached client sees the same output and may type, the
// window size is the last one any client set, and the session outlives its
// clients (a running `yes` goes on with nobody watching). Output is handed
// out the way dtach's master does it, 4 KiB at a time: it waits until at
// least one client can take it and drops it for clients whose socket is
// full.
//
// Nothing here imports net/http; the simulator's HTTP layer connects
// pveproxy's websocket to a Termproxy.
package console

import (
	"context"
	"slices"
	"strconv"
	"sync"
)

// Container is what a session knows of its container. The session asks
// for it anew (Host) whenever a command needs it, so a changed hostname or
// address shows, and a container that stopped ends its session.
type Container struct {
	VMID     int
	Hostname string
	OSType   string // "debian", "ubuntu", "alpine", ...
	Kernel   string // the node's kernel release, for uname
	Arch     string // "amd64", "arm64"
	Addrs    []Addr // IPv4 addresses, lo first
	Running  bool
}

// Addr is one IPv4 address of an interface.
type Addr struct {
	Iface string
	CIDR  string // "192.168.1.10/24"
	Brd   string // broadcast address, "" for none
}

// Host answers a session's questions about its container.
type Host func() Container

// Manager holds the dtach sessions of a cluster, by socket.
type Manager struct {
	mu       sync.Mutex
	sessions map[string]*Session
	started  chan struct{} // closed when a session starts (AwaitSize)
}

// NewManager returns a Manager without sessions.
func NewManager() *Manager { return &Manager{sessions: map[string]*Session{}} }

// Default size of a new client's terminal: termproxy's pty starts at 80x20.
const (
	startCols = 80
	startRows = 20
)

// clientBuffer is how much output one attached client's socket holds.
const clientBuffer = 64 << 10

// Attach is `dtach -A key`: it attaches a client to the session of key,
// starting the session (and its shell) when there is none. As dtach's
// attach does, the client's window size (80x20) becomes the session's
// and the shell redraws its line.
func (m *Manager) Attach(key string, host Host) *Client {
	m.mu.Lock()
	s := m.sessions[key]
	fresh := s == nil
	if fresh {
		s = newSession(m, key, host)
		m.sessions[key] = s
	}
	c := &Client{s: s, out: newPipe(clientBuffer)}
	c.out.notify = s.drained
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.setSizeLocked(startCols, startRows)
	s.mu.Unlock()
	m.mu.Unlock()
	signal(s.joined)
	if fresh {
		go s.run()
	} else {
		s.redraw()
	}
	return c
}

// Ended is a client whose session printed text and ended at once, like an
// attach to a program that exits right away (lxc-console of a stopped
// container) or an ssh that cannot reach the node.
func Ended(text string) *Client {
	c := &Client{out: newPipe(len(text) + 1)}
	_, _ = c.out.Write([]byte(text))
	_ = c.out.Close()
	return c
}

// Size returns the window size of key's session.
func (m *Manager) Size(key string) (cols, rows int, ok bool) {
	m.mu.Lock()
	s := m.sessions[key]
	m.mu.Unlock()
	if s == nil {
		return 0, 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cols, s.rows, true
}

// AwaitSize waits until key's session has the window size cols x rows.
func (m *Manager) AwaitSize(ctx context.Context, key string, cols, rows int) error {
	for {
		m.mu.Lock()
		s := m.sessions[key]
		changed := m.changedLocked()
		m.mu.Unlock()
		if s != nil {
			s.mu.Lock()
			ok := s.cols == cols && s.rows == rows
			resized := s.resized
			s.mu.Unlock()
			if ok {
				return nil
			}
			changed = resized
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// changedLocked is a channel closed when a session starts. m.mu must be held.
func (m *Manager) changedLocked() chan struct{} {
	if m.started == nil {
		m.started = make(chan struct{})
	}
	return m.started
}

// Sessions returns the keys of the sessions alive now.
func (m *Manager) Sessions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.sessions))
	for k := range m.sessions {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// End ends key's session, if any, as if its program had exited.
func (m *Manager) End(key string) {
	m.mu.Lock()
	s := m.sessions[key]
	m.mu.Unlock()
	if s != nil {
		s.stop()
	}
}

// Close ends every session.
func (m *Manager) Close() {
	m.mu.Lock()
	all := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	m.mu.Unlock()
	for _, s := range all {
		s.stop()
	}
}

// forget removes s once it has ended.
func (m *Manager) forget(s *Session) {
	m.mu.Lock()
	if m.sessions[s.key] == s {
		delete(m.sessions, s.key)
	}
	m.mu.Unlock()
}

// Session is one dtach master and the shell it runs.
type Session struct {
	m      *Manager
	key    string
	host   Host
	inputs chan []byte   // keystrokes, in order, from every client
	quit   chan struct{} // closed to end the session
	once   sync.Once
	// drained is signalled when a client took output; joined when a
	// client attached.
	drained chan struct{}
	joined  chan struct{}

	mu      sync.Mutex
	clients []*Client
	cols    int
	rows    int
	resized chan struct{} // closed and replaced on every size change
	ended   bool

	sh shell // owned by the session's goroutine
}

func newSession(m *Manager, key string, host Host) *Session {
	s := &Session{m: m, key: key, host: host, inputs: make(chan []byte, 64), quit: make(chan struct{}),
		drained: make(chan struct{}, 1), joined: make(chan struct{}, 1), resized: make(chan struct{})}
	s.sh.s = s
	if m.started != nil {
		close(m.started)
		m.started = nil
	}
	return s
}

// setSizeLocked changes the window size (TIOCSWINSZ). s.mu must be held.
func (s *Session) setSizeLocked(cols, rows int) {
	if s.cols == cols && s.rows == rows {
		return
	}
	s.cols, s.rows = cols, rows
	close(s.resized)
	s.resized = make(chan struct{})
}

// stop ends the session from outside (its program was killed).
func (s *Session) stop() { s.once.Do(func() { close(s.quit) }) }

// dtachBuffer is how much dtach's master reads from the pty at a time.
const dtachBuffer = 4096

// write hands p to the attached clients as dtach's master does, a pty
// read (4 KiB) at a time: it waits until at least one client's socket has
// room for the piece, writes it to every client with room, and drops it
// for the others (a stalled console loses output; the others go on). With
// no client attached the output is thrown away. It returns false once the
// session is to end.
func (s *Session) write(p []byte) bool {
	for len(p) > 0 {
		piece := p[:min(len(p), dtachBuffer)]
		if !s.writePiece(piece) {
			return false
		}
		p = p[len(piece):]
	}
	return true
}

func (s *Session) writePiece(p []byte) bool {
	for {
		s.mu.Lock()
		if len(s.clients) == 0 {
			s.mu.Unlock()
			return true
		}
		wrote := false
		for _, c := range s.clients {
			if c.out.room() >= len(p) {
				_, _ = c.out.Write(p)
				wrote = true
			}
		}
		s.mu.Unlock()
		if wrote {
			return true
		}
		select {
		case <-s.drained:
		case <-s.joined:
		case <-s.quit:
			return false
		}
	}
}

// redraw is dtach's redraw on attach (-r winch): the shell repaints its
// line.
func (s *Session) redraw() {
	select {
	case s.inputs <- nil: // nil input: repaint
	case <-s.quit:
	}
}

// run is the session's program: the shell, until it exits or the session
// is stopped. Then every client gets dtach's end-of-session line.
func (s *Session) run() {
	s.sh.loop()
	s.m.forget(s)
	s.mu.Lock()
	s.ended = true
	clients := s.clients
	s.clients = nil
	s.mu.Unlock()
	for _, c := range clients {
		c.eof()
	}
}

// Client is one attached dtach client: termproxy's pty.
type Client struct {
	s   *Session // nil for an Ended client
	out *pipe
}

// dtachEOF is what dtach's attach prints when the session ends.
const dtachEOF = "\x1b[999H\r\n[EOF - dtach terminating]\r\n"

// eof ends the client's stream after dtach's farewell.
func (c *Client) eof() {
	_, _ = c.out.Write([]byte(dtachEOF))
	_ = c.out.Close()
}

// Read reads the session's output; io.EOF once the session ended.
func (c *Client) Read(p []byte) (int, error) { return c.out.Read(p) }

// Input types into the session.
func (c *Client) Input(p []byte) {
	if c.s == nil || len(p) == 0 {
		return
	}
	b := append([]byte(nil), p...)
	select {
	case c.s.inputs <- b:
	case <-c.s.quit:
	}
}

// Resize sets the session's window size (termproxy sets its pty's size;
// dtach passes it on with -r winch).
func (c *Client) Resize(cols, rows int) {
	if c.s == nil {
		return
	}
	c.s.mu.Lock()
	c.s.setSizeLocked(cols, rows)
	c.s.mu.Unlock()
}

// Detach leaves the session, which goes on without this client.
func (c *Client) Detach() {
	if c.s != nil {
		c.s.mu.Lock()
		c.s.clients = slices.DeleteFunc(c.s.clients, func(o *Client) bool { return o == c })
		c.s.mu.Unlock()
	}
	_ = c.out.Close()
}

// NotRunning is the console of a stopped container: lxc-console's
// complaint, then dtach's end of session.
func NotRunning(vmid int) *Client {
	return Ended(strconv.Itoa(vmid) + " is not running\r\n" + dtachEOF)
}
