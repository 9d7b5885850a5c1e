package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

const (
	ssoLabel      = "Single sign-on (OpenID Connect)"
	msgExpired    = "This sign-in link has expired; start again."
	authURLRoute  = "/access/openid/auth-url"
	oidLoginRoute = "/access/openid/login"
)

var handoverRe = regexp.MustCompile(`id="handover-continue" href="([^"]+)"`)

// handoverURL is where a hand-over page sends the browser.
func handoverURL(t *testing.T, r result) string {
	t.Helper()
	m := handoverRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no hand-over page (%d): %s", r.status, r.body)
	}
	u := html.UnescapeString(m[1])
	if !strings.Contains(r.body, `<meta http-equiv="refresh" content="0;url=`+m[1]+`">`) {
		t.Errorf("the hand-over page does not move on by itself: %s", r.body)
	}
	return u
}

// openidStart submits the sign-in form with realm sso and returns the
// provider's URL.
func openidStart(t *testing.T, st *apptest.Stack, c *http.Client, form url.Values) string {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("realm") {
		form.Set("realm", "sso")
	}
	r := postForm(t, st, c, "/login", form)
	if r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	return handoverURL(t, r)
}

// atProvider submits the provider's sign-in form for the request in
// providerURL and returns the URL it sends the browser back to.
func atProvider(t *testing.T, providerURL string, form url.Values) string {
	t.Helper()
	u, err := url.Parse(providerURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range form {
		q[k] = v
	}
	browser := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(u.Scheme+"://"+u.Host+u.Path, q)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func providerSignIn(t *testing.T, providerURL, user, password string) string {
	t.Helper()
	return atProvider(t, providerURL, url.Values{"username": {user}, "password": {password}, "signin": {"1"}})
}

// callback follows the provider's redirect in c.
func callback(t *testing.T, st *apptest.Stack, c *http.Client, to string) result {
	t.Helper()
	if !strings.HasPrefix(to, st.URL+"/login/openid?") {
		t.Fatalf("the provider sent the browser to %s", to)
	}
	return get(t, st, c, strings.TrimPrefix(to, st.URL))
}

func flowCookieHeader(r result) string {
	for _, v := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "lxc-openid=") {
			return v
		}
	}
	return ""
}

func oidCalls(st *apptest.Stack, route string) int64 { return st.Sim.Calls(http.MethodPost, route) }

func ssoStack(t *testing.T, opts apptest.Options) *apptest.Stack {
	t.Helper()
	opts.Sim.Scenario = "demo"
	return apptest.Start(t, opts)
}

func TestOpenIDSignIn(t *testing.T) {
	for _, memory := range stores() {
		t.Run(storeName(memory), func(t *testing.T) {
			st := ssoStack(t, apptest.Options{MemorySessions: memory})
			c := st.Client(t)
			r := postForm(t, st, c, "/login", url.Values{"realm": {"sso"}, "next": {"/sessions"}})
			ck := flowCookieHeader(r)
			for _, want := range []string{"HttpOnly", "SameSite=Lax", "Max-Age=600", "Path=/"} {
				if !strings.Contains(ck, want) {
					t.Errorf("flow cookie %q lacks %s", ck, want)
				}
			}
			providerURL := handoverURL(t, r)
			if !strings.HasPrefix(providerURL, st.SimServer.OpenID.URL+"/authorize?") ||
				!strings.Contains(providerURL, "redirect_uri="+url.QueryEscape(st.URL+"/login/openid")) {
				t.Errorf("sent to %s", providerURL)
			}
			to := providerSignIn(t, providerURL, "dana", "dana-pass")
			res := callback(t, st, c, to)
			if res.status != http.StatusOK || handoverURL(t, res) != "/sessions" || setCookieHeader(t, res) == "" {
				t.Fatalf("callback: %d %s", res.status, res.body)
			}
			if ck := flowCookieHeader(res); !strings.Contains(ck, "Max-Age=0") {
				t.Errorf("flow cookie not cleared: %q", ck)
			}
			page := get(t, st, c, "/sessions")
			if page.status != http.StatusOK || !strings.Contains(page.body, `data-testid="current-user">dana@sso<`) {
				t.Errorf("sessions page: %d", page.status)
			}
			if n := oidCalls(st, oidLoginRoute); n != 1 {
				t.Errorf("openid/login called %d times", n)
			}
			logs := st.Logs.String()
			if !strings.Contains(logs, `msg="audit: sign-in" `) || !strings.Contains(logs, "user=dana@sso") || !strings.Contains(logs, "method=openid") {
				t.Errorf("no audit line for the OpenID sign-in")
			}
			if _, err := st.Codec.Decode(sessionCookie(t, st, c).Value); err != nil {
				t.Errorf("session cookie: %v", err)
			}
			// Neither the code, nor PVE's state, nor the flow cookie is logged.
			cb, _ := url.Parse(to)
			flowValue := strings.TrimPrefix(strings.SplitN(ck, ";", 2)[0], "lxc-openid=")
			for name, secret := range map[string]string{"code": cb.Query().Get("code"), "state": cb.Query().Get("state"),
				"escaped state": url.QueryEscape(cb.Query().Get("state")), "flow cookie": flowValue} {
				if len(secret) < 16 || strings.Contains(logs, secret) {
					t.Errorf("the %s is in the logs (or too short to check: %d)", name, len(secret))
				}
			}
		})
	}
}

