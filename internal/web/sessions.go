package web

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

// sessionsPage lists the signed-in person's sessions.
type sessionsPage struct {
	Sessions []sessionRow
}

// sessionRow is one session as the Sessions page shows it.
type sessionRow struct {
	Handle   string
	Current  bool
	Created  string
	LastSeen string
	Client   string
	Browser  string
}

// sessions shows the person's active sessions (GET /sessions), newest
// activity first, with a sign-out for each.
func (s *Server) sessions(w http.ResponseWriter, r *http.Request) error {
	cur, _ := currentSession(r.Context())
	list, err := s.cfg.Store.ListUser(r.Context(), cur.Username)
	if err != nil {
		return err
	}
	slices.SortFunc(list, func(a, b session.Session) int { return b.LastSeen.Compare(a.LastSeen) })
	p := sessionsPage{}
	now := s.cfg.Now()
	for _, sess := range list {
		if !now.Before(sess.ExpiresAt) {
			continue // expired; the store's TTL removes it
		}
		p.Sessions = append(p.Sessions, sessionRow{
			Handle:   sess.Handle,
			Current:  sess.ID == cur.ID,
			Created:  formatTime(sess.CreatedAt),
			LastSeen: formatTime(sess.LastSeen),
			Client:   cmp.Or(sess.ClientAddr, "unknown"),
			Browser:  describeBrowser(sess.UserAgent),
		})
	}
	s.render(w, r, http.StatusOK, "sessions", p)
	return nil
}

// logoutSession ends one of the person's sessions
// (POST /sessions/{handle}/logout). Ending the current one signs out here.
func (s *Server) logoutSession(w http.ResponseWriter, r *http.Request) error {
	cur, _ := currentSession(r.Context())
	handle := r.PathValue("handle")
	list, err := s.cfg.Store.ListUser(r.Context(), cur.Username)
	if err != nil {
		return err
	}
	for _, sess := range list {
		if sess.Handle == "" || sess.Handle != handle {
			continue
		}
		if err := s.cfg.Store.Delete(r.Context(), sess.ID); err != nil {
			return err
		}
		s.log.Info("audit: sign-out", "user", cur.Username, "client", clientAddr(r), "scope", "one session", "current", sess.ID == cur.ID)
		if sess.ID == cur.ID {
			s.clearCookie(w)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
	return nil
}

// logoutEverywhere ends every session of the person, this one included
// (POST /sessions/logout-all).
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	cur, _ := currentSession(r.Context())
	list, err := s.cfg.Store.ListUser(r.Context(), cur.Username)
	if err != nil {
		return err
	}
	for _, sess := range list {
		if err := s.cfg.Store.Delete(r.Context(), sess.ID); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.Delete(r.Context(), cur.ID); err != nil {
		return err
	}
	s.log.Info("audit: sign-out", "user", cur.Username, "client", clientAddr(r), "scope", "everywhere", "sessions", len(list))
	s.clearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// describeBrowser names the browser and system of a User-Agent roughly
// ("Firefox on Linux"); it is a label for people, never used for decisions.
func describeBrowser(ua string) string {
	if ua == "" {
		return "unknown browser"
	}
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chrome (headless)"},
		{"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
