package loadtest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// Environment of the simulator helper process (TestMain).
const (
	simHelperEnv      = "LOADTEST_SIM_HELPER"       // its scenario
	simHelperUsersEnv = "LOADTEST_SIM_HELPER_USERS" // how many liveNNN users to add
	pagesHelperEnv    = "LOADTEST_PAGES_HELPER"     // the dashboard's base URL
	consolesHelperEnv = "LOADTEST_CONSOLES_HELPER"  // the dashboard's base URL
)

// TestMain lets this test binary serve as the simulator, as the open
// pages of TestLiveScale and as the browsers of the console benchmark,
// each in a process of its own, so that the dashboard's CPU and memory are
// measured apart from theirs.
func TestMain(m *testing.M) {
	if scenario := os.Getenv(simHelperEnv); scenario != "" {
		os.Exit(runSimHelper(scenario))
	}
	if base := os.Getenv(pagesHelperEnv); base != "" {
		os.Exit(runPagesHelper(base))
	}
	if base := os.Getenv(consolesHelperEnv); base != "" {
		os.Exit(runConsolesHelper(base))
	}
	os.Exit(m.Run())
}

// liveScaleAccount is the i-th user of the live-scale test: even ones
// audit everything (they see every container), odd ones manage pool dev.
func liveScaleAccount(i int) (userid, password, path, role string) {
	path, role = "/", "PVEAuditor"
	if i%2 == 1 {
		path, role = "/pool/dev", "PVEVMUser"
	}
	return fmt.Sprintf("live%03d@pve", i), "live-pass", path, role
}

