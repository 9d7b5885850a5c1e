package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// The cost of a session (docs/benchmarks.md, "The cost of a session").
// Every route that needs a session either calls PVE or is the catch-all
// 404, so the pair compared is the cheapest one that differs only by the
// session:
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
			fetch1(b, c, st.URL+path)
		}
	}
	rc, err := session.NewRedisClient(st.Redis.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rc.Close() })
	ctx := context.Background()
	key := session.Key(id)
	if err := rc.Get(ctx, key).Err(); err != nil { // also opens the connection
		b.Fatalf("GET %s: %v", key, err)
	}
	roundTrip := func(b *testing.B) {
		if _, err := rc.Get(ctx, key).Bytes(); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("unauthenticated", func(b *testing.B) { fetch(b, benchPublic404) })
	b.Run("authenticated", func(b *testing.B) { fetch(b, benchProtected404) })
	b.Run("redis-roundtrip", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			roundTrip(b)
		}
	})
	// paired takes turns with the three, one each per iteration, and
	// reports the median of each and of the difference that the target
	// is about; slow drift of the machine hits all three alike.
	b.Run("paired", func(b *testing.B) {
		var unauth, auth, redis benchDurations
		for range b.N {
			unauth.time(func() { fetch1(b, c, st.URL+benchPublic404) })
			auth.time(func() { fetch1(b, c, st.URL+benchProtected404) })
			redis.time(func() { roundTrip(b) })
		}
		reportPaired(b, unauth, auth, redis)
	})
}

// fetch1 is one GET of url with Accept: text/plain that must answer 404.
func fetch1(b *testing.B, c *http.Client, url string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
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
		b.Fatalf("GET %s: status %d, want 404", url, resp.StatusCode)
	}
}

// benchDurations collects the duration of each call of one kind.
type benchDurations []time.Duration

func (d *benchDurations) time(f func()) {
	start := time.Now()
	f()
	*d = append(*d, time.Since(start))
}

func (d benchDurations) median() time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// reportPaired reports the medians of one paired run in µs: each kind's,
// the session's cost (authenticated - unauthenticated) and what it adds
// beyond one Redis round trip.
func reportPaired(b *testing.B, unauth, auth, redis benchDurations) {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	u, a, r := unauth.median(), auth.median(), redis.median()
	b.ReportMetric(us(u), "unauth-p50-us")
	b.ReportMetric(us(a), "auth-p50-us")
	b.ReportMetric(us(r), "redis-p50-us")
	b.ReportMetric(us(a-u), "session-p50-us")
	b.ReportMetric(us(a-u-r), "beyond-redis-p50-us")
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

	one := func(b *testing.B, req *http.Request) {
		rec := httptest.NewRecorder()
		d.Server.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			b.Fatalf("GET %s: status %d, want 404", req.URL.Path, rec.Code)
		}
	}
	newReq := func(path string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept", "text/plain")
		req.AddCookie(ck)
		return req
	}
	serve := func(b *testing.B, path string) {
		req := newReq(path)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			one(b, req)
		}
	}
	b.Run("unauthenticated", func(b *testing.B) { serve(b, benchPublic404) })
	b.Run("authenticated", func(b *testing.B) { serve(b, benchProtected404) })
	// As ../shared/bench/compare.sh asks (wrk sends no Accept header): the
	// HTML 404 page, layout and all.
	b.Run("authenticated-html", func(b *testing.B) {
		req := newReq(benchProtected404)
		req.Header.Del("Accept")
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			one(b, req)
		}
	})

	rc, err := session.NewRedisClient(st.Redis.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rc.Close() })
	ctx := context.Background()
	key := session.Key(benchSessionID(b, st, c))
	b.Run("paired", func(b *testing.B) {
		var unauth, auth, redis benchDurations
		for range b.N {
			unauth.time(func() { one(b, newReq(benchPublic404)) })
			auth.time(func() { one(b, newReq(benchProtected404)) })
			redis.time(func() {
				if err := rc.Get(ctx, key).Err(); err != nil {
					b.Fatal(err)
				}
			})
		}
		reportPaired(b, unauth, auth, redis)
	})
}

// BenchmarkSignIn measures a successful sign-in (POST /login, root@pam)
// against the simulator with no failure delay and real Redis, and the
// simulator's own time for the ticket call the dashboard makes (POST
// /api2/json/access/ticket over HTTPS on a kept-alive connection), so the
// dashboard's share is dashboard - simulator; paired takes turns with the
// two and reports the medians. The simulator's part includes PVE's
// RSA-SHA256 ticket signature.
func BenchmarkSignIn(b *testing.B) {
	st := apptest.Start(b, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})

	// No cookie jar: every sign-in comes from a fresh browser. The
	// sessions are deleted in batches, outside the timer, so Redis does
	// not grow with b.N.
	browser := &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	loginForm := url.Values{"username": {"root"}, "realm": {"pam"}, "password": {rootPassword}}.Encode()
	var cookies []string
	b.Cleanup(func() { benchDeleteSessions(b, st, cookies) })
	signIn := func(b *testing.B) {
		req, err := http.NewRequest(http.MethodPost, st.URL+"/login", strings.NewReader(loginForm))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := browser.Do(req)
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

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(st.SimServer.CertPEM) {
		b.Fatal("simulator certificate does not parse")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	b.Cleanup(tr.CloseIdleConnections)
	pve := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	ticketForm := url.Values{"username": {"root@pam"}, "password": {rootPassword}}.Encode()
	ticket := func(b *testing.B) {
		req, err := http.NewRequest(http.MethodPost, st.SimServer.URL+"/api2/json/access/ticket", strings.NewReader(ticketForm))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := pve.Do(req)
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

	b.Run("dashboard", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			signIn(b)
		}
	})
	b.Run("simulator", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			ticket(b)
		}
	})
	b.Run("paired", func(b *testing.B) {
		var dash, sim benchDurations
		for range b.N {
			dash.time(func() { signIn(b) })
			sim.time(func() { ticket(b) })
		}
		us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
		b.ReportMetric(us(dash.median()), "dashboard-p50-us")
		b.ReportMetric(us(sim.median()), "simulator-p50-us")
		b.ReportMetric(us(dash.median()-sim.median()), "added-p50-us")
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
