package web

import (
	"context"
	"net/http"
	"sync"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// homePage is the data of the overview page.
type homePage struct {
	Version lxc.Version
	Nodes   []lxc.Node
	// Problem is a curated banner when PVE could not answer.
	Problem string
}

// identity is the PVE identity stored in a session.
func identity(sess session.Session) lxc.Identity {
	return lxc.Identity{Username: sess.Username, Ticket: sess.Ticket, CSRFToken: sess.CSRFToken}
}

// home shows the cluster overview, fetched from PVE with the person's own
// ticket. If PVE no longer accepts the ticket, the session ends.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	id := identity(sess)
	var (
		p          homePage
		wg         sync.WaitGroup
		verr, nerr error
	)
	wg.Go(func() { p.Version, verr = s.cfg.PVE.Version(r.Context(), id) })
	wg.Go(func() { p.Nodes, nerr = s.cfg.PVE.Nodes(r.Context(), id) })
	wg.Wait()
	for _, err := range []error{verr, nerr} {
		if err == nil {
			continue
		}
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			s.endSession(r.Context(), sess)
			s.log.Info("session ended: PVE refused the ticket", "request_id", requestID(r.Context()), "user", sess.Username, "err", err)
			s.toLogin(w, r, "expired")
			return nil
		}
		_, msg := userError(err)
		s.log.Warn("home: PVE call failed", "request_id", requestID(r.Context()), "user", sess.Username, "err", err)
		p.Problem = msg
	}
	s.render(w, r, http.StatusOK, "home", p)
	return nil
}

// endSession deletes a session from the store, logging a failure.
func (s *Server) endSession(ctx context.Context, sess session.Session) {
	if err := s.cfg.Store.Delete(ctx, sess.ID); err != nil {
		s.log.Error("delete session", "user", sess.Username, "err", err)
	}
}
