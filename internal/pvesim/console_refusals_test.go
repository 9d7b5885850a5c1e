package pvesim

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestVNCTicketIsBound: the ticket is good only for its user, path and
// port, for about 40 seconds.
func TestVNCTicketIsBound(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := startEnv(t, Options{Scenario: "demo", Now: clock.Now})
	root, rootCSRF := e.login("root@pam", "proxmox")
	alice, aliceCSRF := e.login("alice@pve", "alice-pass")
	a := e.termproxy(root, rootCSRF, "pve1", 108)
	cases := []struct {
		name  string
		auth  string
		vmid  int
		port  int
		after time.Duration
	}{
		{"another user", alice, 108, a.port, 0},
		{"another container", root, 101, a.port, 0},
		{"another port", root, 108, a.port + 1, 0},
		{"40 seconds old", root, 108, a.port, 40 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(tc.after))
			b := a
			b.port = tc.port
			res := e.do(req{path: "/nodes/pve1/lxc/" + strconv.Itoa(tc.vmid) + "/vncwebsocket?port=" + strconv.Itoa(b.port) +
				"&vncticket=" + urlQuery(a.ticket), ticket: tc.auth})
			if res.code != 401 || res.reason != "permission denied - invalid PVEVNC ticket" {
				t.Errorf("%d %s %s", res.code, res.reason, res.body)
			}
		})
	}
	clock.Set(time.Date(2026, 3, 1, 12, 0, 39, 0, time.UTC))
	res := e.do(req{path: "/nodes/pve1/lxc/108/vncwebsocket?port=" + strconv.Itoa(a.port) + "&vncticket=" + urlQuery(a.ticket), ticket: root})
	if res.code != 200 || res.json(t)["data"].(map[string]any)["port"] != strconv.Itoa(a.port) {
		t.Errorf("without Upgrade: %d %s", res.code, res.body)
	}
	// alice holds VM.Console only in pool dev.
	res = e.do(req{method: "POST", path: "/nodes/pve1/lxc/101/termproxy", ticket: alice, csrf: aliceCSRF, form: map[string][]string{}})
	if res.code != 403 || res.reason != "Permission check failed (/vms/101, VM.Console)" {
		t.Errorf("alice on 101: %d %s", res.code, res.reason)
	}
	_ = e.termproxy(alice, aliceCSRF, "pve1", 108)
}

func urlQuery(s string) string {
	return strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D", ":", "%3A").Replace(s)
}

// TestTermproxyServesOneConnection: a second websocket with the same
// ticket finds nobody on the port; a bad ticket line gets nothing at all.
func TestTermproxyServesOneConnection(t *testing.T) {
	e := startEnv(t, Options{Scenario: "demo"})
	root, csrf := e.login("root@pam", "proxmox")
	tm, a := e.openConsole(root, csrf, "root@pam", "pve1", 101)
	tm.until("OK")
	if c, _, err := e.dialVNC(root, "pve1", 101, a); err == nil {
		_ = c.CloseNow()
		t.Fatal("a second connection with the same ticket was accepted")
	}
	b := e.termproxy(root, csrf, "pve1", 101)
	if b.port != a.port {
		t.Errorf("the port is free again after the connection: got %d, want %d", b.port, a.port)
	}
	c, _, err := e.dialVNC(root, "pve1", 101, b)
	if err != nil {
		t.Fatal(err)
	}
	bad := &term{t: t, c: c}
	bad.send("garbage\n")
	if out := bad.rest(); out != "" {
		t.Errorf("a bad ticket line got %q", out)
	}
	waitTask(t, e, b.upid, "command '/usr/bin/termproxy 5900 --path /vms/101 --perm VM.Console --vncticket-endpoint --verify-port --ticket-fd 3 -- /usr/bin/dtach -A /var/run/dtach/vzctlconsole101 -r winch -z lxc-console -n 101 -e -1' failed: exit code 1")
	task, _ := e.sim.Task(b.upid)
	if !strings.Contains(strings.Join(task.Log, "\n"), "failed reading ticket: authentication data is invalid") {
		t.Errorf("task log %q", task.Log)
	}
}

// TestConsoleOfAStoppedContainer: the call, the websocket and OK succeed,
// then lxc-console's complaint and dtach's end, and the connection closes.
func TestConsoleOfAStoppedContainer(t *testing.T) {
	e := startEnv(t, Options{Scenario: "demo"})
	root, csrf := e.login("root@pam", "proxmox")
	tm, _ := e.openConsole(root, csrf, "root@pam", "pve1", 108)
	if out := tm.rest(); out != "OK108 is not running\r\n\x1b[999H\r\n[EOF - dtach terminating]\r\n" {
		t.Errorf("output %q", out)
	}
}

