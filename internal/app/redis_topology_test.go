package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// page is one answer to a browser-like request.
type page struct {
	status   int
	location string
	body     string
}

// browse sends a browser-like request (Accept: text/html) with c's cookies.
func browse(t *testing.T, c *http.Client, method, target string, form url.Values) (page, error) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}, err
}

// signInRoot signs a new browser in as root@pam on the instance at st.
func signInRoot(t *testing.T, st *apptest.Stack, c *http.Client) {
	t.Helper()
	p, err := browse(t, c, http.MethodPost, st.URL+"/login", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {"proxmox"}})
	if err != nil || p.status != http.StatusSeeOther || p.location != "/" {
		t.Fatalf("sign-in: %+v, %v", p, err)
	}
}

// TestSentinelFailoverKeepsBrowsing: a signed-in person keeps browsing
// while the Redis primary is killed and the sentinels promote the replica.
// Requests during the switch get the curated 503 page, never a 500 or the
// sign-in page, and the dashboard recovers by itself within 10 s.
func TestSentinelFailoverKeepsBrowsing(t *testing.T) {
	sen := redistest.StartSentinel(t)
	st := apptest.Start(t, apptest.Options{Sentinel: sen})
	c := st.Client(t)
	signInRoot(t, st, c)
	// Replication is asynchronous: what the primary acknowledged in its
	// last moment may be lost (docs/deploy.md). Here the session is on the
	// replica before the primary dies.
	sen.WaitReplicated(t)

	paths := []string{"/sessions", "/", "/no-such-page"}
	want := map[string]int{"/sessions": http.StatusOK, "/": http.StatusOK, "/no-such-page": http.StatusNotFound}
	for _, p := range paths {
		if got, err := browse(t, c, http.MethodGet, st.URL+p, nil); err != nil || got.status != want[p] {
			t.Fatalf("before the failover GET %s: %d, %v", p, got.status, err)
		}
	}

	sen.Primary.Kill(t)
	killed := time.Now()
	var unavailable, served int
	var recovered time.Duration
	for i := 0; ; i++ {
		path := paths[i%len(paths)]
		got, err := browse(t, c, http.MethodGet, st.URL+path, nil)
		if err != nil {
			t.Fatalf("GET %s after %v: %v", path, time.Since(killed), err)
		}
		switch {
		case got.status == want[path]:
			if recovered == 0 {
				recovered = time.Since(killed)
			}
			served++
		case got.status == http.StatusServiceUnavailable:
			if !strings.Contains(got.body, "Session service unavailable") {
				t.Fatalf("a 503 without the curated text: %.300s", got.body)
			}
			if recovered != 0 {
				t.Fatalf("GET %s: 503 again %v after recovering at %v", path, time.Since(killed), recovered)
			}
			unavailable++
		default:
			t.Fatalf("GET %s %v after the kill: status %d (location %q), want %d or 503", path, time.Since(killed), got.status, got.location, want[path])
		}
		if served >= 30 {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("not recovered 10 s after the kill (%d answers of 503, %d served)", unavailable, served)
		}
		time.Sleep(20 * time.Millisecond) // a person's pace, not synchronisation
	}
	t.Logf("failover: %d answers of 503, recovered %v after the kill", unavailable, recovered.Round(time.Millisecond))
	if addr, err := sen.PrimaryAddr(context.Background(), t); err != nil || addr != sen.Replica.Addr() {
		t.Errorf("the primary is %q (%v), want the promoted replica %s", addr, err, sen.Replica.Addr())
	}
}

