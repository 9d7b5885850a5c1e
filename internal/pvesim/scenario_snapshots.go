package pvesim

import (
	"fmt"
	"time"
)

// demoSnapshot is a snapshot a demo container has: taken age ago, with
// the options that differed then.
type demoSnapshot struct {
	vmid        int
	name        string
	description string
	age         time.Duration
	values      map[string]string
}

// demoSnapshots are the snapshots of the "demo" scenario, oldest first
// per container (each becomes the parent of the next): web-01 was
// installed with less memory and snapshotted before an upgrade;
// ci-runner-1 and dev-sandbox have a clean baseline.
func demoSnapshots() []demoSnapshot {
	d := 24 * time.Hour
	return []demoSnapshot{
		{101, "fresh-install", "Debian 12 as installed, before nginx\n", 60 * d,
			map[string]string{"memory": "1024", "swap": "512"}},
		{101, "before-php84", "Before the PHP 8.4 upgrade\n", 3 * d, nil},
		{106, "baseline", "Runner registered, no jobs yet\n", 10 * d, nil},
		{108, "clean", "", 20 * d, nil},
	}
}

// addDemoSnapshots takes the demo snapshots, then puts the demo backups
// in place (scenario_backups.go).
func addDemoSnapshots(s *Sim, now time.Time) error {
	for _, ds := range demoSnapshots() {
		g := s.cluster.Guests[ds.vmid]
		if g == nil {
			return fmt.Errorf("pvesim: demo snapshot of missing guest %d", ds.vmid)
		}
		if err := s.ops.AddSnapshot(g, ds.name, ds.description, now.Add(-ds.age).Truncate(time.Second), ds.values); err != nil {
			return fmt.Errorf("pvesim: demo snapshot %s of %d: %w", ds.name, ds.vmid, err)
		}
	}
	return addDemoBackups(s, now)
}
