package pvesim

import (
	"net/http"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// The /access endpoints (pve-access-control API2/AccessControl.pm and
// API2/Domains.pm).

func (s *Sim) accessRoutes(rr *router) {
	rr.add(&route{
		name: "get_ticket", method: http.MethodGet, path: "/access/ticket",
		allowToken: true,
		fn:         func(*call) (any, error) { return nil, nil },
	})
	rr.add(&route{
		name: "create_ticket", method: http.MethodPost, path: "/access/ticket",
		protected: true, allowToken: false,
		params: schema{
			"username":      {Type: "string", MaxLength: 64},
			"realm":         {Type: "string", Optional: true, Format: "pve-realm", MaxLength: 32},
			"password":      {Type: "string"},
			"otp":           {Type: "string", Optional: true},
			"path":          {Type: "string", Optional: true, MaxLength: 64, Requires: "privs"},
			"privs":         {Type: "string", Optional: true, Format: "pve-priv-list", MaxLength: 64, Requires: "path"},
			"new-format":    {Type: "boolean", Optional: true},
			"tfa-challenge": {Type: "string", Optional: true},
		},
		fn: s.createTicket,
	})
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/access/domains",
		allowToken: true,
		fn:         s.listDomains,
	})
	rr.add(&route{
		name: "permissions", method: http.MethodGet, path: "/access/permissions",
		allowToken: true,
		params: schema{
			"userid": {Type: "string", Optional: true,
				Pattern: `[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(?:![A-Za-z][A-Za-z0-9.\-_]+)?`},
			"path": {Type: "string", Optional: true},
		},
		fn: s.permissions,
	})
}

// permissions is GET /access/permissions: the effective privileges of
// the caller (or, with Sys.Audit on /access, of anybody) per path, each
// with its propagate flag. Without path it covers the top-level paths,
// every ACL path and every pool member's /vms/<id>.
func (s *Sim) permissions(c *call) (any, error) {
	userid, ok := c.params.str("userid")
	if !ok {
		userid = c.user
	}
	owner, _, isToken := strings.Cut(userid, "!")
	if userid != c.user && !(isToken && owner == c.user) {
		if err := s.acl.Check(c.user, "/access", "Sys.Audit"); err != nil {
			return nil, err
		}
	}
	privsOf := func(path string) map[string]int {
		if isToken {
			return map[string]int{} // no API tokens exist
		}
		return s.acl.Privileges(userid, path)
	}
	res := map[string]map[string]int{}
	if path, ok := c.params.str("path"); perlTrue(path, ok) {
		res[path] = privsOf(path)
		return res, nil
	}
	paths := map[string]bool{"/": true, "/access": true, "/access/groups": true, "/nodes": true,
		"/pool": true, "/sdn": true, "/storage": true, "/vms": true}
	for _, p := range s.acl.Paths() {
		paths[p] = true
	}
	for _, g := range s.cluster.Order {
		if g.Pool != "" {
			paths["/vms/"+g.ID] = true
		}
	}
	for p := range paths {
		if privs := privsOf(p); len(privs) > 0 {
			res[p] = privs
		}
	}
	return res, nil
}

// loginError is a failed login: logged with the real reason, answered as
// 401 "authentication failure" (the pipeline holds it until
// AuthFailureDelay after the request started).
func (s *Sim) loginError(c *call, userid, reason string) error {
	s.log.Info("authentication failure", "rhost", clientIP(c.r), "user", userid,
		"msg", strings.TrimSpace(reason))
	return &apiError{status: http.StatusUnauthorized, msg: "authentication failure\n"}
}

