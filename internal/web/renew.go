package web

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

const (
	// renewAfter is the ticket age from which an active session's ticket is
	// renewed; PVE's tickets live two hours.
	renewAfter = time.Hour
	// touchEvery is how often LastSeen is written back.
	touchEvery = time.Minute
	// sessionLockTTL keeps a second request from renewing the same ticket
	// meanwhile.
	sessionLockTTL = 30 * time.Second
)

// errSessionEnded means the session reached its maximum age or PVE refused
// to renew its ticket; the person must sign in again.
var errSessionEnded = errors.New("session ended")

// keepAlive runs on every signed-in request: it ends a session past
// SESSION_MAX_AGE, renews the PVE ticket of an active session before it is
// two hours old (moving expiresAt and the TTL with it), and records when the
// session was last seen. Two requests of one session never renew it twice:
// the first takes a short lock in the store, the others go on with the
// still-valid ticket they have.
//
// Its writes go through Store.Update, which writes only while the session is
// still stored: a sign-out between this request's load and its write stays a
// sign-out, and the request is then treated as signed out. A LastSeen write
// keeps the stored TTL; if it races a renewal it may put back the previous
// ticket and expiry, which are still valid, and the next request renews
// again.
func (s *Server) keepAlive(ctx context.Context, sess session.Session) (session.Session, error) {
	client := info(ctx).client
	now := s.cfg.Now()
	if !sess.CreatedAt.IsZero() && now.Sub(sess.CreatedAt) >= s.cfg.SessionMaxAge {
		s.endSession(ctx, sess)
		s.log.Info("audit: session ended", "user", sess.Username, "client", client, "reason", "maximum age")
		return session.Session{}, errSessionEnded
	}
	renew := !sess.TicketIssuedAt.IsZero() && now.Sub(sess.TicketIssuedAt) >= renewAfter
	touch := now.Sub(sess.LastSeen) >= touchEvery
	if !renew && !touch {
		return sess, nil
	}
	renewed := false
	if renew {
		// One renewal per ticket: the lock is named after the ticket's
		// generation, so it never holds up the next one.
		lock := fmt.Sprintf("renew:%s:%d", sess.ID, sess.TicketIssuedAt.Unix())
		got, err := s.cfg.Store.TryLock(ctx, lock, sessionLockTTL)
		if err != nil {
			// The ticket in hand is still valid for a while; a later
			// request tries again. (The lock's name holds the session id:
			// it is not logged.)
			s.log.Warn("ticket renewal lock failed; trying again later", "user", sess.Username, "err", err)
			return sess, nil
		}
		if !got {
			// Another request is renewing; this one goes on with the
			// still-valid ticket it has.
			return sess, nil
		}
		// The new ticket replaces the old in the opened session, which the
		// store seals again on Update.
		opened, err := s.cfg.Codec.OpenSession(sess)
		if err != nil {
			s.endSession(ctx, sess)
			return session.Session{}, fmt.Errorf("%w: %w", errSessionEnded, err)
		}
		sess = opened
		id, err := s.cfg.PVE.Renew(ctx, s.identity(sess))
		switch code := lxc.ErrorCode(err); {
		case err == nil:
			sess.Ticket, sess.CSRFToken = id.Ticket, id.CSRFToken
			sess.TicketIssuedAt = now.UTC()
			sess.ExpiresAt = now.Add(s.cfg.SessionTTL).UTC().Truncate(time.Second)
			if limit := sess.CreatedAt.Add(s.cfg.SessionMaxAge); !sess.CreatedAt.IsZero() && sess.ExpiresAt.After(limit) {
				sess.ExpiresAt = limit.UTC()
			}
			renewed = true
		case code == lxc.ECredentials || code == lxc.EUnauthorized:
			s.endSession(ctx, sess)
			s.log.Info("audit: session ended", "user", sess.Username, "client", client, "reason", "PVE refused to renew the ticket")
			return session.Session{}, errSessionEnded
		default:
			s.log.Warn("ticket renewal failed; trying again later", "user", sess.Username, "err", err)
		}
	}
	sess.LastSeen = now.UTC()
	ttl := sess.ExpiresAt.Sub(now)
	if ttl <= 0 {
		return session.Session{}, errSessionEnded
	}
	if !renewed {
		// Only a renewal moves the session's expiry.
		ttl = session.KeepTTL
	}
	// Update, not Save: if another request signed this session out since
	// it was loaded, it stays signed out (an error matching
	// session.ErrNotFound sends this request to the sign-in page).
	if err := s.cfg.Store.Update(ctx, sess, ttl); err != nil {
		return session.Session{}, fmt.Errorf("update session: %w", err)
	}
	if renewed {
		s.log.Info("audit: ticket renewed", "user", sess.Username, "client", client)
	}
	return sess, nil
}
