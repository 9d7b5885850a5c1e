package pvesim

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var partialTicketRe = regexp.MustCompile(`^PVE:!tfa!\S+::[^:\s]+$`)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tfaEnv is the demo scenario on a manual clock, with its log captured.
type tfaEnv struct {
	*testEnv
	clock *ManualClock
	logs  *syncBuffer
}

func startTFA(t *testing.T, opts Options) *tfaEnv {
	t.Helper()
	clock := NewManualClock(demoStart)
	logs := &syncBuffer{}
	opts.Now = clock.Now
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if opts.Scenario == "" {
		opts.Scenario = "empty"
	}
	return &tfaEnv{testEnv: startEnv(t, opts), clock: clock, logs: logs}
}

// post is POST /access/ticket with form.
func (e *tfaEnv) post(form url.Values) result {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/access/ticket", form: form})
}

// step1 signs in with a password and expects a TFA challenge; it returns
// the partial ticket and the challenge JSON as the GUI decodes it.
func (e *tfaEnv) step1(user, password string) (partial, challenge string) {
	e.t.Helper()
	res := e.post(url.Values{"username": {user}, "password": {password}})
	return e.wantChallenge(res, user)
}

func (e *tfaEnv) wantChallenge(res result, user string) (partial, challenge string) {
	e.t.Helper()
	data := res.data(e.t).(map[string]any)
	if data["NeedTFA"] != float64(1) || data["username"] != user {
		e.t.Fatalf("step 1: %s", res.body)
	}
	for _, k := range []string{"cap", "clustername"} {
		if _, ok := data[k]; ok {
			e.t.Errorf("step 1 answer has %s: %s", k, res.body)
		}
	}
	if csrf, _ := data["CSRFPreventionToken"].(string); !csrfShapeRe.MatchString(csrf) {
		e.t.Errorf("CSRF token %q", csrf)
	}
	partial, _ = data["ticket"].(string)
	if !partialTicketRe.MatchString(partial) {
		e.t.Fatalf("partial ticket %q", partial)
	}
	return partial, decodeChallenge(e.t, partial)
}

// decodeChallenge does what LoginWindow.js does: the second ':' field,
// without "!tfa!", URI-decoded.
func decodeChallenge(t *testing.T, partial string) string {
	t.Helper()
	field := strings.Split(partial, ":")[1]
	raw, err := url.PathUnescape(strings.TrimPrefix(field, "!tfa!"))
	if err != nil || !json.Valid([]byte(raw)) {
		t.Fatalf("challenge %q: %v", raw, err)
	}
	return raw
}

// answer is step 2.
func (e *tfaEnv) answer(user, partial, response string) result {
	e.t.Helper()
	return e.post(url.Values{"username": {user}, "tfa-challenge": {partial}, "password": {response}})
}

// code is bob's TOTP value offset steps from now.
func (e *tfaEnv) code(offset int64) string {
	e.t.Helper()
	key, err := decodeTOTPSecret(DemoTOTPSecret)
	if err != nil {
		e.t.Fatal(err)
	}
	return totpCode(key, totpCounter(e.clock.Now().Unix())+offset)
}

// wrongCode is a value that matches none of the accepted steps.
func (e *tfaEnv) wrongCode() string {
	e.t.Helper()
	valid := map[string]bool{e.code(-1): true, e.code(0): true, e.code(1): true}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	panic("unreachable")
}

func wantAuthFailure(t *testing.T, res result) {
	t.Helper()
	if res.code != 401 || res.reason != "authentication failure" || res.body != authFailureBody {
		t.Fatalf("got %d %q %s, want 401 authentication failure", res.code, res.reason, res.body)
	}
}

