package pvesim

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParameterVerification(t *testing.T) {
	e := startEnv(t, Options{})
	ticket, _ := e.login("root@pam", "proxmox")
	long := strings.Repeat("a", 61) + "@pve" // 65 characters
	tests := []struct {
		name string
		rq   req
		want map[string]string
	}{
		{"unknown parameter on GET", req{path: "/version?foo=1", ticket: ticket},
			map[string]string{"foo": "property is not defined in schema and the schema does not allow additional properties"}},
		{"unknown parameter on login", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}, "bogus": {"1"}}},
			map[string]string{"bogus": "property is not defined in schema and the schema does not allow additional properties"}},
		{"missing password", req{method: "POST", path: "/access/ticket", form: url.Values{"username": {"root@pam"}}},
			map[string]string{"password": "property is missing and it is not optional"}},
		{"empty form value is undefined", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"root@pam"}, "password": {""}}},
			map[string]string{"password": "property is missing and it is not optional"}},
		{"boolean true", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}, "new-format": {"true"}}},
			map[string]string{"new-format": "type check ('boolean') failed - got 'true'"}},
		{"too long username", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {long}, "password": {"x"}}},
			map[string]string{"username": "value may only be 64 characters long"}},
		{"bad realm format", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"alice"}, "realm": {"1x"}, "password": {"x"}}},
			map[string]string{"realm": "invalid format - value does not look like a valid realm\n"}},
		{"path requires privs", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}, "path": {"/"}}},
			map[string]string{"privs": "missing property required by 'path'"}},
		{"unknown privilege", req{method: "POST", path: "/access/ticket",
			form: url.Values{"username": {"root@pam"}, "password": {"proxmox"}, "path": {"/"}, "privs": {"Sys.Fly"}}},
			map[string]string{"privs": "invalid format - invalid privilege 'Sys.Fly'\n"}},
		{"JSON string for boolean", req{method: "POST", path: "/access/ticket",
			json: `{"username":"root@pam","password":"proxmox","new-format":"yes"}`},
			map[string]string{"new-format": "type check ('boolean') failed - got 'yes'"}},
		{"JSON boolean for string", req{method: "POST", path: "/access/ticket",
			json: `{"username":"root@pam","password":true}`},
			map[string]string{"password": "type check ('string') failed - got JSON::PP::Boolean"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			res := e.do(tc.rq)
			if res.code != 400 || res.reason != "Parameter verification failed." {
				t.Fatalf("got %d %q %s", res.code, res.reason, res.body)
			}
			body := res.json(t)
			if body["message"] != "Parameter verification failed.\n" || body["data"] != nil {
				t.Errorf("envelope %v", body)
			}
			got := map[string]string{}
			for k, v := range body["errors"].(map[string]any) {
				got[k] = v.(string)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("errors = %q, want %q", got, want)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	e := startEnv(t, Options{})
	ticket, csrf := e.login("root@pam", "proxmox")
	tests := []struct {
		name     string
		rq       req
		code     int
		reason   string
		wantJSON string // "" means empty body
	}{
		{"unknown path", req{path: "/foo", ticket: ticket}, 501, "Method 'GET /foo' not implemented",
			`{"data":null,"message":"Method 'GET /foo' not implemented"}`},
		{"unknown nested path", req{path: "/nodes/pve1/nothing", ticket: ticket}, 501,
			"Method 'GET /nodes/pve1/nothing' not implemented", ""},
		{"unknown method", req{method: "DELETE", path: "/version", ticket: ticket, csrf: csrf}, 501,
			"Method 'DELETE /version' not implemented", ""},
		{"no format", req{path: "/api2/", raw: true}, 501, "no such uri", ""},
		{"other format", req{path: "/api2/xml/version", raw: true, ticket: ticket}, 501, "no formatter for uri /version, xml", ""},
		{"outside the API", req{path: "/index.html", raw: true}, 501, "no such file '/index.html'", ""},
		{"unknown HTTP method", req{method: "PATCH", path: "/version", ticket: ticket}, 501, "method 'PATCH' not available", ""},
		{"body on GET", req{method: "GET", path: "/version", ticket: ticket, form: url.Values{"a": {"1"}}}, 501,
			"Unexpected content for method 'GET'", ""},
		{"malformed JSON", req{method: "POST", path: "/access/ticket", json: `{"username":`}, 500, "", ""},
		{"odd content type", req{method: "POST", path: "/access/ticket", header: map[string]string{"Content-Type": "text/plain"},
			json: "x"}, 506, "upload 'Content-Type 'text/plain' not implemented", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(tc.rq)
			if res.code != tc.code || (tc.reason != "" && res.reason != tc.reason) {
				t.Fatalf("got %d %q, want %d %q (body %s)", res.code, res.reason, tc.code, tc.reason, res.body)
			}
			if tc.wantJSON != "" && res.body != tc.wantJSON {
				t.Errorf("body %s, want %s", res.body, tc.wantJSON)
			}
			if tc.code == 501 && strings.HasPrefix(tc.reason, "Method") {
				if res.header.Get("Content-Type") != "application/json;charset=UTF-8" {
					t.Errorf("501 for unknown method should be JSON, got %q", res.header.Get("Content-Type"))
				}
			} else if res.body != "" {
				t.Errorf("body %q, want empty", res.body)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	e := startEnv(t, Options{Version: "8.4.1"})
	ticket, _ := e.login("alice@pve", "alice-pass")
	res := e.do(req{path: "/version", ticket: ticket, header: map[string]string{}})
	if res.code != 200 {
		t.Fatalf("got %d %q", res.code, res.reason)
	}
	data := res.json(t)["data"].(map[string]any)
	if data["version"] != "8.4.1" || data["release"] != "8.4" {
		t.Errorf("data = %v", data)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(data["repoid"].(string)) {
		t.Errorf("repoid %v", data["repoid"])
	}
	if len(data) != 3 {
		t.Errorf("unexpected fields: %v", data)
	}
	// _dc (the ExtJS cache buster) is ignored.
	if res := e.do(req{path: "/version?_dc=12345", ticket: ticket}); res.code != 200 {
		t.Errorf("_dc: %d", res.code)
	}
}

func TestNodes(t *testing.T) {
	e := startEnv(t, Options{})
	rootTicket, _ := e.login("root@pam", "proxmox")
	aliceTicket, _ := e.login("alice@pve", "alice-pass")
	stats := []string{"cpu", "maxcpu", "mem", "maxmem", "disk", "maxdisk", "uptime"}
	fpRe := regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)

	check := func(t *testing.T, ticket string, wantStats bool) {
		t.Helper()
		res := e.do(req{path: "/nodes", ticket: ticket})
		if res.code != 200 {
			t.Fatalf("got %d %q", res.code, res.reason)
		}
		list := res.json(t)["data"].([]any)
		if len(list) != 3 {
			t.Fatalf("got %d nodes", len(list))
		}
		for i, it := range list {
			n := it.(map[string]any)
			name := DefaultNodes()[i]
			if n["node"] != name || n["status"] != "online" || n["id"] != "node/"+name ||
				n["type"] != "node" || n["level"] != "" {
				t.Errorf("node %d = %v", i, n)
			}
			fp, _ := n["ssl_fingerprint"].(string)
			if !fpRe.MatchString(fp) {
				t.Errorf("ssl_fingerprint %q", fp)
			}
			if i == 0 && fp != e.srv.Fingerprint {
				t.Errorf("local node fingerprint %s, served %s", fp, e.srv.Fingerprint)
			}
			for _, k := range stats {
				if _, has := n[k]; has != wantStats {
					t.Errorf("node %s field %s present=%v, want %v", name, k, has, wantStats)
				}
			}
			if wantStats {
				if n["uptime"].(float64) <= 0 || n["maxcpu"].(float64) < 1 || n["mem"].(float64) >= n["maxmem"].(float64) {
					t.Errorf("implausible stats %v", n)
				}
			}
		}
	}
	t.Run("root", func(t *testing.T) { check(t, rootTicket, true) })
	t.Run("alice without Sys.Audit", func(t *testing.T) { check(t, aliceTicket, false) })
	t.Run("alice with PVEAuditor", func(t *testing.T) {
		if err := e.sim.SetACL("/nodes", "alice@pve", "PVEAuditor", true); err != nil {
			t.Fatal(err)
		}
		check(t, aliceTicket, true)
	})
}

func TestServerCertificate(t *testing.T) {
	e := startEnv(t, Options{})
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(e.srv.Fingerprint) {
		t.Fatalf("fingerprint %q", e.srv.Fingerprint)
	}
	if !strings.HasPrefix(e.srv.URL, "https://127.0.0.1:") || e.srv.URL != "https://"+e.srv.Addr {
		t.Fatalf("URL %q Addr %q", e.srv.URL, e.srv.Addr)
	}
	// Connect without trusting anything and compare the served leaf.
	conn, err := tls.Dial("tcp", e.srv.Addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	if got := formatFingerprint(sum[:]); got != e.srv.Fingerprint {
		t.Errorf("served %s, Fingerprint %s", got, e.srv.Fingerprint)
	}
	if conn.ConnectionState().NegotiatedProtocol == "h2" {
		t.Error("HTTP/2 must not be offered")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.srv.CertPEM)
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("certificate not valid for %s: %v", host, err)
		}
	}
}

func TestServerClose(t *testing.T) {
	sim, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatal(err)
	}
	client := trustingClient(t, srv)
	resp, err := client.Get(srv.URL + "/api2/json/access/domains")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	fresh := trustingClient(t, srv)
	_, err = fresh.Get(srv.URL + "/api2/json/access/domains")
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after Close: err = %v, want connection refused", err)
	}
}

func TestRequestsCounter(t *testing.T) {
	e := startEnv(t, Options{})
	before := e.sim.Requests()
	e.do(req{path: "/access/domains"})
	e.do(req{path: "/version"}) // 401 counts too
	if got := e.sim.Requests() - before; got != 2 {
		t.Fatalf("Requests grew by %d, want 2", got)
	}
}

func TestKeepAliveAndGzip(t *testing.T) {
	e := startEnv(t, Options{})
	ticket, _ := e.login("root@pam", "proxmox")
	res := e.do(req{path: "/nodes", ticket: ticket})
	if res.closed {
		t.Error("success answers keep the connection alive")
	}
	// The login answer with root's cap is larger than 1 KiB, so a client
	// that accepts gzip gets it compressed.
	hr, _ := http.NewRequest("POST", e.srv.URL+"/api2/json/access/ticket",
		strings.NewReader(url.Values{"username": {"root@pam"}, "password": {"proxmox"}}.Encode()))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept-Encoding", "gzip")
	resp, err := e.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
}

func TestServeHTTPWithoutHijacker(t *testing.T) {
	sim, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest("GET", "/api2/json/version", nil))
	if rec.Code != 401 || rec.Body.Len() != 0 || rec.Header().Get("Server") != "pve-api-daemon/3.0" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"bad version", Options{Version: "nine"}},
		{"bad user id", Options{Users: []User{{ID: "alice", Password: "x"}}}},
		{"unknown realm", Options{Users: []User{{ID: "alice@ldap", Password: "x"}}}},
		{"bad node name", Options{Nodes: []string{"pve_1"}}},
		{"duplicate node", Options{Nodes: []string{"a1", "a1"}}},
		{"no nodes", Options{Nodes: []string{}}},
		{"negative delay", Options{AuthFailureDelay: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