// TestConsoleOnAnOfflineNode: termproxy has no proxyto, so the call and
// the websocket succeed on the node that got them; the ssh to the
// container's node fails. (Its status/current answers 595.)
func TestConsoleOnAnOfflineNode(t *testing.T) {
	e := startEnv(t, Options{Scenario: "demo", OfflineNodes: []string{"pve2"}})
	root, csrf := e.login("root@pam", "proxmox")
	tm, _ := e.openConsole(root, csrf, "root@pam", "pve2", 102)
	if out := tm.rest(); !strings.HasPrefix(out, "OKssh: connect to host ") || !strings.HasSuffix(out, " port 22: No route to host\r\n") {
		t.Errorf("output %q", out)
	}
	if res := e.do(req{path: "/nodes/pve2/lxc/102/status/current", ticket: root}); res.code != 595 {
		t.Errorf("status/current: %d", res.code)
	}
}

// TestConsolesShareTheSession: a second console on the same container
// sees the first one's typing (dtach -A), and its Ctrl-C stops the first
// one's `yes` for both.
func TestConsolesShareTheSession(t *testing.T) {
	e := startEnv(t, Options{Scenario: "demo"})
	root, csrf := e.login("root@pam", "proxmox")
	one, _ := e.openConsole(root, csrf, "root@pam", "pve1", 101)
	one.until("# ")
	two, _ := e.openConsole(root, csrf, "root@pam", "pve1", 101)
	two.until("# ")
	one.send("0:14:echo from-one\r")
	two.until("from-one\r\nroot@web-01:~# ")
	one.send("0:7:yes ab\r")
	two.until("ab\r\nab\r\nab\r\n")
	// From here both are read all along: a console whose socket is full
	// misses output, as with dtach, and the flood fills them.
	f1, f2 := follow(one), follow(two)
	two.send("0:1:\x03")
	// Once `yes` stopped, a command's answer reaches both (the first
	// tries may still be dropped while the flood drains).
	for i := range 20 {
		mark := fmt.Sprintf("mark-%d", i)
		one.send(fmt.Sprintf("0:%d:echo %s\r", len(mark)+6, mark))
		if f1.wait(mark+"\r\nroot@web-01:~# ", time.Second) && f2.wait(mark+"\r\nroot@web-01:~# ", time.Second) {
			break
		}
		if i == 19 {
			t.Fatalf("no answer after Ctrl-C: ...%q", tail(f1.String()))
		}
	}
	if got := e.sim.ConsoleSessions(); len(got) != 1 || got[0] != "pve1/101" {
		t.Errorf("sessions %v", got)
	}
}

// followedTerm is a console read all along by a goroutine of its own.
type followedTerm struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{} // signalled after each read
}

// follow reads tm's connection until it ends.
func follow(tm *term) *followedTerm {
	f := &followedTerm{more: make(chan struct{}, 1)}
	go func() {
		for {
			_, b, err := tm.c.Read(context.Background())
			if err != nil {
				return
			}
			f.mu.Lock()
			f.buf.Write(b)
			f.mu.Unlock()
			select {
			case f.more <- struct{}{}:
			default:
			}
		}
	}()
	return f
}

func (f *followedTerm) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

// wait reports whether want is in the output within d.
func (f *followedTerm) wait(want string, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for !strings.Contains(f.String(), want) {
		select {
		case <-f.more:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// TestTermproxyWaitsTenSeconds: a termproxy nobody connects to gives up.
func TestTermproxyWaitsTenSeconds(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := startEnv(t, Options{Scenario: "demo", Now: clock.Now})
	root, csrf := e.login("root@pam", "proxmox")
	a := e.termproxy(root, csrf, "pve1", 101)
	clock.Advance(11 * time.Second)
	if c, _, err := e.dialVNC(root, "pve1", 101, a); err == nil {
		_ = c.CloseNow()
		t.Fatal("connected to a termproxy that gave up")
	}
	task, _ := e.sim.Task(a.upid)
	if task.Status != "stopped" || !strings.Contains(strings.Join(task.Log, "\n"), "failed waiting for client: timed out") {
		t.Errorf("task %+v", task)
	}
}

// TestWebsocketUpgradeChecks: pveproxy's refusals before any upgrade.
func TestWebsocketUpgradeChecks(t *testing.T) {
	e := startEnv(t, Options{Scenario: "demo"})
	root, csrf := e.login("root@pam", "proxmox")
	a := e.termproxy(root, csrf, "pve1", 101)
	path := "/nodes/pve1/lxc/101/vncwebsocket?port=" + strconv.Itoa(a.port) + "&vncticket=" + urlQuery(a.ticket)
	cases := []struct {
		header map[string]string
		reason string
	}{
		{map[string]string{"Upgrade": "h2c", "Connection": "Upgrade"}, "unable to upgrade to protocol 'h2c'"},
		{map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8"}, "unsupported websocket-version '8'"},
		{map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}, "missing websocket-key"},
	}
	for _, tc := range cases {
		if res := e.do(req{path: path, ticket: root, header: tc.header}); res.code != 501 || res.reason != tc.reason {
			t.Errorf("%v: %d %s", tc.header, res.code, res.reason)
		}
	}
}
