package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/loadtest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// goroutineMargin is how many more goroutines than before the load may be
// left once the load is over and idle connections are closed.
const goroutineMargin = 10

// TestLoad is the load test of docs/benchmarks.md ("1,000 concurrent
// clients"): 1,000 clients of 20 users sign in and browse the whole stack
// (the simulator, a private redis-server, the dashboard) for 30 s, pausing
// 100-500 ms between requests. It requires no errors, no lost sessions, no
// goroutines left behind, and exactly one session:* key in Redis per
// signed-in client, none after they sign out.
//
// It is opt-in: LOADTEST=1 go test -count=1 -run TestLoad -v ./internal/loadtest
// Knobs: LOADTEST_DURATION (30s), LOADTEST_CLIENTS (1000), LOADTEST_USERS
// (20), LOADTEST_PAUSE (100ms-500ms).
func TestLoad(t *testing.T) {
	if os.Getenv("LOADTEST") != "1" {
		t.Skip("load test is opt-in: LOADTEST=1 go test -count=1 -run TestLoad -v ./internal/loadtest " +
			"(LOADTEST_DURATION=30s LOADTEST_CLIENTS=1000 LOADTEST_USERS=20 LOADTEST_PAUSE=100ms-500ms)")
	}
	if os.Getenv("REDIS_URL") != "" {
		t.Skip("the load test counts every session:* key, so it needs its own redis-server: unset REDIS_URL")
	}
	minPause, maxPause := envPause(t, "LOADTEST_PAUSE", 100*time.Millisecond, 500*time.Millisecond)
	runLoad(t, loadParams{
		clients:  envInt(t, "LOADTEST_CLIENTS", 1000),
		users:    envInt(t, "LOADTEST_USERS", 20),
		duration: envDuration(t, "LOADTEST_DURATION", 30*time.Second),
		minPause: minPause,
		maxPause: maxPause,
		listP95:  250 * time.Millisecond,
	})
}

// TestLoadSmall runs the same checks with a few clients for a moment, so
// the load generator itself keeps working.
func TestLoadSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv("REDIS_URL") != "" {
		t.Skip("counts every session:* key, so it needs its own redis-server: unset REDIS_URL")
	}
	runLoad(t, loadParams{clients: 12, users: 6, duration: 1500 * time.Millisecond, liveInterval: 250 * time.Millisecond})
}

// loadParams shape a run; zero pauses and liveInterval take the defaults
// (100-500 ms, 3 s).
type loadParams struct {
	clients, users     int
	duration           time.Duration
	minPause, maxPause time.Duration
	liveInterval       time.Duration
	// listP95, when set, is the most the list page's 95th percentile may
	// take.
	listP95 time.Duration
}

