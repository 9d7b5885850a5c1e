// Package loadtest drives a running dashboard with many signed-in clients
// at once: it signs each client in (its own cookie jar), lets all of them
// browse concurrently for a while — the container list, the Sessions page,
// the stylesheet and now and then a live-update stream — and signs them out
// again, counting errors and latencies on the way.
//
// It only talks to loopback addresses. TestLoad runs it against the whole
// stack in this process (see docs/benchmarks.md, "1,000 concurrent
// clients"); it is opt-in (LOADTEST=1) and not part of CI.
package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CookieName is the dashboard's session cookie.
const CookieName = "lxc-session"

// Account is a PVE account the clients sign in with.
type Account struct {
	Username string // without realm, as typed into the form ("alice")
	Realm    string // "pve"
	Password string
}

// UserID is the account as PVE names it ("alice@pve").
func (a Account) UserID() string { return a.Username + "@" + a.Realm }

// Config describes a load run. Zero values take the defaults in brackets.
type Config struct {
	// BaseURL is the dashboard, e.g. "http://127.0.0.1:3001". Its host
	// must be a loopback address.
	BaseURL string
	// Accounts are spread over the clients round robin.
	Accounts []Account
	// Clients is the number of simultaneous signed-in clients [1000].
	Clients int
	// SignInConcurrency bounds the sign-ins and sign-outs in flight [50].
	SignInConcurrency int
	// Duration is how long the clients browse [30 s].
	Duration time.Duration
	// MinPause and MaxPause bound the random pause of a client between two
	// requests [100 ms, 500 ms].
	MinPause, MaxPause time.Duration
	// RequestTimeout bounds every request [20 s].
	RequestTimeout time.Duration
	// EventsTimeout bounds the wait for the first update on an event
	// stream [10 s].
	EventsTimeout time.Duration
	// ForwardedFor sends each client's own address, from the benchmarking
	// range 198.18.0.0/15, in X-Forwarded-For, as a proxy would: with the
	// load generator among the dashboard's TRUSTED_PROXIES the clients
	// come from many addresses, as real ones do, instead of looking like
	// one address signing in to many accounts at once (which the sign-in
	// limits hold back).
	ForwardedFor bool
}

func (c *Config) defaults() {
	if c.Clients <= 0 {
		c.Clients = 1000
	}
	if c.SignInConcurrency <= 0 {
		c.SignInConcurrency = 50
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.MinPause <= 0 {
		c.MinPause = 100 * time.Millisecond
	}
	if c.MaxPause <= c.MinPause {
		c.MaxPause = max(c.MinPause, 500*time.Millisecond)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 20 * time.Second
	}
	if c.EventsTimeout <= 0 {
		c.EventsTimeout = 10 * time.Second
	}
}

// Kind is one sort of request a client makes while browsing.
type Kind int

// The kinds of request, with their share of all requests (Mix).
const (
	List     Kind = iota // GET / (the container list)
	Sessions             // GET /sessions
	Static               // GET /static/app.css
	Events               // GET /events, read until the first update, then closed
	numKinds
)

var kindNames = [numKinds]string{"list", "sessions", "static", "events"}

func (k Kind) String() string { return kindNames[k] }

// Mix is the percentage of each kind among a client's requests.
var Mix = [numKinds]int{List: 35, Sessions: 15, Static: 40, Events: 10}

func pickKind() Kind {
	n := rand.N(100)
	for k, w := range Mix {
		if n < w {
			return Kind(k)
		}
		n -= w
	}
	return Static
}

// Fleet is a set of clients, each with its own cookie jar, sharing one
// transport (so one connection pool).
type Fleet struct {
	cfg       Config
	base      *url.URL
	transport *http.Transport
	clients   []*client
}

type client struct {
	acct     Account
	addr     string // X-Forwarded-For, when Config.ForwardedFor
	http     *http.Client
	signedIn bool
}

// New checks cfg and builds the clients; nothing is sent yet.
func New(cfg Config) (*Fleet, error) {
	cfg.defaults()
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("loadtest: base URL: %w", err)
	}
	if base.Scheme != "http" && base.Scheme != "https" {
		return nil, fmt.Errorf("loadtest: base URL %q is not http(s)", cfg.BaseURL)
	}
	if !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("loadtest: base URL %q is not a loopback address", cfg.BaseURL)
	}
	if len(cfg.Accounts) == 0 {
		return nil, errors.New("loadtest: no accounts")
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		// Only loopback: the URL was checked, and redirects are not followed.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || !isLoopback(host) {
				return nil, fmt.Errorf("loadtest: refusing to dial %s", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        cfg.Clients + 16,
		MaxIdleConnsPerHost: cfg.Clients + 16,
		IdleConnTimeout:     90 * time.Second,
	}
	f := &Fleet{cfg: cfg, base: base, transport: tr}
	for i := range cfg.Clients {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, err
		}
		var addr string
		if cfg.ForwardedFor {
			addr = fmt.Sprintf("198.%d.%d.%d", 18+i>>16&1, i>>8&0xff, i&0xff)
		}
		f.clients = append(f.clients, &client{
			acct: cfg.Accounts[i%len(cfg.Accounts)],
			addr: addr,
			http: &http.Client{
				Transport:     tr,
				Jar:           jar,
				Timeout:       cfg.RequestTimeout,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
		})
	}
	return f, nil
}

