package web

// LiveRenders returns how often the live part of the list page has been
// rendered for event streams since the server started (one per user and
// view per snapshot; the load tests check that).
func (s *Server) LiveRenders() int64 { return s.liveRenders.Load() }