// runLoad runs the load and its checks.
func runLoad(t *testing.T, p loadParams) {
	// The load generator is the dashboard's proxy: its clients come from
	// many addresses (loadtest.Config.ForwardedFor).
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}, LiveInterval: p.liveInterval,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	liveInterval := p.liveInterval
	if liveInterval <= 0 {
		liveInterval = 3 * time.Second
	}
	clients, duration := p.clients, p.duration
	accounts := loadAccounts(t, st, p.users)
	ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
	defer cancel()

	goroutinesBefore := runtime.NumGoroutine()
	fleet, err := loadtest.New(loadtest.Config{BaseURL: st.URL, Accounts: accounts, Clients: clients, Duration: duration,
		MinPause: p.minPause, MaxPause: p.maxPause, ForwardedFor: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fleet.Config()
	t.Logf("dashboard %s, simulator %s, Redis %s; %d clients of %d users, pauses %v-%v, %v",
		st.URL, st.SimServer.URL, st.Redis.URL, clients, len(accounts), cfg.MinPause, cfg.MaxPause, duration)
	t.Cleanup(fleet.CloseIdleConnections)

	began := time.Now()
	sctx, scancel := context.WithTimeout(ctx, 3*time.Minute)
	err = fleet.SignIn(sctx)
	scancel()
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	t.Logf("%d clients of %d users signed in in %v", fleet.SignedIn(), len(accounts), time.Since(began).Round(time.Millisecond))
	if n := countKeys(t, st.RDB, session.Key("*")); n != fleet.SignedIn() {
		t.Errorf("after sign-in: %d session keys in Redis for %d signed-in clients", n, fleet.SignedIn())
	}

	simBefore, cpuBefore := st.Sim.Requests(), processCPU()
	report := fleet.Run(ctx)
	simRequests, cpu := st.Sim.Requests()-simBefore, processCPU()-cpuBefore
	t.Logf("load:\n%s", report)
	// The simulator shares the process (and the two cores) with the
	// dashboard and the load generator: its requests are its share.
	t.Logf("simulator: %d requests during the load (%.0f/s, %.2f per list page); process CPU %.1f s in %.1f s (dashboard, simulator, Redis client and load generator together)",
		simRequests, float64(simRequests)/report.Elapsed.Seconds(), float64(simRequests)/float64(max(1, len(report.ByKind[loadtest.List]))),
		cpu.Seconds(), report.Elapsed.Seconds())
	if p.listP95 > 0 {
		list := slices.Clone(report.ByKind[loadtest.List])
		slices.Sort(list)
		if p95 := loadtest.Percentile(list, 95); p95 > p.listP95 {
			t.Errorf("list page p95 %v, want under %v", p95, p.listP95)
		}
	}

	// The load is over: every page is closed, so the live pollers stop;
	// the clients' kept-alive connections are closed; the dashboard's own
	// connections to the simulator time out (5 s idle).
	resourcesCalls := func() int64 { return st.Sim.Calls(http.MethodGet, "/cluster/resources") }
	fleet.CloseIdleConnections()
	time.Sleep(time.Second) // the streams' handlers notice their closed connections
	polls := resourcesCalls()
	time.Sleep(2*liveInterval + time.Second)
	if more := resourcesCalls() - polls; more > 0 {
		t.Errorf("live pollers still run after the load: %d more polls of /cluster/resources", more)
	}
	goroutinesAfter := settleGoroutines(goroutinesBefore+goroutineMargin, 30*time.Second)
	keysLive := countKeys(t, st.RDB, session.Key("*"))

	octx, ocancel := context.WithTimeout(ctx, 3*time.Minute)
	err = fleet.SignOut(octx)
	ocancel()
	if err != nil {
		t.Errorf("sign-out: %v", err)
	}
	keysAfter := countKeys(t, st.RDB, session.Key("*"))
	fleet.CloseIdleConnections()
	goroutinesEnd := settleGoroutines(goroutinesBefore+goroutineMargin, 30*time.Second)

	t.Logf("goroutines: %d before, %d after the load, %d after sign-out (margin %d)",
		goroutinesBefore, goroutinesAfter, goroutinesEnd, goroutineMargin)
	t.Logf("session keys: %d for %d live sessions, %d after sign-out", keysLive, clients, keysAfter)
	logs := st.Logs.String()
	t.Logf("dashboard log: %d errors, %d warnings", strings.Count(logs, "level=ERROR"), strings.Count(logs, "level=WARN"))
	for _, line := range firstLines(logs, "level=ERROR", 5) {
		t.Logf("  %s", line)
	}

	if report.Failures() > 0 {
		t.Errorf("%d errors, %d lost sessions, %d pages of the wrong user", report.Errors, report.Lost, report.WrongUser)
	}
	if report.Requests == 0 {
		t.Error("no requests were made")
	}
	if goroutinesAfter > goroutinesBefore+goroutineMargin || goroutinesEnd > goroutinesBefore+goroutineMargin {
		t.Errorf("goroutines grew: %d before, %d after the load, %d after sign-out", goroutinesBefore, goroutinesAfter, goroutinesEnd)
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Logf("goroutines left:\n%s", b.String())
	}
	if keysLive != clients {
		t.Errorf("%d session keys in Redis for %d live sessions", keysLive, clients)
	}
	if keysAfter != 0 {
		t.Errorf("%d session keys in Redis after every client signed out", keysAfter)
	}
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAccounts returns n accounts (at least 4) for the clients: the demo
// scenario's root, alice, auditor and carol (pam, pve and an LDAP realm)
// and n-4 more pve users, half of them auditors of everything, half power
// users of pool dev.
func loadAccounts(t *testing.T, st *apptest.Stack, n int) []loadtest.Account {
	t.Helper()
	accounts := []loadtest.Account{
		{Username: "root", Realm: "pam", Password: "proxmox"},
		{Username: "alice", Realm: "pve", Password: "alice-pass"},
		{Username: "auditor", Realm: "pve", Password: "auditor-pass"},
		{Username: "carol", Realm: "corp", Password: "carol-pass"},
	}
	for i := range max(n-len(accounts), 0) {
		a := loadtest.Account{Username: fmt.Sprintf("load%03d", i+1), Realm: "pve", Password: "load-pass"}
		st.Sim.SetUser(pvesim.User{ID: a.UserID(), Password: a.Password})
		path, role := "/", "PVEAuditor"
		if i%2 == 1 {
			path, role = "/pool/dev", "PVEVMUser"
		}
		if err := st.Sim.SetACL(path, a.UserID(), role, true); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, a)
	}
	return accounts
}

// countKeys counts the keys matching pattern with SCAN.
func countKeys(t *testing.T, rdb redis.UniversalClient, pattern string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN %s: %v", pattern, err)
	}
	return n
}

// settleGoroutines waits until at most limit goroutines run, or until
// timeout, and returns the last count.
func settleGoroutines(limit int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func firstLines(text, substr string, max int) []string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			out = append(out, strings.TrimSpace(line))
			if len(out) == max {
				break
			}
		}
	}
	return out
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 30s", name, v)
	}
	return d
}

// envPause reads "MIN-MAX" durations, e.g. "100ms-500ms".
func envPause(t *testing.T, name string, defMin, defMax time.Duration) (time.Duration, time.Duration) {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return defMin, defMax
	}
	lo, hi, ok := strings.Cut(v, "-")
	minPause, err1 := time.ParseDuration(lo)
	maxPause, err2 := time.ParseDuration(hi)
	if !ok || err1 != nil || err2 != nil || minPause <= 0 || maxPause < minPause {
		t.Fatalf("%s=%q: want MIN-MAX durations such as 100ms-500ms", name, v)
	}
	return minPause, maxPause
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, ms(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, ms(50)}, {95, ms(95)}, {99, ms(99)}, {100, ms(100)}, {0.5, ms(1)}} {
		if got := loadtest.Percentile(sorted, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := loadtest.Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	if got := loadtest.Percentile([]time.Duration{ms(7)}, 99); got != ms(7) {
		t.Errorf("p99 of one = %v", got)
	}
}

func TestNewTalksToLoopbackOnly(t *testing.T) {
	acct := []loadtest.Account{{Username: "root", Realm: "pam", Password: "proxmox"}}
	for _, u := range []string{"http://example.com", "http://10.0.0.1:3001", "http://localhost:3001", "ftp://127.0.0.1/"} {
		if _, err := loadtest.New(loadtest.Config{BaseURL: u, Accounts: acct}); err == nil {
			t.Errorf("New accepted %s", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:3001", "http://[::1]:3001"} {
		if _, err := loadtest.New(loadtest.Config{BaseURL: u, Accounts: acct, Clients: 2}); err != nil {
			t.Errorf("New refused %s: %v", u, err)
		}
	}
}
