package proxmox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// TestBackupCalls drives every backup call against the simulator: the
// answers are read as PVE sends them and the calls match the schema.
func TestBackupCalls(t *testing.T) {
	clock := pvesim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := startSim(t, pvesim.Options{Scenario: "demo", Now: clock.Now})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	srv.Sim.Record(true)
	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := c.StorageEntries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var nfs, lvm lxc.StorageEntry
	for _, e := range entries {
		switch {
		case e.Storage == "nfs" && e.Node == "pve1":
			nfs = e
		case e.Storage == "local-lvm" && e.Node == "pve1":
			lvm = e
		}
	}
	if !nfs.Shared || !nfs.Holds("backup") || nfs.Type != "nfs" || lvm.Holds("backup") || !lvm.Holds("rootdir") {
		t.Errorf("storage entries: nfs %+v local-lvm %+v", nfs, lvm)
	}
	list, err := c.Backups(ctx, id, "pve1", "local", 101)
	if err != nil || len(list) != 1 {
		t.Fatalf("backups of 101 on local: %v %v", list, err)
	}
	b := list[0]
	if !b.Protected || b.Notes != "Before the PHP 8.4 upgrade" || b.Format != "tar.zst" || b.VMID != 101 ||
		b.Storage != "local" || b.Node != "pve1" || b.Size <= 0 || !b.Time.Before(clock.Now()) ||
		!strings.HasPrefix(b.File(), "vzdump-lxc-101-") {
		t.Errorf("backup %+v", b)
	}
	upid, err := c.Backup(ctx, id, "pve1", 108, lxc.BackupOptions{Storage: "nfs", Mode: "snapshot", Compress: "zstd",
		Notes: "two\\lines\nhere {{vmid}}", Protected: true})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if task, err := c.Task(ctx, id, "pve1", upid); err != nil || task.Type != "vzdump" || !task.Succeeded() {
		t.Fatalf("vzdump task %+v %v", task, err)
	}
	list, _ = c.Backups(ctx, id, "pve2", "nfs", 108)
	if len(list) != 1 || list[0].Notes != `two\lines` || !list[0].Protected {
		t.Fatalf("new backup %+v", list)
	}
	if _, err := c.Backup(ctx, id, "pve2", 108, lxc.BackupOptions{Storage: "nfs"}); lxc.ErrorCode(err) != lxc.ERefused {
		t.Errorf("a guest on another node: %v", err)
	}
	empty, keep := "", false
	if err := c.UpdateBackup(ctx, id, "pve1", list[0].VolID, &empty, &keep); err != nil {
		t.Fatal(err)
	}
	list, _ = c.Backups(ctx, id, "pve1", "nfs", 108)
	if list[0].Notes != "" || list[0].Protected {
		t.Errorf("after update %+v", list[0])
	}
	next, err := c.NextID(ctx, id)
	if err != nil || next != 113 {
		t.Errorf("next id %d %v", next, err)
	}
	upid, err = c.Restore(ctx, id, "pve1", lxc.RestoreOptions{VMID: 4000, Archive: list[0].VolID, Storage: "local-lvm",
		Pool: "dev", Unique: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if task, err := c.Task(ctx, id, "pve1", upid); err != nil || task.Type != "vzrestore" || !task.Succeeded() {
		t.Fatalf("restore task %+v %v", task, err)
	}
	if ct, err := c.ContainerStatus(ctx, id, "pve1", 4000); err != nil || ct.Name != "dev-sandbox" || !ct.Running() {
		t.Errorf("restored container %+v %v", ct, err)
	}
	upid, err = c.DeleteBackup(ctx, id, "pve1", list[0].VolID)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if task, err := c.Task(ctx, id, "pve1", upid); err != nil || task.Type != "imgdel" || !task.Succeeded() {
		t.Errorf("delete task %+v %v", task, err)
	}
	if list, _ := c.Backups(ctx, id, "pve1", "nfs", 108); len(list) != 0 {
		t.Errorf("still listed: %v", list)
	}
	checkCallsAgainstSchema(t, srv.Sim.Recorded())
}
