package console

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
)

// Termproxy is one `termproxy <port> --path /vms/<vmid> --perm VM.Console`
// process (pve-xtermjs termproxy). It serves exactly one connection: it
// waits for the ticket line `<authid>:<ticket>\n`, has it checked, answers
// the two bytes "OK" and then relays between the connection and the
// program behind its pty, parsing the client's messages:
//
//	0:<byte length>:<data>   keystrokes
//	1:<cols>:<rows>:         window size
//
// and dropping every other byte (the "2" ping among them). A failed
// authentication sends nothing and closes the connection.
type Termproxy struct {
	// Auth is termproxy's authentication request (POST
	// /access/vncticket): nil when user and ticket are good.
	Auth func(user, ticket string) error
	// Start runs the command behind the pty once authenticated.
	Start func() *Client
	// Done is told how the process ended: "" for success, else the error
	// termproxy printed (the task's log line).
	Done func(failure string)
	// TicketTimeout is how long the ticket line may take (10 s).
	TicketTimeout time.Duration
}

// connBuffer is what each direction of the proxy connection buffers (a
// loopback socket's buffers, about).
const connBuffer = 128 << 10

// maxTicketLine is termproxy's buffer for the ticket line.
const maxTicketLine = 4096

// Conn is the connection between pveproxy and termproxy.
type Conn struct {
	in  *pipe // pveproxy -> termproxy
	out *pipe // termproxy -> pveproxy
}

// Write passes the payload of client frames on to termproxy; it blocks
// while termproxy's socket buffer is full.
func (c *Conn) Write(p []byte) (int, error) { return c.in.Write(p) }

// Read reads what termproxy sends; io.EOF once it closed the connection.
func (c *Conn) Read(p []byte) (int, error) { return c.out.Read(p) }

// Next waits for what termproxy sends and returns up to max bytes of it
// in a new slice, so that a reader holds no buffer while it waits.
func (c *Conn) Next(max int) ([]byte, error) { return c.out.next(max) }

// CloseWrite is pveproxy's shutdown of its side (the websocket closed).
func (c *Conn) CloseWrite() error { return c.in.Close() }

// Serve accepts conn's connection: it starts the process and returns the
// connection pveproxy relays to.
func (t *Termproxy) Serve() *Conn {
	c := &Conn{in: newPipe(connBuffer), out: newPipe(connBuffer)}
	go t.run(c)
	return c
}

func (t *Termproxy) run(c *Conn) {
	defer c.out.Close()
	rest, user, ticket, err := readTicketLine(c.in, t.TicketTimeout)
	if err != nil {
		t.Done("failed reading ticket: " + err.Error())
		return
	}
	if err := t.Auth(user, ticket); err != nil {
		t.Done("authentication request failed - " + err.Error())
		return
	}
	if _, err := c.out.Write([]byte("OK")); err != nil {
		t.Done("")
		return
	}
	pty := t.Start()
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		buf := make([]byte, 4096)
		for {
			n, err := pty.Read(buf)
			if n > 0 {
				if _, werr := c.out.Write(buf[:n]); werr != nil {
					pty.Detach()
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		// The program ended: termproxy stops reading the client too.
		<-outDone
		_ = c.in.Close()
	}()
	var q queue
	q.feed(rest, pty)
	buf := make([]byte, 4096)
	for {
		n, err := c.in.Read(buf)
		if n > 0 {
			q.feed(buf[:n], pty)
		}
		if err != nil {
			break
		}
	}
	pty.Detach()
	<-outDone
	t.Done("")
}

// readTicketLine reads up to the first newline and splits it at the first
// ':'; what follows the newline is returned as rest.
func readTicketLine(in *pipe, timeout time.Duration) (rest []byte, user, ticket string, err error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var buf []byte
	chunk := make([]byte, maxTicketLine)
	for {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line := buf[:i]
			rest = buf[i+1:]
			u, tk, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return nil, "", "", errors.New("authentication data is invalid")
			}
			return rest, string(u), string(tk), nil
		}
		if len(buf) >= maxTicketLine {
			return nil, "", "", errors.New("authentication data is incomplete")
		}
		n, rerr := in.readBy(chunk[:maxTicketLine-len(buf)], deadline.C)
		buf = append(buf, chunk[:n]...)
		switch {
		case errors.Is(rerr, ErrTimeout):
			return nil, "", "", errors.New("timed out")
		case errors.Is(rerr, io.EOF):
			if bytes.IndexByte(buf, '\n') < 0 {
				return nil, "", "", errors.New("connection closed before authentication")
			}
		}
	}
}

// queue is termproxy's process_queue over the client's byte stream.
type queue struct {
	buf       []byte
	remaining int // bytes of a data message still to pass on
}

// feed adds b and passes on every complete message, the way termproxy
// does: the type byte and the byte after it (meant to be ':') are taken
// at once, a number runs to the next ':' (more than 20 bytes without one
// are thrown away 20 at a time), a message whose numbers are not all there
// yet is lost with what was taken of it, and parsing goes on with the
// bytes that follow as the next message.
func (q *queue) feed(b []byte, pty *Client) {
	q.buf = append(q.buf, b...)
	for len(q.buf) > 0 {
		if q.remaining > 0 {
			n := min(q.remaining, len(q.buf))
			pty.Input(q.buf[:n])
			q.buf, q.remaining = q.buf[n:], q.remaining-n
			continue
		}
		if len(q.buf) < 2 {
			break
		}
		switch q.buf[0] {
		case '0':
			q.buf = q.buf[2:]
			if n, ok := q.number(); ok {
				q.remaining = n
			}
		case '1':
			q.buf = q.buf[2:]
			if cols, ok := q.number(); ok {
				if rows, ok := q.number(); ok {
					pty.Resize(int(uint16(cols)), int(uint16(rows)))
				}
			}
		default:
			q.buf = q.buf[1:]
		}
	}
	q.compact()
}

// number is termproxy's remove_number.
func (q *queue) number() (int, bool) {
	for {
		i := bytes.IndexByte(q.buf, ':')
		if i < 0 {
			if len(q.buf) > 20 {
				q.buf = q.buf[20:]
				continue
			}
			return 0, false
		}
		digits := string(q.buf[:i])
		q.buf = q.buf[i+1:]
		n, err := strconv.ParseUint(digits, 10, 63)
		if err != nil {
			return 0, false
		}
		return int(n), true
	}
}

// compact keeps the buffer from holding on to consumed memory.
func (q *queue) compact() {
	if len(q.buf) == 0 {
		q.buf = nil
		return
	}
	q.buf = append([]byte(nil), q.buf...)
}
