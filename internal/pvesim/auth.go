package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Users, realms and the authentication that runs before any handler
// (PVE::HTTPServer::auth_handler, pve-http-server AnyEvent.pm).

const rootUser = "root@pam"

// Realm is an authentication domain of domains.cfg, as offered by GET
// /access/domains for the login box.
type Realm struct {
	Name    string // realm id, the part after '@' in a userid
	Type    string // "pam", "pve", "ldap", "ad" or "openid"
	Comment string
	Default bool // preselected in the login box; at most one realm
}

// DefaultRealms returns the realms of every scenario: pam (the default),
// pve, corp (an LDAP directory, simulated by the simulator's own user
// table) and sso (OpenID Connect, where password sign-in is refused).
func DefaultRealms() []Realm {
	return []Realm{
		{Name: "pam", Type: "pam", Comment: pamComment, Default: true},
		{Name: "pve", Type: "pve", Comment: pveComment},
		{Name: "corp", Type: "ldap", Comment: "Corporate directory (LDAP)"},
		{Name: "sso", Type: "openid", Comment: "Single sign-on (OpenID Connect)"},
	}
}

// The comments PVE gives its two built-in realms when they have none.
const (
	pamComment = "Linux PAM standard authentication"
	pveComment = "Proxmox VE authentication server"
)

var realmNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)

// realm is one entry of domains.cfg.
type realm struct {
	name    string
	typ     string // "pam", "pve", "ldap", "ad", "openid"
	comment string
	def     bool   // default realm of the login box
	tfa     string // realm-enforced TFA type ("oath", "yubico"); "" none (not modelled)
}

// buildRealms validates Options.Realms (nil: DefaultRealms). pam and pve
// always exist, as in PVE, which adds them (and their comments) when
// domains.cfg lacks them.
func buildRealms(list []Realm) ([]*realm, error) {
	if list == nil {
		list = DefaultRealms()
	}
	var out []*realm
	seen := map[string]bool{}
	defaults := 0
	for _, r := range list {
		if !realmNameRe.MatchString(r.Name) || len(r.Name) > 32 {
			return nil, fmt.Errorf("pvesim: invalid realm name %q", r.Name)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("pvesim: realm %q given twice", r.Name)
		}
		seen[r.Name] = true
		switch r.Type {
		case "pam", "pve":
			if r.Name != r.Type {
				return nil, fmt.Errorf("pvesim: realm %q: type %s is only for the built-in realm %q", r.Name, r.Type, r.Type)
			}
		case "ldap", "ad", "openid":
		default:
			return nil, fmt.Errorf("pvesim: realm %q: unknown type %q (want pam, pve, ldap, ad or openid)", r.Name, r.Type)
		}
		if r.Default {
			defaults++
		}
		out = append(out, &realm{name: r.Name, typ: r.Type, comment: r.Comment, def: r.Default})
	}
	if defaults > 1 {
		return nil, fmt.Errorf("pvesim: %d realms are marked default; at most one may be", defaults)
	}
	for _, builtin := range []string{"pam", "pve"} {
		if !seen[builtin] {
			out = append(out, &realm{name: builtin, typ: builtin})
		}
	}
	for _, r := range out {
		if r.comment == "" && r.name == "pam" {
			r.comment = pamComment
		}
		if r.comment == "" && r.name == "pve" {
			r.comment = pveComment
		}
	}
	return out, nil
}

// findRealm returns the realm named name, or nil. Called with s.mu held
// (or before the Sim is shared).
func (s *Sim) findRealm(name string) *realm {
	for _, r := range s.realms {
		if r.name == name {
			return r
		}
	}
	return nil
}

// userEntry is one user of user.cfg (plus its password in the realm and
// its second factors).
type userEntry struct {
	id          string
	password    string
	hasPassword bool      // false: no password set (root@pam when not configured)
	enabled     bool      // "enable" flag; disabled users cannot log in
	expire      int64     // unix time after which the account is expired; 0 never
	tfa         *tfaState // second factors; nil none
}

func newUserEntry(u User) *userEntry {
	return &userEntry{id: u.ID, password: u.Password, hasPassword: true, enabled: true, tfa: newTFAState(u)}
}

// putUser adds u or updates an existing user: the password always, the
// second factors only when u sets any (they then replace the old ones,
// with fresh counters). Called with s.mu held (or before the Sim is
// shared); u's factors must be valid.
func (s *Sim) putUser(u User) {
	old, ok := s.users[u.ID]
	if !ok {
		s.users[u.ID] = newUserEntry(u)
		return
	}
	old.password, old.hasPassword = u.Password, true
	if u.hasFactors() {
		old.tfa = newTFAState(u)
	}
}

