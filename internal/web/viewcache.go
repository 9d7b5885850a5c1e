package web

import (
	"errors"
	"sync"
)

// viewCache renders the live part of the page once per snapshot for each
// (user, view) that open streams show, and hands the same encoded event to
// every stream showing it: a user with many pages of one view costs one
// render per poll, not one per page. Entries live while a stream shows
// their view. The zero value is ready to use.
type viewCache struct {
	mu    sync.Mutex
	views map[viewKey]*viewEntry
}

// viewKey names what a stream shows: a user's containers in one view
// (the normalized list query). Snapshots differ per user, so the user is
// part of the key.
type viewKey struct {
	user string
	view string
}

type viewEntry struct {
	streams int        // open streams showing the view
	cur     *rendering // the newest snapshot's, once one was asked for
}

// rendering is one snapshot's encoded event; event and err are set before
// done is closed.
type rendering struct {
	seq   uint64
	done  chan struct{}
	event []byte
	err   error
}

// errRenderAborted is what waiters get when the render they waited for
// did not finish (it panicked).
var errRenderAborted = errors.New("web: live render aborted")

// join records that a stream shows k.
func (c *viewCache) join(k viewKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.views == nil {
		c.views = map[viewKey]*viewEntry{}
	}
	e := c.views[k]
	if e == nil {
		e = &viewEntry{}
		c.views[k] = e
	}
	e.streams++
}

// leave records that a stream no longer shows k.
func (c *viewCache) leave(k viewKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.views[k]; e != nil {
		if e.streams--; e.streams <= 0 {
			delete(c.views, k)
		}
	}
}

// event returns the event for snapshot seq of view k: the one already
// rendered (or being rendered) for it, else what render returns, which
// the other streams of k then share. A stream behind the others (holding
// an older snapshot than the newest rendered) renders for itself, as does
// a view nobody joined.
func (c *viewCache) event(k viewKey, seq uint64, render func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	e := c.views[k]
	if e == nil || seq == 0 || (e.cur != nil && e.cur.seq > seq) {
		c.mu.Unlock()
		return render()
	}
	if r := e.cur; r != nil && r.seq == seq {
		c.mu.Unlock()
		<-r.done
		return r.event, r.err
	}
	r := &rendering{seq: seq, done: make(chan struct{}), err: errRenderAborted}
	e.cur = r
	c.mu.Unlock()
	defer close(r.done)
	ev, err := render()
	r.event, r.err = ev, err
	return ev, err
}
