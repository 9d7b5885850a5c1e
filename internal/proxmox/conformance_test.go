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

// TestClientCallsMatchSchema drives every call the client makes against the
// simulator, records what reached it, and checks each call's method, path
// and parameters against the official PVE API schema (9.1 and 8.4).
func TestClientCallsMatchSchema(t *testing.T) {
	dir := pveschema.Locate(t)
	if dir == "" {
		// A clone without ../shared: skip loudly, fail under CI=true.
		testutil.Missing(t, "../shared/pve-schema (the official PVE API schema) not found next to the module root")
	}
	srv := startSim(t, pvesim.Options{Scenario: "demo"})
	sim := srv.Sim
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	sim.Record(true)

	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = c.Renew(ctx, id)
	must("Renew", err)
	_, err = c.Realms(ctx)
	must("Realms", err)
	_, err = c.Version(ctx, id)
	must("Version", err)
	_, err = c.Nodes(ctx, id)
	must("Nodes", err)
	_, err = c.Permissions(ctx, id, "")
	must("Permissions", err)
	_, err = c.Permissions(ctx, id, "/vms")
	must("Permissions /vms", err)
	cts, err := c.Containers(ctx, id)
	must("Containers", err)
	var running, stopped lxc.Container
	for _, ct := range cts {
		if ct.Running() && ct.Lock == "" && running.VMID == 0 {
			running = ct
		}
		if ct.Status == "stopped" && !ct.Template && stopped.VMID == 0 {
			stopped = ct
		}
	}
	_, err = c.ContainerStatus(ctx, id, running.Node, running.VMID)
	must("ContainerStatus", err)
	upid, err := c.Act(ctx, id, stopped.Node, stopped.VMID, lxc.ActionStart, lxc.ActionOptions{})
	must("start", err)
	_, err = c.Act(ctx, id, running.Node, running.VMID, lxc.ActionShutdown, lxc.ActionOptions{Timeout: 30 * time.Second, Force: true})
	must("shutdown", err)
	_, err = c.Act(ctx, id, running.Node, running.VMID, lxc.ActionReboot, lxc.ActionOptions{Timeout: 30 * time.Second})
	must("reboot", err)
	_, err = c.Act(ctx, id, running.Node, running.VMID, lxc.ActionStop, lxc.ActionOptions{})
	must("stop", err)
	_, err = c.Task(ctx, id, stopped.Node, upid)
	must("Task", err)
	_, err = c.TaskLog(ctx, id, stopped.Node, upid, 0, 50)
	must("TaskLog", err)
	con, err := c.OpenConsole(ctx, id, stopped.Node, stopped.VMID)
	must("OpenConsole", err)
	must("console Close", con.Close())

	// The container page's calls.
	_, _, err = c.NodeTasks(ctx, id, stopped.Node, lxc.TaskFilter{VMID: stopped.VMID, Limit: 15})
	must("NodeTasks", err)
	cfg, err := c.ContainerConfig(ctx, id, stopped.Node, stopped.VMID, false)
	must("ContainerConfig", err)
	_, err = c.ContainerConfig(ctx, id, stopped.Node, stopped.VMID, true)
	must("ContainerConfig current", err)
	_, err = c.ContainerPending(ctx, id, stopped.Node, stopped.VMID)
	must("ContainerPending", err)
	err = c.UpdateConfig(ctx, id, stopped.Node, stopped.VMID, lxc.ConfigChange{
		Set: map[string]string{"memory": "1024", "tags": "a;b"}, Delete: []string{"cpulimit"}, Digest: cfg.Digest})
	must("UpdateConfig", err)
	_, err = c.ResizeDisk(ctx, id, stopped.Node, stopped.VMID, "rootfs", "+1G", "")
	must("ResizeDisk", err)
	_, err = c.Interfaces(ctx, id, running.Node, running.VMID)
	must("Interfaces", err)
	for _, tf := range lxc.Timeframes() {
		_, err = c.RRDData(ctx, id, running.Node, running.VMID, tf, "MAX")
		must("RRDData "+tf, err)
	}

	calls := sim.Recorded()
	if len(calls) < 14 {
		t.Fatalf("only %d calls recorded", len(calls))
	}
	for _, file := range []string{"pve-9.1.json", "pve-8.4.json"} {
		schema, err := pveschema.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(file, func(t *testing.T) {
			for _, call := range calls {
				if call.Route == "" {
					t.Errorf("%s %s matches no API method", call.Method, call.Path)
					continue
				}
				m, ok := schema.Method(call.Method, call.Route)
				if !ok {
					t.Errorf("%s %s is not in %s", call.Method, call.Route, file)
					continue
				}
				for _, e := range m.CheckParams(call.Params) {
					t.Errorf("%s %s: %v", call.Method, call.Route, e)
				}
			}
		})
	}
}
