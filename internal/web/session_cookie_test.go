package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
)

// Issue 8 item 8: with Secure cookies the session cookie carries the
// __Host- prefix (no Domain, Path=/), and only that name is honoured.
func TestSecureSessionCookieName(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true})
	cfg := st.Config
	cfg.CookieSecure = true
	d, err := app.NewDashboard(context.Background(), cfg, app.Deps{MemorySessions: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	srv := httptest.NewServer(d.Server)
	t.Cleanup(srv.Close)
	// No cookie jar: Go's jar keeps Secure cookies away from http://.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, cookie string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := send(http.MethodPost, "/login", "", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {rootPassword}})
	var set *http.Cookie
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case "__Host-lxc-session":
			set = ck
		case "lxc-session":
			t.Error("the plain-HTTP cookie name is used with Secure cookies")
		}
	}
	if resp.StatusCode != http.StatusSeeOther || set == nil {
		t.Fatalf("sign-in: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	if !set.Secure || set.Path != "/" || set.Domain != "" || !set.HttpOnly || strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("session cookie %q: want Secure, Path=/, HttpOnly, no Domain", raw)
	}
	if r := send(http.MethodGet, "/", "__Host-lxc-session="+set.Value, nil); r.StatusCode != http.StatusOK {
		t.Errorf("home with the __Host- cookie: %d", r.StatusCode)
	}
	if r := send(http.MethodGet, "/", "lxc-session="+set.Value, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("home with the value under the plain name: %d, want a redirect to sign-in", r.StatusCode)
	}
	out := send(http.MethodPost, "/logout", "__Host-lxc-session="+set.Value, nil)
	cleared := false
	for _, ck := range out.Cookies() {
		cleared = cleared || ck.Name == "__Host-lxc-session" && ck.MaxAge < 0
	}
	if !cleared {
		t.Errorf("sign-out did not clear the __Host- cookie: %v", out.Header.Values("Set-Cookie"))
	}
	if r := send(http.MethodGet, "/", "__Host-lxc-session="+set.Value, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("home after sign-out: %d", r.StatusCode)
	}
}

// Issue 8 item 8: signing in again from a browser that holds a session ends
// the old session.
func TestNewSignInEndsTheOldSession(t *testing.T) {
	st := apptest.Start(t, apptest.Options{})
	c, first := signIn(t, st)
	old := sessionCookie(t, st, c)
	if r := login(t, st, c, "root", "pam", rootPassword); r.status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", r.status)
	}
	second := sessionID(t, st, c)
	if second == first {
		t.Fatal("the second sign-in kept the session id")
	}
	ctx := context.Background()
	if n := st.RDB.Exists(ctx, "session:"+first).Val(); n != 0 {
		t.Error("the old session is still stored")
	}
	if n := st.RDB.Exists(ctx, "session:"+second).Val(); n != 1 {
		t.Error("the new session is not stored")
	}
	req, _ := http.NewRequest(http.MethodGet, st.URL+"/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(old)
	if r := do(t, st.Client(t), req); r.status != http.StatusSeeOther {
		t.Errorf("the old cookie still opens a page: %d", r.status)
	}
	if r := get(t, st, c, "/"); r.status != http.StatusOK {
		t.Errorf("the new session: %d", r.status)
	}
}