// wantFullTicket checks a complete login answer and that its ticket works.
func (e *tfaEnv) wantFullTicket(res result, user string) string {
	e.t.Helper()
	data := res.data(e.t).(map[string]any)
	ticket, _ := data["ticket"].(string)
	if _, partial := data["NeedTFA"]; partial || data["username"] != user || data["cap"] == nil ||
		!strings.HasPrefix(ticket, "PVE:"+user+":") || !ticketShapeRe.MatchString(ticket) {
		e.t.Fatalf("not a full login: %s", res.body)
	}
	if v := e.do(req{path: "/version", ticket: ticket}); v.code != 200 {
		e.t.Fatalf("/version with the new ticket: %d %q", v.code, v.reason)
	}
	return ticket
}

func TestRealmLogins(t *testing.T) {
	t.Parallel()
	e := startTFA(t, Options{})
	e.sim.SetUser(User{ID: "dave@sso", Password: "dave-pass"})
	tests := []struct {
		name   string
		form   url.Values
		ok     bool
		reason string // logged
	}{
		{"ldap user", url.Values{"username": {"carol@corp"}, "password": {"carol-pass"}}, true, ""},
		{"ldap user, realm parameter", url.Values{"username": {"carol"}, "realm": {"corp"}, "password": {"carol-pass"}}, true, ""},
		{"ldap wrong password", url.Values{"username": {"carol@corp"}, "password": {"carol"}}, false, "Invalid credentials"},
		{"ldap user in another realm", url.Values{"username": {"carol@pve"}, "password": {"carol-pass"}}, false, "no such user ('carol@pve')"},
		{"openid password", url.Values{"username": {"dave@sso"}, "password": {"dave-pass"}}, false,
			"OpenID realm does not allow password verification."},
		{"pam user", url.Values{"username": {"root@pam"}, "password": {"proxmox"}}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(tc.form)
			if !tc.ok {
				wantAuthFailure(t, res)
				if !strings.Contains(e.logs.String(), tc.reason) {
					t.Errorf("log lacks %q", tc.reason)
				}
				return
			}
			data := res.data(t).(map[string]any)
			if data["cap"] == nil || data["NeedTFA"] != nil {
				t.Errorf("answer %s", res.body)
			}
			// carol has PVEAuditor on /, so Sys.Audit: the cluster name.
			if data["clustername"] != "lab" {
				t.Errorf("clustername %v", data["clustername"])
			}
		})
	}
}

