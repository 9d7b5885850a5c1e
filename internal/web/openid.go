package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Sign-in through an OpenID realm, through PVE's own OpenID calls (PVE
// stays the only judge of who someone is):
//
//  1. POST /login with an OpenID realm: PVE gives the provider's
//     authorization URL for the callback PUBLIC_URL + /login/openid; the
//     browser gets the flow cookie (openid_flow.go) and a page that sends
//     it to the provider.
//  2. The provider sends the browser back to GET /login/openid with code
//     and state (or an error). The flow must be this browser's and
//     unused; then PVE redeems the code and answers like a password
//     sign-in, and the session starts as for one.
//
// Both hand-overs are pages that navigate by themselves (a meta refresh,
// no script needed) rather than redirects: the sign-in form may only
// post to this site (CSP form-action), and the session cookie is
// SameSite=Strict, which a browser withholds from a redirect chain that
// a cross-site navigation (the provider's) started.

// OpenIDCallbackPath is where providers send the browser back: the
// redirect URI to register at them is PUBLIC_URL + OpenIDCallbackPath.
const OpenIDCallbackPath = "/login/openid"

// Curated OpenID messages; %s is the realm's label.
const (
	msgOpenIDExpired      = "This sign-in link has expired; start again."
	msgOpenIDCancelled    = "Sign-in was cancelled at %s."
	msgOpenIDProviderErr  = "%s did not sign you in. Try again, or ask your administrator."
	msgOpenIDRefused      = "Proxmox VE did not accept the sign-in through %s. Start again; if it keeps failing, ask your administrator whether your account may use Proxmox VE."
	msgOpenIDStartFailed  = "Proxmox VE could not start the sign-in through %s: its identity provider may be unreachable. Try again later."
	msgOpenIDNotSetUp     = "Signing in through %s is not set up on this dashboard yet: its public address (PUBLIC_URL) is missing. Ask your administrator."
	msgOpenIDContinueTo   = "Continuing to %s to sign in…"
	msgOpenIDSignedIn     = "Signed in as %s. Continuing to the dashboard…"
	openidOutcomeExpired  = "openid_expired"
	openidOutcomeProvider = "openid_provider_error"
)

// handover is a page that sends the browser on by itself.
type handover struct {
	URL   string
	Title string
	Text  string
}

// openidRedirectURL is the callback PVE and the provider are told.
func (s *Server) openidRedirectURL() string { return s.cfg.PublicURL + OpenIDCallbackPath }

// startOpenID begins a sign-in through an OpenID realm (step 1).
func (s *Server) startOpenID(w http.ResponseWriter, r *http.Request, p loginPage, realm Realm, next string) error {
	p.Realm, p.Username = realm.Name, ""
	if s.cfg.PublicURL == "" {
		s.log.Error("sign-in through an OpenID realm refused: PUBLIC_URL is not set", "request_id", requestID(r.Context()),
			"realm", realm.Name, "client", clientAddr(r))
		s.cfg.Metrics.SignIn("openid_not_set_up")
		p.Error = fmt.Sprintf(msgOpenIDNotSetUp, realm.Label)
		s.render(w, r, http.StatusServiceUnavailable, "login", p)
		return nil
	}
	addr := addressKey(clientIP(r))
	att := openidAttempt(addr, realm.Name)
	wait, err := s.reserve(r.Context(), att)
	if err != nil {
		return s.openidStartFailed(w, r, p, realm, err)
	}
	if wait > 0 {
		p.Error = throttleMessage(wait)
		s.throttled(w, r, "openid:"+realm.Name, "openid", wait, "login", p)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.LoginTimeout)
	defer cancel()
	authURL, err := s.cfg.PVE.OpenIDAuthURL(ctx, realm.Name, s.openidRedirectURL())
	var target, state string
	if err == nil {
		target, state, err = providerTarget(authURL)
	}
	if err == nil {
		err = s.setFlowCookie(w, s.newFlow(realm.Name, state, next, addr))
	}
	if err != nil {
		s.release(r, att) // nobody reached the provider: no attempt was made
		return s.openidStartFailed(w, r, p, realm, err)
	}
	s.cfg.Metrics.SignIn("openid_started")
	s.log.Info("audit: sign-in started", "request_id", requestID(r.Context()), "realm", realm.Name,
		"client", clientAddr(r), "method", "openid")
	p.Handover = &handover{URL: target, Title: "Continue to " + realm.Label, Text: fmt.Sprintf(msgOpenIDContinueTo, realm.Label)}
	s.render(w, r, http.StatusOK, "login", p)
	return nil
}

// providerTarget checks the URL PVE answered (the browser is sent there,
// so only an absolute http or https URL will do) and takes its state.
func providerTarget(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("authorization URL from PVE: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", "", errors.New("authorization URL from PVE is not an http(s) URL")
	}
	state := u.Query().Get("state")
	if state == "" {
		return "", "", errors.New("authorization URL from PVE has no state")
	}
	return u.String(), state, nil
}

