package proxmox_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pveschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/testutil"
)

// TestSnapshotCalls drives every snapshot call against the simulator:
// the answers are read as PVE sends them, and each call's parameters
// match the official schema (9.1 and 8.4).
func TestSnapshotCalls(t *testing.T) {
	clock := pvesim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := startSim(t, pvesim.Options{Scenario: "demo", Now: clock.Now})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	srv.Sim.Record(true)
	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Snapshots(ctx, id, "pve1", 101)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]lxc.Snapshot{}
	for _, s := range list {
		byName[s.Name] = s
	}
	cur, fresh := byName["current"], byName["fresh-install"]
	if !cur.Current || !cur.Running || cur.Parent != "before-php84" || cur.Description != "" || !cur.Time.IsZero() {
		t.Errorf("current %+v", cur)
	}
	if fresh.Current || fresh.Parent != "" || fresh.Description != "Debian 12 as installed, before nginx" ||
		!fresh.Time.Equal(clock.Now().Add(-60*24*time.Hour)) {
		t.Errorf("fresh-install %+v", fresh)
	}
	if sc, err := c.SnapshotConfig(ctx, id, "pve1", 101, "fresh-install"); err != nil || sc.Get("memory") != "1024" || sc.Get("hostname") != "web-01" {
		t.Errorf("SnapshotConfig: %v %v", sc, err)
	}
	if ok, err := c.CanSnapshot(ctx, id, "pve1", 101); err != nil || !ok {
		t.Errorf("CanSnapshot: %v %v", ok, err)
	}
	if err := srv.Sim.SetConfig(107, "rootfs", "local:107/vm-107-disk-0.raw,size=32G"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.CanSnapshot(ctx, id, "pve3", 107); err != nil || ok {
		t.Errorf("CanSnapshot on dir storage: %v %v", ok, err)
	}
	upid, err := c.TakeSnapshot(ctx, id, "pve1", 101, "pre-deploy", "Before deploy")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	if task, err := c.Task(ctx, id, "pve1", upid); err != nil || task.Type != "vzsnapshot" || !task.Succeeded() {
		t.Errorf("snapshot task %+v %v", task, err)
	}
	if err := c.SetSnapshotDescription(ctx, id, "pve1", 101, "pre-deploy", "Before deploy 42"); err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() (string, error){
		func() (string, error) { return c.RollbackSnapshot(ctx, id, "pve1", 101, "pre-deploy", true) },
		func() (string, error) { return c.RollbackSnapshot(ctx, id, "pve1", 101, "pre-deploy", false) },
		func() (string, error) { return c.DeleteSnapshot(ctx, id, "pve1", 101, "pre-deploy") },
	} {
		upid, err := call()
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Second)
		if task, err := c.Task(ctx, id, "pve1", upid); err != nil || !task.Succeeded() {
			t.Errorf("task %+v %v", task, err)
		}
	}
	names, parent, _ := srv.Sim.Snapshots(101)
	if len(names) != 2 || parent != "before-php84" {
		t.Errorf("after delete: %v, parent %q", names, parent)
	}
	// A refusal before the task is classified.
	if _, err := c.TakeSnapshot(ctx, id, "pve1", 101, "vzdump", ""); lxc.ErrorCode(err) != lxc.ERefused {
		t.Errorf("reserved name: %v", err)
	}

	checkCallsAgainstSchema(t, srv.Sim.Recorded())
}

// checkCallsAgainstSchema checks every recorded call's method, path and
// parameters against the official schema (9.1 and 8.4).
func checkCallsAgainstSchema(t *testing.T, calls []pvesim.RecordedCall) {
	t.Helper()
	dir := pveschema.Locate(t)
	if dir == "" {
		testutil.Missing(t, "../shared/pve-schema (the official PVE API schema) not found next to the module root")
	}
	for _, file := range []string{"pve-9.1.json", "pve-8.4.json"} {
		schema, err := pveschema.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range calls {
			m, ok := schema.Method(call.Method, call.Route)
			if !ok {
				t.Errorf("%s: %s %s (%s) is not in the schema", file, call.Method, call.Route, call.Path)
				continue
			}
			for _, e := range m.CheckParams(call.Params) {
				t.Errorf("%s: %s %s: %v", file, call.Method, call.Route, e)
			}
		}
	}
}
