package web

import (
	"context"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

// renewedSince reports whether the stored session has a newer ticket than
// sess, the one a live stream subscribed with, and returns it. A stream
// opened before its session's ticket was renewed (by a request in another
// tab) still polls with the old ticket; when PVE refuses that one two hours
// later, the session itself is fine, and the stream goes on with the new
// ticket instead of ending it.
func (s *Server) renewedSince(ctx context.Context, sess session.Session) (session.Session, bool) {
	cur, err := s.cfg.Store.Load(ctx, sess.ID)
	if err != nil || !cur.TicketIssuedAt.After(sess.TicketIssuedAt) || !s.cfg.Now().Before(cur.ExpiresAt) {
		return session.Session{}, false
	}
	return cur, true
}
