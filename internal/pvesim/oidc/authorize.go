package oidc

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The authorization endpoint (OpenID Connect Core 3.1.2): GET shows the
// sign-in page for a valid request; POST is that page's form, carrying
// the request's parameters along, with "signin" (user name and password)
// or "cancel".

// authRequest is the parameters of an authorization request.
type authRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
}

// authParams are the request's parameters, in the order the form repeats
// them.
var authParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt"}

func readAuthRequest(v url.Values) authRequest {
	return authRequest{
		ClientID:            v.Get("client_id"),
		RedirectURI:         v.Get("redirect_uri"),
		ResponseType:        v.Get("response_type"),
		Scope:               v.Get("scope"),
		State:               v.Get("state"),
		Nonce:               v.Get("nonce"),
		CodeChallenge:       v.Get("code_challenge"),
		CodeChallengeMethod: v.Get("code_challenge_method"),
		Prompt:              v.Get("prompt"),
	}
}

// values gives the request back as parameters (for the form's hidden
// fields).
func (a authRequest) values() url.Values {
	v := url.Values{}
	for i, val := range []string{a.ClientID, a.RedirectURI, a.ResponseType, a.Scope, a.State, a.Nonce,
		a.CodeChallenge, a.CodeChallengeMethod, a.Prompt} {
		if val != "" {
			v.Set(authParams[i], val)
		}
	}
	return v
}

func (a authRequest) scopes() []string { return strings.Fields(a.Scope) }

// redirectError sends the browser back to the client with an OAuth error
// (RFC 6749 4.1.2.1).
func redirectError(w http.ResponseWriter, r *http.Request, a authRequest, code, desc string) {
	q := url.Values{"error": {code}}
	if desc != "" {
		q.Set("error_description", desc)
	}
	if a.State != "" {
		q.Set("state", a.State)
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, q), http.StatusFound)
}

// withQuery adds q to uri's query, keeping what it has.
func withQuery(uri string, q url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	have := u.Query()
	for k, vs := range q {
		have[k] = vs
	}
	u.RawQuery = have.Encode()
	return u.String()
}

// checkClient validates what decides whether the provider may redirect at
// all: a known client and one of its redirect URIs, exactly. It returns
// the error page's text, or "".
func (p *Provider) checkClient(a authRequest) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.clients[a.ClientID]
	switch {
	case a.ClientID == "" || !ok:
		return "Unknown client: the application that sent you here is not registered."
	case a.RedirectURI == "" || !slices.Contains(c.RedirectURIs, a.RedirectURI):
		return "Invalid redirect URI: " + a.RedirectURI + " is not registered for client " + a.ClientID + "."
	}
	return ""
}

// checkRequest validates the rest of the request; errors go back to the
// client. It returns the OAuth error code and description, or "".
func checkRequest(a authRequest) (string, string) {
	switch {
	case a.ResponseType != "code":
		return "unsupported_response_type", "only the authorization code flow is supported"
	case !slices.Contains(a.scopes(), "openid"):
		return "invalid_scope", "the openid scope is required"
	case a.CodeChallengeMethod != "" && a.CodeChallenge == "":
		return "invalid_request", "code_challenge_method without code_challenge"
	case a.CodeChallenge != "" && a.CodeChallengeMethod != "S256" && a.CodeChallengeMethod != "plain" && a.CodeChallengeMethod != "":
		return "invalid_request", "unsupported code_challenge_method"
	case slices.Contains(strings.Fields(a.Prompt), "none"):
		// No sign-in session is kept, so nobody is signed in already.
		return "login_required", "the user must sign in"
	}
	return "", ""
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.page(w, http.StatusBadRequest, signinPage{Fatal: "The request could not be read."})
		return
	}
	params := r.Form
	if r.Method == http.MethodPost {
		params = r.PostForm
	}
	a := readAuthRequest(params)
	if msg := p.checkClient(a); msg != "" {
		p.log.Info("oidc: authorization refused", "client_id", a.ClientID, "redirect_uri", a.RedirectURI, "reason", msg)
		p.page(w, http.StatusBadRequest, signinPage{Fatal: msg})
		return
	}
	if code, desc := checkRequest(a); code != "" {
		redirectError(w, r, a, code, desc)
		return
	}
	page := signinPage{Request: a.values(), Users: p.Users()}
	if r.Method == http.MethodGet {
		p.page(w, http.StatusOK, page)
		return
	}
	if r.PostForm.Has("cancel") {
		p.log.Info("oidc: sign-in cancelled", "client_id", a.ClientID)
		redirectError(w, r, a, "access_denied", "the user cancelled the sign-in")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	user, ok := p.checkPassword(name, r.PostForm.Get("password"))
	if !ok {
		p.log.Info("oidc: wrong password", "username", name)
		page.Error, page.Username = "Invalid user name or password.", name
		p.page(w, http.StatusOK, page)
		return
	}
	code := RandomToken(32)
	g := &grant{client: a.ClientID, redirectURI: a.RedirectURI, user: user, scopes: a.scopes(), nonce: a.Nonce,
		challenge: a.CodeChallenge, method: a.CodeChallengeMethod, authTime: p.now(), expires: p.now().Add(p.codeTTL)}
	if g.challenge != "" && g.method == "" {
		g.method = "plain"
	}
	p.mu.Lock()
	p.dropExpired()
	p.codes[code] = g
	p.mu.Unlock()
	p.log.Info("oidc: signed in", "username", user.Username, "client_id", a.ClientID)
	q := url.Values{"code": {code}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, q), http.StatusFound)
}

// checkPassword returns the user called name when password is theirs.
func (p *Provider) checkPassword(name, password string) (User, bool) {
	for _, u := range p.Users() {
		if u.Username == name && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1 {
			return u, true
		}
	}
	return User{}, false
}

// dropExpired forgets codes and access tokens past their lifetime (a used
// code stays until it expires, so that a replay is recognised as one).
// Called with p.mu held.
func (p *Provider) dropExpired() {
	now := p.now()
	for k, g := range p.codes {
		if !now.Before(g.expires) {
			delete(p.codes, k)
		}
	}
	for k, g := range p.tokens {
		if !now.Before(g.tokenExpires) {
			delete(p.tokens, k)
		}
	}
}