// isLoopback reports whether host is a loopback IP address.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Config returns the configuration in use, defaults filled in.
func (f *Fleet) Config() Config { return f.cfg }

// SignedIn is the number of clients holding a session.
func (f *Fleet) SignedIn() int {
	n := 0
	for _, c := range f.clients {
		if c.signedIn {
			n++
		}
	}
	return n
}

// CloseIdleConnections closes the fleet's kept-alive connections.
func (f *Fleet) CloseIdleConnections() { f.transport.CloseIdleConnections() }

// SignIn signs every client in, SignInConcurrency at a time. It returns
// an error describing the failures, if any; clients that succeeded stay
// signed in.
func (f *Fleet) SignIn(ctx context.Context) error {
	return f.each(ctx, func(ctx context.Context, c *client) error {
		form := url.Values{"username": {c.acct.Username}, "realm": {c.acct.Realm}, "password": {c.acct.Password}}
		resp, err := f.post(ctx, c, "/login", form)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			return fmt.Errorf("sign-in as %s: status %d, location %q", c.acct.UserID(), resp.StatusCode, resp.Header.Get("Location"))
		}
		if f.cookie(c) == nil {
			return fmt.Errorf("sign-in as %s: no session cookie", c.acct.UserID())
		}
		c.signedIn = true
		return nil
	})
}

