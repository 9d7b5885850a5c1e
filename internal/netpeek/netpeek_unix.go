//go:build unix

package netpeek

import (
	"syscall"
	"unsafe"
)

// Supported reports whether Readable can look at sockets here.
const Supported = true

// Readable looks at socket fd without taking bytes or blocking: true when
// there is something to read, or end of file, or an error a read will
// report. (recvfrom itself, not syscall.Recvfrom, which allocates the
// sender's address.)
func Readable(fd uintptr) bool {
	var b [1]byte
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno == syscall.EAGAIN || errno == syscall.EINTR {
		return false
	}
	return int(n) >= 0 || errno != 0
}
