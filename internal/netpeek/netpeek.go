// Package netpeek looks at a socket without reading from it: whether its
// peer sent something or hung up. The session cache uses it to see an
// invalidation waiting on its tracking connection, and the event streams
// to notice a page that closed without a goroutine reading each socket.
package netpeek

import "syscall"

// FD returns the descriptor number of c, if it has one. The number is
// only good while c is open: once c is closed it may name another socket.
func FD(c syscall.Conn) (fd uintptr, ok bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	if err := raw.Control(func(f uintptr) { fd, ok = f, true }); err != nil {
		return 0, false
	}
	return fd, ok
}