// A name typed as name@realm of an OpenID realm starts its flow too; an
// unsafe next falls back to /.
func TestOpenIDTypedRealmAndUnsafeNext(t *testing.T) {
	st := ssoStack(t, apptest.Options{MemorySessions: true})
	c := st.Client(t)
	providerURL := openidStart(t, st, c, url.Values{"username": {"dana@sso"}, "realm": {"pam"}, "password": {"x"}, "next": {"//evil.example/"}})
	res := callback(t, st, c, providerSignIn(t, providerURL, "dana", "dana-pass"))
	if got := handoverURL(t, res); got != "/" {
		t.Errorf("next %q", got)
	}
	if n := st.Sim.Calls(http.MethodPost, "/access/ticket"); n != 0 {
		t.Errorf("the typed password went to PVE (%d calls)", n)
	}
}

// Each refused callback is answered before PVE is asked.
func TestOpenIDCallbackRefusedBeforePVE(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := ssoStack(t, apptest.Options{Now: clock.Now, Sim: pvesim.Options{Now: clock.Now}})
	expired := func(r result) bool {
		return r.status == http.StatusUnauthorized && strings.Contains(r.body, msgExpired) && setCookieHeader(t, r) == ""
	}

	t.Run("replayed after success", func(t *testing.T) {
		c := st.Client(t)
		to := providerSignIn(t, openidStart(t, st, c, nil), "dana", "dana-pass")
		if r := callback(t, st, c, to); r.status != http.StatusOK {
			t.Fatalf("first: %d", r.status)
		}
		before := oidCalls(st, oidLoginRoute)
		if r := callback(t, st, c, to); !expired(r) {
			t.Errorf("replay: %d %s", r.status, r.body)
		}
		if r := callback(t, st, st.Client(t), to); !expired(r) {
			t.Errorf("replay elsewhere: %d", r.status)
		}
		if oidCalls(st, oidLoginRoute) != before {
			t.Error("a replayed callback reached PVE")
		}
	})

	t.Run("another browser", func(t *testing.T) {
		c := st.Client(t)
		to := providerSignIn(t, openidStart(t, st, c, nil), "dana", "dana-pass")
		before := oidCalls(st, oidLoginRoute)
		if r := callback(t, st, st.Client(t), to); !expired(r) {
			t.Errorf("other browser: %d", r.status)
		}
		if oidCalls(st, oidLoginRoute) != before {
			t.Error("another browser's callback reached PVE")
		}
		// The browser that started it still finishes it.
		if r := callback(t, st, c, to); r.status != http.StatusOK || setCookieHeader(t, r) == "" {
			t.Errorf("own browser: %d", r.status)
		}
	})

	t.Run("an attacker's code in a browser with a flow of its own", func(t *testing.T) {
		victim, attacker := st.Client(t), st.Client(t)
		own := providerSignIn(t, openidStart(t, st, victim, nil), "dana", "dana-pass")
		planted := providerSignIn(t, openidStart(t, st, attacker, nil), "frank", "frank-pass")
		before := oidCalls(st, oidLoginRoute)
		if r := callback(t, st, victim, planted); !expired(r) || flowCookieHeader(r) != "" {
			t.Errorf("planted callback: %d, flow cookie %q", r.status, flowCookieHeader(r))
		}
		if oidCalls(st, oidLoginRoute) != before {
			t.Error("a planted callback reached PVE")
		}
		if r := callback(t, st, victim, own); r.status != http.StatusOK {
			t.Errorf("the victim's own flow after the planted one: %d", r.status)
		}
	})

	t.Run("stale", func(t *testing.T) {
		c := st.Client(t)
		providerURL := openidStart(t, st, c, nil)
		to := providerSignIn(t, providerURL, "dana", "dana-pass")
		clock.Advance(10*time.Minute + time.Second)
		before := oidCalls(st, oidLoginRoute)
		if r := callback(t, st, c, to); !expired(r) {
			t.Errorf("stale: %d", r.status)
		}
		if oidCalls(st, oidLoginRoute) != before {
			t.Error("a stale callback reached PVE")
		}
	})

	t.Run("tampered cookie, no code", func(t *testing.T) {
		c := st.Client(t)
		to := providerSignIn(t, openidStart(t, st, c, nil), "dana", "dana-pass")
		u, _ := url.Parse(to)
		q := u.Query()
		q.Del("code")
		before := oidCalls(st, oidLoginRoute)
		if r := get(t, st, c, "/login/openid?"+q.Encode()); !expired(r) {
			t.Errorf("no code: %d", r.status)
		}
		bad := st.Client(t)
		base, _ := url.Parse(st.URL)
		bad.Jar.SetCookies(base, []*http.Cookie{{Name: "lxc-openid", Value: "AAAA" + strings.Repeat("x", 40), Path: "/"}})
		if r := callback(t, st, bad, to); !expired(r) {
			t.Errorf("tampered cookie: %d", r.status)
		}
		if oidCalls(st, oidLoginRoute) != before {
			t.Error("PVE was asked")
		}
	})
}

