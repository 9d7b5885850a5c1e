package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// The cost of a session (docs/benchmarks-session.md). Every route that
// needs a session either calls PVE or is the catch-all 404, so the pair
// compared is the cheapest one that differs only by the session:
//
//   - unauthenticated: GET /static/no-such.css, a public 404 (no session
//     middleware at all);
//   - authenticated: GET /no-such-page with a valid cookie, which passes
//     requireSession (cookie open, Redis GET, JSON decode, sealed ticket and
//     CSRF token opened, keepAlive) and then the 404 handler.
//
// Both ask for text/plain, so both answers are a one-line 404 from
// http.Error rather than an HTML page; both carry the session cookie.
const (
	benchPublic404    = "/static/no-such.css"
	benchProtected404 = "/no-such-page"
)

// BenchmarkAuthenticatedRequest measures the two requests over HTTP on
// loopback, as a browser sends them, and one Redis round trip with the
// dashboard's client options (the same GET of the same session key the
// middleware makes), so that authenticated - unauthenticated can be held
// against "one Redis round trip + 50 µs".
func BenchmarkAuthenticatedRequest(b *testing.B) {
	st := apptest.Start(b, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(b)
	if code := benchLogin(b, st, c); code != http.StatusSeeOther {
		b.Fatalf("sign-in: status %d", code)
	}
	id := benchSessionID(b, st, c)

	fetch := func(b *testing.B, path string) {
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			// A fresh request each time: the client adds the jar's cookie
			// to the request it is given.
			req, err := http.NewRequest(http.MethodGet, st.URL+path, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Accept", "text/plain")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := drain(resp); err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode != http.StatusNotFound {
				b.Fatalf("GET %s: status %d, want 404", path, resp.StatusCode)
			}
		}
	}
	b.Run("unauthenticated", func(b *testing.B) { fetch(b, benchPublic404) })
	b.Run("authenticated", func(b *testing.B) { fetch(b, benchProtected404) })
	b.Run("redis-roundtrip", func(b *testing.B) {
		rc, err := session.NewRedisClient(st.Redis.URL)
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		ctx := context.Background()
		key := session.Key(id)
		if err := rc.Get(ctx, key).Err(); err != nil { // also opens the connection
			b.Fatalf("GET %s: %v", key, err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := rc.Get(ctx, key).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSessionMiddleware serves the same two requests straight through
// the dashboard's handler (ServeHTTP into a ResponseRecorder), without a
// network client whose allocations would hide the middleware's. The
// handler is a second dashboard built by app.NewDashboard on the same Redis
// and secret, with the default (discarding) logger.
func BenchmarkSessionMiddleware(b *testing.B) {
	st := apptest.Start(b, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(b)
	if code := benchLogin(b, st, c); code != http.StatusSeeOther {
		b.Fatalf("sign-in: status %d", code)
	}
	ck := benchSessionCookie(b, st, c)
	d, err := app.NewDashboard(context.Background(), st.Config, app.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		d.Server.Close()
		_ = d.Close()
	})

	serve := func(b *testing.B, path string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept", "text/plain")
		req.AddCookie(ck)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			rec := httptest.NewRecorder()
			d.Server.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound {
				b.Fatalf("GET %s: status %d, want 404", path, rec.Code)
			}
		}
	}
	b.Run("unauthenticated", func(b *testing.B) { serve(b, benchPublic404) })
	b.Run("authenticated", func(b *testing.B) { serve(b, benchProtected404) })
}

// BenchmarkSignIn measures a successful sign-in (POST /login, root@pam)
// against the simulator with no failure delay and real Redis, and the
// simulator's own time for the ticket call the dashboard makes (POST
// /api2/json/access/ticket over HTTPS on a kept-alive connection), so the
// dashboard's share is dashboard - simulator. The simulator's part
// includes PVE's RSA-SHA256 ticket signature.
func BenchmarkSignIn(b *testing.B) {
	st := apptest.Start(b, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})

	b.Run("dashboard", func(b *testing.B) {
		// No cookie jar: every sign-in comes from a fresh browser. The
		// sessions are deleted in batches, outside the timer, so Redis does
		// not grow with b.N.
		c := &http.Client{
			Timeout:       20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		body := url.Values{"username": {"root"}, "realm": {"pam"}, "password": {rootPassword}}.Encode()
		var cookies []string
		b.Cleanup(func() { benchDeleteSessions(b, st, cookies) })
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			req, err := http.NewRequest(http.MethodPost, st.URL+"/login", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := drain(resp); err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode != http.StatusSeeOther {
				b.Fatalf("sign-in: status %d", resp.StatusCode)
			}
			for _, rc := range resp.Cookies() {
				if rc.Name == "lxc-session" {
					cookies = append(cookies, rc.Value)
				}
			}
			if len(cookies) >= 256 {
				b.StopTimer()
				benchDeleteSessions(b, st, cookies)
				cookies = cookies[:0]
				b.StartTimer()
			}
		}
	})

	b.Run("simulator", func(b *testing.B) {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(st.SimServer.CertPEM) {
			b.Fatal("simulator certificate does not parse")
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		body := url.Values{"username": {"root@pam"}, "password": {rootPassword}}.Encode()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			req, err := http.NewRequest(http.MethodPost, st.SimServer.URL+"/api2/json/access/ticket", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := drain(resp); err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("ticket: status %d", resp.StatusCode)
			}
		}
	})
}

// benchSessionCookie returns the session cookie in c's jar.
func benchSessionCookie(b *testing.B, st *apptest.Stack, c *http.Client) *http.Cookie {
	b.Helper()
	u, err := url.Parse(st.URL)
	if err != nil {
		b.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "lxc-session" {
			return ck
		}
	}
	b.Fatal("no lxc-session cookie in the jar")
	return nil
}

// benchSessionID returns the id of the session in c's jar.
func benchSessionID(b *testing.B, st *apptest.Stack, c *http.Client) string {
	b.Helper()
	id, err := st.Codec.Decode(benchSessionCookie(b, st, c).Value)
	if err != nil {
		b.Fatalf("session cookie does not open: %v", err)
	}
	return id
}

// benchDeleteSessions deletes the sessions of root@pam that the sealed
// cookies name, and their entries in the user's index.
func benchDeleteSessions(b *testing.B, st *apptest.Stack, cookies []string) {
	b.Helper()
	if len(cookies) == 0 {
		return
	}
	ctx := context.Background()
	keys := make([]string, 0, len(cookies))
	ids := make([]any, 0, len(cookies))
	for _, v := range cookies {
		id, err := st.Codec.Decode(v)
		if err != nil {
			b.Fatalf("session cookie does not open: %v", err)
		}
		keys = append(keys, session.Key(id))
		ids = append(ids, id)
	}
	if err := st.RDB.Del(ctx, keys...).Err(); err != nil {
		b.Fatal(err)
	}
	if err := st.RDB.SRem(ctx, session.UserKey("root@pam"), ids...).Err(); err != nil {
		b.Fatal(err)
	}
}