func TestRealmsOption(t *testing.T) {
	t.Parallel()
	sim, err := New(Options{Realms: []Realm{{Name: "pve", Type: "pve", Default: true}, {Name: "ad", Type: "ad", Comment: "AD"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := sim.listDomains(nil)
	want := []map[string]any{
		{"realm": "pve", "type": "pve", "comment": pveComment, "default": 1},
		{"realm": "ad", "type": "ad", "comment": "AD"},
		{"realm": "pam", "type": "pam", "comment": pamComment},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("realms %v, want %v", got, want)
	}
	bad := []struct {
		name string
		opts Options
	}{
		{"two defaults", Options{Realms: []Realm{{Name: "pam", Type: "pam", Default: true}, {Name: "pve", Type: "pve", Default: true}}}},
		{"twice", Options{Realms: []Realm{{Name: "x1", Type: "ldap"}, {Name: "x1", Type: "ad"}}}},
		{"unknown type", Options{Realms: []Realm{{Name: "x1", Type: "kerberos"}}}},
		{"second pam", Options{Realms: []Realm{{Name: "pam2", Type: "pam"}}}},
		{"bad name", Options{Realms: []Realm{{Name: "1x", Type: "ldap"}}}},
		{"scenario user without realm", Options{Scenario: "demo", Realms: []Realm{{Name: "pve", Type: "pve"}}}},
		{"user with bad TOTP secret", Options{Users: []User{{ID: "x@pve", Password: "p", TOTPSecret: "short"}}}},
		{"user with bad recovery key", Options{Users: []User{{ID: "x@pve", Password: "p", RecoveryKeys: []string{"nope"}}}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestTFAChallenges(t *testing.T) {
	t.Parallel()
	e := startTFA(t, Options{})
	e.sim.SetUser(User{ID: "yuri@pve", Password: "yuri-pass", Yubico: true, RecoveryKeys: []string{"0123-4567-89ab-cdef"}})
	tests := []struct {
		user, password string
		want           string // challenge JSON; "" for erin (checked below)
	}{
		{"bob@pve", "bob-pass", `{"totp":true,"recovery":[0,1,2,3,4,5,6,7,8,9]}`},
		{"yuri@pve", "yuri-pass", `{"recovery":[0],"yubico":true}`},
		{"erin@pve", "erin-pass", ""},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			_, ch := e.step1(tc.user, tc.password)
			if tc.want != "" {
				if ch != tc.want {
					t.Errorf("challenge %s, want %s", ch, tc.want)
				}
				return
			}
			var got struct {
				WebAuthn struct {
					PublicKey struct {
						Challenge        string
						Timeout          int
						RPID             string `json:"rpId"`
						AllowCredentials []struct{ Type, ID string }
						UserVerification string
					} `json:"publicKey"`
				} `json:"webauthn"`
			}
			if err := json.Unmarshal([]byte(ch), &got); err != nil {
				t.Fatal(err)
			}
			var members map[string]any
			_ = json.Unmarshal([]byte(ch), &members)
			pk := got.WebAuthn.PublicKey
			if len(members) != 1 || len(pk.Challenge) != 43 || pk.Timeout != 60000 || pk.RPID == "" ||
				len(pk.AllowCredentials) != 1 || pk.AllowCredentials[0].Type != "public-key" || pk.AllowCredentials[0].ID == "" ||
				pk.UserVerification != "discouraged" {
				t.Errorf("challenge %s", ch)
			}
			if _, again := e.step1(tc.user, tc.password); again == ch {
				t.Error("the WebAuthn challenge is not fresh")
			}
		})
	}
	t.Run("factors that cannot be completed", func(t *testing.T) {
		erin, _ := e.step1("erin@pve", "erin-pass")
		yuri, _ := e.step1("yuri@pve", "yuri-pass")
		for _, a := range []struct{ user, partial, response string }{
			{"erin@pve", erin, `webauthn:{"id":"x","type":"public-key","challenge":"x","rawId":"x","response":{}}`},
			{"erin@pve", erin, "webauthn:not json"},
			{"yuri@pve", yuri, "yubico:ccccccbcgujhingjrdejhgfnuetrgigvejhhgbkugded"},
		} {
			wantAuthFailure(t, e.answer(a.user, a.partial, a.response))
		}
		e.wantFullTicket(e.answer("yuri@pve", yuri, "recovery:0123-4567-89ab-cdef"), "yuri@pve")
	})
}

func TestTFALogin(t *testing.T) {
	t.Parallel()
	t.Run("TOTP", func(t *testing.T) {
		e := startTFA(t, Options{})
		partial, _ := e.step1("bob@pve", "bob-pass")
		e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
		// The same value again, even with a fresh challenge: reused.
		wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.code(0)))
		if !strings.Contains(e.logs.String(), "rejecting reused TOTP value") {
			t.Error("reuse not logged")
		}
		fresh, _ := e.step1("bob@pve", "bob-pass")
		wantAuthFailure(t, e.answer("bob@pve", fresh, "totp:"+e.code(0)))
		// A wrong value, then the challenge still works (more than once).
		wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.wrongCode()))
		e.clock.Advance(30 * time.Second)
		e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
	})
	t.Run("TOTP window", func(t *testing.T) {
		e := startTFA(t, Options{})
		partial, _ := e.step1("bob@pve", "bob-pass")
		tests := []struct {
			name   string
			offset int64
			ok     bool
		}{
			{"previous step", -1, true},
			{"next step", +1, true},
			{"current step, older than the last used", 0, false},
			{"two steps ahead", +2, false},
			{"two steps back", -2, false},
		}
		for _, tc := range tests {
			res := e.answer("bob@pve", partial, "totp:"+e.code(tc.offset))
			if tc.ok {
				e.wantFullTicket(res, "bob@pve")
			} else if res.code != 401 {
				t.Errorf("%s: %d", tc.name, res.code)
			}
		}
	})
	t.Run("refused answers", func(t *testing.T) {
		e := startTFA(t, Options{})
		partial, _ := e.step1("bob@pve", "bob-pass")
		tampered := strings.Replace(partial, "recovery", "recoverz", 1)
		tests := []struct {
			name string
			form url.Values
		}{
			{"no type prefix", url.Values{"username": {"bob@pve"}, "tfa-challenge": {partial}, "password": {e.code(0)}}},
			{"unknown type", url.Values{"username": {"bob@pve"}, "tfa-challenge": {partial}, "password": {"sms:" + e.code(0)}}},
			{"code with spaces", url.Values{"username": {"bob@pve"}, "tfa-challenge": {partial}, "password": {"totp: " + e.code(0)}}},
			{"password instead of a response", url.Values{"username": {"bob@pve"}, "tfa-challenge": {partial}, "password": {"bob-pass"}}},
			{"otp together with tfa-challenge", url.Values{"username": {"bob@pve"}, "tfa-challenge": {partial},
				"password": {"totp:" + e.code(0)}, "otp": {"totp:" + e.code(0)}}},
			{"challenge of another user", url.Values{"username": {"alice@pve"}, "tfa-challenge": {partial}, "password": {"totp:" + e.code(0)}}},
			{"tampered challenge", url.Values{"username": {"bob@pve"}, "tfa-challenge": {tampered}, "password": {"totp:" + e.code(0)}}},
			{"full ticket as challenge", url.Values{"username": {"root@pam"}, "tfa-challenge": {e.wantFullTicket(
				e.post(url.Values{"username": {"root@pam"}, "password": {"proxmox"}}), "root@pam")}, "password": {"totp:" + e.code(0)}}},
			{"partial ticket as password (renewal)", url.Values{"username": {"bob@pve"}, "password": {partial}}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantAuthFailure(t, e.post(tc.form))
			})
		}
		// None of them spent the code.
		e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
	})
	t.Run("partial ticket as cookie", func(t *testing.T) {
		e := startTFA(t, Options{})
		partial, _ := e.step1("bob@pve", "bob-pass")
		for _, rq := range []req{
			{path: "/version", ticket: partial},
			{path: "/access/permissions", header: map[string]string{"Authorization": "PVEAuthCookie=" + partial}},
		} {
			res := e.do(rq)
			if res.code != 401 || res.reason != "permission denied - invalid PVE ticket" || res.body != "" {
				t.Errorf("%s: %d %q %q", rq.path, res.code, res.reason, res.body)
			}
		}
	})
	t.Run("expired challenge", func(t *testing.T) {
		e := startTFA(t, Options{})
		partial, _ := e.step1("bob@pve", "bob-pass")
		e.clock.Advance(2*time.Hour - time.Second)
		e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
		e.clock.Advance(2 * time.Second)
		wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.code(1)))
		wantAuthFailure(t, e.answer("bob@pve", partial, "recovery:"+DemoRecoveryKeys()[0]))
	})
	t.Run("renewal skips the second factor", func(t *testing.T) {
		e := startTFA(t, Options{})
		partial, _ := e.step1("bob@pve", "bob-pass")
		full := e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
		e.clock.Advance(time.Hour)
		renewed := e.wantFullTicket(e.post(url.Values{"username": {"bob@pve"}, "password": {full}}), "bob@pve")
		if renewed == full {
			t.Error("same ticket")
		}
		root := e.wantFullTicket(e.post(url.Values{"username": {"root@pam"}, "password": {"proxmox"}}), "root@pam")
		e.wantFullTicket(e.post(url.Values{"username": {"bob@pve"}, "password": {root}}), "bob@pve")
	})
	t.Run("otp in step 1", func(t *testing.T) {
		e := startTFA(t, Options{})
		// Checked, and spent, but PVE still answers with a challenge.
		res := e.post(url.Values{"username": {"bob@pve"}, "password": {"bob-pass"}, "otp": {"totp:" + e.code(0)}})
		partial, _ := e.wantChallenge(res, "bob@pve")
		wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.code(0)))
		e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(1)), "bob@pve")
		for _, otp := range []string{"totp:" + e.wrongCode(), e.code(0), "recovery:0000-0000-0000-0000"} {
			wantAuthFailure(t, e.post(url.Values{"username": {"bob@pve"}, "password": {"bob-pass"}, "otp": {otp}}))
		}
		wantAuthFailure(t, e.post(url.Values{"username": {"bob@pve"}, "password": {"wrong"}, "otp": {"totp:" + e.code(-1)}}))
	})
	t.Run("check-only mode needs no second factor", func(t *testing.T) {
		e := startTFA(t, Options{})
		res := e.post(url.Values{"username": {"bob@pve"}, "password": {"bob-pass"}, "path": {"/pool/dev"}, "privs": {"VM.Audit"}})
		data := res.data(t).(map[string]any)
		if data["username"] != "bob@pve" || data["cap"] == nil || data["ticket"] != nil || data["NeedTFA"] != nil {
			t.Errorf("check-only: %s", res.body)
		}
		wantAuthFailure(t, e.post(url.Values{"username": {"bob@pve"}, "password": {"bob-pass"},
			"otp": {"totp:" + e.wrongCode()}, "path": {"/pool/dev"}, "privs": {"VM.Audit"}}))
	})
}

