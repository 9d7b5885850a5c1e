package oidc

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The token endpoint (RFC 6749 4.1.3, RFC 7636 4.6) and userinfo
// (OpenID Connect Core 5.3).

// tokenAnswer is a successful token answer.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	IDToken     string `json:"id_token"`
	Scope       string `json:"scope"`
}

// clientAuth returns the client a token request authenticates as:
// client_secret_basic, client_secret_post, or a public client's id.
func (p *Provider) clientAuth(r *http.Request) (*Client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: both are form-urlencoded inside Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	c, ok := p.clients[id]
	p.mu.Unlock()
	if !ok {
		return nil, false
	}
	if c.Secret == "" {
		return c, secret == ""
	}
	return c, subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) == 1
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request"})
		return
	}
	c, ok := p.clientAuth(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeJSON(w, http.StatusUnauthorized, oauthError{Error: "invalid_client", Description: "client authentication failed"})
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "unsupported_grant_type"})
		return
	}
	g, desc := p.redeem(c.ID, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
	if g == nil {
		p.log.Info("oidc: code refused", "client_id", c.ID, "reason", desc)
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_grant", Description: desc})
		return
	}
	key, kid, err := p.signingKey()
	var idToken string
	if err == nil {
		idToken, err = signJWT(key, kid, p.idClaims(g))
	}
	if err != nil {
		p.log.Error("oidc: ID token", "err", err)
		writeJSON(w, http.StatusInternalServerError, oauthError{Error: "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, tokenAnswer{AccessToken: g.accessToken, TokenType: "Bearer",
		ExpiresIn: int(p.tokenTTL.Seconds()), IDToken: idToken, Scope: strings.Join(g.scopes, " ")})
}

// redeem uses a code once: it must exist, be unexpired and unused, belong
// to the client, and come with the same redirect URI and the PKCE
// verifier. A code used twice also revokes the access token it bought
// (RFC 6749 4.1.2). It returns the grant with a fresh access token, or
// why not.
func (p *Provider) redeem(clientID, code, redirectURI, verifier string) (*grant, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropExpired()
	g, ok := p.codes[code]
	switch {
	case code == "" || !ok:
		return nil, "unknown or expired code"
	case g.used:
		delete(p.tokens, g.accessToken)
		return nil, "code already used"
	case g.client != clientID:
		return nil, "code issued to another client"
	case g.redirectURI != redirectURI:
		return nil, "redirect_uri differs from the authorization request's"
	}
	g.used = true
	switch g.method {
	case "S256":
		if verifier == "" || subtle.ConstantTimeCompare([]byte(pkceChallenge(verifier)), []byte(g.challenge)) != 1 {
			return nil, "PKCE verification failed"
		}
	case "plain":
		if subtle.ConstantTimeCompare([]byte(verifier), []byte(g.challenge)) != 1 {
			return nil, "PKCE verification failed"
		}
	}
	g.accessToken = RandomToken(32)
	g.tokenExpires = p.now().Add(p.tokenTTL)
	p.tokens[g.accessToken] = g
	return g, ""
}

// idClaims are the ID token's claims for g.
func (p *Provider) idClaims(g *grant) map[string]any {
	now := p.now()
	c := p.userClaims(g)
	c["iss"] = p.issuer
	c["aud"] = g.client
	c["azp"] = g.client
	c["iat"] = now.Unix()
	c["exp"] = now.Add(p.tokenTTL).Unix()
	c["auth_time"] = g.authTime.Unix()
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	return c
}

// userClaims are the user's claims the granted scopes release.
func (p *Provider) userClaims(g *grant) map[string]any {
	u := g.user
	c := map[string]any{"sub": u.Subject}
	if slices.Contains(g.scopes, "profile") {
		c["preferred_username"] = u.Username
		if u.GivenName != "" {
			c["given_name"] = u.GivenName
		}
		if u.FamilyName != "" {
			c["family_name"] = u.FamilyName
		}
		if name := strings.TrimSpace(u.GivenName + " " + u.FamilyName); name != "" {
			c["name"] = name
		}
	}
	if slices.Contains(g.scopes, "email") && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = true
	}
	return c
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Method == http.MethodPost && r.ParseForm() == nil {
		tok, ok = r.PostForm.Get("access_token"), true
	}
	p.mu.Lock()
	p.dropExpired()
	g, found := p.tokens[strings.TrimSpace(tok)]
	p.mu.Unlock()
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, oauthError{Error: "invalid_token"})
		return
	}
	writeJSON(w, http.StatusOK, p.userClaims(g))
}