// createTicket is POST /access/ticket (create_ticket): a password login,
// a renewal (password = a still valid ticket of the same user, or of
// root@pam; no second factor is asked), the two steps of a TFA login
// (step 1 answers NeedTFA and a partial "PVE:!tfa!<challenge>" ticket
// bound to the userid; step 2 sends it back as tfa-challenge with the
// response in password), or with path+privs a check-only verification.
// Called with s.mu held.
func (s *Sim) createTicket(c *call) (any, error) {
	p := c.params
	userid, _ := p.str("username")
	if rlm, ok := p.str("realm"); perlTrue(rlm, ok) {
		userid += "@" + rlm
	}
	password, _ := p.str("password")
	otp, hasOTP := p.str("otp")
	tfaChallenge, hasChallenge := p.str("tfa-challenge")
	path, hasPath := p.str("path")
	privs, hasPrivs := p.str("privs")

	now := s.nowUnix()
	res := map[string]any{}
	fail := func(reason string) (any, error) { return nil, s.loginError(c, userid, reason) }

	if msg := s.dir.CheckUserEnabled(userid); msg != "" {
		return fail(msg)
	}

	if perlTrue(path, hasPath) && perlTrue(privs, hasPrivs) {
		// verify_auth: check-only mode, no ticket is issued. A password
		// suffices even for a user with second factors (authenticate_user
		// in scalar context drops the challenge); otp is checked if given.
		norm := access.NormalizePath(path)
		if norm == "" {
			return fail("invalid path - " + path + "\n")
		}
		data, _, ok := s.keys.verifyTicket(password, "", now)
		if !(ok && data == userid) {
			if _, msg := s.dir.Authenticate(userid, password, otp, hasOTP, "", s.checkPartial); msg != "" {
				return fail(msg)
			}
		}
		list := perl.SplitList(privs)
		if len(list) == 0 || s.acl.Check(userid, norm, list...) != nil {
			return fail("no permission (" + path + ", " + privs + ")\n")
		}
		res["username"] = userid
	} else {
		// create_ticket_do
		if hasOTP && hasChallenge {
			return fail("TFA response should be in 'password', not 'otp' when 'tfa-challenge' is set\n")
		}
		renewed := false
		if !hasChallenge {
			// A partial ticket never verifies here (its signature covers
			// the userid), so as a password it is simply a wrong one.
			if data, _, ok := s.keys.verifyTicket(password, "", now); ok && (data == rootUser || data == userid) {
				renewed = true
			}
		}
		challenge := ""
		if !renewed {
			var msg string
			challenge, msg = s.dir.Authenticate(userid, password, otp, hasOTP, tfaChallenge, s.checkPartial)
			if msg != "" {
				return fail(msg)
			}
		}
		res["username"] = userid
		if challenge != "" {
			res["NeedTFA"] = 1
			res["ticket"] = s.keys.assembleTicket("!tfa!"+challenge, userid, now)
		} else {
			res["ticket"] = s.keys.assembleTicket(userid, "", now)
		}
		res["CSRFPreventionToken"] = s.keys.assembleCSRF(userid, now)
	}

	if _, partial := res["NeedTFA"]; !partial {
		res["cap"] = s.acl.ComputeCap(userid)
	}
	if s.clusterName != "" && s.acl.Can(userid, "/", "Sys.Audit") {
		res["clustername"] = s.clusterName
	}
	s.log.Info("successful auth for user '"+userid+"'", "rhost", clientIP(c.r))
	return res, nil
}

// checkPartial verifies a partial TFA ticket sent as tfa-challenge:
// signed with the userid as additional data, within its lifetime, and a
// TFA challenge (secondStepTFA). It returns the die message or "".
func (s *Sim) checkPartial(userid, partial string) string {
	data, _, ok := s.keys.verifyTicket(partial, userid, s.nowUnix())
	if !ok {
		return "permission denied - invalid PVE ticket\n"
	}
	if !strings.HasPrefix(data, "!tfa!") {
		return "bad ticket\n"
	}
	return ""
}

// listDomains is GET /access/domains: every realm, for the login box.
func (s *Sim) listDomains(c *call) (any, error) {
	realms := s.dir.Realms()
	out := make([]map[string]any, 0, len(realms))
	for _, r := range realms {
		e := map[string]any{"realm": r.Name, "type": r.Type}
		if r.Comment != "" {
			e["comment"] = r.Comment
		}
		if r.Default {
			e["default"] = 1
		}
		if r.TFA != "" {
			e["tfa"] = r.TFA
		}
		out = append(out, e)
	}
	return out, nil
}