// runSimHelper serves the simulator until stdin closes (the parent ended),
// having printed "ADDR FINGERPRINT".
func runSimHelper(scenario string) int {
	n, _ := strconv.Atoi(os.Getenv(simHelperUsersEnv))
	sim, err := pvesim.New(pvesim.Options{Scenario: scenario})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range n {
		id, pw, path, role := liveScaleAccount(i)
		sim.SetUser(pvesim.User{ID: id, Password: pw})
		if err := sim.SetACL(path, id, role, true); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	srv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	fmt.Printf("%s %s\n", srv.Addr, srv.Fingerprint)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// liveScaleParams size a live-scale run.
type liveScaleParams struct {
	scenario       string
	users, tabs    int
	tabsPerSession int
	interval       time.Duration
	duration       time.Duration
	// warmup passes before the measured period: the first polls of all
	// users at once are slow and back their pollers off for a while.
	warmup time.Duration
	// maxCores and maxPerPage, when set, bound the dashboard's CPU (cores)
	// and its memory per open page.
	maxCores   float64
	maxPerPage int
	// maxGoroutines bounds the goroutines an open page adds (its stream's,
	// and a share of its session's watcher).
	maxGoroutines float64
}

// TestLiveScale is the live-update load test of docs/benchmarks.md: 1,000
// open pages (50 users × 20 tabs, five tabs per session) on the large
// scenario for 30 s. The simulator runs in a process of its own; this
// process is the dashboard and the pages' readers. It requires every page
// to get every update of its user, one PVE poll per user per interval, one
// render per view per snapshot, at most one core, and under 32 KiB per open
// page.
//
// Opt-in: LOADTEST=1 go test -count=1 -run 'TestLiveScale$' -v ./internal/loadtest
// Knobs: LOADTEST_USERS (50), LOADTEST_TABS (20), LOADTEST_DURATION (30s),
// LOADTEST_WARMUP (15s), LOADTEST_INTERVAL (3s), LOADTEST_SCENARIO (large).
func TestLiveScale(t *testing.T) {
	if os.Getenv("LOADTEST") != "1" {
		t.Skip("opt-in: LOADTEST=1 go test -count=1 -run 'TestLiveScale$' -v ./internal/loadtest")
	}
	runLiveScale(t, liveScaleParams{
		scenario: envString("LOADTEST_SCENARIO", "large"),
		users:    envInt(t, "LOADTEST_USERS", 50), tabs: envInt(t, "LOADTEST_TABS", 20), tabsPerSession: 5,
		interval: envDuration(t, "LOADTEST_INTERVAL", 3*time.Second),
		duration: envDuration(t, "LOADTEST_DURATION", 30*time.Second),
		warmup:   envDuration(t, "LOADTEST_WARMUP", 15*time.Second),
		maxCores: 1, maxPerPage: 32 << 10, maxGoroutines: 1.5,
	})
}

// TestLiveScaleSmall runs the same checks, but for the CPU and memory
// bounds, on a small cluster for a moment.
func TestLiveScaleSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	runLiveScale(t, liveScaleParams{scenario: "demo", users: 3, tabs: 4, tabsPerSession: 2,
		interval: 300 * time.Millisecond, duration: 2 * time.Second, maxGoroutines: 1.5})
}

// scalePage is one open page of the pages helper: the updates it got, and
// the first event that was not an update.
type scalePage struct {
	updates atomic.Int64
	other   atomic.Value
}

// runPagesHelper opens pages of the dashboard at base as stdin says, one
// line each: "page COOKIE" (the session cookie's name=value); then "go".
// It answers "ready" once every page got its first update; each "count"
// with "counts N1 N2 ..." (updates so far, in order) or "other I EVENT"
// for a page that got another event; it exits at end of input.
func runPagesHelper(base string) int {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 64<<10)
	var cookies []string
	for in.Scan() && in.Text() != "go" {
		if c, ok := strings.CutPrefix(in.Text(), "page "); ok {
			cookies = append(cookies, c)
		}
	}
	transport := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: -1}
	c := &http.Client{Transport: transport}
	pages := make([]*scalePage, len(cookies))
	first := make(chan struct{}, len(cookies))
	failed := make(chan string, len(cookies))
	for i, ck := range cookies {
		pg := &scalePage{}
		pages[i] = pg
		go readPage(c, base, ck, pg, first, failed)
	}
	for range pages {
		select {
		case <-first:
		case msg := <-failed:
			fmt.Println("fail " + msg)
			return 1
		}
	}
	fmt.Println("ready")
	for in.Scan() {
		if in.Text() != "count" {
			continue
		}
		var b strings.Builder
		b.WriteString("counts")
		for i, pg := range pages {
			if ev := pg.other.Load(); ev != nil {
				fmt.Printf("other %d %v\n", i, ev)
			}
			fmt.Fprintf(&b, " %d", pg.updates.Load())
		}
		fmt.Println(b.String())
	}
	return 0
}

// readPage opens one page's event stream and counts its updates; it
// signals first after the first update, failed if the page cannot open.
func readPage(c *http.Client, base, cookie string, pg *scalePage, first chan<- struct{}, failed chan<- string) {
	req, _ := http.NewRequest(http.MethodGet, base+"/events", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	if err != nil {
		failed <- err.Error()
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		failed <- "status " + strconv.Itoa(resp.StatusCode)
		return
	}
	br := bufio.NewReader(resp.Body)
	signalled := false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue // a long data line: only event lines matter
		}
		if err != nil {
			return
		}
		ev, ok := strings.CutPrefix(string(line), "event: ")
		if !ok {
			continue
		}
		if ev = strings.TrimSpace(ev); ev != "update" {
			pg.other.CompareAndSwap(nil, ev)
			continue
		}
		pg.updates.Add(1)
		if !signalled {
			signalled = true
			first <- struct{}{}
		}
	}
}

// helper is a helper process of this test binary, talked to by lines.
type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startHelper runs this test binary as a helper with env added.
func startHelper(t testing.TB, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}
	t.Cleanup(func() { _ = in.Close(); _ = cmd.Wait() })
	return h
}

// line reads the helper's next line.
func (h *helper) line(t testing.TB) string {
	t.Helper()
	l, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("helper process: %v", err)
	}
	return strings.TrimSpace(l)
}