func TestRecoveryKeys(t *testing.T) {
	t.Parallel()
	e := startTFA(t, Options{})
	keys := DemoRecoveryKeys()
	partial, _ := e.step1("bob@pve", "bob-pass")
	e.wantFullTicket(e.answer("bob@pve", partial, "recovery:"+keys[3]), "bob@pve")
	wantAuthFailure(t, e.answer("bob@pve", partial, "recovery:"+keys[3]))
	wantAuthFailure(t, e.answer("bob@pve", partial, "recovery:"+strings.ToUpper(keys[4])))
	if _, ch := e.step1("bob@pve", "bob-pass"); ch != `{"totp":true,"recovery":[0,1,2,4,5,6,7,8,9]}` {
		t.Errorf("challenge after using key 3: %s", ch)
	}
	for i, k := range keys {
		if i != 3 {
			e.wantFullTicket(e.answer("bob@pve", partial, "recovery:"+k), "bob@pve")
		}
	}
	// All used: the list is empty, not gone (the recovery entry remains).
	if _, ch := e.step1("bob@pve", "bob-pass"); ch != `{"totp":true,"recovery":[]}` {
		t.Errorf("challenge with all keys used: %s", ch)
	}
}

func TestTOTPLockout(t *testing.T) {
	t.Parallel()
	e := startTFA(t, Options{})
	partial, _ := e.step1("bob@pve", "bob-pass")
	fail := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.wrongCode()))
		}
	}
	// Success resets the count: 7 + 7 failures do not lock.
	fail(7)
	e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
	fail(7)
	e.clock.Advance(30 * time.Second)
	e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")

	fail(8)
	if !strings.Contains(e.logs.String(), "TOTP limit reached, locked") {
		t.Error("lock not logged")
	}
	e.clock.Advance(30 * time.Second)
	wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.code(0)))
	// proxmox-tfa still offers TOTP in the challenge of a locked user.
	fresh, ch := e.step1("bob@pve", "bob-pass")
	if ch != `{"totp":true,"recovery":[0,1,2,3,4,5,6,7,8,9]}` {
		t.Errorf("challenge while locked: %s", ch)
	}
	wantAuthFailure(t, e.answer("bob@pve", fresh, "totp:"+e.code(0)))
	// A recovery key signs in and unlocks TOTP.
	e.wantFullTicket(e.answer("bob@pve", fresh, "recovery:"+DemoRecoveryKeys()[9]), "bob@pve")
	e.wantFullTicket(e.answer("bob@pve", fresh, "totp:"+e.code(0)), "bob@pve")

	// UnlockTFA does the same.
	e.clock.Advance(30 * time.Second)
	fail(8)
	wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.code(0)))
	if err := e.sim.UnlockTFA("bob@pve"); err != nil {
		t.Fatal(err)
	}
	e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
	if e.sim.UnlockTFA("alice@pve") == nil || e.sim.UnlockTFA("nobody@pve") == nil {
		t.Error("UnlockTFA of a user without factors")
	}
}

