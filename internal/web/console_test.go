package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// consoleNote is the JSON the console socket sends as text.
type consoleNote struct {
	State     string `json:"state"`
	Message   string `json:"message"`
	Redirect  string `json:"redirect"`
	Reconnect bool   `json:"reconnect"`
}

// termClient is a browser's side of a console.
type termClient struct {
	t   *testing.T
	c   *websocket.Conn
	out bytes.Buffer
}

func consoleURL(st *apptest.Stack, node string, vmid int) string {
	return "ws" + strings.TrimPrefix(st.URL, "http") + "/containers/" + node + "/" + strconv.Itoa(vmid) + "/console/ws"
}

// dialConsole opens a console socket as the client c, from origin.
func dialConsole(st *apptest.Stack, c *http.Client, node string, vmid int, origin string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{"Sec-Fetch-Mode": {"websocket"}} // as browsers send
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, consoleURL(st, node, vmid), &websocket.DialOptions{HTTPClient: c, HTTPHeader: h})
}

func openConsole(t *testing.T, st *apptest.Stack, c *http.Client, node string, vmid int) *termClient {
	t.Helper()
	ws, _, err := dialConsole(st, c, node, vmid, st.URL)
	if err != nil {
		t.Fatalf("console socket: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &termClient{t: t, c: ws}
}

// next reads the next message: output is collected, a note returned.
func (tc *termClient) next(ctx context.Context) (*consoleNote, error) {
	typ, b, err := tc.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ == websocket.MessageBinary {
		tc.out.Write(b)
		return nil, nil
	}
	var n consoleNote
	if err := json.Unmarshal(b, &n); err != nil {
		tc.t.Fatalf("note %q: %v", b, err)
	}
	return &n, nil
}

// note reads until a note other than "open" arrives, within d.
func (tc *termClient) note(d time.Duration) consoleNote {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		n, err := tc.next(ctx)
		if err != nil {
			tc.t.Fatalf("no note within %s: %v (output ...%q)", d, err, tail(tc.out.String()))
		}
		if n != nil && n.State != "open" {
			return *n
		}
	}
}

// until reads until the output contains want.
func (tc *termClient) until(want string) {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	from := 0
	for !strings.Contains(tc.out.String()[from:], want) {
		from = max(0, tc.out.Len()-len(want))
		n, err := tc.next(ctx)
		if err != nil {
			tc.t.Fatalf("no %q in ...%q: %v", want, tail(tc.out.String()), err)
		}
		if n != nil && n.State != "open" {
			tc.t.Fatalf("console ended (%+v) before %q; output %q", *n, want, tail(tc.out.String()))
		}
	}
}

func (tc *termClient) typeText(s string) {
	tc.t.Helper()
	if err := tc.c.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		tc.t.Fatal(err)
	}
}

func (tc *termClient) resize(cols, rows int) {
	tc.t.Helper()
	b, _ := json.Marshal(map[string][]int{"resize": {cols, rows}})
	if err := tc.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		tc.t.Fatal(err)
	}
}

func tail(s string) string { return s[max(0, len(s)-300):] }

func consoleStack(t *testing.T, opts apptest.Options) *apptest.Stack {
	opts.Sim.Scenario = "demo"
	return apptest.Start(t, opts)
}

// TestConsoleRelaysBothWays: keystrokes reach the container's terminal,
// its output comes back, resizes reach PVE, Ctrl-C stops yes; opening and
// closing are audited, the keystrokes never logged.
func TestConsoleRelaysBothWays(t *testing.T) {
	st := consoleStack(t, apptest.Options{MemorySessions: true})
	c, _ := signIn(t, st)
	tc := openConsole(t, st, c, "pve1", 101)
	tc.until("root@web-01:~# ")
	tc.typeText("echo s3cr3t-keystrokes\r")
	tc.until("s3cr3t-keystrokes\r\nroot@web-01")
	tc.typeText("hostname\r")
	tc.until("hostname\r\nweb-01\r\n")
	tc.resize(117, 41)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Sim.AwaitConsoleSize(ctx, "pve1", 101, 117, 41); err != nil {
		t.Fatalf("the size did not reach PVE: %v", err)
	}
	tc.typeText("yes\r")
	tc.until("y\r\ny\r\ny\r\ny\r\n")
	tc.typeText("\x03")
	tc.until("^C\r\nroot@web-01:~# ")
	tc.out.Reset()
	tc.typeText("echo after\r")
	tc.until("after\r\nroot@web-01:~# ")
	if strings.Contains(tc.out.String(), "y\r\n") {
		t.Errorf("yes goes on after Ctrl-C: ...%q", tail(tc.out.String()))
	}
	if err := tc.c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Logf("close: %v", err)
	}
	waitLog(t, st, "audit: console closed")
	logs := st.Logs.String()
	for _, want := range []string{"audit: console opened", "user=root@pam", "vmid=101", "node=pve1", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(logs, "s3cr3t") {
		t.Error("keystrokes were logged")
	}
}

