package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// browserCookies returns every cookie c's jar holds for the dashboard.
func browserCookies(t *testing.T, st *apptest.Stack, c *http.Client) []*http.Cookie {
	t.Helper()
	u, _ := url.Parse(st.URL)
	return c.Jar.Cookies(u)
}

// copyCookies gives a fresh client the cookies another browser held.
func copyCookies(t *testing.T, st *apptest.Stack, cookies []*http.Cookie) *http.Client {
	t.Helper()
	c := st.Client(t)
	u, _ := url.Parse(st.URL)
	c.Jar.SetCookies(u, cookies)
	return c
}

func expiredStep(r result) bool {
	return r.status == http.StatusUnauthorized && strings.Contains(r.body, "The verification step expired. Please sign in again.")
}

// Issue 8 item 7: a second step that produced a session does not produce
// another one, even replayed with the browser's own cookies.
func TestTFAStepIsSingleUse(t *testing.T) {
	for _, memory := range stores() {
		t.Run(storeName(memory), func(t *testing.T) {
			st := apptest.Start(t, apptest.Options{MemorySessions: memory, Sim: pvesim.Options{Scenario: "demo"}})
			keys := pvesim.DemoRecoveryKeys()
			c := st.Client(t)
			step := tfaStart(t, st, c)
			captured := browserCookies(t, st, c) // what a thief of the browser's state holds
			if r := tfaAnswer(t, st, c, step, "recovery", keys[1]); r.status != http.StatusSeeOther {
				t.Fatalf("first use: %d", r.status)
			}
			before := ticketCalls(st)
			replay := tfaAnswer(t, st, copyCookies(t, st, captured), step, "recovery", keys[2])
			if !expiredStep(replay) {
				t.Errorf("replayed step: %d, want 401 with the expired-step message", replay.status)
			}
			if setCookieHeader(t, replay) != "" {
				t.Error("the replayed step got a session")
			}
			// In the same browser too.
			if r := tfaAnswer(t, st, c, step, "recovery", keys[3]); !expiredStep(r) {
				t.Errorf("replay in the same browser: %d", r.status)
			}
			if n := ticketCalls(st) - before; n != 0 {
				t.Errorf("a used step reached PVE %d times", n)
			}
		})
	}
}

// Two answers to one step sent at once give one session at most.
func TestTFAStepConcurrentAnswers(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	keys := pvesim.DemoRecoveryKeys()
	c := st.Client(t)
	step := tfaStart(t, st, c)
	captured := browserCookies(t, st, c)
	results := make([]result, 4)
	var wg sync.WaitGroup
	for i := range results {
		cl := copyCookies(t, st, captured)
		wg.Go(func() { results[i] = tfaAnswer(t, st, cl, step, "recovery", keys[4+i]) })
	}
	wg.Wait()
	sessions := 0
	for i, r := range results {
		switch {
		case r.status == http.StatusSeeOther:
			sessions++
		case expiredStep(r):
		default:
			t.Errorf("answer %d: %d", i, r.status)
		}
	}
	if sessions != 1 {
		t.Errorf("%d sessions from one step, want 1", sessions)
	}
}

// Issue 8 item 7: the step belongs to the browser that started it.
func TestTFAStepBoundToBrowser(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := apptest.Start(t, apptest.Options{Now: clock.Now, Sim: pvesim.Options{Scenario: "demo", Now: clock.Now}})
	c := st.Client(t)
	step := tfaStart(t, st, c)
	code, err := totp.GenerateCode(pvesim.DemoTOTPSecret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	before := ticketCalls(st)
	other := st.Client(t)
	r := tfaAnswer(t, st, other, step, "totp", code)
	if !expiredStep(r) || setCookieHeader(t, r) != "" {
		t.Errorf("step from another browser: %d", r.status)
	}
	if sw := postForm(t, st, other, "/login/tfa", url.Values{"step": {step}, "switch": {"recovery"}}); !expiredStep(sw) {
		t.Errorf("switching forms from another browser: %d", sw.status)
	}
	if ticketCalls(st) != before {
		t.Error("a step from another browser reached PVE")
	}
	// The browser that started it finishes it.
	if r := tfaAnswer(t, st, c, step, "totp", code); r.status != http.StatusSeeOther {
		t.Errorf("own browser: %d", r.status)
	}
}

// A wrong code is a failed attempt at the second step too.
func TestTFAWrongCodesAreThrottled(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := apptest.Start(t, apptest.Options{Now: clock.Now, Sim: pvesim.Options{Scenario: "demo", Now: clock.Now}})
	c := st.Client(t)
	step := tfaStart(t, st, c)
	for i := range 5 {
		r := tfaAnswer(t, st, c, step, "recovery", "0000-0000-0000-000"+string(rune('0'+i)))
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Invalid verification code") {
			t.Fatalf("wrong code %d: %d", i+1, r.status)
		}
	}
	code, _ := totp.GenerateCode(pvesim.DemoTOTPSecret, clock.Now())
	before := ticketCalls(st)
	r := tfaAnswer(t, st, c, step, "totp", code)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed sign-in attempts") {
		t.Errorf("right code after 5 wrong ones: %d", r.status)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if ticketCalls(st) != before {
		t.Error("PVE was asked while throttled")
	}
}

// Issue 8 item 16: the counter store being down is a 503 with the curated
// message at the second step as at the first.
func TestTFAStoreOutageIs503(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(t)
	step := tfaStart(t, st, c)
	st.Redis.Stop(t)
	r := tfaAnswer(t, st, c, step, "recovery", pvesim.DemoRecoveryKeys()[0])
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Session service unavailable. Please try again in a moment.") {
		t.Errorf("status %d, want 503 with the curated message", r.status)
	}
	if strings.Contains(r.body, "redis") || strings.Contains(r.body, "throttle") {
		t.Error("the page shows the cause")
	}
}

// Issue 8 item 16: a form without a step is refused cleanly, and the log
// names the reason instead of wrapping a nil error.
func TestTFAWithoutStep(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
	before := ticketCalls(st)
	r := postForm(t, st, st.Client(t), "/login/tfa", url.Values{"mode": {"totp"}, "code": {"123456"}})
	if !expiredStep(r) {
		t.Errorf("no step: %d", r.status)
	}
	if ticketCalls(st) != before {
		t.Error("PVE was asked without a step")
	}
	logs := st.Logs.String()
	if strings.Contains(logs, "%!") {
		t.Errorf("a log line has a formatting error: %s", logs)
	}
	if !strings.Contains(logs, "sign-in second step refused") {
		t.Error("the refusal is not logged")
	}
}
