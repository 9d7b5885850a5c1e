//go:build unix

package session

import "syscall"

// canPeek: sockets can be looked at without reading (MSG_PEEK).
const canPeek = true

// pending reports whether the socket holds bytes nobody has read yet.
func (tc *trackConn) pending() bool {
	if tc.raw == nil {
		return false
	}
	var ready bool
	_ = tc.raw.Control(func(fd uintptr) { ready = peekable(fd) })
	return ready
}

// waitReadable blocks until the socket can be read (or the read deadline
// passes), without reading anything.
func (tc *trackConn) waitReadable() error {
	return tc.raw.Read(func(fd uintptr) bool { return peekable(fd) })
}

// peekable looks at the socket without taking bytes or blocking: true when
// there is something to read, or end of file, or an error a read will
// report.
func peekable(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return false
	}
	return n >= 0 || err != nil
}
