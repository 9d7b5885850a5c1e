package console

import (
	"errors"
	"io"
	"sync"
	"time"
)

// ErrTimeout is returned by a read that waited past its deadline.
var ErrTimeout = errors.New("timed out")

// pipe is a bounded byte stream between one writer and one reader: a
// socket's buffer. Writes block while it is full, reads while it is empty;
// Close lets the reader drain what is left and then see io.EOF, and fails
// later writes.
type pipe struct {
	mu       sync.Mutex
	buf      []byte
	max      int
	closed   bool
	readable chan struct{} // signalled after a write or close
	writable chan struct{} // signalled after a read or close
	// notify, when set, is signalled after every read too (dtach's master
	// waits for any client socket to become writable).
	notify chan struct{}
}

func newPipe(max int) *pipe {
	return &pipe{max: max, readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// errClosedPipe is a write to a closed pipe (EPIPE).
var errClosedPipe = errors.New("broken pipe")

// Write appends all of b, waiting for room.
func (p *pipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return n, errClosedPipe
		}
		room := p.max - len(p.buf)
		if room == 0 {
			p.mu.Unlock()
			<-p.writable
			continue
		}
		k := min(room, len(b))
		p.buf = append(p.buf, b[:k]...)
		b, n = b[k:], n+k
		p.mu.Unlock()
		signal(p.readable)
	}
	return n, nil
}

// room reports how many bytes a Write could take now without waiting (-1
// when the pipe is closed).
func (p *pipe) room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return -1
	}
	return p.max - len(p.buf)
}

// Read waits for data and copies what there is into b.
func (p *pipe) Read(b []byte) (int, error) { return p.readBy(b, nil) }

// readBy is Read that gives up with ErrTimeout when deadline fires.
func (p *pipe) readBy(b []byte, deadline <-chan time.Time) (int, error) {
	for {
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[:copy(p.buf, p.buf[n:])]
			if len(p.buf) == 0 && cap(p.buf) > 4096 {
				p.buf = nil // an idle pipe holds no memory
			}
			p.mu.Unlock()
			signal(p.writable)
			if p.notify != nil {
				signal(p.notify)
			}
			return n, nil
		}
		if p.closed {
			p.mu.Unlock()
			return 0, io.EOF
		}
		p.mu.Unlock()
		select {
		case <-p.readable:
		case <-deadline:
			return 0, ErrTimeout
		}
	}
}

// next waits for data and returns up to max bytes of it in a new slice.
func (p *pipe) next(max int) ([]byte, error) {
	for {
		p.mu.Lock()
		n := min(len(p.buf), max)
		p.mu.Unlock()
		if n > 0 {
			b := make([]byte, n)
			k, err := p.readBy(b, nil)
			return b[:k], err
		}
		if _, err := p.readBy(nil, nil); err != nil {
			return nil, err
		}
	}
}

// Close ends the stream: the reader gets what is left, then io.EOF.
func (p *pipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	signal(p.readable)
	signal(p.writable)
	return nil
}
