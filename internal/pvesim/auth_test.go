package pvesim

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	ticketShapeRe = regexp.MustCompile(`^PVE:\S+::[^:\s]+$`)
	csrfShapeRe   = regexp.MustCompile(`^[0-9A-F]{8}:[A-Za-z0-9+/]{43}$`)
)

const authFailureBody = `{"data":null,"message":"authentication failure\n"}`

var capKeys = []string{"vms", "access", "storage", "nodes", "sdn", "dc", "mapping"}

func TestLoginSuccess(t *testing.T) {
	e := startEnv(t, Options{})
	tests := []struct {
		name        string
		form        url.Values
		wantUser    string
		wantCluster bool
		rootCaps    bool
	}{
		{"root", url.Values{"username": {"root@pam"}, "password": {"proxmox"}}, "root@pam", true, true},
		{"alice", url.Values{"username": {"alice@pve"}, "password": {"alice-pass"}}, "alice@pve", false, false},
		{"realm parameter", url.Values{"username": {"alice"}, "realm": {"pve"}, "password": {"alice-pass"}}, "alice@pve", false, false},
		{"new-format ignored", url.Values{"username": {"root@pam"}, "password": {"proxmox"}, "new-format": {"1"}}, "root@pam", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(req{method: "POST", path: "/access/ticket", form: tc.form})
			if res.code != 200 || res.reason != "OK" {
				t.Fatalf("status %d %q, body %s", res.code, res.reason, res.body)
			}
			for k, want := range map[string]string{
				"Server":        "pve-api-daemon/3.0",
				"Cache-Control": "max-age=0",
				"Pragma":        "no-cache",
				"Content-Type":  "application/json;charset=UTF-8",
			} {
				if got := res.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if res.header.Get("Expires") == "" {
				t.Error("no Expires header")
			}
			data := res.json(t)["data"].(map[string]any)
			if data["username"] != tc.wantUser {
				t.Errorf("username = %v, want %s", data["username"], tc.wantUser)
			}
			ticket, _ := data["ticket"].(string)
			if !ticketShapeRe.MatchString(ticket) || !strings.HasPrefix(ticket, "PVE:"+tc.wantUser+":") {
				t.Errorf("ticket %q has the wrong shape", ticket)
			}
			if csrf, _ := data["CSRFPreventionToken"].(string); !csrfShapeRe.MatchString(csrf) {
				t.Errorf("CSRF token %q has the wrong shape", csrf)
			}
			cp, ok := data["cap"].(map[string]any)
			if !ok {
				t.Fatalf("no cap object: %v", data["cap"])
			}
			for _, k := range capKeys {
				m, ok := cp[k].(map[string]any)
				if !ok {
					t.Errorf("cap.%s missing", k)
					continue
				}
				if !tc.rootCaps && len(m) != 0 {
					t.Errorf("cap.%s = %v, want empty", k, m)
				}
			}
			if tc.rootCaps {
				for _, c := range []struct{ bucket, priv string }{
					{"vms", "VM.Audit"}, {"vms", "VM.PowerMgmt"}, {"vms", "Permissions.Modify"},
					{"dc", "Sys.Audit"}, {"dc", "SDN.Use"}, {"nodes", "Sys.Console"},
					{"storage", "Datastore.AllocateSpace"}, {"access", "User.Modify"}, {"mapping", "Mapping.Use"},
				} {
					if v := cp[c.bucket].(map[string]any)[c.priv]; v != float64(1) {
						t.Errorf("cap.%s.%s = %v, want 1", c.bucket, c.priv, v)
					}
				}
				if _, ok := cp["dc"].(map[string]any)["Sys.Console"]; ok {
					t.Error("cap.dc must not hold Sys.Console")
				}
			}
			if cn, has := data["clustername"]; has != tc.wantCluster || (has && cn != "lab") {
				t.Errorf("clustername = %v (present %v), want present %v", cn, has, tc.wantCluster)
			}
		})
	}
}

func TestLoginJSONBodyAndQueryOverride(t *testing.T) {
	e := startEnv(t, Options{})
	res := e.do(req{method: "POST", path: "/access/ticket", json: `{"username":"root@pam","password":"proxmox","new-format":true}`})
	if res.code != 200 {
		t.Fatalf("JSON login: %d %s %s", res.code, res.reason, res.body)
	}
	// The query string overrides the body.
	res = e.do(req{method: "POST", path: "/access/ticket?password=wrong",
		form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}}})
	if res.code != 401 {
		t.Fatalf("query must override body: got %d", res.code)
	}
}

