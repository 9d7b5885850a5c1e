package web_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

var stepRe = regexp.MustCompile(`name="step" value="([^"]+)"`)

// tfaStart signs in bob with his password and returns the sealed step.
func tfaStart(t *testing.T, st *apptest.Stack, c *http.Client) string {
	t.Helper()
	r := login(t, st, c, "bob", "pve", "bob-pass")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Two-factor authentication") {
		t.Fatalf("step 1: %d", r.status)
	}
	m := stepRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no step in the form")
	}
	if stepReadable(r.body, m[1]) {
		t.Fatal("the partial ticket reaches the browser readable")
	}
	if setCookieHeader(t, r) != "" {
		t.Fatal("a session cookie before the second factor")
	}
	return m[1]
}

// stepReadable reports whether the page or its step shows the partial
// ticket, plainly or under a base64 layer. (The sealed step is random
// base64, so it may hold the letters "PVE" by chance; a ticket's colon and
// bangs never appear in base64.)
func stepReadable(body, step string) bool {
	if strings.Contains(body, "PVE:") || strings.Contains(body, "!tfa!") {
		return true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(step); err == nil && (bytes.Contains(b, []byte("PVE:")) || bytes.Contains(b, []byte("!tfa!"))) {
			return true
		}
	}
	return false
}

func tfaAnswer(t *testing.T, st *apptest.Stack, c *http.Client, step, mode, code string) result {
	t.Helper()
	return postForm(t, st, c, "/login/tfa", url.Values{"step": {step}, "mode": {mode}, "code": {code}})
}

func TestTwoFactorSignIn(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := apptest.Start(t, apptest.Options{Now: clock.Now, Sim: pvesim.Options{Scenario: "demo", Now: clock.Now}})
	keys := pvesim.DemoRecoveryKeys()

	t.Run("totp", func(t *testing.T) {
		c := st.Client(t)
		step := tfaStart(t, st, c)
		if r := tfaAnswer(t, st, c, step, "totp", "12345"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "6-digit code") {
			t.Errorf("malformed code: %d", r.status)
		}
		before := st.Sim.Calls(http.MethodPost, "/access/ticket")
		wrong := tfaAnswer(t, st, c, step, "totp", "000000")
		if wrong.status != http.StatusUnauthorized || !strings.Contains(wrong.body, "Invalid verification code") {
			t.Fatalf("wrong code: %d", wrong.status)
		}
		if st.Sim.Calls(http.MethodPost, "/access/ticket") != before+1 {
			t.Error("wrong code not checked by PVE")
		}
		code, err := totp.GenerateCode(pvesim.DemoTOTPSecret, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The person retries on the same step.
		r := tfaAnswer(t, st, c, stepRe.FindStringSubmatch(wrong.body)[1], "totp", code)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("right code: %d %s", r.status, r.body)
		}
		if h := get(t, st, c, "/"); !strings.Contains(h.body, `data-testid="current-user">bob@pve<`) {
			t.Error("not signed in as bob")
		}
	})

	t.Run("recovery key works once", func(t *testing.T) {
		c := st.Client(t)
		step := tfaStart(t, st, c)
		sw := postForm(t, st, c, "/login/tfa", url.Values{"step": {step}, "switch": {"recovery"}})
		if !strings.Contains(sw.body, `id="use-totp"`) || !strings.Contains(sw.body, "Recovery key") {
			t.Fatal("no recovery form")
		}
		if r := tfaAnswer(t, st, c, step, "recovery", keys[3]); r.status != http.StatusSeeOther {
			t.Fatalf("recovery key: %d", r.status)
		}
		c2 := st.Client(t)
		step2 := tfaStart(t, st, c2)
		r := tfaAnswer(t, st, c2, step2, "recovery", keys[3])
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Invalid verification code") {
			t.Errorf("used key accepted again: %d", r.status)
		}
	})

	t.Run("tampered step", func(t *testing.T) {
		c := st.Client(t)
		step := tfaStart(t, st, c)
		bad := step[:len(step)-3] + "AAA"
		if r := tfaAnswer(t, st, c, bad, "totp", "123456"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "verification step expired") {
			t.Errorf("tampered step: %d", r.status)
		}
	})

	t.Run("step expires", func(t *testing.T) {
		c := st.Client(t)
		step := tfaStart(t, st, c)
		clock.Advance(6 * time.Minute)
		code, _ := totp.GenerateCode(pvesim.DemoTOTPSecret, clock.Now())
		if r := tfaAnswer(t, st, c, step, "totp", code); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "verification step expired") {
			t.Errorf("expired step: %d", r.status)
		}
	})
}

func TestUnsupportedSecondFactorsAndRealms(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
	st.Sim.SetUser(pvesim.User{ID: "yuki@pve", Password: "yuki-pass", Yubico: true})
	cases := []struct {
		user, realm, password, want string
	}{
		{"erin", "pve", "erin-pass", "security key (WebAuthn)"},
		{"yuki", "pve", "yuki-pass", "YubiKey one-time password (Yubico)"},
	}
	for _, tc := range cases {
		before := st.Sim.Calls(http.MethodPost, "/access/ticket")
		r := login(t, st, st.Client(t), tc.user, tc.realm, tc.password)
		if !strings.Contains(r.body, tc.want) {
			t.Errorf("%s@%s: %d, lacks %q", tc.user, tc.realm, r.status, tc.want)
		}
		if setCookieHeader(t, r) != "" {
			t.Errorf("%s@%s got a session", tc.user, tc.realm)
		}
		if st.Sim.Calls(http.MethodPost, "/access/ticket") != before+1 {
			t.Errorf("%s@%s: PVE not asked once", tc.user, tc.realm)
		}
	}
	// An LDAP realm signs in like any password realm.
	if r := login(t, st, st.Client(t), "carol", "corp", "carol-pass"); r.status != http.StatusSeeOther {
		t.Errorf("carol@corp: %d", r.status)
	}
	page := get(t, st, st.Client(t), "/login")
	for _, want := range []string{`<option value="corp">Corporate directory (LDAP)</option>`, `<option value="sso" data-openid>Single sign-on (OpenID Connect)</option>`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("realm list lacks %s", want)
		}
	}
}

func TestRealmListFallsBackWhenPVEIsDown(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
	_ = st.SimServer.Close()
	page := get(t, st, st.Client(t), "/login")
	for _, want := range []string{`<option value="pam" selected>Linux PAM</option>`, `<option value="pve">Proxmox VE</option>`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("fallback realm list lacks %s", want)
		}
	}
	if !strings.Contains(st.Logs.String(), "realm list from PVE unavailable") {
		t.Error("the fallback is not logged")
	}
}
