package proxmox_test

import (
	"context"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// BenchmarkContainersLarge fetches and decodes the 10,000 containers of
// the "large" scenario over HTTPS. The simulator's own share is measured by
// pvesim's BenchmarkClusterResourcesLarge; the difference is the client's.
func BenchmarkContainersLarge(b *testing.B) {
	sim, err := pvesim.New(pvesim.Options{Scenario: "large"})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	c, err := proxmox.New(proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	id, err := c.Login(ctx, root)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cts, err := c.Containers(ctx, id)
		if err != nil || len(cts) < 9000 {
			b.Fatalf("%d containers, %v", len(cts), err)
		}
	}
}
