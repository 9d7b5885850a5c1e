package web

import "net/http"

// LiveRenders returns how often the dashboard served by h (a *Server) has
// rendered the live part of the page for event streams.
func LiveRenders(h http.Handler) int64 { return h.(*Server).liveRenders.Load() }