// counts asks the pages helper for the updates of every page.
func (h *helper) counts(t *testing.T) []int64 {
	t.Helper()
	fmt.Fprintln(h.in, "count")
	for {
		l := h.line(t)
		if rest, ok := strings.CutPrefix(l, "other "); ok {
			t.Errorf("page got another event than an update: %s", rest)
			continue
		}
		rest, ok := strings.CutPrefix(l, "counts")
		if !ok {
			t.Fatalf("pages helper: %q", l)
		}
		var out []int64
		for f := range strings.FieldsSeq(rest) {
			n, _ := strconv.ParseInt(f, 10, 64)
			out = append(out, n)
		}
		return out
	}
}

// envString is the environment variable name, or def when unset.
func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// startDashboard runs a dashboard in this process, as `serve` builds it,
// with a Redis server of its own, talking to the simulator helper whose
// first line was simLine ("ADDR FINGERPRINT"). interval, when set, is its
// live-update interval (the small runs go below LIVE_INTERVAL's 1 s
// minimum). It returns the dashboard and its base URL.
func startDashboard(t testing.TB, simLine string, interval time.Duration) (*app.Dashboard, string) {
	t.Helper()
	simAddr, fingerprint, _ := strings.Cut(simLine, " ")
	host, port, _ := net.SplitHostPort(simAddr)
	rds := redistest.Start(t)
	env := map[string]string{
		"PROXMOX_HOST": host, "PROXMOX_PORT": port, "PROXMOX_TLS_FINGERPRINT": fingerprint,
		"SESSION_SECRET": "live-scale-secret-0123456789abcdefghijkl", "REDIS_URL": rds.URL,
		"LISTEN_ADDR": "127.0.0.1:0", "COOKIE_SECURE": "false", "METRICS_ADDR": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if interval > 0 {
		cfg.LiveInterval = interval
	}
	d, err := app.NewDashboard(context.Background(), cfg, app.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: d.Server}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { d.Server.Close(); _ = hs.Close() })
	return d, "http://" + ln.Addr().String()
}

