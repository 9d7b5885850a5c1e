package pvesim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/oidc"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// The OpenID sign-in (pve-access-control API2/OpenId.pm with the
// proxmox-openid crate): auth-url gives the provider's authorization URL
// and stores the pending state; login redeems the code the provider gave
// the browser and answers like a one-step /access/ticket. Both are
// exempt from authentication and run in pvedaemon (protected).

func (s *Sim) openidRoutes(rr *router) {
	rr.add(&route{
		name: "auth_url", method: http.MethodPost, path: "/access/openid/auth-url",
		protected: true, allowToken: true,
		params: schema{
			"realm":        {Type: "string", Format: "pve-realm", MaxLength: 32},
			"redirect-url": {Type: "string", MaxLength: 255},
		},
		fn: s.openidAuthURL,
	})
	rr.add(&route{
		name: "login", method: http.MethodPost, path: "/access/openid/login",
		protected: true, allowToken: true,
		params: schema{
			"state":        {Type: "string", MaxLength: 1024},
			"code":         {Type: "string", MaxLength: 4096},
			"redirect-url": {Type: "string", MaxLength: 255},
		},
		fn: s.openidLogin,
	})
}

// withoutLock runs fn with s.mu released: a handler (called with it
// held) that waits on the network, as a pvedaemon worker does, does not
// hold up the rest of the cluster.
func (s *Sim) withoutLock(fn func()) {
	s.mu.Unlock()
	defer s.mu.Lock()
	fn()
}

// lookupOpenID is $lookup_openid_auth without the discovery: the realm
// must exist and be an OpenID realm. Errors are PVE's dies (without their
// newline).
func (s *Sim) lookupOpenID(realm string) (access.OpenIDConfig, error) {
	r, ok := s.dir.Realm(realm)
	if !ok {
		return access.OpenIDConfig{}, fmt.Errorf("authentication domain '%s' does not exist", realm)
	}
	if r.Type != "openid" {
		return access.OpenIDConfig{}, fmt.Errorf("wrong realm type (%s != openid)", r.Type)
	}
	return *r.OpenID, nil
}

// discover is PVE::RS::OpenId->discover: the issuer URL, the provider's
// metadata (asked on every call), then the redirect URL, which only has
// to be an absolute URL (RedirectUrl::new). Called with s.mu held.
func (s *Sim) discover(ctx context.Context, cfg access.OpenIDConfig, redirect string) (*oidc.Metadata, error) {
	if _, err := absoluteURL(cfg.IssuerURL); err != nil {
		return nil, err
	}
	var md *oidc.Metadata
	var err error
	s.withoutLock(func() { md, err = s.openidRP.Discover(ctx, cfg.IssuerURL) })
	if err != nil {
		return nil, err
	}
	if _, err := absoluteURL(redirect); err != nil {
		return nil, err
	}
	return md, nil
}

// absoluteURL parses u as Rust's url crate requires of an absolute URL,
// with its error texts.
func absoluteURL(u string) (*url.URL, error) {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return nil, fmt.Errorf("invalid URL: %s", u)
	case p.Scheme == "":
		return nil, fmt.Errorf("relative URL without a base")
	case (p.Scheme == "http" || p.Scheme == "https") && p.Host == "":
		return nil, fmt.Errorf("empty host")
	}
	return p, nil
}

// openidAuthURL is POST /access/openid/auth-url. Failures are plain dies
// (500).
func (s *Sim) openidAuthURL(c *call) (any, error) {
	realm, _ := c.params.str("realm")
	redirect, _ := c.params.str("redirect-url")
	cfg, err := s.lookupOpenID(realm)
	if err != nil {
		return nil, internalError("%s\n", err.Error())
	}
	md, err := s.discover(c.r.Context(), cfg, redirect)
	if err != nil {
		return nil, internalError("%s\n", err.Error())
	}
	verifier, challenge := oidc.NewPKCE()
	st := openidAuthState{csrfToken: oidc.RandomToken(16), nonce: oidc.RandomToken(16), pkceVerifier: verifier, ctime: s.nowUnix()}
	if err := s.openidStates.add(realm, st, st.ctime); err != nil {
		return nil, internalError("%s\n", err.Error())
	}
	u, err := md.AuthorizeURL(oidc.AuthRequest{ClientID: cfg.ClientID, RedirectURI: redirect, State: publicState(realm, st),
		Nonce: st.nonce, CodeChallenge: challenge, Scopes: cfg.ScopeList(), Prompt: cfg.Prompt,
		ACRValues: perl.SplitList(cfg.ACRValues)})
	if err != nil {
		return nil, internalError("%s\n", err.Error())
	}
	return u, nil
}

