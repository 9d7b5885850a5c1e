package pvesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testCallback = "https://dash.example/login/openid"

// openidEnv is a simulator with its provider and a browser for the
// provider's pages (no redirects followed).
type openidEnv struct {
	*testEnv
	browser *http.Client
}

func startOpenID(t *testing.T, opts Options) *openidEnv {
	t.Helper()
	e := startEnv(t, opts)
	if e.srv.OpenID == nil {
		t.Fatal("no OpenID provider started")
	}
	e.srv.RegisterRedirectURI(testCallback)
	return &openidEnv{testEnv: e, browser: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// authURL asks auth-url and fails the test unless PVE answers a URL.
func (e *openidEnv) authURL(realm, redirect string) string {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/access/openid/auth-url", form: url.Values{"realm": {realm}, "redirect-url": {redirect}}})
	if res.code != 200 {
		e.t.Fatalf("auth-url: %d %s %s", res.code, res.reason, res.body)
	}
	return res.json(e.t)["data"].(string)
}

// signIn signs user in at the provider and returns the callback's query.
func (e *openidEnv) signIn(authURL, user, password string) url.Values {
	e.t.Helper()
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("username", user)
	form.Set("password", password)
	form.Set("signin", "1")
	resp, err := e.browser.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		e.t.Fatalf("provider sign-in: %d", resp.StatusCode)
	}
	return loc.Query()
}

func (e *openidEnv) login(q url.Values, redirect string) result {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/access/openid/login",
		form: url.Values{"state": {q.Get("state")}, "code": {q.Get("code")}, "redirect-url": {redirect}}})
}

func TestOpenIDSignIn(t *testing.T) {
	t.Parallel()
	e := startOpenID(t, Options{Scenario: "demo"})
	authURL := e.authURL("sso", testCallback)
	u, _ := url.Parse(authURL)
	q := u.Query()
	if u.Host != strings.TrimPrefix(e.srv.OpenID.URL, "http://") || !strings.HasPrefix(e.srv.OpenID.URL, "http://localhost:") {
		t.Errorf("authorization URL %s is not at the provider %s", authURL, e.srv.OpenID.URL)
	}
	for k, want := range map[string]string{"response_type": "code", "client_id": "pve-sso", "redirect_uri": testCallback,
		"scope": "openid email profile", "code_challenge_method": "S256", "display": "page"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	var state map[string]string
	if err := json.Unmarshal([]byte(q.Get("state")), &state); err != nil || state["realm"] != "sso" || state["csrf_token"] == "" {
		t.Errorf("state %q", q.Get("state"))
	}
	if q.Get("nonce") == "" || q.Get("code_challenge") == "" {
		t.Error("no nonce or PKCE challenge")
	}

	res := e.login(e.signIn(authURL, "dana", "dana-pass"), testCallback)
	if res.code != 200 {
		t.Fatalf("login: %d %s", res.code, res.body)
	}
	data := res.json(t)["data"].(map[string]any)
	if data["username"] != "dana@sso" || data["cap"] == nil || data["NeedTFA"] != nil {
		t.Errorf("answer %v", data)
	}
	if _, has := data["clustername"]; has {
		t.Error("clustername for a user without Sys.Audit on /")
	}
	ticket := data["ticket"].(string)
	if r := e.do(req{path: "/cluster/resources?type=vm", ticket: ticket}); r.code != 200 || !strings.Contains(r.body, "db-main") || strings.Contains(r.body, "ci-runner-1") {
		t.Errorf("dana's view: %d %s", r.code, r.body)
	}
	// Renewal works as for any ticket.
	if r := e.do(req{method: "POST", path: "/access/ticket", form: url.Values{"username": {"dana@sso"}, "password": {ticket}}}); r.code != 200 {
		t.Errorf("renewal: %d", r.code)
	}
	// The realm still refuses passwords.
	if r := e.do(req{method: "POST", path: "/access/ticket", form: url.Values{"username": {"dana@sso"}, "password": {"dana-pass"}}}); r.code != 401 {
		t.Errorf("password sign-in to an OpenID realm: %d", r.code)
	}
}

func TestOpenIDAutocreate(t *testing.T) {
	t.Parallel()
	e := startOpenID(t, Options{Scenario: "demo"})
	if _, ok := e.sim.LookupUser("frank@sso"); ok {
		t.Fatal("frank@sso exists before signing in")
	}
	res := e.login(e.signIn(e.authURL("sso", testCallback), "frank", "frank-pass"), testCallback)
	if res.code != 200 {
		t.Fatalf("login: %d", res.code)
	}
	u, ok := e.sim.LookupUser("frank@sso")
	if !ok || !u.Enabled || u.Email != "frank@example.com" || u.FirstName != "Frank" || u.LastName != "Osei" {
		t.Errorf("autocreated user %+v %v", u, ok)
	}

	// With autocreate off an unknown user is refused, and not created.
	cfg, _ := e.sim.OpenIDRealm("sso")
	cfg.Autocreate = false
	if err := e.sim.SetOpenIDRealm("sso", cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.RemoveUser("frank@sso"); err != nil {
		t.Fatal(err)
	}
	res = e.login(e.signIn(e.authURL("sso", testCallback), "frank", "frank-pass"), testCallback)
	if res.code != 401 {
		t.Errorf("unknown user without autocreate: %d", res.code)
	}
	if _, ok := e.sim.LookupUser("frank@sso"); ok {
		t.Error("frank@sso was created with autocreate off")
	}
}

func TestOpenIDUsernameClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ claim, want string }{
		{"sub", "6f1d2c3b-5a4e-4f60-9b7a-d0a0a0000001@sso"},
		{"subject", "6f1d2c3b-5a4e-4f60-9b7a-d0a0a0000001@sso"},
		{"username", "dana@sso"},
		{"email", "dana@example.com@sso"},
	} {
		t.Run(tc.claim, func(t *testing.T) {
			t.Parallel()
			claim := tc.claim
			if claim == "sub" {
				claim = "" // the default
			}
			e := startOpenID(t, Options{Realms: []Realm{{Name: "sso", Type: "openid", OpenID: &OpenIDConfig{
				ClientID: "c", ClientKey: "k", Autocreate: true, UsernameClaim: claim}}}})
			res := e.login(e.signIn(e.authURL("sso", testCallback), "dana", "dana-pass"), testCallback)
			if res.code != 200 || res.json(t)["data"].(map[string]any)["username"] != tc.want {
				t.Errorf("%d %s", res.code, res.body)
			}
		})
	}
}