// waitLog waits until the dashboard logged want.
func waitLog(t *testing.T, st *apptest.Stack, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(st.Logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsoleStates: what the socket says instead of a blank terminal.
func TestConsoleStates(t *testing.T) {
	st := consoleStack(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{OfflineNodes: []string{"pve2"}}})
	root, _ := signIn(t, st)
	alice := st.Client(t)
	if r := login(t, st, alice, "alice", "pve", "alice-pass"); r.status != http.StatusSeeOther {
		t.Fatalf("alice: %d", r.status)
	}
	cases := []struct {
		name      string
		who       *http.Client
		node      string
		vmid      int
		state     string
		message   string
		reconnect bool
	}{
		{"outside alice's pool", alice, "pve1", 101, "forbidden", "You don't have permission to open a console on CT 101 (needs VM.Console).", false},
		{"stopped", root, "pve1", 108, "stopped", "CT 108 is stopped — start it to open a console.", false},
		{"node offline", root, "pve2", 102, "offline", "Node pve2 is offline.", true},
		{"no such container", root, "pve1", 555, "notfound", "CT 555 was not found on pve1.", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := openConsole(t, st, tc.who, tc.node, tc.vmid).note(10 * time.Second)
			if n.State != tc.state || n.Message != tc.message || n.Reconnect != tc.reconnect {
				t.Errorf("note %+v", n)
			}
		})
	}
	if got := st.Sim.ConsoleSessions(); len(got) != 0 {
		t.Errorf("PVE consoles were opened: %v", got)
	}
}

// TestConsolePage: the page shows the state before any terminal, with
// Start only for people who may start the container.
func TestConsolePage(t *testing.T) {
	st := consoleStack(t, apptest.Options{MemorySessions: true})
	root, _ := signIn(t, st)
	alice := st.Client(t)
	login(t, st, alice, "alice", "pve", "alice-pass")
	auditor := st.Client(t)
	login(t, st, auditor, "auditor", "pve", "auditor-pass")
	cases := []struct {
		name     string
		who      *http.Client
		path     string
		want     []string
		notWant  []string
		status   int
		location string
	}{
		{"running", root, "/containers/pve1/101/console", []string{`data-state="ready"`, `data-ws="/containers/pve1/101/console/ws"`, "vendor/xterm/xterm.css"}, []string{"console-start"}, 200, ""},
		{"stopped, may start", alice, "/containers/pve1/108/console", []string{`data-state="stopped"`, "CT 108 is stopped — start it to open a console.", `id="console-start"`}, nil, 200, ""},
		{"no permission", auditor, "/containers/pve1/101/console", []string{`data-state="forbidden"`, "You don&#39;t have permission to open a console on CT 101 (needs VM.Console)."}, []string{"console-start"}, 200, ""},
		{"moved", root, "/containers/pve3/101/console", nil, nil, http.StatusSeeOther, "/containers/pve1/101/console"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, st, tc.who, tc.path)
			if r.status != tc.status || r.header.Get("Location") != tc.location {
				t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
	if r := get(t, st, root, "/containers/pve1/101"); !strings.Contains(r.body, `href="/containers/pve1/101/console"`) {
		t.Error("the container page has no Console link")
	}
}

// TestConsoleSocketRefusals: another origin, no origin, no session.
func TestConsoleSocketRefusals(t *testing.T) {
	st := consoleStack(t, apptest.Options{MemorySessions: true})
	root, _ := signIn(t, st)
	cases := []struct {
		name   string
		who    *http.Client
		origin string
		status int
	}{
		{"another site", root, "https://evil.example", http.StatusForbidden},
		{"no origin", root, "", http.StatusForbidden},
		{"signed out", st.Client(t), st.URL, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := dialConsole(st, tc.who, "pve1", 101, tc.origin)
			if err == nil {
				_ = ws.CloseNow()
				t.Fatal("upgraded")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Errorf("response %v, want %d", resp, tc.status)
			}
		})
	}
	if got := st.Sim.ConsoleSessions(); len(got) != 0 {
		t.Errorf("PVE consoles were opened: %v", got)
	}
}

// TestFifthConsoleIsRefused: four consoles per session; the fifth is
// refused without closing any; another session has its own four.
func TestFifthConsoleIsRefused(t *testing.T) {
	st := consoleStack(t, apptest.Options{MemorySessions: true})
	c, _ := signIn(t, st)
	var open []*termClient
	for range 4 {
		tc := openConsole(t, st, c, "pve1", 101)
		tc.until("# ")
		open = append(open, tc)
	}
	fifth := openConsole(t, st, c, "pve1", 103)
	if n := fifth.note(10 * time.Second); n.State != "limit" || n.Message != "This session already has 4 consoles open. Close one to open another." {
		t.Errorf("fifth: %+v", n)
	}
	open[3].typeText("hostname\r")
	for _, tc := range open {
		tc.until("web-01\r\n") // all four still work
	}
	other, _ := signIn(t, st)
	openConsole(t, st, other, "pve1", 103).until("root@db-main:~# ")
	_ = open[0].c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		tc := openConsole(t, st, c, "pve1", 103)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := tc.next(ctx)
		for err == nil && n == nil {
			n, err = tc.next(ctx)
		}
		cancel()
		if err == nil && n.State == "open" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no console after closing one: %+v %v", n, err)
		}
	}
}

