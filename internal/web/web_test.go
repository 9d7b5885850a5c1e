package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

const rootPassword = "proxmox"

// result is one response, read whole.
type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, req *http.Request) result {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func get(t *testing.T, st *apptest.Stack, c *http.Client, path string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, st.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	return do(t, c, req)
}

func postForm(t *testing.T, st *apptest.Stack, c *http.Client, path string, form url.Values) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, st.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	return do(t, c, req)
}

func login(t *testing.T, st *apptest.Stack, c *http.Client, user, realm, password string) result {
	t.Helper()
	return postForm(t, st, c, "/login", url.Values{"username": {user}, "realm": {realm}, "password": {password}})
}

// signIn signs in as root@pam and returns the client and session id.
func signIn(t *testing.T, st *apptest.Stack) (*http.Client, string) {
	t.Helper()
	c := st.Client(t)
	r := login(t, st, c, "root", "pam", rootPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("sign-in: status %d location %q, body %s", r.status, r.header.Get("Location"), r.body)
	}
	return c, sessionID(t, st, c)
}

func sessionCookie(t *testing.T, st *apptest.Stack, c *http.Client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(st.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "lxc-session" {
			return ck
		}
	}
	return nil
}

func sessionID(t *testing.T, st *apptest.Stack, c *http.Client) string {
	t.Helper()
	ck := sessionCookie(t, st, c)
	if ck == nil {
		t.Fatal("no lxc-session cookie in the jar")
	}
	id, err := st.Codec.Decode(ck.Value)
	if err != nil {
		t.Fatalf("cookie does not decode: %v", err)
	}
	return id
}

func setCookieHeader(t *testing.T, r result) string {
	t.Helper()
	for _, v := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "lxc-session=") {
			return v
		}
	}
	return ""
}