// openidLogin is POST /access/openid/login. Every failure is logged with
// its reason and answered 401 "authentication failure", held like a
// refused /access/ticket; there is never a second factor.
func (s *Sim) openidLogin(c *call) (any, error) {
	state, _ := c.params.str("state")
	code, _ := c.params.str("code")
	redirect, _ := c.params.str("redirect-url")
	userid, err := s.openidUser(c.r.Context(), state, code, redirect)
	if err != nil {
		s.log.Info("openid authentication failure", "rhost", clientIP(c.r), "msg", strings.TrimSpace(err.Error()))
		return nil, &apiError{status: http.StatusUnauthorized, msg: "authentication failure\n"}
	}
	now := s.nowUnix()
	res := map[string]any{
		"username":            userid,
		"ticket":              s.keys.assembleTicket(userid, "", now),
		"CSRFPreventionToken": s.keys.assembleCSRF(userid, now),
		"cap":                 s.acl.ComputeCap(userid),
	}
	if s.clusterName != "" && s.acl.Can(userid, "/", "Sys.Audit") {
		res["clustername"] = s.clusterName
	}
	s.log.Info("successful openid auth for user '"+userid+"'", "rhost", clientIP(c.r))
	return res, nil
}

// openidUser runs the login's steps up to a known, enabled user: the
// state (removed first), the realm, the code exchange, the ID token,
// userinfo, the user name claim, autocreate. The error is the reason PVE
// logs.
func (s *Sim) openidUser(ctx context.Context, state, code, redirect string) (string, error) {
	realm, st, err := s.openidStates.take(state, s.nowUnix())
	if err != nil {
		return "", err
	}
	cfg, err := s.lookupOpenID(realm)
	if err != nil {
		return "", err
	}
	md, err := s.discover(ctx, cfg, redirect)
	if err != nil {
		return "", err
	}
	var info map[string]any
	s.withoutLock(func() { info, err = s.openidClaims(ctx, md, cfg, code, redirect, st) })
	if err != nil {
		return "", err
	}
	unique, err := usernameClaim(info, cfg.UsernameClaim)
	if err != nil {
		return "", err
	}
	userid := unique + "@" + realm
	if _, _, msg := access.VerifyUsername(userid); msg != "" {
		return "", fmt.Errorf("%s", msg)
	}
	if cfg.Autocreate && !s.dir.Has(userid) {
		attrs := access.UserAttrs{Enabled: true}
		attrs.Email, _ = info["email"].(string)
		attrs.FirstName, _ = info["given_name"].(string)
		attrs.LastName, _ = info["family_name"].(string)
		if err := s.dir.Create(userid, attrs); err != nil {
			return "", fmt.Errorf("autocreate openid user failed: %w", err)
		}
		return userid, nil
	}
	if msg := s.dir.CheckUserEnabled(userid); msg != "" {
		return "", fmt.Errorf("%s", msg)
	}
	return userid, nil
}

// openidClaims exchanges the code (with the PKCE verifier), checks the ID
// token (signature, issuer, audience, expiry, nonce) and, unless
// query-userinfo is off, adds the userinfo claims (the ID token's win).
func (s *Sim) openidClaims(ctx context.Context, md *oidc.Metadata, cfg access.OpenIDConfig, code, redirect string, st openidAuthState) (map[string]any, error) {
	tok, err := s.openidRP.Exchange(ctx, md, cfg.ClientID, cfg.ClientKey, code, redirect, st.pkceVerifier)
	if err != nil {
		return nil, err
	}
	claims, err := md.VerifyIDToken(tok.IDToken, cfg.ClientID, perl.SplitList(cfg.Audiences), st.nonce, s.now())
	if err != nil {
		return nil, err
	}
	if cfg.NoUserinfo {
		return claims, nil
	}
	sub, _ := claims["sub"].(string)
	info, err := s.openidRP.UserInfo(ctx, md, tok.AccessToken, sub)
	if err != nil {
		return nil, err
	}
	for k, v := range claims {
		info[k] = v
	}
	return info, nil
}

// usernameClaim picks the user name from the claims as login does,
// legacy claim names included.
func usernameClaim(info map[string]any, claim string) (string, error) {
	if claim == "" {
		claim = "sub"
	}
	if v, ok := info[claim]; ok && v != nil {
		return fmt.Sprint(v), nil
	}
	switch claim {
	case "subject":
		if v, ok := info["sub"].(string); ok {
			return v, nil
		}
	case "username":
		if v, ok := info["preferred_username"].(string); ok {
			return v, nil
		}
		return "", fmt.Errorf("missing claim 'preferred_username'")
	}
	return "", fmt.Errorf("missing configured claim '%s' in returned info object", claim)
}
