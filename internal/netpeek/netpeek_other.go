//go:build !unix

package netpeek

// Supported reports whether Readable can look at sockets here: not on
// this system.
const Supported = false

// Readable cannot look at sockets here: it reports false.
func Readable(uintptr) bool { return false }
