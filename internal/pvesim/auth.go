package pvesim

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
)

// The authentication that runs before any handler
// (PVE::HTTPServer::auth_handler, pve-http-server AnyEvent.pm).

// extractAuthValue is Formatter::extract_auth_value: KEY=value (or
// "KEY value") at the start of the header or after whitespace, up to ';',
// URI-unescaped ('+' stays '+').
func extractAuthValue(header, key string) string {
	if header == "" {
		return ""
	}
	re, ok := authValueRes[key]
	if !ok {
		re = regexp.MustCompile(`(?:^|\s)` + regexp.QuoteMeta(key) + `(?:=| )([^;]*)`)
	}
	m := re.FindStringSubmatch(header)
	if m == nil {
		return ""
	}
	v := m[1]
	if !perlTrue(v, true) {
		return ""
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return v
}

var authValueRes = map[string]*regexp.Regexp{
	"PVEAuthCookie": regexp.MustCompile(`(?:^|\s)PVEAuthCookie(?:=| )([^;]*)`),
	"PVEAPIToken":   regexp.MustCompile(`(?:^|\s)PVEAPIToken(?:=| )([^;]*)`),
}

// authExempt is auth_handler's list of calls that need no authentication.
func authExempt(method, relURI string) bool {
	switch relURI {
	case "/access/domains":
		return method == http.MethodGet
	case "/access/ticket":
		return method == http.MethodGet || method == http.MethodPost
	case "/access/vncticket", "/access/openid/login", "/access/openid/auth-url":
		return method == http.MethodPost
	}
	return false
}

// authFailed builds the bare 401 of a failed ticket or token check. Up to
// 9.1.4 the reason is the real error; 9.1.5 unified it (pve-manager
// 26c10a2e) and logs the detail instead.
func (s *Sim) authFailed(c *call, detail string) *reply {
	s.log.Info("authentication failure", "rhost", clientIP(c.r), "msg", strings.TrimSpace(detail))
	if s.versionAtLeast(9, 1, 5) {
		return bareReply(http.StatusUnauthorized, "Authentication failed!\n")
	}
	return bareReply(http.StatusUnauthorized, detail)
}

// authenticate is auth_handler: for every call not exempt it needs a valid
// ticket (cookie PVEAuthCookie, or "Authorization: PVEAuthCookie=...") or
// API token, and for every non-GET ticket call a valid CSRFPreventionToken
// header. It returns nil on success (c.user set) or a bare 401 reply.
// Called with s.mu held.
func (s *Sim) authenticate(c *call) *reply {
	if authExempt(c.method, c.relURI) {
		return nil
	}
	r := c.r
	cookie := strings.Join(r.Header.Values("Cookie"), ", ")
	authz := strings.Join(r.Header.Values("Authorization"), ", ")
	ticket := extractAuthValue(cookie, "PVEAuthCookie")
	if ticket == "" {
		ticket = extractAuthValue(authz, "PVEAuthCookie")
	}
	apiToken := ""
	if ticket == "" {
		apiToken = extractAuthValue(authz, "PVEAPIToken")
	}

	if apiToken != "" {
		user, msg := s.verifyAPIToken(apiToken)
		if msg != "" {
			return s.authFailed(c, msg)
		}
		c.user, c.token = user, true
		return nil // token calls need no CSRF token
	}
	if ticket == "" {
		return bareReply(http.StatusUnauthorized, "No ticket\n")
	}
	data, _, ok := s.keys.verifyTicket(ticket, "", s.nowUnix())
	if !ok {
		return s.authFailed(c, "permission denied - invalid PVE ticket\n")
	}
	if strings.HasPrefix(data, "!tfa!") {
		// A partial TFA ticket is only good as 'tfa-challenge'.
		return s.authFailed(c, "permission denied - invalid PVE ticket\n")
	}
	if msg := s.dir.CheckUserEnabled(data); msg != "" {
		return s.authFailed(c, msg)
	}
	c.user = data
	if c.method != http.MethodGet {
		if !s.keys.verifyCSRF(data, r.Header.Get("CSRFPreventionToken"), s.nowUnix()) {
			return bareReply(http.StatusUnauthorized, "Permission denied - invalid csrf token\n")
		}
	}
	return nil
}

// verifyAPIToken is AccessControl::verify_token. No tokens can be created
// yet, so it always fails with PVE's message for the situation.
func (s *Sim) verifyAPIToken(v string) (string, string) {
	i := strings.LastIndex(v, "=")
	if i < 0 {
		return "", "no tokenid specified\n"
	}
	tokenID := v[:i]
	userid, token, ok := access.SplitTokenID(tokenID)
	if !ok {
		return "", "'" + tokenID + "' is not a valid token ID - not able to split into user and token parts\n"
	}
	if msg := s.dir.CheckUserEnabled(userid); msg != "" {
		return "", msg
	}
	return "", "no such token '" + token + "' for user '" + userid + "'\n"
}