func TestOpenIDCancelledAndRefused(t *testing.T) {
	st := ssoStack(t, apptest.Options{MemorySessions: true})

	c := st.Client(t)
	to := atProvider(t, openidStart(t, st, c, nil), url.Values{"cancel": {"1"}})
	r := callback(t, st, c, to)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Sign-in was cancelled at "+ssoLabel+".") || setCookieHeader(t, r) != "" {
		t.Errorf("cancelled: %d %s", r.status, r.body)
	}
	// Another error from the provider (a request it refuses).
	c = st.Client(t)
	providerURL := openidStart(t, st, c, nil)
	r = callback(t, st, c, atProvider(t, strings.Replace(providerURL, "response_type=code", "response_type=token", 1), nil))
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, html.EscapeString(ssoLabel+" did not sign you in.")) {
		t.Errorf("provider error: %d %s", r.status, r.body)
	}
	if n := oidCalls(st, oidLoginRoute); n != 0 {
		t.Errorf("PVE asked %d times after the provider refused", n)
	}

	// PVE refuses the code: frank is unknown and autocreate is off.
	cfg, _ := st.Sim.OpenIDRealm("sso")
	cfg.Autocreate = false
	if err := st.Sim.SetOpenIDRealm("sso", cfg); err != nil {
		t.Fatal(err)
	}
	c = st.Client(t)
	r = callback(t, st, c, providerSignIn(t, openidStart(t, st, c, nil), "frank", "frank-pass"))
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Proxmox VE did not accept the sign-in through "+ssoLabel) || setCookieHeader(t, r) != "" {
		t.Errorf("PVE refused: %d %s", r.status, r.body)
	}
	if n := oidCalls(st, oidLoginRoute); n != 1 {
		t.Errorf("openid/login called %d times", n)
	}
}

func TestOpenIDStartFailures(t *testing.T) {
	t.Run("no PUBLIC_URL", func(t *testing.T) {
		st := ssoStack(t, apptest.Options{MemorySessions: true, NoPublicURL: true})
		r := postForm(t, st, st.Client(t), "/login", url.Values{"realm": {"sso"}})
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "(PUBLIC_URL) is missing") || flowCookieHeader(r) != "" {
			t.Errorf("%d %s", r.status, r.body)
		}
		if n := oidCalls(st, authURLRoute); n != 0 {
			t.Errorf("auth-url called %d times", n)
		}
	})
	t.Run("provider unreachable", func(t *testing.T) {
		st := ssoStack(t, apptest.Options{MemorySessions: true})
		_ = st.SimServer.OpenID.Close()
		c := st.Client(t)
		for i := range 7 { // more than the 5 a pair may use: given back each time
			r := postForm(t, st, c, "/login", url.Values{"realm": {"sso"}})
			if r.status != http.StatusBadGateway || !strings.Contains(r.body, "Proxmox VE could not start the sign-in through "+ssoLabel) || flowCookieHeader(r) != "" {
				t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
			}
		}
		if n := oidCalls(st, authURLRoute); n != 7 {
			t.Errorf("auth-url called %d times", n)
		}
	})
	t.Run("PVE unreachable", func(t *testing.T) {
		st := ssoStack(t, apptest.Options{MemorySessions: true})
		_ = get(t, st, st.Client(t), "/login") // the realm list is cached for a minute

		_ = st.SimServer.Close()
		r := postForm(t, st, st.Client(t), "/login", url.Values{"realm": {"sso"}})
		if r.status != http.StatusBadGateway || !strings.Contains(r.body, "Unable to reach Proxmox server") {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

func TestLoginPageMarksOpenIDRealms(t *testing.T) {
	st := ssoStack(t, apptest.Options{MemorySessions: true})
	page := get(t, st, st.Client(t), "/login")
	if !strings.Contains(page.body, `<option value="sso" data-openid>`+ssoLabel+`</option>`) ||
		!strings.Contains(page.body, `<option value="corp">Corporate directory (LDAP)</option>`) {
		t.Errorf("realm options: %s", page.body)
	}
}
