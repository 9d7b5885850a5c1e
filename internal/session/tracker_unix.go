//go:build unix

package session

import (
	"syscall"
	"unsafe"
)

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
	return peekable(uintptr(tc.fd))
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
	return tc.raw.Read(func(fd uintptr) bool { return peekable(fd) })
}

// peekable looks at the socket without taking bytes or blocking: true when
// there is something to read, or end of file, or an error a read will
// report. (recvfrom itself, not syscall.Recvfrom, which allocates the
// sender's address.)
func peekable(fd uintptr) bool {
	var b [1]byte
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno == syscall.EAGAIN || errno == syscall.EINTR {
		return false
	}
	return int(n) >= 0 || errno != 0
}
