package netpeek_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/netpeek"
)

// A socket is readable once its peer sent bytes or hung up, and looking
// takes nothing from it.
func TestReadable(t *testing.T) {
	if !netpeek.Supported {
		t.Skip("sockets cannot be looked at on this system")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c := <-accepted
	if c == nil {
		t.Fatal("accept failed")
	}
	defer c.Close()
	fd, ok := netpeek.FD(c.(syscall.Conn))
	if !ok {
		t.Fatal("no descriptor")
	}
	if netpeek.Readable(fd) {
		t.Error("readable before the peer did anything")
	}
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitReadable(t, fd)
	b := make([]byte, 2)
	if n, err := c.Read(b); n != 1 || err != nil || b[0] != 'x' {
		t.Fatalf("the byte looked at was taken: %d %v", n, err)
	}
	if netpeek.Readable(fd) {
		t.Error("readable after its byte was read")
	}
	_ = peer.Close()
	waitReadable(t, fd)
}

// waitReadable waits until fd is readable, blocking in poll(2) rather than
// sleeping.
func waitReadable(t *testing.T, fd uintptr) {
	t.Helper()
	for range 100 {
		if netpeek.Readable(fd) {
			return
		}
		pollIn(fd)
	}
	t.Fatal("never readable")
}
