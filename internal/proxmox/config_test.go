package proxmox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// TestContainerConfigCalls: values arrive as text whatever JSON type PVE
// chose, the digest is split off, a change made against an old digest is
// refused, and the task list carries PVE's total.
func TestContainerConfigCalls(t *testing.T) {
	srv := startSim(t, pvesim.Options{Scenario: "demo"})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.ContainerConfig(ctx, id, "pve2", 111, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Digest) != 40 || cfg.Has("digest") {
		t.Errorf("digest %q, in values: %v", cfg.Digest, cfg.Has("digest"))
	}
	if cfg.Get("cpulimit") != "1.5" || cfg.Int("memory", 0) <= 0 || cfg.Get("onboot") != "1" || !cfg.Bool("onboot", false) {
		t.Errorf("values: cpulimit %q memory %q onboot %q", cfg.Get("cpulimit"), cfg.Get("memory"), cfg.Get("onboot"))
	}
	if root := lxc.ParseRootFS(cfg.Get("rootfs")); root.Storage == "" || root.Size <= 0 {
		t.Errorf("rootfs %q -> %+v", cfg.Get("rootfs"), root)
	}

	// A change against the digest applies; against an old one it is refused.
	if err := c.UpdateConfig(ctx, id, "pve2", 111, lxc.ConfigChange{Set: map[string]string{"memory": "640"}, Digest: cfg.Digest}); err != nil {
		t.Fatal(err)
	}
	err = c.UpdateConfig(ctx, id, "pve2", 111, lxc.ConfigChange{Set: map[string]string{"memory": "700"}, Digest: cfg.Digest})
	if lxc.ErrorCode(err) != lxc.ERefused {
		t.Errorf("stale digest: %v (%s)", err, lxc.ErrorCode(err))
	}
	now, _ := c.ContainerConfig(ctx, id, "pve2", 111, false)
	if now.Get("memory") != "640" || now.Digest == cfg.Digest {
		t.Errorf("after the change: memory %q digest moved %v", now.Get("memory"), now.Digest != cfg.Digest)
	}

	if _, err := c.Act(ctx, id, "pve1", 108, lxc.ActionStart, lxc.ActionOptions{}); err != nil {
		t.Fatal(err)
	}
	tasks, total, err := c.NodeTasks(ctx, id, "pve1", lxc.TaskFilter{VMID: 108, Limit: 1, Source: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(tasks) != 1 {
		t.Fatalf("%d tasks of total %d", len(tasks), total)
	}
	if tk := tasks[0]; tk.ID != "108" || tk.Type != "vzstart" || !tk.Running() || !strings.HasPrefix(tk.UPID, "UPID:pve1:") {
		t.Errorf("task %+v", tk)
	}
	// Finished tasks only (PVE's default) leave the running start out.
	if tasks, _, err := c.NodeTasks(ctx, id, "pve1", lxc.TaskFilter{VMID: 108}); err != nil || len(tasks) != 0 {
		t.Errorf("archive: %v %v", tasks, err)
	}
}
