package proxmox_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// screen reads a console's output into a string.
type screen struct {
	t   *testing.T
	con lxc.Console
	out strings.Builder
}

// until reads until the output contains want; false if the console ended.
func (s *screen) until(want string) bool {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !strings.Contains(s.out.String(), want) {
		r, err := s.con.Next(ctx)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			out := s.out.String()
			s.t.Fatalf("no %q in ...%q: %v", want[max(0, len(want)-40):], out[max(0, len(out)-300):], err)
		}
		b, _ := io.ReadAll(r)
		s.out.Write(b)
	}
	return true
}

func TestConsole(t *testing.T) {
	srv := startSim(t, pvesim.Options{Scenario: "demo"})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	con, err := c.OpenConsole(ctx, id, "pve1", 101)
	if err != nil {
		t.Fatal(err)
	}
	s := &screen{t: t, con: con}
	if !s.until("root@web-01:~# ") {
		t.Fatal("the console ended")
	}
	if strings.HasPrefix(s.out.String(), "OK") {
		t.Errorf("termproxy's OK reached the output: %q", s.out.String())
	}
	// A paste larger than one message goes in pieces.
	long := strings.Repeat("x", 40000)
	if err := con.Input(ctx, []byte("echo "+long+"\r")); err != nil {
		t.Fatal(err)
	}
	s.until(long + "\r\n" + "root@web-01")
	if err := con.Resize(ctx, 120, 33); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Sim.AwaitConsoleSize(wctx, "pve1", 101, 120, 33); err != nil {
		t.Fatalf("resize: %v", err)
	}
	if err := con.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := con.Input(ctx, []byte("exit\r")); err != nil {
		t.Fatal(err)
	}
	if s.until("never") {
		t.Fatal("unreachable")
	}
	if !strings.Contains(s.out.String(), "[EOF - dtach terminating]") {
		t.Errorf("end: %q", s.out.String())
	}
	if err := con.Close(); err != nil {
		t.Errorf("Close after the end: %v", err)
	}
}

func TestConsoleRefusals(t *testing.T) {
	srv := startSim(t, pvesim.Options{Scenario: "demo", OfflineNodes: []string{"pve2"}})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := c.Login(ctx, lxc.Credentials{Username: "alice", Realm: "pve", Password: "alice-pass"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenConsole(ctx, alice, "pve1", 101); lxc.ErrorCode(err) != lxc.EForbidden {
		t.Errorf("alice on 101: %v", err)
	}
	if _, err := c.OpenConsole(ctx, id, "pve1", 555); lxc.ErrorCode(err) != lxc.ERefused {
		t.Errorf("missing CT: %v", err)
	}
	for _, tc := range []struct {
		node string
		vmid int
		want string
	}{{"pve1", 108, "108 is not running\r\n"}, {"pve2", 102, "port 22: No route to host\r\n"}} {
		con, err := c.OpenConsole(ctx, id, tc.node, tc.vmid)
		if err != nil {
			t.Fatalf("%d: %v", tc.vmid, err)
		}
		s := &screen{t: t, con: con}
		if s.until("never") || !strings.Contains(s.out.String(), tc.want) {
			t.Errorf("%d: %q", tc.vmid, s.out.String())
		}
		_ = con.Close()
	}
}
