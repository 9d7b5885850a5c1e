//go:build unix

package session

import "github.com/lxc-manager/lxc-manager/internal/netpeek"

// canPeek: sockets can be looked at without reading (MSG_PEEK).
const canPeek = true

// pending reports whether the socket holds bytes nobody has read yet. It
// uses the descriptor number noted at set-up, without the net package's
// reference counting: once the connection is closed that number may name
// another socket, but by then the cache is no longer live, and Load checks
// that after this (sessionCache.get), so a wrong answer costs at most a
// read from Redis.
func (tc *trackConn) pending() bool {
	if tc.fd < 0 {
		return false
	}
	return netpeek.Readable(uintptr(tc.fd))
}

// noteFD records the socket's descriptor number for pending.
func (tc *trackConn) noteFD() {
	tc.fd = -1
	if tc.raw != nil {
		_ = tc.raw.Control(func(fd uintptr) { tc.fd = int(fd) })
	}
}

// waitReadable blocks until the socket can be read (or the read deadline
// passes), without reading anything.
func (tc *trackConn) waitReadable() error {
	return tc.raw.Read(netpeek.Readable)
}
