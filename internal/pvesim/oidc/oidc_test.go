package oidc

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testClient   = "pve"
	testSecret   = "s3cret"
	testRedirect = "https://dash.example/login/openid"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	srv   *Server
	rp    RP
	md    *Metadata
	clock *clock
	// browser does not follow redirects, so each 302 is seen.
	browser *http.Client
}

func start(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	srv, err := Start("127.0.0.1:0", "", Options{
		Clients: []Client{{ID: testClient, Secret: testSecret, RedirectURIs: []string{testRedirect}}},
		Users:   []User{{Username: "dana", Password: "dana-pass", Subject: "sub-dana", Email: "dana@example.com", GivenName: "Dana", FamilyName: "Scully"}},
		Now:     clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	e := &env{t: t, srv: srv, rp: RP{HTTP: &http.Client{Timeout: 10 * time.Second}}, clock: clk,
		browser: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	e.md, err = e.rp.Discover(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	return e
}

// flow is one authorization as PVE starts it.
type flow struct {
	state, nonce, verifier, url string
}

func (e *env) begin(mod func(*AuthRequest)) flow {
	e.t.Helper()
	f := flow{state: RandomToken(16), nonce: RandomToken(16)}
	var challenge string
	f.verifier, challenge = NewPKCE()
	a := AuthRequest{ClientID: testClient, RedirectURI: testRedirect, State: f.state, Nonce: f.nonce,
		CodeChallenge: challenge, Scopes: []string{"email", "profile"}}
	if mod != nil {
		mod(&a)
	}
	u, err := e.md.AuthorizeURL(a)
	if err != nil {
		e.t.Fatal(err)
	}
	f.url = u
	return f
}

// submit posts the sign-in form for f's request.
func (e *env) submit(f flow, form url.Values) *http.Response {
	e.t.Helper()
	u, _ := url.Parse(f.url)
	q := u.Query()
	for k, v := range form {
		q[k] = v
	}
	resp, err := e.browser.PostForm(e.srv.URL+"/authorize", q)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// signIn signs dana in and returns the callback's query.
func (e *env) signIn(f flow) url.Values {
	e.t.Helper()
	resp := e.submit(f, url.Values{"username": {"dana"}, "password": {"dana-pass"}, "signin": {"1"}})
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		e.t.Fatalf("redirected to %s", got)
	}
	return loc.Query()
}

func (e *env) exchange(code, redirect, verifier string) (Tokens, error) {
	return e.rp.Exchange(context.Background(), e.md, testClient, testSecret, code, redirect, verifier)
}

func TestFullFlow(t *testing.T) {
	e := start(t)
	f := e.begin(nil)
	page, err := e.browser.Get(f.url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="idp-form"`) || !strings.Contains(string(body), "dana-pass") {
		t.Fatalf("authorization page: %d %s", page.StatusCode, body)
	}
	q := e.signIn(f)
	if q.Get("state") != f.state || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	tok, err := e.exchange(q.Get("code"), testRedirect, f.verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	claims, err := e.md.VerifyIDToken(tok.IDToken, testClient, nil, f.nonce, e.clock.Now())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for k, want := range map[string]string{"sub": "sub-dana", "preferred_username": "dana", "email": "dana@example.com",
		"given_name": "Dana", "family_name": "Scully", "iss": e.srv.URL, "aud": testClient} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %s", k, claims[k], want)
		}
	}
	info, err := e.rp.UserInfo(context.Background(), e.md, tok.AccessToken, "sub-dana")
	if err != nil || info["preferred_username"] != "dana" {
		t.Errorf("userinfo %v, %v", info, err)
	}
}

func TestScopesReleaseClaims(t *testing.T) {
	e := start(t)
	f := e.begin(func(a *AuthRequest) { a.Scopes = nil })
	tok, err := e.exchange(e.signIn(f).Get("code"), testRedirect, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := e.md.VerifyIDToken(tok.IDToken, testClient, nil, f.nonce, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"preferred_username", "email", "given_name"} {
		if _, has := claims[k]; has {
			t.Errorf("scope openid alone released %s", k)
		}
	}
}

// The provider never redirects to an unregistered URI or for an unknown
// client: it shows an error page.
func TestAuthorizationRefusedWithoutRedirect(t *testing.T) {
	e := start(t)
	for name, mod := range map[string]func(*AuthRequest){
		"other redirect":  func(a *AuthRequest) { a.RedirectURI = "https://evil.example/login/openid" },
		"redirect prefix": func(a *AuthRequest) { a.RedirectURI = testRedirect + "/x" },
		"trailing slash":  func(a *AuthRequest) { a.RedirectURI = testRedirect + "/" },
		"unknown client":  func(a *AuthRequest) { a.ClientID = "nobody" },
	} {
		t.Run(name, func(t *testing.T) {
			f := e.begin(mod)
			for _, resp := range []*http.Response{e.get(f.url), e.submit(f, url.Values{"username": {"dana"}, "password": {"dana-pass"}})} {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("%s: %d, Location %q", resp.Request.Method, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})
	}
}

func (e *env) get(u string) *http.Response {
	e.t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Errors in a request from a known client with its redirect URI go back to
// the client.
func TestAuthorizationErrorsRedirect(t *testing.T) {
	e := start(t)
	cases := []struct {
		name string
		mod  func(*AuthRequest)
		form url.Values
		want string
	}{
		{"cancelled", nil, url.Values{"cancel": {"1"}}, "access_denied"},
		{"prompt none", func(a *AuthRequest) { a.Prompt = "none" }, nil, "login_required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := e.begin(tc.mod)
			resp := e.get(f.url)
			if tc.form != nil {
				resp = e.submit(f, tc.form)
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != tc.want || loc.Query().Get("state") != f.state {
				t.Errorf("%d to %s", resp.StatusCode, loc)
			}
			if loc.Query().Has("code") {
				t.Error("an error answer carries a code")
			}
		})
	}
	f := e.begin(nil)
	resp := e.submit(f, url.Values{"username": {"dana"}, "password": {"wrong"}, "signin": {"1"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Errorf("wrong password: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Codes are single-use, expire, are bound to the redirect URI, the client
// and the PKCE verifier.
func TestTokenEndpointRefusals(t *testing.T) {
	e := start(t)
	f := e.begin(nil)
	code := e.signIn(f).Get("code")
	tok, err := e.exchange(code, testRedirect, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.exchange(code, testRedirect, f.verifier); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("reused code: %v", err)
	}
	if _, err := e.rp.UserInfo(context.Background(), e.md, tok.AccessToken, "sub-dana"); err == nil {
		t.Error("the access token of a replayed code still works")
	}

	for name, tc := range map[string]struct {
		redirect, verifier, secret string
		wait                       time.Duration
	}{
		"other redirect":  {redirect: testRedirect + "?x=1", verifier: "ok"},
		"wrong verifier":  {redirect: testRedirect, verifier: "not-the-verifier"},
		"no verifier":     {redirect: testRedirect},
		"wrong secret":    {redirect: testRedirect, verifier: "ok", secret: "guess"},
		"expired (61 s)":  {redirect: testRedirect, verifier: "ok", wait: 61 * time.Second},
		"after 59 s (ok)": {redirect: testRedirect, verifier: "ok", wait: 59 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			f := e.begin(nil)
			code := e.signIn(f).Get("code")
			e.clock.Advance(tc.wait)
			v := tc.verifier
			if v == "ok" {
				v = f.verifier
			}
			secret := testSecret
			if tc.secret != "" {
				secret = tc.secret
			}
			_, err := e.rp.Exchange(context.Background(), e.md, testClient, secret, code, tc.redirect, v)
			if name == "after 59 s (ok)" {
				if err != nil {
					t.Errorf("valid code refused: %v", err)
				}
				return
			}
			want := "invalid_grant"
			if tc.secret != "" {
				want = "invalid_client"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want %s", err, want)
			}
		})
	}
}

func TestIDTokenChecks(t *testing.T) {
	e := start(t)
	f := e.begin(nil)
	tok, err := e.exchange(e.signIn(f).Get("code"), testRedirect, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.IDToken, ".")
	forged := parts[0] + "." + b64.EncodeToString([]byte(`{"iss":"`+e.srv.URL+`","sub":"root","aud":"pve","exp":9999999999,"nonce":"`+f.nonce+`"}`)) + "." + parts[2]
	now := e.clock.Now()
	for name, tc := range map[string]struct {
		raw, client, nonce string
		audiences          []string
		at                 time.Time
	}{
		"forged payload":  {raw: forged, client: testClient, nonce: f.nonce, at: now},
		"other nonce":     {raw: tok.IDToken, client: testClient, nonce: "other", at: now},
		"other audience":  {raw: tok.IDToken, client: "someone-else", nonce: f.nonce, at: now},
		"expired":         {raw: tok.IDToken, client: testClient, nonce: f.nonce, at: now.Add(5 * time.Minute)},
		"not a JWS":       {raw: "abc", client: testClient, nonce: f.nonce, at: now},
		"extra audiences": {raw: tok.IDToken, client: "someone-else", audiences: []string{testClient}, nonce: f.nonce, at: now},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.md.VerifyIDToken(tc.raw, tc.client, tc.audiences, tc.nonce, tc.at)
			if ok := name == "extra audiences"; (err == nil) != ok {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestDiscoveryChecksIssuer(t *testing.T) {
	e := start(t)
	other := strings.Replace(e.srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := e.rp.Discover(context.Background(), other); err == nil || !strings.Contains(err.Error(), "unexpected issuer") {
		t.Errorf("discovery under another name: %v", err)
	}
	_ = e.srv.Close()
	if _, err := e.rp.Discover(context.Background(), e.srv.URL); err == nil {
		t.Error("discovery of a stopped provider succeeded")
	}
}
