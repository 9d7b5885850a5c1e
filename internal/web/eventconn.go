package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// eventWriteTimeout: a page that takes no event for this long is gone.
const eventWriteTimeout = 30 * time.Second

// takenConns counts the connections taken over from net/http (event
// streams, consoles), which http.Server.Shutdown does not wait for: Close
// does, for a moment, so that each can tell its page.
type takenConns struct {
	mu   sync.Mutex
	stop bool
	wg   sync.WaitGroup
}

// enter counts one in; false once the server is shutting down.
func (e *takenConns) enter() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stop {
		return false
	}
	e.wg.Add(1)
	return true
}

// shutdown refuses new ones and waits up to wait for the open ones to end
// (told to by then: a stream's feed closed, a console's shutdown context).
func (e *takenConns) shutdown(wait time.Duration) {
	e.mu.Lock()
	e.stop = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// eventConn is an event stream's connection, taken over from net/http:
// the stream writes its events straight to the socket (chunked for
// HTTP/1.1), each with a deadline, and peerWatch tells when the page went
// away.
type eventConn struct {
	conn    net.Conn
	chunked bool
	watch   *peerWatch
	peer    *peer
}

// errNotTaken means the connection could not be taken over: the response
// is still net/http's to write.
var errNotTaken = errors.New("the connection cannot be taken over")

// takeOver writes the response's head (status 200 and the headers set on
// w so far, the security headers among them) on the connection of r,
// taken over from net/http. Where the connection cannot be taken over, it
// fails with errNotTaken having written nothing; any other failure means
// the connection was taken and is closed.
func (s *Server) takeOver(w http.ResponseWriter, r *http.Request) (*eventConn, error) {
	if r.ProtoMajor != 1 {
		return nil, errNotTaken // HTTP/2
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotTaken, err)
	}
	info(r.Context()).taken = http.StatusOK // for the access line
	ec := &eventConn{conn: conn, chunked: r.ProtoAtLeast(1, 1), watch: s.peers}
	// The head goes through the connection's own buffer, which is then
	// let go with the rest of net/http's connection.
	head := brw.Writer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h := w.Header().Clone()
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Connection", "close")
	if ec.chunked {
		h.Set("Transfer-Encoding", "chunked")
	}
	_ = h.Write(head)
	head.WriteString("\r\n")
	_ = conn.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if err := head.Flush(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	ec.peer = s.peers.watch(conn)
	return ec, nil
}

// send writes p as one chunk.
func (ec *eventConn) send(p []byte) error {
	_ = ec.conn.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if !ec.chunked {
		_, err := ec.conn.Write(p)
		return err
	}
	var frame [24]byte // the chunk's size line, and its end at 22:24
	size := append(strconv.AppendInt(frame[:0], int64(len(p)), 16), '\r', '\n')
	frame[22], frame[23] = '\r', '\n'
	bufs := net.Buffers{size, p, frame[22:24]}
	_, err := bufs.WriteTo(ec.conn)
	return err
}

func (ec *eventConn) gone() <-chan struct{} { return ec.peer.gone }

// end writes the last chunk and closes the connection.
func (ec *eventConn) end() {
	ec.watch.unwatch(ec.peer)
	if ec.chunked {
		_ = ec.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = ec.conn.Write([]byte("0\r\n\r\n"))
	}
	_ = ec.conn.Close()
}
