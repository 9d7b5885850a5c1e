package pvesim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testEnv is a running simulator and an HTTPS client that trusts it.
type testEnv struct {
	t      *testing.T
	sim    *Sim
	srv    *Server
	client *http.Client
}

func startEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	sim, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv, err := Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &testEnv{t: t, sim: sim, srv: srv, client: trustingClient(t, srv)}
}

func trustingClient(t *testing.T, srv *Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertPEM) {
		t.Fatal("CertPEM is not a PEM certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// result is one answer as a client sees it.
type result struct {
	code   int
	reason string // the status line's reason phrase
	header http.Header
	body   string
	closed bool // the server announced "Connection: close"
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// req describes one API request.
type req struct {
	method string
	path   string // below /api2/json unless raw is set
	raw    bool   // path is the whole URL path
	form   url.Values
	json   string
	ticket string // sent as cookie
	csrf   string
	header map[string]string
}

func (e *testEnv) do(rq req) result {
	e.t.Helper()
	u := rq.path
	if !rq.raw {
		u = "/api2/json" + u
	}
	var body io.Reader
	ctype := ""
	switch {
	case rq.form != nil:
		body = strings.NewReader(rq.form.Encode())
		ctype = "application/x-www-form-urlencoded"
	case rq.json != "":
		body = strings.NewReader(rq.json)
		ctype = "application/json"
	}
	method := rq.method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequest(method, e.srv.URL+u, body)
	if err != nil {
		e.t.Fatalf("NewRequest: %v", err)
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if rq.ticket != "" {
		hr.Header.Set("Cookie", "PVEAuthCookie="+url.QueryEscape(rq.ticket))
	}
	if rq.csrf != "" {
		hr.Header.Set("CSRFPreventionToken", rq.csrf)
	}
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return result{
		code:   resp.StatusCode,
		reason: strings.TrimPrefix(resp.Status, resp.Status[:4]),
		header: resp.Header,
		body:   string(b),
		closed: resp.Close,
	}
}

// login returns ticket and CSRF token, failing the test otherwise.
func (e *testEnv) login(user, password string) (ticket, csrf string) {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {user}, "password": {password}}})
	if res.code != 200 {
		e.t.Fatalf("login %s: %d %s %s", user, res.code, res.reason, res.body)
	}
	data := res.json(e.t)["data"].(map[string]any)
	return data["ticket"].(string), data["CSRFPreventionToken"].(string)
}