func TestLoginFailures(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := startEnv(t, Options{Now: clock.Now})
	oldTicket, _ := e.login("alice@pve", "alice-pass")
	clock.Advance(2*time.Hour + time.Second)
	aliceTicket, _ := e.login("alice@pve", "alice-pass")
	other := startEnv(t, Options{Now: clock.Now})
	foreignTicket, _ := other.login("alice@pve", "alice-pass")

	tests := []struct {
		name string
		form url.Values
		json string
	}{
		{"unknown user", url.Values{"username": {"bob@pve"}, "password": {"x"}}, ""},
		{"wrong password", url.Values{"username": {"alice@pve"}, "password": {"wrong"}}, ""},
		{"wrong root password", url.Values{"username": {"root@pam"}, "password": {"nope"}}, ""},
		{"unknown realm", url.Values{"username": {"alice@ldap"}, "password": {"alice-pass"}}, ""},
		{"realm added twice", url.Values{"username": {"alice@pve"}, "realm": {"pve"}, "password": {"alice-pass"}}, ""},
		{"wrong realm", url.Values{"username": {"alice"}, "realm": {"pam"}, "password": {"alice-pass"}}, ""},
		{"no realm", url.Values{"username": {"alice"}, "password": {"alice-pass"}}, ""},
		{"empty password (JSON)", nil, `{"username":"alice@pve","password":""}`},
		{"password 0", url.Values{"username": {"alice@pve"}, "password": {"0"}}, ""},
		{"expired ticket as password", url.Values{"username": {"alice@pve"}, "password": {oldTicket}}, ""},
		{"ticket of another user", url.Values{"username": {"root@pam"}, "password": {aliceTicket}}, ""},
		{"ticket signed by another cluster", url.Values{"username": {"alice@pve"}, "password": {foreignTicket}}, ""},
		// authenticate_2nd_new_do: a response without a challenge to
		// answer dies "no such challenge".
		{"otp without second factors", url.Values{"username": {"alice@pve"}, "password": {"alice-pass"},
			"otp": {"totp:123456"}}, ""},
		{"otp together with tfa-challenge", url.Values{"username": {"alice@pve"}, "password": {"alice-pass"},
			"otp": {"totp:1"}, "tfa-challenge": {"x"}}, ""},
		{"check-only without privilege", url.Values{"username": {"alice@pve"}, "password": {"alice-pass"},
			"path": {"/"}, "privs": {"Sys.Audit"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(req{method: "POST", path: "/access/ticket", form: tc.form, json: tc.json})
			if res.code != 401 || res.reason != "authentication failure" {
				t.Fatalf("got %d %q (%s), want 401 authentication failure", res.code, res.reason, res.body)
			}
			if res.body != authFailureBody {
				t.Errorf("body = %q, want %q", res.body, authFailureBody)
			}
			if !res.closed {
				t.Error("connection not closed after 401")
			}
		})
	}
}

func TestAuthFailureDelay(t *testing.T) {
	const delay = 200 * time.Millisecond
	e := startEnv(t, Options{AuthFailureDelay: delay})
	tests := []struct {
		name string
		rq   req
		code int
	}{
		{"login failure", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"root@pam"}, "password": {"bad"}}}, 401},
		{"no ticket", req{path: "/version"}, 401},
		{"invalid ticket", req{path: "/version", ticket: "PVE:root@pam:00000000::AAAA"}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := e.do(tc.rq)
			if elapsed := time.Since(start); elapsed < delay {
				t.Errorf("answered after %v, want at least %v", elapsed, delay)
			}
			if res.code != tc.code {
				t.Errorf("status %d, want %d", res.code, tc.code)
			}
		})
	}
}

