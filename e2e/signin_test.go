package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

func tfaStack(t *testing.T) (*apptest.Stack, *pvesim.ManualClock) {
	t.Helper()
	clock := pvesim.NewManualClock(time.Now())
	return apptest.Start(t, apptest.Options{Now: clock.Now, Sim: pvesim.Options{Scenario: "demo", Now: clock.Now}}), clock
}

func enterCode(t *testing.T, b *browser, code string) {
	t.Helper()
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("#tfa-form")),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("#verify")),
	)
}

func TestTOTPSignIn(t *testing.T) {
	st, clock := tfaStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "bob", "pve", "bob-pass")
	enterCode(t, b, "000000")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#tfa-error")))
	if got := b.text(t, "#tfa-error"); got != "Invalid verification code" {
		t.Errorf("wrong code message %q", got)
	}
	b.screenshot(t, "tfa")
	code, err := totp.GenerateCode(pvesim.DemoTOTPSecret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	enterCode(t, b, code)
	b.do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)))
	if got := b.text(t, `[data-testid="current-user"]`); got != "bob@pve" {
		t.Errorf("signed in as %q", got)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestRecoveryKeyWorksOnce(t *testing.T) {
	st, _ := tfaStack(t)
	key := pvesim.DemoRecoveryKeys()[5]
	for attempt, want := range []string{"signed in", "refused"} {
		b := newBrowser(t)
		signIn(t, b, st, "bob", "pve", "bob-pass")
		// Wait for the recovery form itself: #tfa-form is on the code form
		// too, and typing into it before the switch lands loses the key.
		b.do(t, chromedp.WaitVisible(chromedp.CSS("#use-recovery")), chromedp.Click(chromedp.CSS("#use-recovery")),
			chromedp.WaitVisible(chromedp.CSS("#use-totp")))
		enterCode(t, b, key)
		if want == "signed in" {
			b.do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)))
			continue
		}
		b.do(t, chromedp.WaitVisible(chromedp.CSS("#tfa-error")))
		if got := b.text(t, "#tfa-error"); got != "Invalid verification code" {
			t.Errorf("attempt %d: %q", attempt+1, got)
		}
	}
}