func TestTFALockout(t *testing.T) {
	t.Parallel()
	e := startTFA(t, Options{})
	partial, _ := e.step1("bob@pve", "bob-pass")
	for i := 0; i < tfaFailureLimit; i++ {
		wantAuthFailure(t, e.answer("bob@pve", partial, "recovery:0000-0000-0000-0000"))
	}
	if !strings.Contains(e.logs.String(), "TFA limit reached, user locked out") {
		t.Error("lock not logged")
	}
	e.clock.Advance(time.Hour - time.Second)
	wantAuthFailure(t, e.answer("bob@pve", partial, "recovery:"+DemoRecoveryKeys()[0]))
	wantAuthFailure(t, e.answer("bob@pve", partial, "totp:"+e.code(0)))
	e.clock.Advance(2 * time.Second)
	partial, _ = e.step1("bob@pve", "bob-pass")
	e.wantFullTicket(e.answer("bob@pve", partial, "totp:"+e.code(0)), "bob@pve")
}

func TestSetUserKeepsFactors(t *testing.T) {
	t.Parallel()
	e := startTFA(t, Options{Users: []User{{ID: "bob@pve", Password: "changed"}}})
	e.step1("bob@pve", "changed")
	e.sim.SetUser(User{ID: "bob@pve", Password: "again"})
	e.step1("bob@pve", "again")
	e.sim.SetUser(User{ID: "bob@pve", Password: "again", TOTPSecret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"})
	if _, ch := e.step1("bob@pve", "again"); ch != `{"totp":true}` {
		t.Errorf("replaced factors: %s", ch)
	}
	e.sim.SetUser(User{ID: "frank@pve", Password: "frank-pass", RecoveryKeys: []string{"abcd-abcd-abcd-abcd"}})
	if _, ch := e.step1("frank@pve", "frank-pass"); ch != `{"recovery":[0]}` {
		t.Errorf("new user: %s", ch)
	}
	defer func() {
		if recover() == nil {
			t.Error("SetUser accepted a bad TOTP secret")
		}
	}()
	e.sim.SetUser(User{ID: "bob@pve", Password: "x", TOTPSecret: "not base32!"})
}

func TestTOTPCode(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B (SHA-1), last 6 of the 8 digits.
	key := []byte("12345678901234567890")
	for unix, want := range map[int64]string{
		59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037",
	} {
		if got := totpCode(key, totpCounter(unix)); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
	if totpCounter(-1) != -1 || totpCounter(29) != 0 || totpCounter(30) != 1 {
		t.Error("totpCounter")
	}
	for secret, ok := range map[string]bool{
		DemoTOTPSecret: true, strings.ToLower(DemoTOTPSecret): true, "JBSWY3DPEHPK3PXP": true, "JBSWY3DPEHPK3PXP====": true,
		"JBSWY3DPEHPK3PX": false, "JBSWY3DPEHPK3PX1": false, "JBSWY3DP EHPK3PXP": false, "JBSWY3DPEHPK3PXPJ": false,
	} {
		if _, err := decodeTOTPSecret(secret); (err == nil) != ok {
			t.Errorf("decodeTOTPSecret(%q): %v", secret, err)
		}
	}
}
