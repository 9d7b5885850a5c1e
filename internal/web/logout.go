package web

import (
	"net/http"
)

// logout ends the session: the store entry is deleted and the cookie
// cleared, then the browser goes to /login. It works when the session is
// already gone; when the store is down the cookie is still cleared and the
// entry expires with its TTL.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	rid := requestID(r.Context())
	user := ""
	if value, ok := sessionCookieValue(r, s.cookieName(sessionCookie)); ok {
		if id, err := s.cfg.Codec.Decode(value); err == nil {
			if sess, err := s.cfg.Store.Load(r.Context(), id); err == nil {
				user = sess.Username
			}
			if err := s.cfg.Store.Delete(r.Context(), id); err != nil {
				s.log.Error("audit: sign-out", "request_id", rid, "user", user, "client", clientAddr(r), "outcome", "failed", "err", err)
			} else {
				s.log.Info("audit: sign-out", "request_id", rid, "user", user, "client", clientAddr(r), "outcome", "success")
			}
		}
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