func TestRealmListComesFromPVE(t *testing.T) {
	st, _ := tfaStack(t)
	b := newBrowser(t)
	b.do(t, chromedp.Navigate(st.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#realm")))
	got := eval[[]any](t, b, `Array.from(document.querySelectorAll('#realm option')).map(o => o.value + '=' + o.textContent + (o.selected ? '*' : ''))`)
	joined := ""
	for _, g := range got {
		joined += g.(string) + "|"
	}
	for _, want := range []string{"pam=Linux PAM standard authentication*", "pve=Proxmox VE authentication server", "corp=Corporate directory (LDAP)", "sso=Single sign-on (OpenID Connect)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("realm options %q lack %q", joined, want)
		}
	}
}

func TestThrottlingAfterRepeatedFailures(t *testing.T) {
	st, _ := tfaStack(t)
	b := newBrowser(t)
	for range 5 {
		signIn(t, b, st, "alice", "pve", "wrong")
		b.do(t, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	}
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := b.text(t, "#login-error"); !strings.HasPrefix(got, "Too many failed sign-in attempts. Try again in ") {
		t.Errorf("message %q", got)
	}
}

func TestRenewalAcrossTwoHoursAndSignOutEverywhere(t *testing.T) {
	st, clock := tfaStack(t)
	b := newBrowser(t)
	other := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	signIn(t, other, st, "root", "pam", "proxmox")
	other.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	before := st.Sim.Calls("POST", "/access/ticket")
	for range 4 { // 4 × 45 min: past the ticket's 2 hours
		clock.Advance(45 * time.Minute)
		b.do(t, chromedp.Navigate(st.URL+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	}
	if n := st.Sim.Calls("POST", "/access/ticket") - before; n < 2 {
		t.Errorf("%d ticket renewals in 3 hours of activity", n)
	}
	// The other browser idled past its ticket's lifetime: its session ended.
	if n := eval[float64](t, b, `document.querySelectorAll('#sessions tbody tr').length`); n != 1 {
		t.Errorf("%v sessions listed, want 1", n)
	}
	b.do(t, chromedp.Click(chromedp.CSS("#logout-all")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	other.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// cspWatch follows a tab's console in order, from when it is made. Its
// check plants a violation of its own on the current page (an inline script
// the policy must block) and reads the console up to that violation's
// report: any other CSP report before it is the page's, and a planted
// violation that is never reported means the check is blind.
type cspWatch struct {
	mu      sync.Mutex
	msgs    []chromedp.ConsoleMessage
	more    chan struct{} // signalled when msgs grows
	read    int           // msgs already checked
	planted int
}

func watchCSP(t *testing.T, b *browser) *cspWatch {
	t.Helper()
	w := &cspWatch{more: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(b.ctx)
	t.Cleanup(cancel)
	seq := chromedp.Console(ctx) // subscribed from here on
	go func() {
		for m, err := range seq {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.msgs = append(w.msgs, m)
			w.mu.Unlock()
			select {
			case w.more <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

// check reports the CSP violations of the page shown now, named page.
func (w *cspWatch) check(t *testing.T, b *browser, page string) {
	t.Helper()
	w.planted++
	marker := fmt.Sprintf("planted-%d", w.planted)
	script := "window.cspPlanted = " + strconv.Quote(marker) + ";"
	sum := sha256.Sum256([]byte(script))
	hash := "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	ran := eval[bool](t, b, `(() => {
		const s = document.createElement('script');
		s.textContent = `+strconv.Quote(script)+`;
		document.body.appendChild(s);
		return window.cspPlanted === `+strconv.Quote(marker)+`;
	})()`)
	if ran {
		t.Fatalf("%s: an injected inline script ran: the page's CSP does not hold", page)
	}
	deadline := time.After(15 * time.Second)
	for {
		w.mu.Lock()
		fresh := w.msgs[w.read:]
		w.read = len(w.msgs)
		w.mu.Unlock()
		for _, m := range fresh {
			if !strings.Contains(m.Text, "Content Security Policy") && !strings.Contains(m.Text, "Content-Security-Policy") {
				continue
			}
			if strings.Contains(m.Text, hash) {
				return // the page's own reports, if any, came before
			}
			t.Errorf("%s: CSP violation: %s", page, m.Text)
		}
		select {
		case <-w.more:
		case <-deadline:
			t.Fatalf("%s: the planted CSP violation was not reported within 15 s: this check cannot see violations", page)
		}
	}
}

// TestNoCSPViolationsOnAnyPage visits every page (signed in, signed out, the
// confirmation and task pages, the second sign-in step) and checks each for
// CSP reports. Each check first proves, with a violation planted on that
// page, that a report would be seen.
func TestNoCSPViolationsOnAnyPage(t *testing.T) {
	st, _ := tfaStack(t)
	b := newBrowser(t)
	csp := watchCSP(t, b)
	b.do(t, chromedp.Navigate(st.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	csp.check(t, b, "/login")
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	csp.check(t, b, "/ after sign-in")
	vmid := eval[string](t, b, `document.querySelector('tr[data-status="running"] [data-testid="action-stop"]').closest('tr').dataset.vmid`)
	node := eval[string](t, b, `document.querySelector('tr[data-vmid="`+vmid+`"] a.ct-link').getAttribute('href').split('/')[2]`)
	pages := []string{"/", "/?q=web&sort=name&dir=desc", "/sessions", "/no-such-page", "/login?reason=expired"}
	for _, p := range pages {
		b.do(t, chromedp.Navigate(st.URL+p), chromedp.WaitReady(chromedp.CSS("body")))
		csp.check(t, b, p)
	}
	// The confirmation page (a form POST without script), then the task page.
	b.do(t, chromedp.Navigate(st.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#containers")))
	eval[bool](t, b, `(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/containers/`+node+`/`+vmid+`/stop'; document.body.appendChild(f); HTMLFormElement.prototype.submit.call(f); return true; })()`)
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#confirm")))
	csp.check(t, b, "the stop confirmation")
	b.do(t, chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#task-message")))
	csp.check(t, b, "the task page")
	// Sign out, then the TFA form.
	b.do(t, chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	csp.check(t, b, "/login after sign-out")
	signIn(t, b, st, "bob", "pve", "bob-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#tfa-form")))
	csp.check(t, b, "the second sign-in step")
}

func TestRememberUserName(t *testing.T) {
	st, _ := tfaStack(t)
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(st.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SetValue(chromedp.CSS("#realm"), "pve"),
		chromedp.SendKeys(chromedp.CSS("#password"), "alice-pass"),
		chromedp.Click(chromedp.CSS("#remember")),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)),
		chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	user := eval[string](t, b, `document.querySelector('#username').value`)
	realm := eval[string](t, b, `document.querySelector('#realm').value`)
	checked := eval[bool](t, b, `document.querySelector('#remember').checked`)
	if user != "alice" || realm != "pve" || !checked {
		t.Errorf("remembered %q@%q (checked %v)", user, realm, checked)
	}
	if stored := eval[string](t, b, `JSON.stringify(window.localStorage)`); strings.Contains(stored, "alice-pass") {
		t.Error("the password was stored in the browser")
	}
	// Unticking forgets the name.
	b.do(t,
		chromedp.Click(chromedp.CSS("#remember")),
		chromedp.SendKeys(chromedp.CSS("#password"), "alice-pass"),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)),
		chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	if user := eval[string](t, b, `document.querySelector('#username').value`); user != "" {
		t.Errorf("name still remembered: %q", user)
	}
}

// guessFrom sends one wrong password for user@realm from the loopback
// address ip and returns the status.
func guessFrom(t *testing.T, st *apptest.Stack, ip, user, realm, password string) int {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"username": {user}, "realm": {realm}, "password": {password}}
	resp, err := c.PostForm(st.URL+"/login", form)
	if err != nil {
		t.Fatalf("guess from %s: %v", ip, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A browser that signed in before keeps signing in while guessers at many
// addresses have used up the account's attempts: the device cookie works
// as set (HttpOnly, SameSite=Strict) in a real browser.
func TestKnownBrowserSignsInDuringAttack(t *testing.T) {
	st, _ := tfaStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)),
		chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#login-form")))

	held := false
	for a := 10; a < 40 && !held; a++ {
		for range 5 {
			s := guessFrom(t, st, fmt.Sprintf("127.0.1.%d", a), "alice", "pve", "wrong")
			if s == http.StatusTooManyRequests {
				held = true
				break
			}
			if s != http.StatusUnauthorized {
				t.Fatalf("guess: %d", s)
			}
		}
	}
	if !held {
		t.Fatal("the account-wide limit never held")
	}
	if s := guessFrom(t, st, "127.0.0.4", "alice", "pve", "alice-pass"); s != http.StatusTooManyRequests {
		t.Errorf("a fresh browser during the attack: %d, want 429", s)
	}
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"], #login-error`)))
	if msg := eval[string](t, b, `document.querySelector('#login-error')?.textContent ?? ''`); msg != "" {
		t.Fatalf("the known browser was refused: %q", strings.TrimSpace(msg))
	}
	if got := b.text(t, `[data-testid="current-user"]`); got != "alice@pve" {
		t.Errorf("signed in as %q", got)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}
