//go:build !unix

package session

// canPeek: sockets cannot be looked at here; only busy counts.
const canPeek = false

// pending cannot look at the socket here: only busy counts.
func (tc *trackConn) pending() bool { return false }

// noteFD has nothing to note here.
func (tc *trackConn) noteFD() { tc.fd = -1 }

// waitReadable is never called here (waitFirst stays false).
func (tc *trackConn) waitReadable() error { return nil }