// TestClusterSignOutEverywhere: on a 3-master Redis Cluster, one person
// signs in on two dashboard instances; "Sign out everywhere" on one makes
// the other refuse the old cookie.
func TestClusterSignOutEverywhere(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	one := apptest.Start(t, apptest.Options{Cluster: cl})
	two := one.Instance(t, nil)
	// Browsers sign in on either instance until their sessions are on
	// more than one master (a session's key lands in its id's hash slot).
	type browser struct {
		st *apptest.Stack
		c  *http.Client
	}
	var browsers []browser
	owners := map[string]bool{}
	for len(browsers) < 4 || len(owners) < 2 {
		if len(browsers) == 20 {
			t.Fatalf("20 sessions all on %v", owners)
		}
		br := browser{one, one.Client(t)}
		if len(browsers)%2 == 1 {
			br.st = two
		}
		signInRoot(t, br.st, br.c)
		browsers = append(browsers, br)
		owners = map[string]bool{}
		for _, n := range cl.Nodes {
			ks, err := n.Client(t).Keys(context.Background(), "session:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) > 0 {
				owners[n.Addr()] = true
			}
		}
	}
	// Every browser's Sessions page, on either instance, lists them all.
	for i, br := range browsers {
		for _, st := range []*apptest.Stack{one, two} {
			p, err := browse(t, br.c, http.MethodGet, st.URL+"/sessions", nil)
			if err != nil || p.status != http.StatusOK {
				t.Fatalf("browser %d, Sessions page: %d, %v", i, p.status, err)
			}
			if n := strings.Count(p.body, "data-session="); n != len(browsers) {
				t.Errorf("browser %d: the Sessions page lists %d sessions, want %d", i, n, len(browsers))
			}
		}
	}
	a := browsers[0].c
	p, err := browse(t, a, http.MethodPost, one.URL+"/sessions/logout-all", url.Values{})
	if err != nil || p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("sign out everywhere: %+v, %v", p, err)
	}
	for i, br := range browsers[1:] {
		for _, st := range []*apptest.Stack{one, two} {
			p, err := browse(t, br.c, http.MethodGet, st.URL+"/sessions", nil)
			if err != nil || p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
				t.Errorf("browser %d after sign-out everywhere: %d to %q, %v; want the sign-in page", i+1, p.status, p.location, err)
			}
		}
	}
	for i, n := range cl.Nodes {
		ks, err := n.Client(t).Keys(context.Background(), "session:*").Result()
		if err != nil || len(ks) != 0 {
			t.Errorf("node %d still holds %d session keys (%v)", i, len(ks), err)
		}
	}
}

// getCalls is how many GETs Redis has served (INFO commandstats).
func getCalls(t *testing.T, st *apptest.Stack) int {
	t.Helper()
	info, err := st.RDB.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_get:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// TestSessionCacheAcrossInstances: a signed-in person's repeat requests on
// an instance cost no Redis GET, and a sign-out on one instance is refused
// by the other at the very next request.
func TestSessionCacheAcrossInstances(t *testing.T) {
	one := apptest.Start(t, apptest.Options{})
	two := one.Instance(t, nil)
	for _, tc := range []struct {
		name    string
		signOut func(t *testing.T, c *http.Client) page
	}{
		{"sign-out", func(t *testing.T, c *http.Client) page {
			p, _ := browse(t, c, http.MethodPost, one.URL+"/logout", url.Values{})
			return p
		}},
		{"sign out everywhere", func(t *testing.T, c *http.Client) page {
			p, _ := browse(t, c, http.MethodPost, one.URL+"/sessions/logout-all", url.Values{})
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := one.Client(t)
			signInRoot(t, one, c)
			// Warm instance two, until a request is served without a GET
			// (the sign-in's own write reaches it as an invalidation a
			// moment after the first request).
			deadline := time.Now().Add(5 * time.Second)
			for {
				before := getCalls(t, one)
				p, err := browse(t, c, http.MethodGet, two.URL+"/no-such-page", nil)
				if err != nil || p.status != http.StatusNotFound {
					t.Fatalf("signed-in request on instance two: %d, %v", p.status, err)
				}
				if getCalls(t, one) == before {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("instance two never served the session from its cache")
				}
			}
			req, _ := http.NewRequest(http.MethodGet, two.URL+"/no-such-page", nil)
			req.Header.Set("Accept", "text/html")
			cookies := c.Jar.Cookies(req.URL) // before the sign-out clears them
			if len(cookies) == 0 {
				t.Fatal("no cookies")
			}
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			if p := tc.signOut(t, c); p.status != http.StatusSeeOther || p.location != "/login" {
				t.Fatalf("sign-out on instance one: %+v", p)
			}
			// The old cookie, at once, on the instance that had it cached.
			stale := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := stale.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("instance two after the sign-out: %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}
