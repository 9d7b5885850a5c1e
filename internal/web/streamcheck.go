package web

import (
	"context"
	"errors"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

const (
	// streamCheckTimeout bounds one look-up of a streaming session.
	streamCheckTimeout = 5 * time.Second
	// Where the page of an ended session goes: the sign-in page, with the
	// "session expired" note when the session timed out.
	targetSignedOut = "/login"
	targetExpired   = "/login?reason=expired"
)

// streamSessionEnded is the streams' session check, run once per interval
// for each session with open streams on this instance. It loads the
// session from the store, which every instance shares, so a sign-out
// anywhere is seen here. It reports whether the session has ended (deleted,
// expired, or past SESSION_MAX_AGE, as requireSession decides) and where
// its pages go. A store that cannot be reached ends nothing: the pages keep
// their updates, and requests show the outage.
func (s *Server) streamSessionEnded(ctx context.Context, w *watchedSession) (target string, ended bool) {
	lctx, cancel := context.WithTimeout(ctx, streamCheckTimeout)
	defer cancel()
	sess, err := s.cfg.Store.Load(lctx, w.id)
	now := s.cfg.Now()
	switch {
	case errors.Is(err, session.ErrNotFound):
		target, reason := targetSignedOut, "signed out"
		if !now.Before(w.expiresAt) {
			target, reason = targetExpired, "expired"
		}
		s.log.Info("live: session ended; closing its streams", "user", w.user, "reason", reason)
		return target, true
	case err != nil:
		if ctx.Err() == nil {
			s.log.Warn("live: cannot check a streaming session", "user", w.user, "err", err)
		}
		return "", false
	}
	w.expiresAt = sess.ExpiresAt
	reason := ""
	switch {
	case !now.Before(sess.ExpiresAt):
		reason = "expired"
	case !sess.CreatedAt.IsZero() && now.Sub(sess.CreatedAt) >= s.cfg.SessionMaxAge:
		reason = "maximum age"
	default:
		return "", false
	}
	s.endSession(lctx, sess)
	s.log.Info("audit: session ended", "user", sess.Username, "reason", reason, "noticed_by", "live stream")
	return targetExpired, true
}