// openidStartFailed shows the form again after step 1 failed.
func (s *Server) openidStartFailed(w http.ResponseWriter, r *http.Request, p loginPage, realm Realm, err error) error {
	status, msg := userError(err)
	if lxc.ErrorCode(err) == lxc.ERefused {
		status, msg = http.StatusBadGateway, fmt.Sprintf(msgOpenIDStartFailed, realm.Label)
	}
	s.cfg.Metrics.SignIn(string(lxc.ErrorCode(err)))
	s.log.Warn("audit: sign-in failed", "request_id", requestID(r.Context()), "realm", realm.Name, "client", clientAddr(r),
		"method", "openid", "step", "start", "status", status, "outcome", string(lxc.ErrorCode(err)), "err", err)
	p.Error = msg
	s.render(w, r, status, "login", p)
	return nil
}

// openidCallback is GET /login/openid, where the provider sends the
// browser back (step 2).
func (s *Server) openidCallback(w http.ResponseWriter, r *http.Request) error {
	realms := s.realmList(r.Context())
	p := loginPage{Realm: defaultRealm(realms), Realms: realms}
	q := r.URL.Query()
	flow, err := s.openFlow(r)
	if err == nil && !flow.matches(q.Get("state")) {
		// Another flow's answer, or none: leave this browser's own flow be.
		err = fmt.Errorf("%w: the state is not this flow's", errFlowRefused)
	}
	if err != nil {
		return s.openidExpired(w, r, p, err)
	}
	realm, ok := findRealm(realms, flow.Realm)
	if !ok {
		realm = Realm{Name: flow.Realm, Label: flow.Realm, Type: "openid"}
	}
	p.Realm = realm.Name
	claimed, err := s.cfg.StepClaims.Claim(r.Context(), openidClaimPrefix+flow.ID, flow.Expires.Sub(s.cfg.Now()))
	if err != nil {
		return s.openidFailed(w, r, p, realm, fmt.Errorf("claim openid flow: %w: %w", session.ErrUnavailable, err))
	}
	if !claimed {
		return s.openidExpired(w, r, p, fmt.Errorf("%w: already used", errFlowRefused))
	}
	s.clearFlowCookie(w)
	if e := q.Get("error"); e != "" {
		msg, outcome := fmt.Sprintf(msgOpenIDProviderErr, realm.Label), openidOutcomeProvider
		if e == "access_denied" {
			msg, outcome = fmt.Sprintf(msgOpenIDCancelled, realm.Label), "openid_cancelled"
		}
		s.cfg.Metrics.SignIn(outcome)
		s.log.Info("audit: sign-in failed", "request_id", requestID(r.Context()), "realm", realm.Name, "client", clientAddr(r),
			"method", "openid", "outcome", outcome, "provider_error", clip(e, 64))
		p.Error = msg
		s.render(w, r, http.StatusUnauthorized, "login", p)
		return nil
	}
	if q.Get("code") == "" {
		return s.openidExpired(w, r, p, fmt.Errorf("%w: no code", errFlowRefused))
	}

	att := openidAttempt(flow.Addr, flow.Realm)
	// As for passwords: the answer is had even if the browser hangs up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.LoginTimeout)
	defer cancel()
	id, err := s.cfg.PVE.OpenIDLogin(ctx, q.Get("state"), q.Get("code"), s.openidRedirectURL())
	if err == nil {
		err = s.startSession(ctx, w, r, id)
	}
	if err != nil {
		if lxc.ErrorCode(err) != lxc.ECredentials {
			s.release(r, att) // PVE unreachable, the store down: nobody was judged
		}
		return s.openidFailed(w, r, p, realm, err)
	}
	s.succeeded(r, att)
	s.cfg.Metrics.SignIn("success")
	s.log.Info("audit: sign-in", "request_id", requestID(r.Context()), "user", id.Username, "client", clientAddr(r),
		"outcome", "success", "method", "openid", "realm", realm.Name)
	next := safeNext(flow.Next)
	p.Handover = &handover{URL: next, Title: "Signed in", Text: fmt.Sprintf(msgOpenIDSignedIn, id.Username)}
	s.render(w, r, http.StatusOK, "login", p)
	return nil
}

// openidExpired answers a callback that is not this browser's, is used
// or too old, before PVE is asked.
func (s *Server) openidExpired(w http.ResponseWriter, r *http.Request, p loginPage, err error) error {
	s.cfg.Metrics.SignIn(openidOutcomeExpired)
	s.log.Info("audit: sign-in failed", "request_id", requestID(r.Context()), "client", clientAddr(r),
		"method", "openid", "outcome", openidOutcomeExpired, "err", err)
	p.Error = msgOpenIDExpired
	s.render(w, r, http.StatusUnauthorized, "login", p)
	return nil
}

// openidFailed shows the form after PVE refused the code or could not be
// asked, or the session could not be stored.
func (s *Server) openidFailed(w http.ResponseWriter, r *http.Request, p loginPage, realm Realm, err error) error {
	status, msg := userError(err)
	if lxc.ErrorCode(err) == lxc.ECredentials {
		msg = fmt.Sprintf(msgOpenIDRefused, realm.Label)
	}
	s.cfg.Metrics.SignIn(string(lxc.ErrorCode(err)))
	s.log.Warn("audit: sign-in failed", "request_id", requestID(r.Context()), "realm", realm.Name, "client", clientAddr(r),
		"method", "openid", "status", status, "outcome", string(lxc.ErrorCode(err)), "err", err)
	p.Error = msg
	s.render(w, r, status, "login", p)
	return nil
}

// clip cuts s to at most n bytes for a log line.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
