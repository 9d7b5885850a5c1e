package web

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/netpeek"
)

// peerCheckEvery is how often the sockets of open event streams are
// looked at for pages that went away.
const peerCheckEvery = time.Second

// peerWatch notices event-stream pages that went away. A stream's
// connection is taken over from net/http (which would otherwise keep a
// goroutine per connection blocked reading it), and nobody reads it: a
// page never sends anything on it. One goroutine looks at all their
// sockets once per interval instead (netpeek: without reading), and a
// socket with something to read — the page's end of file, as a rule —
// means its page is gone. It runs only while streams are watched. Where
// sockets cannot be looked at, a gone page is noticed at the stream's
// next write (its heartbeat at the latest).
type peerWatch struct {
	every time.Duration

	mu      sync.Mutex
	peers   map[*peer]struct{}
	running bool
	stopped bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// peer is one watched connection.
type peer struct {
	fd   uintptr
	gone chan struct{} // closed when the page went away
}

func newPeerWatch(every time.Duration) *peerWatch {
	return &peerWatch{every: every, peers: map[*peer]struct{}{}, stop: make(chan struct{})}
}

// watch starts watching c. The returned peer's gone channel is nil (never
// ready) when c cannot be looked at. The caller must unwatch it before
// closing c: the descriptor number is only c's while c is open.
func (w *peerWatch) watch(c net.Conn) *peer {
	p := &peer{}
	sc, ok := c.(syscall.Conn)
	if !ok || !netpeek.Supported {
		return p
	}
	if p.fd, ok = netpeek.FD(sc); !ok {
		return p
	}
	p.gone = make(chan struct{})
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return &peer{}
	}
	w.peers[p] = struct{}{}
	if !w.running {
		w.running = true
		w.wg.Add(1)
		go w.run()
	}
	return p
}

// unwatch stops watching p.
func (w *peerWatch) unwatch(p *peer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.peers, p)
}

// run looks at every watched socket once per interval, until none is left
// or the watch is closed.
func (w *peerWatch) run() {
	defer w.wg.Done()
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		for p := range w.peers {
			if netpeek.Readable(p.fd) {
				close(p.gone)
				delete(w.peers, p)
			}
		}
		if len(w.peers) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// close stops the watch and waits for its goroutine.
func (w *peerWatch) close() {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.stop)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
