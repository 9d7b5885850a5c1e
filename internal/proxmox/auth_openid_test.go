package proxmox_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pveschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/testutil"
)

const callback = "http://dashboard.example/login/openid"

// providerSignIn signs user in at the page authURL names and returns the
// query the provider sends the browser back with.
func providerSignIn(t *testing.T, authURL, user, password string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	form := u.Query()
	form.Set("username", user)
	form.Set("password", password)
	form.Set("signin", "1")
	browser := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !loc.Query().Has("code") {
		t.Fatalf("provider sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func openidSim(t *testing.T) (*pvesim.Server, *proxmox.Client) {
	t.Helper()
	srv := startSim(t, pvesim.Options{Scenario: "demo"})
	srv.RegisterRedirectURI(callback)
	return srv, newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
}

func TestOpenIDSignIn(t *testing.T) {
	srv, c := openidSim(t)
	ctx := context.Background()
	authURL, err := c.OpenIDAuthURL(ctx, "sso", callback)
	if err != nil {
		t.Fatal(err)
	}
	q := providerSignIn(t, authURL, "dana", "dana-pass")
	id, err := c.OpenIDLogin(ctx, q.Get("state"), q.Get("code"), callback)
	if err != nil {
		t.Fatal(err)
	}
	if id.Username != "dana@sso" || id.Realm() != "sso" || id.Ticket == "" || id.CSRFToken == "" {
		t.Errorf("identity %+v", id)
	}
	if _, err := c.Version(ctx, id); err != nil {
		t.Errorf("the ticket does not work: %v", err)
	}
	if _, err := c.Renew(ctx, id); err != nil {
		t.Errorf("renewal: %v", err)
	}
	// A replay is PVE's 401: ECredentials, asked once (never retried).
	before := srv.Sim.Calls(http.MethodPost, "/access/openid/login")
	_, err = c.OpenIDLogin(ctx, q.Get("state"), q.Get("code"), callback)
	if lxc.ErrorCode(err) != lxc.ECredentials {
		t.Errorf("replayed code: %v (%s)", err, lxc.ErrorCode(err))
	}
	if n := srv.Sim.Calls(http.MethodPost, "/access/openid/login") - before; n != 1 {
		t.Errorf("a refused login was sent %d times", n)
	}
}

func TestOpenIDErrors(t *testing.T) {
	srv, c := openidSim(t)
	ctx := context.Background()
	for realm, want := range map[string]lxc.Code{"nope": lxc.ERefused, "pve": lxc.ERefused, "bad realm!": lxc.EInvalid} {
		if _, err := c.OpenIDAuthURL(ctx, realm, callback); lxc.ErrorCode(err) != want {
			t.Errorf("auth-url for %q: %v (%s), want %s", realm, err, lxc.ErrorCode(err), want)
		}
	}
	_ = srv.OpenID.Close() // the provider is down: PVE's discovery fails
	before := srv.Sim.Calls(http.MethodPost, "/access/openid/auth-url")
	if _, err := c.OpenIDAuthURL(ctx, "sso", callback); lxc.ErrorCode(err) != lxc.ERefused {
		t.Errorf("provider down: %v (%s)", err, lxc.ErrorCode(err))
	}
	if n := srv.Sim.Calls(http.MethodPost, "/access/openid/auth-url") - before; n != 1 {
		t.Errorf("auth-url sent %d times", n)
	}
	_ = srv.Close() // PVE itself is down
	if _, err := c.OpenIDAuthURL(ctx, "sso", callback); lxc.ErrorCode(err) != lxc.EUnreachable {
		t.Errorf("PVE down, auth-url: %v (%s)", err, lxc.ErrorCode(err))
	}
	if _, err := c.OpenIDLogin(ctx, "{}", "x", callback); lxc.ErrorCode(err) != lxc.EUnreachable {
		t.Errorf("PVE down, login: %v (%s)", err, lxc.ErrorCode(err))
	}
}

// The client's OpenID calls against the official schema (the other calls
// are in TestClientCallsMatchSchema).
func TestOpenIDCallsMatchSchema(t *testing.T) {
	dir := pveschema.Locate(t)
	if dir == "" {
		testutil.Missing(t, "../shared/pve-schema (the official PVE API schema) not found next to the module root")
	}
	srv, c := openidSim(t)
	ctx := context.Background()
	srv.Sim.Record(true)
	authURL, err := c.OpenIDAuthURL(ctx, "sso", callback)
	if err != nil {
		t.Fatal(err)
	}
	q := providerSignIn(t, authURL, "dana", "dana-pass")
	if _, err := c.OpenIDLogin(ctx, q.Get("state"), q.Get("code"), callback); err != nil {
		t.Fatal(err)
	}
	calls := srv.Sim.Recorded()
	if len(calls) != 2 {
		t.Fatalf("recorded %d calls", len(calls))
	}
	for _, file := range []string{"pve-9.1.json", "pve-8.4.json"} {
		sch, err := pveschema.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range calls {
			m, ok := sch.Method(call.Method, call.Route)
			if !ok {
				t.Fatalf("%s %s not in %s", call.Method, call.Route, file)
			}
			for _, err := range m.CheckParams(call.Params) {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
}
