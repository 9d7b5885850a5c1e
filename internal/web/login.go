package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// maxUsernameLen is PVE's limit for the username parameter of /access/ticket.
const maxUsernameLen = 64

// loginPage is the data of the sign-in form.
type loginPage struct {
	Username string
	Realm    string
	Realms   []Realm
	Next     string
	// Error is a form-wide message ("Invalid credentials"); Notice is a
	// neutral one ("Your session has expired...").
	Error  string
	Notice string
	// Per-field messages, shown next to the field.
	UsernameError string
	PasswordError string
	RealmError    string
	// Handover, when set, replaces the form with a page that sends the
	// browser on by itself (OpenID sign-ins, openid.go).
	Handover *handover
}

// loginForm is the submitted form, checked before PVE is called.
type loginForm struct {
	Username string
	Realm    string
	Password string
	Next     string
}

// validate fills the page's field errors and reports whether the form may be
// sent to PVE.
func (f loginForm) validate(realms []Realm, p *loginPage) bool {
	ok := true
	switch {
	case strings.TrimSpace(f.Username) == "":
		p.UsernameError, ok = "Enter your user name.", false
	case utf8.RuneCountInString(f.Username) > maxUsernameLen:
		p.UsernameError, ok = fmt.Sprintf("User names have at most %d characters.", maxUsernameLen), false
	case strings.IndexFunc(f.Username, unicode.IsControl) >= 0 || !utf8.ValidString(f.Username):
		p.UsernameError, ok = "The user name contains characters that are not allowed.", false
	case strings.HasPrefix(f.Username, "@") || strings.HasSuffix(f.Username, "@"):
		p.UsernameError, ok = "Enter a user name, optionally as name@realm.", false
	case strings.Contains(f.Username, "@") && !knownRealm(realms, lxc.RealmOf(f.Username)):
		p.UsernameError, ok = "The realm after @ is not one this server offers.", false
	}
	if !knownRealm(realms, f.Realm) {
		p.RealmError, ok = "Choose one of the offered realms.", false
	}
	if f.Password == "" {
		p.PasswordError, ok = "Enter your password.", false
	}
	return ok
}

// effectiveRealm is the realm the sign-in uses: the one typed after '@',
// else the one chosen.
func (f loginForm) effectiveRealm() string {
	if strings.Contains(f.Username, "@") {
		return lxc.RealmOf(f.Username)
	}
	return f.Realm
}

// openIDRealm returns the OpenID realm the form signs in through: the
// one chosen, or the one typed after '@' in the user name.
func (f loginForm) openIDRealm(realms []Realm) (Realm, bool) {
	for _, name := range []string{f.Realm, f.effectiveRealm()} {
		if r, ok := findRealm(realms, name); ok && r.Type == "openid" {
			return r, true
		}
	}
	return Realm{}, false
}

func knownRealm(realms []Realm, name string) bool {
	_, ok := findRealm(realms, name)
	return ok
}

// loginPage shows the sign-in form; a signed-in person goes to / instead.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.loadSession(r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	realms := s.realmList(r.Context())
	p := loginPage{Realm: defaultRealm(realms), Realms: realms, Next: safeNext(r.URL.Query().Get("next"))}
	if p.Next == "/" {
		p.Next = ""
	}
	if r.URL.Query().Get("reason") == "expired" {
		p.Notice = msgSessionExpired
	}
	s.render(w, r, http.StatusOK, "login", p)
	return nil
}