func runLiveScale(t *testing.T, p liveScaleParams) {
	if os.Getenv("REDIS_URL") != "" {
		t.Skip("needs a redis-server of its own: unset REDIS_URL")
	}
	if os.Getenv("LOADTEST_HEAP") != "" {
		runtime.MemProfileRate = 1 // every allocation in the profile
	}
	// The simulator, in a process of its own.
	sim := startHelper(t, simHelperEnv+"="+p.scenario, simHelperUsersEnv+"="+strconv.Itoa(p.users))
	d, base := startDashboard(t, sim.line(t), p.interval)

	// Sessions: one per tabsPerSession tabs (the dashboard keeps at most 6
	// streams per session).
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	c := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var pageCookie []string
	var pageUser []int
	for u := range p.users {
		id, pw, _, _ := liveScaleAccount(u)
		name, realm, _ := strings.Cut(id, "@")
		for tab := 0; tab < p.tabs; tab += p.tabsPerSession {
			cookie := signIn(t, c, base, name, realm, pw)
			for range min(p.tabsPerSession, p.tabs-tab) {
				pageCookie, pageUser = append(pageCookie, cookie), append(pageUser, u)
			}
		}
	}
	transport.CloseIdleConnections()

	// The pages, in processes of their own. Every tab of a user shows the
	// same view, so one render per user per snapshot serves all of them.
	// First one page per user, which starts the user's poller and holds
	// the user's data; then the others, whose memory is the pages' own.
	var firstTabs, otherTabs []int // indexes into pageCookie
	seen := map[int]bool{}
	for i, u := range pageUser {
		if seen[u] {
			otherTabs = append(otherTabs, i)
		} else {
			seen[u] = true
			firstTabs = append(firstTabs, i)
		}
	}
	openPages := func(idx []int) *helper {
		h := startHelper(t, pagesHelperEnv+"="+base)
		for _, i := range idx {
			fmt.Fprintln(h.in, "page "+pageCookie[i])
		}
		fmt.Fprintln(h.in, "go")
		if l := h.line(t); l != "ready" {
			t.Fatalf("pages helper: %s", l)
		}
		return h
	}
	// Collected a few times: each collection also shrinks stacks that
	// grew for a moment (the first page of a view renders its update).
	settle := func() {
		for range 3 {
			runtime.GC()
		}
	}
	firstProc := openPages(firstTabs)
	settle()
	goroutinesBefore := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var otherProc *helper
	if len(otherTabs) > 0 {
		otherProc = openPages(otherTabs)
	}
	settle()
	var open runtime.MemStats
	runtime.ReadMemStats(&open)
	goroutinesPerPage := float64(runtime.NumGoroutine()-goroutinesBefore) / float64(max(len(otherTabs), 1))
	startStack := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(startStack)
	t.Logf("starting stack size: %d", startStack[0].Value.Uint64())
	perPage := (int64(open.HeapInuse+open.StackInuse) - int64(before.HeapInuse+before.StackInuse)) / int64(max(len(otherTabs), 1))
	stackPerPage := (int64(open.StackInuse) - int64(before.StackInuse)) / int64(max(len(otherTabs), 1))
	// LOADTEST_HEAP=FILE writes a heap profile with the pages open.
	if f := os.Getenv("LOADTEST_HEAP"); f != "" {
		if out, err := os.Create(f); err == nil {
			_ = pprof.WriteHeapProfile(out)
			out.Close()
		}
	}
	counts := func() []int64 {
		out := make([]int64, len(pageCookie))
		for j, n := range firstProc.counts(t) {
			out[firstTabs[j]] = n
		}
		if otherProc != nil {
			for j, n := range otherProc.counts(t) {
				out[otherTabs[j]] = n
			}
		}
		return out
	}

	time.Sleep(p.warmup)
	// LOADTEST_CPU=FILE writes a CPU profile of the measured period.
	if f := os.Getenv("LOADTEST_CPU"); f != "" {
		if out, err := os.Create(f); err == nil {
			defer out.Close()
			if pprof.StartCPUProfile(out) == nil {
				defer pprof.StopCPUProfile() // before the file closes
			}
		}
	}
	// The measured period.
	pollsBefore, pollTimeBefore := resourcesPolls(t, d)
	rendersBefore := d.Server.LiveRenders()
	countsBefore := counts()
	cpuBefore, began := processCPU(), time.Now()
	time.Sleep(p.duration)
	cpu, elapsed := processCPU()-cpuBefore, time.Since(began)
	polls, pollTime := resourcesPolls(t, d)
	polls, pollTime = polls-pollsBefore, pollTime-pollTimeBefore
	renders := d.Server.LiveRenders() - rendersBefore
	countsAfter := counts()
	byUser := make([][]int64, p.users)
	var delivered int64
	for i := range pageCookie {
		n := countsAfter[i] - countsBefore[i]
		byUser[pageUser[i]] = append(byUser[pageUser[i]], n)
		delivered += n
	}
	pages := pageCookie

	intervals := elapsed.Seconds() / p.interval.Seconds()
	cores := cpu.Seconds() / elapsed.Seconds()
	t.Logf("%d pages of %d users (%d tabs each) on %q, interval %v, for %v", len(pages), p.users, p.tabs, p.scenario, p.interval, elapsed.Round(time.Millisecond))
	t.Logf("PVE polls of /cluster/resources: %d (%.2f per user per interval, each %v on average: over half the interval backs the poller off); live renders: %d (%.2f per poll)",
		polls, float64(polls)/float64(p.users)/intervals, (pollTime / time.Duration(max(polls, 1))).Round(time.Millisecond), renders, float64(renders)/float64(max(polls, 1)))
	t.Logf("updates delivered: %d (%.1f per page; %d per render expected: %d)", delivered, float64(delivered)/float64(len(pages)), p.tabs, renders*int64(p.tabs))
	t.Logf("dashboard process CPU: %.2f s in %.2f s = %.2f cores (the simulator and Redis are other processes)", cpu.Seconds(), elapsed.Seconds(), cores)
	t.Logf("memory per open page: %d bytes of heap and stacks (%d of them stacks, %.1f goroutines), from the %d pages opened after one per user",
		perPage, stackPerPage, goroutinesPerPage, len(otherTabs))

	// One poll per user per interval (a poll may fall just inside either
	// end of the period).
	if limit := float64(p.users) * (intervals + 1); float64(polls) > limit {
		t.Errorf("%d polls for %d users in %.1f intervals: more than one per user per interval", polls, p.users, intervals)
	}
	if polls < int64(p.users) {
		t.Errorf("only %d polls for %d users", polls, p.users)
	}
	// One render per view (here: per user) per snapshot.
	if renders > polls+int64(p.users) {
		t.Errorf("%d renders for %d polls of %d users (one view each)", renders, polls, p.users)
	}
	// Every page got every update of its user: the pages of a user differ
	// by at most the one update in flight at either end of the period.
	for u, ns := range byUser {
		lo, hi := ns[0], ns[0]
		for _, n := range ns {
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 2 || lo == 0 {
			t.Errorf("user %d: pages got between %d and %d updates", u, lo, hi)
		}
	}
	if d := delivered - renders*int64(p.tabs); d > int64(len(pages)) || d < -int64(len(pages)) {
		t.Errorf("%d updates delivered for %d renders × %d tabs", delivered, renders, p.tabs)
	}
	if p.maxCores > 0 && cores > p.maxCores {
		t.Errorf("the dashboard used %.2f cores, want at most %.2f", cores, p.maxCores)
	}
	if p.maxGoroutines > 0 && goroutinesPerPage > p.maxGoroutines {
		t.Errorf("%.1f goroutines per open page, want at most %.1f", goroutinesPerPage, p.maxGoroutines)
	}
	if p.maxPerPage > 0 && perPage > int64(p.maxPerPage) {
		t.Errorf("%d bytes per open page, want under %d", perPage, p.maxPerPage)
	}
}

// signIn signs name@realm in at the dashboard at base with c (which must
// not follow redirects) and returns the session cookie as "name=value".
func signIn(t testing.TB, c *http.Client, base, name, realm, password string) string {
	t.Helper()
	resp, err := c.PostForm(base+"/login", url.Values{"username": {name}, "realm": {realm}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "lxc-session" && resp.StatusCode == http.StatusSeeOther {
			return ck.Name + "=" + ck.Value
		}
	}
	t.Fatalf("sign-in of %s@%s: %d without a session cookie", name, realm, resp.StatusCode)
	return ""
}

// resourcesPolls reads from the dashboard's metrics how many PVE polls of
// /cluster/resources it made (lxcm_pve_requests_total) and how long they
// took together (lxcm_pve_request_duration_seconds).
func resourcesPolls(t *testing.T, d *app.Dashboard) (polls int64, took time.Duration) {
	t.Helper()
	rec := &metricsRecorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	d.MetricsHandler().ServeHTTP(rec, req)
	for line := range strings.SplitSeq(rec.body.String(), "\n") {
		if !strings.Contains(line, `endpoint="GET /cluster/resources"`) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		switch {
		case strings.HasPrefix(line, "lxcm_pve_requests_total{"):
			polls += int64(v)
		case strings.HasPrefix(line, "lxcm_pve_request_duration_seconds_sum{"):
			took += time.Duration(v * float64(time.Second))
		}
	}
	return polls, took
}

// metricsRecorder is a minimal ResponseWriter.
type metricsRecorder struct {
	header http.Header
	body   strings.Builder
}

func (r *metricsRecorder) Header() http.Header         { return r.header }
func (r *metricsRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *metricsRecorder) WriteHeader(int)             {}