// TestConsoleEndsWithTheSession: signing out (here or on another
// instance) closes an open console within a second.
func TestConsoleEndsWithTheSession(t *testing.T) {
	for _, twoInstances := range []bool{false, true} {
		t.Run("two instances "+strconv.FormatBool(twoInstances), func(t *testing.T) {
			st := consoleStack(t, apptest.Options{MemorySessions: !twoInstances})
			c, _ := signIn(t, st)
			here := st
			if twoInstances {
				here = otherInstance(t, st, time.Now)
			}
			tc := openConsole(t, st, c, "pve1", 101)
			tc.until("# ")
			postForm(t, here, c, "/logout", nil)
			start := time.Now()
			n := tc.note(3 * time.Second)
			if took := time.Since(start); took > time.Second+300*time.Millisecond {
				t.Errorf("closed after %s", took)
			}
			if n.State != "ended" || n.Redirect != "/login" {
				t.Errorf("note %+v", n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := tc.next(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the socket stays open: %v", err)
			}
		})
	}
}

// consoleInstance starts another dashboard on st's Redis and secret with
// cfg changed by change, and returns its web server too (to shut it down).
func consoleInstance(t *testing.T, st *apptest.Stack, change func(*config.Config)) (*apptest.Stack, *web.Server) {
	t.Helper()
	cfg := st.Config
	change(&cfg)
	d, err := app.NewDashboard(context.Background(), cfg, app.Deps{Logger: slog.New(slog.NewTextHandler(st.Logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Server)
	t.Cleanup(func() {
		srv.Close()
		d.Server.Close()
		_ = d.Close()
	})
	other := *st
	other.Server, other.URL = srv, srv.URL
	return &other, d.Server
}

// TestConsoleIdleTimeout: a console nobody types in closes, saying why.
func TestConsoleIdleTimeout(t *testing.T) {
	st := consoleStack(t, apptest.Options{})
	inst, _ := consoleInstance(t, st, func(c *config.Config) { c.ConsoleIdleTimeout = 700 * time.Millisecond })
	c, _ := signIn(t, inst)
	tc := openConsole(t, inst, c, "pve1", 101)
	tc.until("# ")
	start := time.Now()
	n := tc.note(5 * time.Second)
	if n.State != "idle" || !strings.HasSuffix(n.Message, " without input.") || !n.Reconnect {
		t.Errorf("note %+v", n)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("closed after %s, before the idle time", took)
	}
}

// TestConsoleShutdown: a graceful shutdown tells the terminal.
func TestConsoleShutdown(t *testing.T) {
	st := consoleStack(t, apptest.Options{})
	inst, srv := consoleInstance(t, st, func(*config.Config) {})
	c, _ := signIn(t, inst)
	tc := openConsole(t, inst, c, "pve1", 101)
	tc.until("# ")
	go srv.Close()
	if n := tc.note(5 * time.Second); n.State != "shutdown" || !n.Reconnect {
		t.Errorf("note %+v", n)
	}
}
