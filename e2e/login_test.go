// Package e2e drives the dashboard in Debian's Chromium through chromedp,
// against the real server, the Proxmox VE simulator and Redis, all started
// in-process by apptest.
package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

func signIn(t *testing.T, b *browser, st *apptest.Stack, user, realm, password string) {
	t.Helper()
	b.do(t,
		chromedp.Navigate(st.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	// The page's script (deferred) must have run before the form is used,
	// or a busy machine submits it without the script's handlers.
	waitFor(t, b, `document.readyState === "complete"`)
	b.do(t,
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SetValue(chromedp.CSS("#realm"), realm),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#sign-in")),
	)
}

func TestSignInSeeHomeAndSignOut(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	b := newBrowser(t)
	b.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if got := b.text(t, "#login-title"); got != "LXC Manager" {
		t.Errorf("card title %q", got)
	}
	if got := b.text(t, ".card-description"); got != "Sign in with your Proxmox VE credentials" {
		t.Errorf("description %q", got)
	}
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil || focused != "username" {
		t.Errorf("focused element %q, %v", focused, err)
	}
	b.screenshot(t, "login")

	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)))
	if got := b.text(t, `[data-testid="current-user"]`); got != "root@pam" {
		t.Errorf("user shown %q", got)
	}
	if got := b.text(t, "#pve-version"); !strings.HasPrefix(got, "Proxmox VE 9.") {
		t.Errorf("PVE version shown %q", got)
	}
	if got := b.text(t, "#nodes"); !strings.Contains(got, "pve1") {
		t.Errorf("nodes table %q lacks pve1", got)
	}
	b.screenshot(t, "home")

	b.do(t, chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := b.location(t); !strings.HasSuffix(loc, "/login") {
		t.Errorf("after sign-out at %s", loc)
	}
	// The session is gone: the home page sends the browser back to sign-in.
	b.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestWrongPasswordShowsInvalidCredentials(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	b := newBrowser(t)
	signIn(t, b, st, "root", "pve", "wrong")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text(t, "#login-error"); got != "Invalid credentials" {
		t.Errorf("message %q", got)
	}
	user, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#username")))
	if err != nil || user != "root" {
		t.Errorf("username kept as %q, %v", user, err)
	}
	realm, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#realm")))
	if err != nil || realm != "pve" {
		t.Errorf("realm kept as %q, %v", realm, err)
	}
	pw, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#password")))
	if err != nil || pw != "" {
		t.Errorf("password not emptied: %q, %v", pw, err)
	}
}

func TestSimulatorStoppedShowsUnreachable(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	_ = st.SimServer.Close()
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text(t, "#login-error"); got != "Unable to reach Proxmox server" {
		t.Errorf("message %q", got)
	}
}

func TestPendingStateWhileSigningIn(t *testing.T) {
	// PVE holds a refused sign-in; the simulator does too, which leaves
	// time to see the pending button.
	st := apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{AuthFailureDelay: 4 * time.Second}})
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "wrong")
	// While PVE holds the answer the button shows the pending state (waited
	// for: on a busy machine the first look may come before the click's
	// handler ran).
	waitFor(t, b, `(() => { const b = document.querySelector('#sign-in'); return !!b && b.textContent === "Signing in..." && b.disabled; })()`)
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text(t, "#sign-in"); got != "Sign in" {
		t.Errorf("button after the answer: %q", got)
	}
}
