package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func testHost(running *bool) Host {
	return func() Container {
		return Container{VMID: 101, Hostname: "web-01", OSType: "debian", Kernel: "6.17.2-1-pve", Running: *running,
			Addrs: []Addr{{Iface: "lo", CIDR: "127.0.0.1/8"}, {Iface: "eth0", CIDR: "192.168.1.10/24", Brd: "192.168.1.255"}}}
	}
}

// reader collects a client's output in the background.
type reader struct {
	ch   chan []byte
	seen bytes.Buffer
	eof  bool
}

func newReader(r io.Reader) *reader {
	rd := &reader{ch: make(chan []byte, 1024)}
	go func() {
		defer close(rd.ch)
		buf := make([]byte, 8192)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				rd.ch <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	}()
	return rd
}

// until reads until the output seen so far contains want.
func (rd *reader) until(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for !strings.Contains(rd.seen.String(), want) {
		select {
		case b, ok := <-rd.ch:
			if !ok {
				rd.eof = true
				t.Fatalf("EOF before ...%q; got ...%q", short(want), short(rd.seen.String()))
			}
			rd.seen.Write(b)
		case <-timeout:
			t.Fatalf("no ...%q in ...%q", short(want), short(rd.seen.String()))
		}
	}
}

// end reads to EOF and returns everything seen.
func (rd *reader) end(t *testing.T) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case b, ok := <-rd.ch:
			if !ok {
				return rd.seen.String()
			}
			rd.seen.Write(b)
		case <-timeout:
			t.Fatalf("no EOF; got %q", rd.seen.String())
		}
	}
}

func (rd *reader) reset() { rd.seen.Reset() }

// short is the end of a long text, for messages.
func short(s string) string { return s[max(0, len(s)-200):] }

func TestShellCommands(t *testing.T) {
	running := true
	m := NewManager()
	defer m.Close()
	c := m.Attach("pve1/101", testHost(&running))
	out := newReader(c)
	out.until(t, "root@web-01:~# ")
	cases := []struct{ typed, want string }{
		{"hostname\r", "hostname\r\nweb-01\r\nroot@web-01:~# "},
		{"uname -a\r", "Linux web-01 6.17.2-1-pve #1 SMP"},
		{"ip -4 addr\r", "    inet 192.168.1.10/24 brd 192.168.1.255 scope global eth0\r\n"},
		{"cat /etc/os-release\r", `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"`},
		{"frobnicate\r", "-bash: frobnicate: command not found\r\n"},
		{"hostnamx\x7fe\r", "hostnamx\b \be\r\nweb-01\r\n"},
		{"\x1b[Ahostname\r", "hostname\r\nweb-01"},
	}
	for _, tc := range cases {
		out.reset()
		c.Input([]byte(tc.typed))
		out.until(t, tc.want)
	}
}

func TestYesStopsOnCtrlC(t *testing.T) {
	running := true
	m := NewManager()
	defer m.Close()
	c := m.Attach("pve1/101", testHost(&running))
	out := newReader(c)
	out.until(t, "# ")
	c.Input([]byte("yes\r"))
	out.until(t, strings.Repeat("y\r\n", 2000))
	out.reset()
	c.Input([]byte{3})
	out.until(t, "^C\r\nroot@web-01:~# ")
	// After the prompt no more y's come: the next command's output
	// follows the prompt directly.
	out.reset()
	c.Input([]byte("hostname\r"))
	out.until(t, "web-01\r\nroot@web-01:~# ")
	if strings.Contains(out.seen.String(), "y\r\n") {
		t.Errorf("yes goes on after Ctrl-C: %q", out.seen.String())
	}
}

func TestSecondClientSharesTheSession(t *testing.T) {
	running := true
	m := NewManager()
	defer m.Close()
	a := m.Attach("pve1/101", testHost(&running))
	ao := newReader(a)
	ao.until(t, "# ")
	b := m.Attach("pve1/101", testHost(&running))
	bo := newReader(b)
	bo.until(t, "root@web-01:~# ") // the redraw
	a.Input([]byte("echo shared\r"))
	ao.until(t, "shared\r\n")
	bo.until(t, "echo shared\r\nshared\r\n")
	b.Resize(132, 40)
	if cols, rows, _ := m.Size("pve1/101"); cols != 132 || rows != 40 {
		t.Errorf("size %dx%d, want 132x40", cols, rows)
	}
	b.Detach()
	ao.reset()
	a.Input([]byte("exit\r"))
	got := ao.end(t)
	if !strings.HasSuffix(got, "logout\r\n"+dtachEOF) {
		t.Errorf("exit: %q", got)
	}
	if len(m.Sessions()) != 0 {
		t.Errorf("sessions after exit: %v", m.Sessions())
	}
}