// login checks the form, asks PVE for a ticket and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The sign-in form could not be read.")
	}
	f := loginForm{
		Username: strings.TrimSpace(r.PostForm.Get("username")),
		Realm:    r.PostForm.Get("realm"),
		Password: r.PostForm.Get("password"),
		Next:     safeNext(r.PostForm.Get("next")),
	}
	realms := s.realmList(r.Context())
	p := loginPage{Username: f.Username, Realm: f.Realm, Realms: realms}
	if f.Next != "/" {
		p.Next = f.Next
	}
	if realm, ok := f.openIDRealm(realms); ok {
		// The realm's type decides, not the button: name and password
		// are not used (the script hides them).
		return s.startOpenID(w, r, p, realm, f.Next)
	}
	if !f.validate(realms, &p) {
		s.cfg.Metrics.SignIn("invalid_input")
		if !knownRealm(realms, p.Realm) {
			p.Realm = defaultRealm(realms)
		}
		s.render(w, r, http.StatusBadRequest, "login", p)
		return nil
	}
	cred := lxc.Credentials{Username: f.Username, Realm: f.Realm, Password: f.Password}

	// The attempt is counted before PVE is asked, so parallel guesses
	// cannot all reach PVE while it holds each refusal (3 s).
	att := s.attemptFor(r, cred.UserID())
	wait, err := s.reserve(r.Context(), att)
	if err != nil {
		return s.loginFailed(w, r, p, cred, err)
	}
	if wait > 0 {
		p.Error = throttleMessage(wait)
		s.throttled(w, r, cred.UserID(), "password", wait, "login", p)
		return nil
	}

	// The answer must be had whatever the browser does: a guesser who
	// hangs up while PVE holds a refusal must not get the attempt back.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.LoginTimeout)
	defer cancel()
	id, err := s.cfg.PVE.Login(ctx, cred)
	var sfe *lxc.SecondFactorError
	if errors.As(err, &sfe) {
		// The password was right; the second step counts its own attempts.
		s.release(r, att)
		s.cfg.Metrics.SignIn("second_factor")
		return s.startTFA(w, r, p, cred, sfe.Challenge, f.Next)
	}
	if err == nil {
		err = s.startSession(ctx, w, r, id)
	}
	if err != nil {
		if lxc.ErrorCode(err) != lxc.ECredentials {
			s.release(r, att) // PVE unreachable, the store down: no guess was judged
		}
		return s.loginFailed(w, r, p, cred, err)
	}
	s.succeeded(r, att)
	s.cfg.Metrics.SignIn("success")
	s.log.Info("audit: sign-in", "request_id", requestID(r.Context()), "user", id.Username, "client", clientAddr(r), "outcome", "success")
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
	return nil
}

// loginFailed logs a refused sign-in and shows the form again with a
// curated message.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, p loginPage, cred lxc.Credentials, err error) error {
	status, msg := userError(err)
	s.cfg.Metrics.SignIn(string(lxc.ErrorCode(err)))
	s.log.Warn("audit: sign-in failed", "request_id", requestID(r.Context()), "user", cred.UserID(),
		"client", clientAddr(r), "status", status, "outcome", string(lxc.ErrorCode(err)), "err", err)
	p.Error = msg
	s.render(w, r, status, "login", p)
	return nil
}

// startSession stores a new session under a fresh random id and sets the
// session and device cookies. A session the browser already holds is
// ended, not reused.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, id lxc.Identity) error {
	sid, err := session.NewID()
	if err != nil {
		return fmt.Errorf("new session id: %w", err)
	}
	handle, err := session.NewID()
	if err != nil {
		return fmt.Errorf("new session handle: %w", err)
	}
	sealed, err := s.cfg.Codec.Encode(sid)
	if err != nil {
		return fmt.Errorf("seal session id: %w", err)
	}
	// The ticket's age is counted on this server's clock from just after
	// PVE issued it (erring on the early side keeps renewal early).
	now := s.cfg.Now()
	issued := now
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	sess := session.Session{
		ID:             sid,
		Ticket:         id.Ticket,
		CSRFToken:      id.CSRFToken,
		Username:       id.Username,
		Realm:          id.Realm(),
		ExpiresAt:      issued.Add(s.cfg.SessionTTL).UTC().Truncate(time.Second),
		Handle:         handle[:16],
		CreatedAt:      now.UTC(),
		TicketIssuedAt: issued.UTC(),
		LastSeen:       now.UTC(),
		ClientAddr:     clientAddr(r),
		UserAgent:      ua,
	}
	if err := s.cfg.Store.Save(ctx, sess, s.cfg.SessionTTL); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	s.endReplacedSession(ctx, r)
	s.setCookie(w, sealed)
	if err := s.setDeviceCookie(w, id.Username); err != nil {
		// The sign-in stands; the browser is just not remembered.
		s.log.Error("sign-in: device cookie", "request_id", requestID(r.Context()), "err", err)
	}
	return nil
}

// endReplacedSession ends the session the browser held before this
// sign-in, so a session it no longer uses cannot be picked up from its
// old cookie.
func (s *Server) endReplacedSession(ctx context.Context, r *http.Request) {
	value, ok := sessionCookieValue(r, s.cookieName(sessionCookie))
	if !ok {
		return
	}
	old, err := s.cfg.Codec.Decode(value)
	if err != nil {
		return
	}
	prev, err := s.cfg.Store.Load(ctx, old)
	if errors.Is(err, session.ErrNotFound) {
		return
	}
	if err == nil {
		err = s.cfg.Store.Delete(ctx, old)
	}
	if err != nil {
		s.log.Error("audit: sign-out", "request_id", requestID(r.Context()), "user", prev.Username, "client", clientAddr(r),
			"reason", "replaced by a new sign-in", "outcome", "failed", "err", err)
		return
	}
	s.log.Info("audit: sign-out", "request_id", requestID(r.Context()), "user", prev.Username, "client", clientAddr(r),
		"reason", "replaced by a new sign-in", "outcome", "success")
}
