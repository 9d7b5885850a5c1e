package pvesim

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// vncAnswer is termproxy's answer.
type vncAnswer struct {
	user, ticket, upid string
	port               int
}

func (e *testEnv) termproxy(ticket, csrf, node string, vmid int) vncAnswer {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/nodes/" + node + "/lxc/" + strconv.Itoa(vmid) + "/termproxy",
		ticket: ticket, csrf: csrf, form: url.Values{}})
	if res.code != 200 {
		e.t.Fatalf("termproxy: %d %s %s", res.code, res.reason, res.body)
	}
	d := res.json(e.t)["data"].(map[string]any)
	return vncAnswer{user: d["user"].(string), ticket: d["ticket"].(string), upid: d["upid"].(string), port: int(d["port"].(float64))}
}

// dialVNC opens vncwebsocket as the holder of authTicket.
func (e *testEnv) dialVNC(authTicket, node string, vmid int, a vncAnswer) (*websocket.Conn, *http.Response, error) {
	q := url.Values{"port": {strconv.Itoa(a.port)}, "vncticket": {a.ticket}}
	u := strings.Replace(e.srv.URL, "https://", "wss://", 1) + "/api2/json/nodes/" + node + "/lxc/" + strconv.Itoa(vmid) + "/vncwebsocket?" + q.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{"Cookie": {"PVEAuthCookie=" + url.QueryEscape(authTicket)}}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: e.client, HTTPHeader: h, Subprotocols: []string{"binary"}})
	if c != nil {
		c.SetReadLimit(wsMaxPayload)
	}
	return c, resp, err
}

// term reads a console's output.
type term struct {
	t   *testing.T
	c   *websocket.Conn
	buf bytes.Buffer
}

func (tm *term) send(s string) {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tm.c.Write(ctx, websocket.MessageBinary, []byte(s)); err != nil {
		tm.t.Fatalf("write: %v", err)
	}
}

// until reads until the output contains want; it returns false when the
// connection ended first. Only the new output is searched.
func (tm *term) until(want string) bool {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	from := 0
	for !strings.Contains(tm.buf.String()[from:], want) {
		from = max(0, tm.buf.Len()-len(want))
		_, b, err := tm.c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				tm.t.Fatalf("no %q in ...%q", want, tail(tm.buf.String()))
			}
			return false
		}
		tm.buf.Write(b)
	}
	return true
}

// tail is the end of a long output, for messages.
func tail(s string) string { return s[max(0, len(s)-300):] }

// rest reads to the end of the connection.
func (tm *term) rest() string {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := tm.c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				tm.t.Fatalf("the connection stays open; got ...%q", tail(tm.buf.String()))
			}
			return tm.buf.String()
		}
		tm.buf.Write(b)
	}
}

func (e *testEnv) openConsole(ticket, csrf, user, node string, vmid int) (*term, vncAnswer) {
	e.t.Helper()
	a := e.termproxy(ticket, csrf, node, vmid)
	c, _, err := e.dialVNC(ticket, node, vmid, a)
	if err != nil {
		e.t.Fatalf("vncwebsocket: %v", err)
	}
	e.t.Cleanup(func() { _ = c.CloseNow() })
	tm := &term{t: e.t, c: c}
	tm.send(user + ":" + a.ticket + "\n")
	return tm, a
}

func TestConsoleShellAndTask(t *testing.T) {
	e := startEnv(t, Options{Scenario: "demo"})
	ticket, csrf := e.login("root@pam", "proxmox")
	a := e.termproxy(ticket, csrf, "pve1", 101)
	if a.user != "root@pam" || a.port != 5900 || !strings.HasPrefix(a.ticket, "PVEVNC:") || !strings.Contains(a.upid, ":vncproxy:101:root@pam:") {
		t.Fatalf("termproxy answered %+v", a)
	}
	c, resp, err := e.dialVNC(ticket, "pve1", 101, a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "binary" {
		t.Errorf("subprotocol %q", p)
	}
	tm := &term{t: t, c: c}
	tm.send("root@pam:" + a.ticket + "\n")
	tm.until("OKroot@web-01:~# ")
	tm.send("0:9:hostname\r")
	tm.until("hostname\r\nweb-01\r\n")
	tm.send("1:132:43:")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sim.AwaitConsoleSize(ctx, "pve1", 101, 132, 43); err != nil {
		t.Fatalf("size: %v", err)
	}
	if task, _ := e.sim.Task(a.upid); task.Status != "running" {
		t.Errorf("vncproxy task %+v while connected", task)
	}
	tm.send("0:5:exit\r")
	if out := tm.rest(); !strings.HasSuffix(out, "logout\r\n\x1b[999H\r\n[EOF - dtach terminating]\r\n") {
		t.Errorf("after exit: %q", out)
	}
	waitTask(t, e, a.upid, "OK")
}

// waitTask waits until the task has ended with exit.
func waitTask(t *testing.T, e *testEnv, upid, exit string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		task, _ := e.sim.Task(upid)
		if task.Status == "stopped" {
			if task.ExitStatus != exit {
				t.Errorf("task ended with %q, want %q", task.ExitStatus, exit)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s", upid, task.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