func TestPreHandler401(t *testing.T) {
	for _, version := range []string{"9.1.4", "9.1.5"} {
		t.Run(version, func(t *testing.T) {
			clock := NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			e := startEnv(t, Options{Version: version, Now: clock.Now})
			other := startEnv(t, Options{Now: clock.Now})
			good, _ := e.login("root@pam", "proxmox")
			foreign, _ := other.login("root@pam", "proxmox")
			invalid := "permission denied - invalid PVE ticket"
			gone := "no such user ('alice@pve')"
			if version == "9.1.5" {
				invalid, gone = "Authentication failed!", "Authentication failed!"
			}
			aliceTicket, _ := e.login("alice@pve", "alice-pass")
			if err := e.sim.RemoveUser("alice@pve"); err != nil {
				t.Fatal(err)
			}
			tampered := strings.Replace(good, "PVE:root@pam:", "PVE:alice@pve:", 1)

			tests := []struct {
				name   string
				rq     req
				reason string
			}{
				{"no cookie", req{path: "/version"}, "No ticket"},
				{"garbage", req{path: "/version", ticket: "hello"}, invalid},
				{"other cluster's ticket", req{path: "/version", ticket: foreign}, invalid},
				{"tampered userid", req{path: "/version", ticket: tampered}, invalid},
				{"deleted user", req{path: "/version", ticket: aliceTicket}, gone},
				{"unknown path without ticket", req{path: "/no/such/thing"}, "No ticket"},
				{"POST without ticket", req{method: "POST", path: "/version"}, "No ticket"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					res := e.do(tc.rq)
					if res.code != 401 || res.reason != tc.reason {
						t.Fatalf("got %d %q, want 401 %q", res.code, res.reason, tc.reason)
					}
					if res.body != "" {
						t.Errorf("body = %q, want empty", res.body)
					}
					if res.header.Get("Server") != "pve-api-daemon/3.0" || !res.closed || res.header.Get("Content-Type") != "" {
						t.Errorf("headers %v (closed %v)", res.header, res.closed)
					}
				})
			}
		})
	}
}

func TestTicketTransport(t *testing.T) {
	e := startEnv(t, Options{})
	ticket, _ := e.login("root@pam", "proxmox")
	tests := []struct {
		name   string
		header map[string]string
	}{
		{"raw cookie", map[string]string{"Cookie": "PVEAuthCookie=" + ticket}},
		{"encoded cookie among others", map[string]string{"Cookie": "foo=bar; PVEAuthCookie=" + url.QueryEscape(ticket) + "; x=y"}},
		{"authorization header", map[string]string{"Authorization": "PVEAuthCookie=" + ticket}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(req{path: "/version", header: tc.header})
			if res.code != 200 {
				t.Fatalf("got %d %q", res.code, res.reason)
			}
		})
	}
	// The key must start the header or follow whitespace.
	res := e.do(req{path: "/version", header: map[string]string{"Cookie": "XPVEAuthCookie=" + ticket}})
	if res.code != 401 || res.reason != "No ticket" {
		t.Fatalf("prefixed cookie name: got %d %q", res.code, res.reason)
	}
}

func TestTicketLifetimeAndRenewal(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := startEnv(t, Options{Now: clock.Now})
	ticket, csrf := e.login("alice@pve", "alice-pass")
	rootTicket, _ := e.login("root@pam", "proxmox")

	clock.Advance(2*time.Hour - time.Second)
	if res := e.do(req{path: "/version", ticket: ticket}); res.code != 200 {
		t.Fatalf("ticket should still be valid: %d %q", res.code, res.reason)
	}
	if res := e.do(req{method: "POST", path: "/version", ticket: ticket, csrf: csrf}); res.code != 501 {
		t.Fatalf("CSRF token should still be valid: %d %q", res.code, res.reason)
	}

	// Renewal: the still valid ticket as password gives a full new ticket.
	res := e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"alice@pve"}, "password": {ticket}}})
	if res.code != 200 {
		t.Fatalf("renewal: %d %q %s", res.code, res.reason, res.body)
	}
	data := res.json(t)["data"].(map[string]any)
	renewed := data["ticket"].(string)
	if renewed == ticket || !ticketShapeRe.MatchString(renewed) {
		t.Fatalf("renewed ticket %q", renewed)
	}
	if _, ok := data["cap"]; !ok {
		t.Error("renewal answer lacks cap")
	}
	// root@pam's ticket may create a ticket for another user.
	res = e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"alice@pve"}, "password": {rootTicket}}})
	if res.code != 200 || res.json(t)["data"].(map[string]any)["username"] != "alice@pve" {
		t.Fatalf("root ticket for alice: %d %s", res.code, res.body)
	}

	clock.Advance(2 * time.Second) // the first ticket is now 2h+1s old
	res = e.do(req{path: "/version", ticket: ticket})
	if res.code != 401 || res.reason != "permission denied - invalid PVE ticket" || res.body != "" {
		t.Fatalf("expired ticket: %d %q %q", res.code, res.reason, res.body)
	}
	res = e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"alice@pve"}, "password": {ticket}}})
	if res.code != 401 || res.body != authFailureBody {
		t.Fatalf("renewal with expired ticket: %d %q %s", res.code, res.reason, res.body)
	}
	if res := e.do(req{path: "/version", ticket: renewed}); res.code != 200 {
		t.Fatalf("renewed ticket: %d %q", res.code, res.reason)
	}

	// A ticket from the future is accepted within the 5 minute skew only.
	clock.Advance(-4 * time.Hour)
	if res := e.do(req{path: "/version", ticket: renewed}); res.code != 401 {
		t.Fatalf("ticket from the far future: %d", res.code)
	}
}

