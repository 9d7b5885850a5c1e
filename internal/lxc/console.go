package lxc

import (
	"context"
	"io"
)

// Console is an open terminal on a container: PVE's termproxy session,
// reached as the signed-in person. Output comes in pieces as PVE sends
// them; Input and Resize go to the container's terminal. It is safe to
// call Input, Resize and Ping while another goroutine waits in Next, and
// Close from anywhere.
type Console interface {
	// Next waits for the next piece of output and returns a reader of it,
	// valid until the next call. It returns io.EOF once PVE ended the
	// console.
	Next(ctx context.Context) (io.Reader, error)
	// Input types p (keystrokes or pasted text) into the terminal.
	Input(ctx context.Context, p []byte) error
	// Resize sets the terminal's window size.
	Resize(ctx context.Context, cols, rows int) error
	// Ping keeps the connection in use.
	Ping(ctx context.Context) error
	// Close ends the console.
	Close() error
}
