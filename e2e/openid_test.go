package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

const ssoLabel = "Single sign-on (OpenID Connect)"

func ssoStack(t *testing.T) *apptest.Stack {
	t.Helper()
	return apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
}

// chooseSSO opens the sign-in page, chooses the OpenID realm as a person
// does (the change event included) and presses the button, which takes
// the browser to the simulator's provider.
func chooseSSO(t *testing.T, b *browser, st *apptest.Stack) {
	t.Helper()
	b.do(t,
		chromedp.Navigate(st.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SetValue(chromedp.CSS("#realm"), "sso"),
	)
	eval[bool](t, b, `document.querySelector('#realm').dispatchEvent(new Event('change'))`)
	if got := b.text(t, "#sign-in"); got != "Sign in with "+ssoLabel {
		t.Errorf("button %q", got)
	}
	for _, id := range []string{"username", "password", "remember"} {
		if visible := eval[bool](t, b, `document.getElementById('`+id+`').offsetParent !== null`); visible {
			t.Errorf("#%s is visible with an OpenID realm", id)
		}
	}
	b.do(t, chromedp.Click(chromedp.CSS("#sign-in")), chromedp.WaitVisible(chromedp.CSS("#idp-form")))
	if loc := b.location(t); !strings.HasPrefix(loc, st.SimServer.OpenID.URL+"/authorize?") {
		t.Fatalf("at %s, not at the provider", loc)
	}
}

// atProvider signs in with the provider's form outside the browser, from
// the request the browser's tab shows, and returns the URL the provider
// sends back to (so the test holds the callback URL).
func atProvider(t *testing.T, b *browser, user, password string) string {
	t.Helper()
	u, err := url.Parse(b.location(t))
	if err != nil {
		t.Fatal(err)
	}
	form := u.Query()
	form.Set("username", user)
	form.Set("password", password)
	form.Set("signin", "1")
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func expectExpired(t *testing.T, b *browser, callbackURL string) {
	t.Helper()
	b.do(t, chromedp.Navigate(callbackURL), chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text(t, "#login-error"); got != "This sign-in link has expired; start again." {
		t.Errorf("message %q", got)
	}
}

// The whole way through the browser: the provider (on localhost) is
// another site than the dashboard (on 127.0.0.1), as in real life, so
// the flow cookie must survive a cross-site return and the session
// cookie must be sent after it.
func TestOpenIDSignInAtTheProvider(t *testing.T) {
	st := ssoStack(t)
	b := newBrowser(t)
	chooseSSO(t, b, st)
	b.screenshot(t, "openid-provider")
	b.do(t,
		chromedp.SendKeys(chromedp.CSS("#idp-username"), "dana"),
		chromedp.SendKeys(chromedp.CSS("#idp-password"), "dana-pass"),
		chromedp.Click(chromedp.CSS("#idp-signin")),
		// Signed in, or back at the form (a cookie the browser withheld).
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"], #login-form`)),
	)
	if eval[bool](t, b, `!!document.querySelector('#login-form')`) {
		t.Fatalf("back at the sign-in form (%s): %q", b.location(t), eval[string](t, b, `(document.querySelector('#login-error') || {}).textContent || ''`))
	}
	if got := b.text(t, `[data-testid="current-user"]`); got != "dana@sso" {
		t.Errorf("signed in as %q", got)
	}
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	if loc := b.location(t); loc != st.URL+"/" {
		t.Errorf("landed at %s", loc)
	}
	// dana audits pool prod: its containers, not dev's.
	if got := b.text(t, "#containers"); !strings.Contains(got, "db-main") || strings.Contains(got, "ci-runner-1") {
		t.Errorf("container list %q", got)
	}
	// The session is one like any other: on the Sessions page.
	b.do(t, chromedp.Navigate(st.URL+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	if n := eval[float64](t, b, `document.querySelectorAll('#sessions tbody tr').length`); n != 1 {
		t.Errorf("%v sessions listed", n)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestOpenIDCancelAtTheProvider(t *testing.T) {
	st := ssoStack(t)
	b := newBrowser(t)
	chooseSSO(t, b, st)
	b.do(t, chromedp.Click(chromedp.CSS("#idp-cancel")), chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text(t, "#login-error"); got != "Sign-in was cancelled at "+ssoLabel+"." {
		t.Errorf("message %q", got)
	}
	if n := st.Sim.Calls(http.MethodPost, "/access/openid/login"); n != 0 {
		t.Errorf("PVE asked %d times", n)
	}
}

func TestOpenIDReplayedCallbackRefused(t *testing.T) {
	st := ssoStack(t)
	b := newBrowser(t)
	chooseSSO(t, b, st)
	cb := atProvider(t, b, "dana", "dana-pass")
	b.do(t, chromedp.Navigate(cb), chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)))
	expectExpired(t, b, cb)
	// Refused before PVE; the session from the first use stands.
	if n := st.Sim.Calls(http.MethodPost, "/access/openid/login"); n != 1 {
		t.Errorf("PVE asked %d times", n)
	}
	b.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)))
}

func TestOpenIDCallbackInAnotherBrowserRefused(t *testing.T) {
	st := ssoStack(t)
	started, other := newBrowser(t), newBrowser(t)
	chooseSSO(t, started, st)
	cb := atProvider(t, started, "dana", "dana-pass")
	expectExpired(t, other, cb)
	if n := st.Sim.Calls(http.MethodPost, "/access/openid/login"); n != 0 {
		t.Errorf("PVE asked %d times for another browser's callback", n)
	}
	other.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	// The browser that started the sign-in finishes it.
	started.do(t, chromedp.Navigate(cb), chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)))
	if got := started.text(t, `[data-testid="current-user"]`); got != "dana@sso" {
		t.Errorf("signed in as %q", got)
	}
}
