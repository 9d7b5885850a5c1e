package web

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// largeWithBackups is the "large" cluster's list as the poller holds it
// (10,000 containers on 20 nodes) and 50,000 backups over three backup
// storages, as the storage-content calls return them.
func largeWithBackups(now time.Time) (live.Snapshot, [][]lxc.Backup) {
	snap := live.Snapshot{FetchedAt: now, Perms: lxc.Permissions{"/vms": {privPower: true, privBackup: true}}}
	pools := []string{"dev", "prod", ""}
	for i := 0; i < 10000; i++ {
		c := lxc.Container{VMID: 100 + i, Name: fmt.Sprintf("web-%05d", 100+i), Node: fmt.Sprintf("pve%02d", i%20+1),
			Pool: pools[i%3], Tags: []string{"web", "prod"}, MaxMem: 1 << 30, MaxDisk: 8 << 30, MaxCPU: 2}
		if i%10 < 7 {
			c.Status, c.CPU, c.Mem, c.Disk, c.Uptime = "running", 0.05, 300<<20, 2<<30, 90*time.Hour
		} else {
			c.Status = "stopped"
		}
		snap.Containers = append(snap.Containers, c)
	}
	lists := make([][]lxc.Backup, 3)
	for i := 0; i < 50000; i++ {
		vmid := 100 + (i*7919)%10000
		at := now.Add(-time.Duration((i*104729)%(60*24*3600)) * time.Second)
		sid := []string{"local", "nfs", "pbs"}[i%3]
		lists[i%3] = append(lists[i%3], lxc.Backup{VolID: fmt.Sprintf("%s:backup/vzdump-lxc-%d-%s.tar.zst", sid, vmid,
			at.UTC().Format("2006_01_02-15_04_05")), Storage: sid, VMID: vmid, Time: at, Size: 1 << 30, Format: "tar.zst"})
	}
	return snap, lists
}

// BenchmarkLastBackupColumn is the "last backup" column's cost on the list
// of the large cluster: the list's live part rendered from the poller's
// snapshot without the column and with it (the newest backups cached),
// and the once-a-minute fold of 50,000 backups into the cache.
func BenchmarkLastBackupColumn(b *testing.B) {
	rd, err := newRenderer()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	snap, lists := largeWithBackups(now)
	ages := backupAges{At: now, Newest: newestBackups(lists...), Known: true, Space: true}
	for _, q := range []struct {
		name string
		q    listQuery
	}{{"vmid", parseListQuery(nil)}, {"stale3d", parseListQuery(map[string][]string{"stale_backup": {"3d"}, "sort": {"name"}})}} {
		var buf bytes.Buffer
		render := func(b *testing.B, column bool) {
			b.ReportAllocs()
			for b.Loop() {
				v := buildLiveView(snap, q.q)
				if column {
					v.addBackups(ages, snap.Perms, now)
				}
				buf.Reset()
				if err := rd.fragment(&buf, "containers", "live", v); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(q.name+"/without", func(b *testing.B) { render(b, false) })
		b.Run(q.name+"/with-column", func(b *testing.B) { render(b, true) })
	}
	b.Run("add-column-only", func(b *testing.B) {
		v := buildLiveView(snap, parseListQuery(nil))
		b.ReportAllocs()
		for b.Loop() {
			v.addBackups(ages, snap.Perms, now)
		}
	})
	b.Run("fold-50000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m := newestBackups(lists...); len(m) != 10000 {
				b.Fatalf("%d containers with backups", len(m))
			}
		}
	})
}
