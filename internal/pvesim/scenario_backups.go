package pvesim

import (
	"fmt"
	"time"
)

// demoBackup is a backup a demo container has: taken age ago on a
// storage (local is the container's node's own).
type demoBackup struct {
	vmid      int
	storage   string
	age       time.Duration
	notes     string
	protected bool
}

// demoBackups are the backups of the "demo" scenario: web-01 and db-main
// are backed up nightly to the shared NFS storage (web-01 also has a
// protected one on its node from before an upgrade); ci-runner-1's last
// backup is nine days old, monitoring's forty; ci-runner-2 and the others
// have none.
func demoBackups() []demoBackup {
	d := 24 * time.Hour
	var out []demoBackup
	for i := 0; i < 3; i++ {
		out = append(out, demoBackup{101, "nfs", time.Duration(i)*d + 6*time.Hour, "web-01", false},
			demoBackup{103, "nfs", time.Duration(i)*d + 6*time.Hour + 10*time.Minute, "db-main", false})
	}
	return append(out,
		demoBackup{101, "local", 3*d + 2*time.Hour, "Before the PHP 8.4 upgrade\nKeep until the upgrade is signed off.", true},
		demoBackup{106, "local", 9 * d, "ci-runner-1", false},
		demoBackup{108, "local", 2*d + 3*time.Hour, "", false},
		demoBackup{111, "nfs", 40 * d, "monitoring", false},
	)
}

// addDemoBackups puts the demo backups in place.
func addDemoBackups(s *Sim, now time.Time) error {
	for _, b := range demoBackups() {
		g := s.cluster.Guests[b.vmid]
		if g == nil {
			return fmt.Errorf("pvesim: demo backup of missing guest %d", b.vmid)
		}
		at := now.Add(-b.age).Truncate(time.Second)
		if _, err := s.ops.SeedBackup(g, b.storage, at, "zstd", b.notes, b.protected); err != nil {
			return fmt.Errorf("pvesim: demo backup of %d: %w", b.vmid, err)
		}
	}
	return nil
}
