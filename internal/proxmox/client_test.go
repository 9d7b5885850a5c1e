package proxmox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

func startSim(t *testing.T, opts pvesim.Options) *pvesim.Server {
	t.Helper()
	sim, err := pvesim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func newClient(t *testing.T, o proxmox.Options) *proxmox.Client {
	t.Helper()
	c, err := proxmox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var root = lxc.Credentials{Username: "root", Realm: "pam", Password: "proxmox"}

func TestLoginAndCalls(t *testing.T) {
	srv := startSim(t, pvesim.Options{})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()

	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if id.Username != "root@pam" || !strings.HasPrefix(id.Ticket, "PVE:root@pam:") || id.CSRFToken == "" || id.Realm() != "pam" {
		t.Errorf("identity: %+v", id)
	}
	v, err := c.Version(ctx, id)
	if err != nil || v.Version == "" || v.Release == "" {
		t.Errorf("Version = %+v, %v", v, err)
	}
	nodes, err := c.Nodes(ctx, id)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("Nodes = %v, %v", nodes, err)
	}
	if !nodes[0].HasStats || nodes[0].MaxMem == 0 || nodes[0].Status != "online" {
		t.Errorf("root sees no node statistics: %+v", nodes[0])
	}
	renewed, err := c.Renew(ctx, id)
	if err != nil || renewed.Ticket == "" || renewed.Username != "root@pam" {
		t.Errorf("Renew = %+v, %v", renewed, err)
	}
	// A user without Sys.Audit sees nodes but no statistics.
	alice, err := c.Login(ctx, lxc.Credentials{Username: "alice@pve", Realm: "pam", Password: "alice-pass"})
	if err != nil {
		t.Fatalf("alice (realm typed in the name): %v", err)
	}
	an, err := c.Nodes(ctx, alice)
	if err != nil || len(an) == 0 || an[0].HasStats {
		t.Errorf("alice's nodes = %+v, %v", an, err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	srv := startSim(t, pvesim.Options{Now: clock.Now})
	ctx := context.Background()
	pinned := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	id, err := pinned.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}

	closed := startSim(t, pvesim.Options{})
	closedURL := closed.URL
	_ = closed.Close()

	// A listener that accepts and never answers: a timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()

	cases := []struct {
		name string
		call func() error
		want lxc.Code
	}{
		{"wrong password", func() error {
			_, err := pinned.Login(ctx, lxc.Credentials{Username: "root", Realm: "pam", Password: "nope"})
			return err
		}, lxc.ECredentials},
		{"unknown realm", func() error {
			_, err := pinned.Login(ctx, lxc.Credentials{Username: "root", Realm: "nowhere", Password: "proxmox"})
			return err
		}, lxc.ECredentials},
		{"forged ticket", func() error {
			bad := id
			bad.Ticket = strings.Replace(id.Ticket, "root@pam", "alice@pve", 1)
			_, err := pinned.Version(ctx, bad)
			return err
		}, lxc.EUnauthorized},
		{"system roots do not trust the simulator", func() error {
			_, err := newClient(t, proxmox.Options{BaseURL: srv.URL}).Login(ctx, root)
			return err
		}, lxc.ETLS},
		{"wrong pin", func() error {
			pin := strings.TrimSuffix(strings.Repeat("00:", 32), ":")
			_, err := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: pin}).Login(ctx, root)
			return err
		}, lxc.ETLS},
		{"connection refused", func() error {
			_, err := newClient(t, proxmox.Options{BaseURL: closedURL, Fingerprint: srv.Fingerprint}).Login(ctx, root)
			return err
		}, lxc.EUnreachable},
		{"DNS failure", func() error {
			_, err := newClient(t, proxmox.Options{BaseURL: "https://no-such-host.invalid:8006", Insecure: true}).Login(ctx, root)
			return err
		}, lxc.EUnreachable},
		{"timeout", func() error {
			c := newClient(t, proxmox.Options{BaseURL: "https://" + silent.Addr().String(), Insecure: true, LoginTimeout: 300 * time.Millisecond})
			_, err := c.Login(ctx, root)
			return err
		}, lxc.EUnreachable},
		{"expired ticket", func() error {
			clock.Advance(2*time.Hour + time.Second)
			defer clock.Advance(-(2*time.Hour + time.Second))
			_, err := pinned.Version(ctx, id)
			return err
		}, lxc.EUnauthorized},
		{"expired ticket cannot be renewed", func() error {
			clock.Advance(2*time.Hour + time.Second)
			defer clock.Advance(-(2*time.Hour + time.Second))
			_, err := pinned.Renew(ctx, id)
			return err
		}, lxc.ECredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := lxc.ErrorCode(err); got != tc.want {
				t.Fatalf("code %q, want %q (err: %v)", got, tc.want, err)
			}
			var pe *proxmox.Error
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *proxmox.Error", err)
			}
		})
	}
}

func TestCAFileTrust(t *testing.T) {
	srv := startSim(t, pvesim.Options{})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, CAPEM: srv.CertPEM})
	if _, err := c.Login(context.Background(), root); err != nil {
		t.Fatalf("with the simulator's certificate as CA: %v", err)
	}
	if _, err := proxmox.New(proxmox.Options{BaseURL: srv.URL, CAPEM: []byte("junk")}); err == nil {
		t.Error("a CA bundle without certificates was accepted")
	}
	if _, err := proxmox.New(proxmox.Options{BaseURL: "http://pve:8006"}); err == nil {
		t.Error("plain http accepted")
	}
}

func TestNumDecoding(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{`12`, 12, true}, {`12.5`, 12.5, true}, {`"100"`, 100, true}, {`"0.25"`, 0.25, true},
		{`null`, 0, true}, {`""`, 0, true}, {`"abc"`, 0, false}, {`true`, 0, false}, {`{}`, 0, false},
	}
	for _, tc := range cases {
		var n proxmox.Num
		err := json.Unmarshal([]byte(tc.in), &n)
		if (err == nil) != tc.ok || (tc.ok && float64(n) != tc.want) {
			t.Errorf("Num(%s) = %v, %v", tc.in, n, err)
		}
	}
}