func TestCSRF(t *testing.T) {
	e := startEnv(t, Options{})
	ticket, csrf := e.login("root@pam", "proxmox")
	_, aliceCSRF := e.login("alice@pve", "alice-pass")
	const bad = "Permission denied - invalid csrf token"
	tests := []struct {
		name   string
		method string
		csrf   string
		code   int
		reason string
	}{
		{"POST without token", "POST", "", 401, bad},
		{"PUT without token", "PUT", "", 401, bad},
		{"DELETE without token", "DELETE", "", 401, bad},
		{"garbage token", "POST", "12345678:abc", 401, bad},
		{"other user's token", "POST", aliceCSRF, 401, bad},
		{"GET needs none", "GET", "", 200, "OK"},
		{"valid token", "POST", csrf, 501, "Method 'POST /version' not implemented"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(req{method: tc.method, path: "/version", ticket: ticket, csrf: tc.csrf})
			if res.code != tc.code || res.reason != tc.reason {
				t.Fatalf("got %d %q, want %d %q", res.code, res.reason, tc.code, tc.reason)
			}
			if tc.code == 401 && res.body != "" {
				t.Errorf("body %q, want empty", res.body)
			}
		})
	}
	// Login itself needs neither ticket nor CSRF token.
	if res := e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}}, ticket: ticket}); res.code != 200 {
		t.Fatalf("login with a cookie but no CSRF token: %d", res.code)
	}
}

func TestCheckOnlyMode(t *testing.T) {
	e := startEnv(t, Options{})
	ticket, _ := e.login("root@pam", "proxmox")
	for _, pw := range []string{"proxmox", ticket} {
		res := e.do(req{method: "POST", path: "/access/ticket", form: url.Values{
			"username": {"root@pam"}, "password": {pw}, "path": {"/vms/100"}, "privs": {"VM.Audit,VM.PowerMgmt"}}})
		if res.code != 200 {
			t.Fatalf("check-only: %d %s", res.code, res.body)
		}
		data := res.json(t)["data"].(map[string]any)
		if data["username"] != "root@pam" || data["cap"] == nil {
			t.Errorf("data = %v", data)
		}
		if _, ok := data["ticket"]; ok {
			t.Error("check-only mode must not issue a ticket")
		}
	}
}

func TestGetTicketDummy(t *testing.T) {
	e := startEnv(t, Options{})
	res := e.do(req{path: "/access/ticket"})
	if res.code != 200 || res.body != `{"data":null}` {
		t.Fatalf("got %d %q", res.code, res.body)
	}
}

func TestDomains(t *testing.T) {
	want := `{"data":[` +
		`{"comment":"Linux PAM standard authentication","default":1,"realm":"pam","type":"pam"},` +
		`{"comment":"Proxmox VE authentication server","realm":"pve","type":"pve"},` +
		`{"comment":"Corporate directory (LDAP)","realm":"corp","type":"ldap"},` +
		`{"comment":"Single sign-on (OpenID Connect)","realm":"sso","type":"openid"}]}`
	for _, scenario := range append(Scenarios(), "") {
		t.Run("scenario "+scenario, func(t *testing.T) {
			e := startEnv(t, Options{Scenario: scenario})
			res := e.do(req{path: "/access/domains"})
			if res.code != 200 || res.body != want {
				t.Fatalf("got %d %s\nwant %s", res.code, res.body, want)
			}
		})
	}
}

func TestSetUser(t *testing.T) {
	e := startEnv(t, Options{})
	e.sim.SetUser(User{ID: "alice@pve", Password: "new-pass"})
	e.sim.SetUser(User{ID: "bob@pve", Password: "bob-pass"})
	if res := e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"alice@pve"}, "password": {"alice-pass"}}}); res.code != 401 {
		t.Fatalf("old password still works: %d", res.code)
	}
	e.login("alice@pve", "new-pass")
	e.login("bob@pve", "bob-pass")
}

func TestRootWithoutPassword(t *testing.T) {
	e := startEnv(t, Options{Users: []User{{ID: "alice@pve", Password: "alice-pass"}}})
	res := e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}}})
	if res.code != 401 {
		t.Fatalf("root without configured password logged in: %d", res.code)
	}
}
