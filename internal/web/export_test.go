package web

import (
	"flag"
	"net/http"
	"os"
	"testing"
)

// TestMain makes every page rendered by the package's tests be checked
// against the templates' own rendering of the layout (render.go), except
// in a run with -bench, which measures the fast layout alone.
func TestMain(m *testing.M) {
	flag.Parse()
	verifyFastLayout = flag.Lookup("test.bench").Value.String() == ""
	os.Exit(m.Run())
}

// LiveRenders returns how often the dashboard served by h (a *Server) has
// rendered the live part of the page for event streams.
func LiveRenders(h http.Handler) int64 { return h.(*Server).liveRenders.Load() }

// OpenStreams returns how many event streams the dashboard served by h (a
// *Server) has open on this instance.
func OpenStreams(h http.Handler) int {
	r := h.(*Server).streams
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ss := range r.users {
		n += len(ss)
	}
	return n
}