func TestAwaitSize(t *testing.T) {
	running := true
	m := NewManager()
	defer m.Close()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- m.AwaitSize(ctx, "pve1/101", 100, 30)
	}()
	c := m.Attach("pve1/101", testHost(&running))
	c.Resize(100, 30)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStoppedContainerEndsTheSession(t *testing.T) {
	running := true
	m := NewManager()
	defer m.Close()
	c := m.Attach("pve1/101", testHost(&running))
	out := newReader(c)
	out.until(t, "# ")
	running = false
	c.Input([]byte("hostname\r"))
	if got := out.end(t); !strings.HasSuffix(got, dtachEOF) || strings.Contains(got, "web-01\r\n") {
		t.Errorf("output %q", got)
	}
}

func TestQueue(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		typed  string
		size   [2]int
	}{
		{"data", []string{"0:5:hello"}, "hello", [2]int{80, 20}},
		{"data over two reads", []string{"0:10:hello", " world"}, "hello worl", [2]int{80, 20}},
		{"resize", []string{"1:120:40:"}, "", [2]int{120, 40}},
		{"ping and junk are dropped", []string{"2", "x0:2:ok"}, "ok", [2]int{80, 20}},
		{"several in one read", []string{"1:90:30:0:3:abc22"}, "abc", [2]int{90, 30}},
		{"resize without its trailing colon is lost", []string{"1:90:30", "0:2:ok"}, "", [2]int{80, 20}},
		{"a header split after its type is lost", []string{"0:", "3:abc"}, "", [2]int{80, 20}},
		{"multi-byte data counts bytes", []string{"0:4:\xc3\xa4\xc3\xa4"}, "ää", [2]int{80, 20}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			running := true
			m := NewManager()
			defer m.Close()
			c := m.Attach("k", testHost(&running))
			out := newReader(c)
			out.until(t, "# ")
			out.reset()
			var q queue
			for _, ch := range tc.chunks {
				q.feed([]byte(ch), c)
			}
			c.Input([]byte("\r")) // ends the line: what was typed is echoed before it
			out.until(t, "\r\n")
			if got := strings.TrimSuffix(strings.SplitN(out.seen.String(), "\r\n", 2)[0], "\r\n"); got != tc.typed {
				t.Errorf("typed %q, want %q", got, tc.typed)
			}
			if cols, rows, _ := m.Size("k"); cols != tc.size[0] || rows != tc.size[1] {
				t.Errorf("size %dx%d, want %v", cols, rows, tc.size)
			}
		})
	}
}

func TestTermproxyHandshake(t *testing.T) {
	running := true
	cases := []struct {
		name    string
		send    string
		close   bool
		want    string // what the client receives
		failure string
	}{
		{"good", "root@pam:PVEVNC:good\n", false, "OK", ""},
		{"good with keys in the same frame", "root@pam:PVEVNC:good\n0:9:hostname\r", false, "OK", ""},
		{"wrong ticket", "root@pam:PVEVNC:bad\n", false, "", "authentication request failed - invalid ticket"},
		{"no colon", "garbage\n", false, "", "failed reading ticket: authentication data is invalid"},
		{"closed early", "root@pam:PVE", true, "", "failed reading ticket: connection closed before authentication"},
		{"silent", "", false, "", "failed reading ticket: timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager()
			defer m.Close()
			done := make(chan string, 1)
			tp := &Termproxy{
				Auth: func(user, ticket string) error {
					if user != "root@pam" || ticket != "PVEVNC:good" {
						return errors.New("invalid ticket")
					}
					return nil
				},
				Start:         func() *Client { return m.Attach("k", testHost(&running)) },
				Done:          func(f string) { done <- f },
				TicketTimeout: 200 * time.Millisecond,
			}
			conn := tp.Serve()
			if tc.send != "" {
				_, _ = conn.Write([]byte(tc.send))
			}
			if tc.close {
				_ = conn.CloseWrite()
			}
			out := newReader(conn)
			if tc.want == "" {
				if got := out.end(t); got != "" {
					t.Errorf("sent %q, want nothing", got)
				}
			} else {
				out.until(t, tc.want+"root@web-01:~# ")
				if strings.Contains(tc.send, "hostname") {
					out.until(t, "web-01\r\n")
				}
				_ = conn.CloseWrite()
				out.end(t)
			}
			if got := <-done; got != tc.failure {
				t.Errorf("failure %q, want %q", got, tc.failure)
			}
		})
	}
}

func TestEndedClient(t *testing.T) {
	c := Ended("101 is not running\r\n" + dtachEOF)
	c.Input([]byte("x"))
	c.Resize(10, 10)
	got, _ := io.ReadAll(c)
	if string(got) != "101 is not running\r\n"+dtachEOF {
		t.Errorf("%q", got)
	}
	c.Detach()
}

// TestOneSlowClientLosesNothing: with one client, output larger than its
// socket waits for it (dtach drops only for clients that cannot take a
// piece while another can).
func TestOneSlowClientLosesNothing(t *testing.T) {
	running := true
	m := NewManager()
	defer m.Close()
	c := m.Attach("k", testHost(&running))
	long := strings.Repeat("x", 100000)
	c.Input([]byte("echo " + long + "\r"))
	time.Sleep(100 * time.Millisecond) // the client reads nothing meanwhile
	out := newReader(c)
	out.until(t, long+"\r\n"+long+"\r\nroot@web-01:~# ")
}