// SignOut signs every signed-in client out (POST /logout).
func (f *Fleet) SignOut(ctx context.Context) error {
	return f.each(ctx, func(ctx context.Context, c *client) error {
		if !c.signedIn {
			return nil
		}
		resp, err := f.post(ctx, c, "/logout", nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			return fmt.Errorf("sign-out: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if f.cookie(c) != nil {
			return errors.New("sign-out: the session cookie was not cleared")
		}
		c.signedIn = false
		return nil
	})
}

// each runs fn for every client, SignInConcurrency at a time, and joins
// the errors (at most five are kept, with a count of the rest).
func (f *Fleet) each(ctx context.Context, fn func(context.Context, *client) error) error {
	sem := make(chan struct{}, f.cfg.SignInConcurrency)
	var (
		mu     sync.Mutex
		errs   []error
		failed int
		wg     sync.WaitGroup
	)
	for _, c := range f.clients {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
			defer cancel()
			if err := fn(rctx, c); err != nil {
				mu.Lock()
				failed++
				if len(errs) < 5 {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%d of %d clients failed: %w", failed, len(f.clients), errors.Join(errs...))
	}
	return nil
}

func (f *Fleet) post(ctx context.Context, c *client, path string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base.JoinPath(path).String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	if c.addr != "" {
		req.Header.Set("X-Forwarded-For", c.addr)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp, nil
}

func (f *Fleet) cookie(c *client) *http.Cookie {
	for _, ck := range c.http.Jar.Cookies(f.base) {
		if ck.Name == CookieName && ck.Value != "" {
			return ck
		}
	}
	return nil
}

// Report is the outcome of Run.
type Report struct {
	Clients  int
	Elapsed  time.Duration
	Requests int64 // requests answered (every kind)
	// Errors are transport errors and answers other than 2xx/3xx.
	Errors int64
	// Lost are signed-in pages answered with a redirect (to /login) or an
	// "expired" event: sessions the dashboard lost.
	Lost int64
	// WrongUser are pages that showed another user than the client's.
	WrongUser int64
	// Degraded are pages and updates that were served but showed a PVE
	// problem banner (the dashboard could not poll PVE in time).
	Degraded int64
	// Samples holds the first few error descriptions.
	Samples []string
	// ByKind holds the latencies of each kind of request; for Events the
	// time until the first update.
	ByKind [numKinds][]time.Duration
}

// Failures is the number of requests that went wrong in any way that
// counts against the dashboard (errors, lost sessions, wrong user).
func (r *Report) Failures() int64 { return r.Errors + r.Lost + r.WrongUser }

// Latencies returns the latencies of every kind but Events, sorted.
func (r *Report) Latencies() []time.Duration {
	var all []time.Duration
	for k := range numKinds {
		if k != Events {
			all = append(all, r.ByKind[k]...)
		}
	}
	slices.Sort(all)
	return all
}

// Percentile returns the p-th percentile (0 < p <= 100, nearest rank) of
// sorted durations; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// String is a multi-line summary.
func (r *Report) String() string {
	var b strings.Builder
	rate := float64(r.Requests) / r.Elapsed.Seconds()
	all := r.Latencies()
	fmt.Fprintf(&b, "%d clients for %v: %d requests (%.0f/s), errors %d, lost sessions %d, wrong user %d, degraded %d\n",
		r.Clients, r.Elapsed.Round(time.Millisecond), r.Requests, rate, r.Errors, r.Lost, r.WrongUser, r.Degraded)
	fmt.Fprintf(&b, "  latency (all but events): p50 %v  p95 %v  p99 %v  max %v\n",
		ms(Percentile(all, 50)), ms(Percentile(all, 95)), ms(Percentile(all, 99)), ms(Percentile(all, 100)))
	for k := range numKinds {
		l := slices.Clone(r.ByKind[k])
		slices.Sort(l)
		what := "latency"
		if k == Events {
			what = "first update"
		}
		fmt.Fprintf(&b, "  %-8s %6d  %s p50 %v  p95 %v  p99 %v\n", k, len(l), what,
			ms(Percentile(l, 50)), ms(Percentile(l, 95)), ms(Percentile(l, 99)))
	}
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "  error: %s\n", s)
	}
	return b.String()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// tally is one client's counts, merged into the Report at the end.
type tally struct {
	errors, lost, wrongUser, degraded int64
	byKind                            [numKinds][]time.Duration
	samples                           []string
}

func (t *tally) fail(format string, args ...any) {
	t.errors++
	if len(t.samples) < 3 {
		t.samples = append(t.samples, fmt.Sprintf(format, args...))
	}
}

// Run lets every signed-in client browse for Config.Duration: a request
// of a random kind (Mix), a random pause, again. Requests in flight when
// the time is up are finished; ctx ends everything at once.
func (f *Fleet) Run(ctx context.Context) *Report {
	start := time.Now()
	stop := start.Add(f.cfg.Duration)
	var (
		wg       sync.WaitGroup
		requests atomic.Int64
		tallies  = make([]*tally, len(f.clients))
	)
	for i, c := range f.clients {
		if !c.signedIn {
			continue
		}
		t := &tally{}
		tallies[i] = t
		wg.Go(func() {
			// Spread the start over one pause.
			if !sleep(ctx, rand.N(f.cfg.MaxPause)) {
				return
			}
			for ctx.Err() == nil && time.Now().Before(stop) {
				k := pickKind()
				if f.browse(ctx, c, k, t) {
					requests.Add(1)
				}
				pause := f.cfg.MinPause + rand.N(f.cfg.MaxPause-f.cfg.MinPause+1)
				if !sleep(ctx, pause) {
					return
				}
			}
		})
	}
	wg.Wait()
	r := &Report{Clients: f.SignedIn(), Elapsed: time.Since(start), Requests: requests.Load()}
	for _, t := range tallies {
		if t == nil {
			continue
		}
		r.Errors += t.errors
		r.Lost += t.lost
		r.WrongUser += t.wrongUser
		r.Degraded += t.degraded
		for k := range numKinds {
			r.ByKind[k] = append(r.ByKind[k], t.byKind[k]...)
		}
		for _, s := range t.samples {
			if len(r.Samples) < 20 {
				r.Samples = append(r.Samples, s)
			}
		}
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

var paths = [numKinds]string{List: "/", Sessions: "/sessions", Static: "/static/app.css", Events: "/events"}

// browse makes one request of kind k and records it in t. It reports
// whether the request was answered (rather than refused in transport).
func (f *Fleet) browse(ctx context.Context, c *client, k Kind, t *tally) bool {
	if k == Events {
		return f.events(ctx, c, t)
	}
	rctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, f.base.JoinPath(paths[k]).String(), nil)
	if err != nil {
		t.fail("%s: %v", k, err)
		return false
	}
	req.Header.Set("Accept", "text/html")
	began := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		t.fail("GET %s: %v", paths[k], err)
		return false
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	took := time.Since(began)
	if err != nil {
		t.fail("GET %s: reading the answer: %v", paths[k], err)
		return true
	}
	t.byKind[k] = append(t.byKind[k], took)
	switch {
	case resp.StatusCode >= 400 || resp.StatusCode < 200:
		t.fail("GET %s as %s: status %d", paths[k], c.acct.UserID(), resp.StatusCode)
	case resp.StatusCode >= 300:
		t.lost++
		if len(t.samples) < 3 {
			t.samples = append(t.samples, fmt.Sprintf("GET %s as %s: session lost: %d to %s", paths[k], c.acct.UserID(), resp.StatusCode, resp.Header.Get("Location")))
		}
	case k == Static:
	default:
		page := string(body)
		if !strings.Contains(page, `data-testid="current-user">`+c.acct.UserID()+`<`) {
			t.wrongUser++
			if len(t.samples) < 3 {
				t.samples = append(t.samples, fmt.Sprintf("GET %s as %s: the page does not show this user", paths[k], c.acct.UserID()))
			}
		}
		if strings.Contains(page, `id="pve-problem"`) {
			t.degraded++
		}
	}
	return true
}

// events opens the live-update stream, waits for the first update (or
// "expired") and closes it again, as a page that is opened and left.
func (f *Fleet) events(ctx context.Context, c *client, t *tally) bool {
	rctx, cancel := context.WithTimeout(ctx, f.cfg.EventsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, f.base.JoinPath("/events").String(), nil)
	if err != nil {
		t.fail("events: %v", err)
		return false
	}
	req.Header.Set("Accept", "text/event-stream")
	began := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		t.fail("GET /events: %v", err)
		return false
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || (resp.StatusCode >= 300 && resp.StatusCode < 400):
		t.lost++
		if len(t.samples) < 3 {
			t.samples = append(t.samples, fmt.Sprintf("GET /events as %s: session lost: status %d", c.acct.UserID(), resp.StatusCode))
		}
		return true
	case resp.StatusCode != http.StatusOK:
		t.fail("GET /events as %s: status %d", c.acct.UserID(), resp.StatusCode)
		return true
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	event := ""
	degraded := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && strings.Contains(line, `id="pve-problem"`):
			degraded = true
		case line == "" && event != "":
			switch event {
			case "update":
				t.byKind[Events] = append(t.byKind[Events], time.Since(began))
				if degraded {
					t.degraded++
				}
			case "expired":
				t.lost++
				if len(t.samples) < 3 {
					t.samples = append(t.samples, fmt.Sprintf("GET /events as %s: expired event", c.acct.UserID()))
				}
			default:
				t.fail("GET /events as %s: unexpected event %q", c.acct.UserID(), event)
			}
			return true
		}
	}
	t.fail("GET /events as %s: stream ended without an update after %v: %v", c.acct.UserID(), time.Since(began).Round(time.Millisecond), sc.Err())
	return true
}