func TestOpenIDAuthURLErrors(t *testing.T) {
	t.Parallel()
	e := startOpenID(t, Options{Scenario: "demo"})
	for _, tc := range []struct {
		form url.Values
		code int
		msg  string
	}{
		{url.Values{"realm": {"nope"}, "redirect-url": {testCallback}}, 500, "authentication domain 'nope' does not exist\n"},
		{url.Values{"realm": {"pve"}, "redirect-url": {testCallback}}, 500, "wrong realm type (pve != openid)\n"},
		{url.Values{"realm": {"sso"}, "redirect-url": {"/login/openid"}}, 500, "relative URL without a base\n"},
		{url.Values{"realm": {"sso"}}, 400, "Parameter verification failed.\n"},
		{url.Values{"realm": {"sso"}, "redirect-url": {"https://x/" + strings.Repeat("a", 255)}}, 400, "Parameter verification failed.\n"},
	} {
		res := e.do(req{method: "POST", path: "/access/openid/auth-url", form: tc.form})
		if res.code != tc.code || res.json(t)["message"] != tc.msg {
			t.Errorf("%v: %d %s", tc.form, res.code, res.body)
		}
	}
	// An unknown redirect URI is PVE's to pass on: the provider refuses it.
	other := e.authURL("sso", "https://elsewhere.example/")
	resp, err := e.browser.Get(other)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("provider with an unregistered redirect URI: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Provider down: discovery fails, a 500.
	_ = e.srv.OpenID.Close()
	res := e.do(req{method: "POST", path: "/access/openid/auth-url", form: url.Values{"realm": {"sso"}, "redirect-url": {testCallback}}})
	if res.code != 500 || !strings.Contains(res.json(t)["message"].(string), "failed to discover provider metadata") {
		t.Errorf("provider down: %d %s", res.code, res.body)
	}
}

func TestOpenIDPendingLimit(t *testing.T) {
	t.Parallel()
	clock := NewManualClock(time.Now())
	e := startOpenID(t, Options{Now: clock.Now})
	for range openidMaxPending + 1 {
		e.authURL("sso", testCallback)
	}
	form := url.Values{"realm": {"sso"}, "redirect-url": {testCallback}}
	res := e.do(req{method: "POST", path: "/access/openid/auth-url", form: form})
	if res.code != 500 || res.json(t)["message"] != "too many pending openid auth request for realm sso\n" {
		t.Errorf("102nd pending request: %d %s", res.code, res.body)
	}
	clock.Advance(10*time.Minute + time.Second)
	e.authURL("sso", testCallback) // the old ones expired
}

// Every failed login is the same delayed 401, and the state is gone after
// the first try whatever its outcome.
func TestOpenIDLoginFailures(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	clock := NewManualClock(time.Now())
	e := startOpenID(t, Options{Scenario: "demo", Now: clock.Now, AuthFailureDelay: delay})
	fresh := func(user string) url.Values { return e.signIn(e.authURL("sso", testCallback), user, user+"-pass") }
	used := fresh("dana")
	if r := e.login(used, testCallback); r.code != 200 {
		t.Fatalf("first login: %d", r.code)
	}
	wrongRedirect := fresh("dana")
	if r := e.login(wrongRedirect, "https://other.example/cb"); r.code != 401 {
		t.Fatalf("other redirect-url: %d", r.code)
	}
	late := fresh("dana")
	clock.Advance(10*time.Minute + time.Second)
	disabled := fresh("dana")
	if err := e.sim.SetUserEnabled("dana@sso", false); err != nil {
		t.Fatal(err)
	}
	badCode := fresh("frank")
	badCode.Set("code", "not-a-code")
	noJSON := url.Values{"state": {"garbage"}, "code": {"x"}}
	otherRealm := fresh("frank")
	otherRealm.Set("state", strings.Replace(otherRealm.Get("state"), `"realm":"sso"`, `"realm":"pve"`, 1))

	for name, q := range map[string]url.Values{
		"replayed state":            used,
		"state already spent":       wrongRedirect,
		"state older than 10 min":   late,
		"disabled user":             disabled,
		"code the provider refuses": badCode,
		"state not JSON":            noJSON,
		"state of another realm":    otherRealm,
	} {
		start := time.Now()
		res := e.login(q, testCallback)
		if res.code != 401 || res.json(t)["message"] != "authentication failure\n" || res.json(t)["data"] != nil {
			t.Errorf("%s: %d %s", name, res.code, res.body)
		}
		if d := time.Since(start); d < delay {
			t.Errorf("%s: answered after %v, before the %v delay", name, d, delay)
		}
	}
	if err := e.sim.SetUserEnabled("dana@sso", true); err != nil {
		t.Fatal(err)
	}
	// The refused code's state is spent too: the right code cannot follow.
	q := fresh("dana")
	bad := url.Values{"state": {q.Get("state")}, "code": {"wrong"}}
	if r := e.login(bad, testCallback); r.code != 401 {
		t.Fatalf("wrong code: %d", r.code)
	}
	if r := e.login(q, testCallback); r.code != 401 {
		t.Errorf("the right code after a failed try: %d", r.code)
	}
	// Provider unreachable at login.
	q = fresh("dana")
	_ = e.srv.OpenID.Close()
	if r := e.login(q, testCallback); r.code != 401 {
		t.Errorf("provider down: %d", r.code)
	}
}

// The answers of both calls against the schema (TestConformanceAnswers
// covers GET methods only).
func TestOpenIDAnswersMatchSchema(t *testing.T) {
	t.Parallel()
	for _, sv := range schemaVersions {
		t.Run(sv.version, func(t *testing.T) {
			sch := loadSchema(t, sv.file)
			e := startOpenID(t, Options{Scenario: "demo", Version: sv.version})
			authURL := e.authURL("sso", testCallback)
			res := e.login(e.signIn(authURL, "dana", "dana-pass"), testCallback)
			var env struct{ Data any }
			if err := json.Unmarshal([]byte(res.body), &env); err != nil || res.code != 200 {
				t.Fatalf("login: %d %v", res.code, err)
			}
			for route, data := range map[string]any{"/access/openid/auth-url": authURL, "/access/openid/login": env.Data} {
				m, ok := sch.Method("POST", route)
				if !ok {
					t.Fatalf("%s not in %s", route, sv.file)
				}
				for _, err := range append(m.CheckReturn(data), m.CheckReturnTypes(data)...) {
					t.Errorf("%s: %v", route, err)
				}
			}
		})
	}
}
