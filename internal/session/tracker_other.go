//go:build !unix

package session

// canPeek: sockets cannot be looked at here; only busy counts.
const canPeek = false

// pending cannot look at the socket here: only busy counts.
func (tc *trackConn) pending() bool { return false }

// waitReadable is never called here (waitFirst stays false).
func (tc *trackConn) waitReadable() error { return nil }
