package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
)

// Flows are counted per realm and address when they start; one that ends
// in a session is given back.
func TestOpenIDThrottling(t *testing.T) {
	st := ssoStack(t, apptest.Options{})
	c := st.Client(t)
	for range 3 {
		to := providerSignIn(t, openidStart(t, st, c, nil), "dana", "dana-pass")
		if r := callback(t, st, c, to); r.status != http.StatusOK {
			t.Fatalf("sign-in: %d", r.status)
		}
	}
	for range 5 { // abandoned at the provider
		openidStart(t, st, st.Client(t), nil)
	}
	before := oidCalls(st, authURLRoute)
	r := postForm(t, st, st.Client(t), "/login", url.Values{"realm": {"sso"}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many failed sign-in attempts") {
		t.Errorf("sixth abandoned flow: %d", r.status)
	}
	if oidCalls(st, authURLRoute) != before {
		t.Error("a throttled start reached PVE")
	}
	// Password sign-ins of the same address are another pair.
	if r := login(t, st, st.Client(t), "root", "pam", rootPassword); r.status != http.StatusSeeOther {
		t.Errorf("password sign-in from the same address: %d", r.status)
	}
}

// Callbacks of one flow sent at once give one session at most.
func TestOpenIDConcurrentCallbacks(t *testing.T) {
	st := ssoStack(t, apptest.Options{})
	c := st.Client(t)
	to := providerSignIn(t, openidStart(t, st, c, nil), "dana", "dana-pass")
	captured := browserCookies(t, st, c)
	results := make([]result, 4)
	var wg sync.WaitGroup
	for i := range results {
		cl := copyCookies(t, st, captured)
		wg.Go(func() { results[i] = callback(t, st, cl, to) })
	}
	wg.Wait()
	sessions := 0
	for i, r := range results {
		switch {
		case r.status == http.StatusOK && setCookieHeader(t, r) != "":
			sessions++
		case r.status == http.StatusUnauthorized && strings.Contains(r.body, msgExpired):
		default:
			t.Errorf("callback %d: %d", i, r.status)
		}
	}
	if sessions != 1 || oidCalls(st, oidLoginRoute) != 1 {
		t.Errorf("%d sessions, %d PVE calls from one flow", sessions, oidCalls(st, oidLoginRoute))
	}
}