var (
	useridRe  = regexp.MustCompile(`^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)$`)
	tokenIDRe = regexp.MustCompile(`^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$`)
)

// verifyUsername is PVE::Auth::Plugin::verify_username. It returns the
// user and realm parts, or the die message (with "\n").
func verifyUsername(username string) (ruid, realmName, errMsg string) {
	n := len([]rune(username))
	if n < 3 {
		return "", "", fmt.Sprintf("user name '%s' is too short\n", username)
	}
	if n > 64 {
		return "", "", fmt.Sprintf("user name '%s' is too long (%d > 64)\n", username, n)
	}
	m := useridRe.FindStringSubmatch(username)
	if m == nil {
		return "", "", fmt.Sprintf("value '%s' does not look like a valid user name\n", username)
	}
	return m[1], m[2], ""
}

// realmOf returns the realm part of a userid ("" if there is none).
func realmOf(userid string) string {
	if i := strings.LastIndexByte(userid, '@'); i >= 0 {
		return userid[i+1:]
	}
	return ""
}

// checkUserEnabled is AccessControl::check_user_enabled; it returns the die
// message or "". Called with s.mu held.
func (s *Sim) checkUserEnabled(userid string) string {
	if _, _, msg := verifyUsername(userid); msg != "" {
		return msg
	}
	u, ok := s.users[userid]
	if !ok {
		return fmt.Sprintf("no such user ('%s')\n", userid)
	}
	if !u.enabled {
		return fmt.Sprintf("user '%s' is disabled\n", userid)
	}
	if u.expire != 0 && u.expire < s.nowUnix() {
		return fmt.Sprintf("user '%s' access expired\n", userid)
	}
	return ""
}

// authenticateUser is AccessControl::authenticate_user. With a (Perl-true)
// tfaChallenge the password is the second-factor response to it and the
// first factor is not checked again. Otherwise the password is checked
// in the realm, and for a user with second factors the challenge JSON is
// returned (otp, when given, is checked first). It returns the die
// message or "". Called with s.mu held.
func (s *Sim) authenticateUser(userid, password, otp string, hasOTP bool, tfaChallenge string) (challenge, errMsg string) {
	if userid == "" {
		return "", "no username specified\n"
	}
	if _, _, msg := verifyUsername(userid); msg != "" {
		return "", msg
	}
	if msg := s.checkUserEnabled(userid); msg != "" {
		return "", msg
	}
	rlm := s.findRealm(realmOf(userid))
	if rlm == nil {
		return "", fmt.Sprintf("auth domain '%s' does not exist\n", realmOf(userid))
	}
	u := s.users[userid]
	if perlTrue(tfaChallenge, true) {
		return "", s.secondStepTFA(u, password, tfaChallenge)
	}
	if msg := checkPassword(rlm, u, password); msg != "" {
		return "", msg
	}
	return s.firstStepTFA(u, otp, hasOTP)
}

// checkPassword is the realm plugin's authenticate_user. LDAP and AD
// directories are simulated by the user table.
func checkPassword(rlm *realm, u *userEntry, password string) string {
	switch rlm.typ {
	case "pve":
		// PVE and PAM plugins: die "no password" if !$password (so "0"
		// is no password either).
		if !perlTrue(password, true) {
			return "no password\n"
		}
		if !u.hasPassword {
			return "no password set\n"
		}
		if u.password != password {
			return "invalid credentials\n"
		}
	case "pam":
		if !perlTrue(password, true) {
			return "no password\n"
		}
		if !u.hasPassword || u.password != password {
			return "Authentication failure\n"
		}
	case "ldap", "ad":
		// The bind with the user's DN and password fails.
		if password == "" || !u.hasPassword || u.password != password {
			return "Invalid credentials\n"
		}
	default: // openid
		return "OpenID realm does not allow password verification.\n"
	}
	return ""
}

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
	if msg := s.checkUserEnabled(data); msg != "" {
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
	m := tokenIDRe.FindStringSubmatch(tokenID)
	if m == nil {
		return "", fmt.Sprintf("'%s' is not a valid token ID - not able to split into user and token parts\n", tokenID)
	}
	userid := m[1] + "@" + m[2]
	if msg := s.checkUserEnabled(userid); msg != "" {
		return "", msg
	}
	return "", fmt.Sprintf("no such token '%s' for user '%s'\n", m[3], userid)
}
