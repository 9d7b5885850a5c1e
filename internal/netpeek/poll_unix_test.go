//go:build linux

package netpeek_test

import (
	"syscall"
	"unsafe"
)

// pollIn blocks until fd is readable or 100 ms pass.
func pollIn(fd uintptr) {
	type pollFd struct {
		fd      int32
		events  int16
		revents int16
	}
	p := pollFd{fd: int32(fd), events: 0x1} // POLLIN
	_, _, _ = syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1, 100)
}