func TestLoginPageShowsForm(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	r := get(t, st, st.Client(t), "/login")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	for _, want := range []string{
		`<h1 id="login-title" class="card-title">LXC Manager</h1>`,
		`Sign in with your Proxmox VE credentials`,
		`placeholder="admin"`,
		`maxlength="64" autofocus>`,
		`<select id="realm" name="realm"`,
		// The realms come from PVE (GET /access/domains), labelled with
		// their comments, PVE's default preselected.
		`<option value="pam" selected>Linux PAM standard authentication</option>`,
		`<option value="pve">Proxmox VE authentication server</option>`,
		`name="password" type="password"`,
		`data-pending-text="Signing in...">Sign in</button>`,
		`<form method="post" action="/login"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(r.body) || strings.Contains(r.body, "style=") {
		t.Error("login page has inline script or style")
	}
}

func TestSecurityHeaders(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	r := get(t, st, st.Client(t), "/login")
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self' 'nonce-", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestSignInCreatesSession(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	c := st.Client(t)
	before := time.Now()
	r := login(t, st, c, "root", "pam", rootPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
	}
	sc := setCookieHeader(t, r)
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=7200"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q is Secure although COOKIE_SECURE=false", sc)
	}
	id := sessionID(t, st, c)
	ctx := context.Background()
	raw, err := st.RDB.Get(ctx, "session:"+id).Result()
	if err != nil {
		t.Fatalf("session:%s not in Redis: %v", id, err)
	}
	var stored map[string]any
	if err := json.Unmarshal([]byte(raw), &stored); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ticket", "csrfToken", "username", "realm", "expiresAt"} {
		if _, ok := stored[k]; !ok {
			t.Errorf("stored session lacks %q: %v", k, stored)
		}
	}
	if stored["username"] != "root@pam" || stored["realm"] != "pam" {
		t.Errorf("username/realm = %v/%v", stored["username"], stored["realm"])
	}
	// Redis holds the ticket and CSRF token sealed for this session only.
	for _, f := range []string{"ticket", "csrfToken"} {
		v, _ := stored[f].(string)
		if strings.Contains(v, "PVE:") || strings.Contains(v, "root@pam") || v == "" {
			t.Errorf("%s is stored usable: %q", f, v)
		}
	}
	if tk, err := st.Codec.OpenField(id, "ticket", stored["ticket"].(string)); err != nil || !strings.HasPrefix(tk, "PVE:root@pam:") {
		t.Errorf("sealed ticket opens to %q, %v", tk, err)
	}
	exp, err := time.Parse(time.RFC3339, stored["expiresAt"].(string))
	if err != nil || !strings.HasSuffix(stored["expiresAt"].(string), "Z") {
		t.Fatalf("expiresAt %v is not ISO-8601 UTC: %v", stored["expiresAt"], err)
	}
	if d := exp.Sub(before); d < 2*time.Hour-2*time.Second || d > 2*time.Hour+2*time.Second {
		t.Errorf("expiresAt %v is not 2 h after sign-in", exp)
	}
	if ttl := st.RDB.TTL(ctx, "session:"+id).Val(); ttl <= 7190*time.Second || ttl > 7200*time.Second {
		t.Errorf("TTL = %v, want 7200 s", ttl)
	}

	// A second sign-in gets a fresh id.
	c2, id2 := signIn(t, st)
	_ = c2
	if id2 == id {
		t.Error("two sign-ins share a session id")
	}

	home := get(t, st, c, "/")
	if home.status != http.StatusOK {
		t.Fatalf("home: %d", home.status)
	}
	for _, want := range []string{`data-testid="current-user">root@pam<`, `id="pve-version">Proxmox VE 9.1`, `data-node="pve1"`, `Sign out`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
}

func TestSecureCookieFlag(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	cfg := st.Config
	cfg.CookieSecure = true
	rec := loginWithConfig(t, cfg)
	sc := rec.Header().Get("Set-Cookie")
	if !strings.Contains(sc, "; Secure") {
		t.Errorf("Set-Cookie %q lacks Secure", sc)
	}
	if !strings.Contains(rec.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS with Secure cookies")
	}
}

func TestRedirectAfterSignIn(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	cases := []struct {
		name, next, want string
	}{
		{"local path", "/nodes?x=1", "/nodes?x=1"},
		{"root", "/", "/"},
		{"empty", "", "/"},
		{"protocol-relative", "//evil.example/", "/"},
		{"backslash", `/\evil.example`, "/"},
		{"absolute", "https://evil.example/", "/"},
		{"scheme", "javascript:alert(1)", "/"},
		{"no slash", "evil.example", "/"},
		{"encoded newline", "/x\r\nLocation: //evil", "/"},
		{"login loop", "/login", "/"},
		{"triple slash", "///evil.example", "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := st.Client(t)
			r := postForm(t, st, c, "/login", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {rootPassword}, "next": {tc.next}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("status %d", r.status)
			}
			if got := r.header.Get("Location"); got != tc.want {
				t.Errorf("Location = %q, want %q", got, tc.want)
			}
		})
	}

	// A page asked for before sign-in is remembered in the login URL.
	c := st.Client(t)
	r := get(t, st, c, "/some/page?q=1")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fsome%2Fpage%3Fq%3D1" {
		t.Fatalf("unauthenticated page: %d %q", r.status, r.header.Get("Location"))
	}
	page := get(t, st, c, r.header.Get("Location"))
	if !strings.Contains(page.body, `name="next" value="/some/page?q=1"`) {
		t.Error("login form does not carry next")
	}
}

func TestSignInFailures(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	t.Run("wrong password", func(t *testing.T) {
		r := login(t, st, st.Client(t), "root", "pve", "wrong-password")
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Invalid credentials") {
			t.Fatalf("status %d, body lacks message", r.status)
		}
		if !strings.Contains(r.body, `value="root"`) || !strings.Contains(r.body, `<option value="pve" selected>`) {
			t.Error("username or realm not kept")
		}
		if strings.Contains(r.body, "wrong-password") {
			t.Error("password echoed back")
		}
		if setCookieHeader(t, r) != "" {
			t.Error("failed sign-in set a cookie")
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		r := login(t, st, st.Client(t), "nobody", "pve", "x")
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Invalid credentials") {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("name with realm is not doubled", func(t *testing.T) {
		c := st.Client(t)
		r := login(t, st, c, "root@pam", "pve", rootPassword)
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("session store down", func(t *testing.T) {
		st := apptest.Start(t, apptest.Options{})
		st.Redis.Stop(t)
		r := login(t, st, st.Client(t), "root", "pam", rootPassword)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Session service unavailable") {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("PVE unreachable", func(t *testing.T) {
		st := apptest.Start(t, apptest.Options{MemorySessions: true})
		_ = st.SimServer.Close()
		r := login(t, st, st.Client(t), "root", "pam", rootPassword)
		if r.status != http.StatusBadGateway || !strings.Contains(r.body, "Unable to reach Proxmox server") {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("certificate not trusted", func(t *testing.T) {
		st := apptest.Start(t, apptest.Options{MemorySessions: true})
		cfg := st.Config
		cfg.TLSFingerprint = strings.Repeat("AB:", 31) + "AB"
		rec := loginWithConfig(t, cfg)
		if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "certificate is not trusted") {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}

func TestInvalidInputIsRejectedBeforePVE(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	cases := []struct {
		name     string
		form     url.Values
		fieldErr string
		message  string
	}{
		{"empty username", url.Values{"username": {""}, "realm": {"pam"}, "password": {"x"}}, "username-error", "Enter your user name."},
		{"blank username", url.Values{"username": {"   "}, "realm": {"pam"}, "password": {"x"}}, "username-error", "Enter your user name."},
		{"long username", url.Values{"username": {strings.Repeat("a", 65)}, "realm": {"pam"}, "password": {"x"}}, "username-error", "at most 64 characters"},
		{"control character", url.Values{"username": {"ro\x00ot"}, "realm": {"pam"}, "password": {"x"}}, "username-error", "not allowed"},
		{"tab", url.Values{"username": {"ro\tot"}, "realm": {"pam"}, "password": {"x"}}, "username-error", "not allowed"},
		{"empty password", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {""}}, "password-error", "Enter your password."},
		{"unknown realm", url.Values{"username": {"root"}, "realm": {"ldap"}, "password": {"x"}}, "realm-error", "Choose one of the offered realms."},
		{"missing realm", url.Values{"username": {"root"}, "password": {"x"}}, "realm-error", "Choose one of the offered realms."},
		{"unknown realm after @", url.Values{"username": {"root@nowhere"}, "realm": {"pam"}, "password": {"x"}}, "username-error", "not one this server offers"},
		{"dangling @", url.Values{"username": {"root@"}, "realm": {"pam"}, "password": {"x"}}, "username-error", "name@realm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Sim.Calls(http.MethodPost, "/access/ticket")
			r := postForm(t, st, st.Client(t), "/login", tc.form)
			if r.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", r.status)
			}
			if !strings.Contains(r.body, `id="`+tc.fieldErr+`"`) || !strings.Contains(r.body, tc.message) {
				t.Errorf("no %s with %q", tc.fieldErr, tc.message)
			}
			if n := st.Sim.Calls(http.MethodPost, "/access/ticket") - before; n != 0 {
				t.Errorf("PVE sign-in was called %d times", n)
			}
		})
	}
}

func TestProtectedPages(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	ctx := context.Background()

	tampered := func(t *testing.T, c *http.Client) {
		ck := sessionCookie(t, st, c)
		b := []byte(ck.Value)
		b[len(b)/2] ^= 0x01
		if b[len(b)/2] == '/' || b[len(b)/2] == '+' {
			b[len(b)/2] = 'A'
		}
		setJarCookie(t, st, c, string(b))
	}
	cases := []struct {
		name   string
		break_ func(t *testing.T, c *http.Client, id string)
	}{
		{"no cookie", func(t *testing.T, c *http.Client, id string) { setJarCookie(t, st, c, "") }},
		{"tampered cookie", func(t *testing.T, c *http.Client, id string) { tampered(t, c) }},
		{"truncated cookie", func(t *testing.T, c *http.Client, id string) {
			v := sessionCookie(t, st, c).Value
			setJarCookie(t, st, c, v[:len(v)-5])
		}},
		{"foreign cookie", func(t *testing.T, c *http.Client, id string) {
			other, err := session.NewCodec("another-secret-another-secret-another")
			if err != nil {
				t.Fatal(err)
			}
			v, _ := other.Encode(id)
			setJarCookie(t, st, c, v)
		}},
		{"session deleted from Redis", func(t *testing.T, c *http.Client, id string) {
			st.RDB.Del(ctx, "session:"+id)
		}},
		{"session expired", func(t *testing.T, c *http.Client, id string) {
			raw := st.RDB.Get(ctx, "session:"+id).Val()
			var m map[string]any
			_ = json.Unmarshal([]byte(raw), &m)
			m["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			b, _ := json.Marshal(m)
			st.RDB.Set(ctx, "session:"+id, b, time.Hour)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, id := signIn(t, st)
			tc.break_(t, c, id)
			r := get(t, st, c, "/")
			want := "/login"
			if tc.name == "session expired" {
				want = "/login?reason=expired"
			}
			if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
				t.Fatalf("browser: status %d location %q", r.status, r.header.Get("Location"))
			}
			if tc.name != "no cookie" {
				if sc := setCookieHeader(t, r); !strings.Contains(sc, "Max-Age=0") {
					t.Errorf("stale cookie not cleared: %q", sc)
				}
			}
			// The login page then loads (no loop).
			if lp := get(t, st, c, "/login"); lp.status != http.StatusOK {
				t.Errorf("login page: %d", lp.status)
			}
			// Scripts get 401.
			c2, _ := signIn(t, st)
			_ = c2
			req, _ := http.NewRequest(http.MethodGet, st.URL+"/", nil)
			req.Header.Set("Accept", "application/json")
			if ck := sessionCookie(t, st, c); ck != nil {
				req.AddCookie(ck)
			}
			if r := do(t, &http.Client{}, req); r.status != http.StatusUnauthorized {
				t.Errorf("script: status %d, want 401", r.status)
			}
		})
	}
}

func setJarCookie(t *testing.T, st *apptest.Stack, c *http.Client, value string) {
	t.Helper()
	u, _ := url.Parse(st.URL)
	ck := &http.Cookie{Name: "lxc-session", Value: value, Path: "/"}
	if value == "" {
		ck.MaxAge = -1
	}
	c.Jar.SetCookies(u, []*http.Cookie{ck})
}

func TestSignedInLoginPageRedirects(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	c, _ := signIn(t, st)
	r := get(t, st, c, "/login")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
	}
}

func TestTicketRefusedByPVEEndsSession(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Now: clock.Now}})
	c, id := signIn(t, st)
	clock.Advance(2*time.Hour + time.Minute)
	r := get(t, st, c, "/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?reason=expired" {
		t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
	}
	if n := st.RDB.Exists(context.Background(), "session:"+id).Val(); n != 0 {
		t.Error("session still in Redis")
	}
	lp := get(t, st, c, r.header.Get("Location"))
	if !strings.Contains(lp.body, "Your session has expired. Please sign in again.") {
		t.Error("login page lacks the expiry message")
	}
}

func TestLogout(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	c, id := signIn(t, st)
	old := sessionCookie(t, st, c)
	r := postForm(t, st, c, "/logout", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
	}
	if sc := setCookieHeader(t, r); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("cookie not cleared: %q", sc)
	}
	if st.RDB.Exists(context.Background(), "session:"+id).Val() != 0 {
		t.Error("session still in Redis after sign-out")
	}
	// Replaying the old cookie gets nowhere.
	req, _ := http.NewRequest(http.MethodGet, st.URL+"/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(old)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r := do(t, noFollow, req); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("replayed cookie: %d %q", r.status, r.header.Get("Location"))
	}
	// Signing out again, without a session, still works.
	if r := postForm(t, st, st.Client(t), "/logout", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("sign-out without session: %d", r.status)
	}
}

func TestCrossSitePostChangesNothing(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	c, id := signIn(t, st)
	for _, path := range []string{"/logout", "/login"} {
		before := st.Sim.Requests()
		req, _ := http.NewRequest(http.MethodPost, st.URL+path, strings.NewReader("username=root&realm=pam&password="+rootPassword))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		r := do(t, c, req)
		if r.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", path, r.status)
		}
		if setCookieHeader(t, r) != "" {
			t.Errorf("%s: cross-site POST set a cookie", path)
		}
		if st.Sim.Requests() != before {
			t.Errorf("%s: cross-site POST reached PVE", path)
		}
	}
	if st.RDB.Exists(context.Background(), "session:"+id).Val() != 1 {
		t.Error("cross-site sign-out deleted the session")
	}
}

func TestRedisOutageAndRecovery(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	c, _ := signIn(t, st)
	st.Redis.Stop(t)
	r := get(t, st, c, "/")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Session service unavailable") {
		t.Fatalf("with Redis down: status %d", r.status)
	}
	if !regexp.MustCompile(`id="request-id">[0-9a-f]{16}<`).MatchString(r.body) {
		t.Error("error page lacks the request id")
	}
	st.Redis.Restart(t)
	// The restarted Redis kept nothing (no persistence): the person signs
	// in again, and the same server process works without a restart.
	r = get(t, st, c, "/")
	if r.status != http.StatusSeeOther {
		t.Fatalf("after restart: %d", r.status)
	}
	c2, _ := signIn(t, st)
	if r := get(t, st, c2, "/"); r.status != http.StatusOK {
		t.Fatalf("after restart, home: %d", r.status)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	const password = "Very-Secret-Pass-42"
	st.Sim.SetUser(pvesim.User{ID: "carol@pve", Password: password})
	c := st.Client(t)
	if r := login(t, st, c, "carol", "pve", password); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.status)
	}
	id := sessionID(t, st, c)
	var stored session.Session
	err := json.Unmarshal([]byte(st.RDB.Get(context.Background(), "session:"+id).Val()), &stored)
	if err != nil {
		t.Fatal(err)
	}
	cookie := sessionCookie(t, st, c).Value
	if stored.Ticket, err = st.Codec.OpenField(id, "ticket", stored.Ticket); err != nil {
		t.Fatal(err)
	}
	if stored.CSRFToken, err = st.Codec.OpenField(id, "csrfToken", stored.CSRFToken); err != nil {
		t.Fatal(err)
	}
	get(t, st, c, "/")
	login(t, st, st.Client(t), "carol", "pve", "not-the-password-secret")
	postForm(t, st, c, "/logout", nil)
	logs := st.Logs.String()
	for name, secret := range map[string]string{
		"password": password, "wrong password": "not-the-password-secret", "session id": id,
		"cookie": cookie, "ticket": stored.Ticket, "CSRF token": stored.CSRFToken,
	} {
		if secret == "" || strings.Contains(logs, secret) {
			t.Errorf("logs contain the %s (or it is empty)", name)
		}
	}
	for _, want := range []string{`msg="audit: sign-in"`, `msg="audit: sign-in failed"`, `msg="audit: sign-out"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}
