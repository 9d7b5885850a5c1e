package proxmox_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pveschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/testutil"
)

// waitTaskOK polls a task until it ends and fails unless it ended OK.
func waitTaskOK(t *testing.T, c *proxmox.Client, id lxc.Identity, node, upid string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		task, err := c.Task(context.Background(), id, node, upid)
		if err != nil {
			t.Fatal(err)
		}
		if !task.Running {
			if !task.Succeeded() {
				t.Fatalf("task %s: %s", upid, task.ExitStatus)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not end", upid)
}

// TestProvisioningCalls drives the calls of the create, clone, convert
// and delete pages against the simulator, checks what they return, and
// checks every call against the official schema (9.1 and 8.4).
func TestProvisioningCalls(t *testing.T) {
	dir := pveschema.Locate(t)
	if dir == "" {
		testutil.Missing(t, "../shared/pve-schema (the official PVE API schema) not found next to the module root")
	}
	srv := startSim(t, pvesim.Options{Scenario: "demo", TaskDurationScale: 0.01})
	sim := srv.Sim
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	ctx := context.Background()
	id, err := c.Login(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	sim.Record(true)

	st, err := c.Storages(ctx, id, "pve1", "rootdir")
	if err != nil || len(st) != 2 || st[0].ID != "local-lvm" || !st[0].Holds("rootdir") || st[0].Avail <= 0 || st[1].ID != "nfs" || !st[1].Shared {
		t.Fatalf("Storages = %+v, %v", st, err)
	}
	vols, err := c.StorageContent(ctx, id, "pve1", "local", "vztmpl")
	if err != nil || len(vols) != 1 || vols[0].VolID != pvesim.DemoTemplate || vols[0].Name() != "debian-12-standard_12.12-1_amd64.tar.zst" ||
		vols[0].Storage() != "local" || vols[0].Size == 0 {
		t.Fatalf("StorageContent = %+v, %v", vols, err)
	}
	apl, err := c.Appliances(ctx, id, "pve1")
	if err != nil || len(apl) < 4 || apl[0].Template == "" || apl[0].Headline == "" {
		t.Fatalf("Appliances = %+v, %v", apl, err)
	}
	br, err := c.Bridges(ctx, id, "pve1")
	if err != nil || len(br) != 2 || br[0].Name != "vmbr0" || br[0].CIDR == "" || !br[1].VLANAware {
		t.Fatalf("Bridges = %+v, %v", br, err)
	}
	pools, err := c.Pools(ctx, id)
	if err != nil || len(pools) != 2 || pools[0] != (lxc.Pool{ID: "dev", Comment: "Development"}) {
		t.Fatalf("Pools = %+v, %v", pools, err)
	}
	next, err := c.NextID(ctx, id)
	if err != nil || next != 113 {
		t.Fatalf("NextID = %d, %v", next, err)
	}
	for vmid, want := range map[int]bool{101: false, 150: false, 4242: true} {
		if free, err := c.VMIDFree(ctx, id, vmid); err != nil || free != want {
			t.Errorf("VMIDFree(%d) = %v, %v", vmid, free, err)
		}
	}

	upid, err := c.DownloadTemplate(ctx, id, "pve2", "local", "alpine-3.22-default_20250617_amd64.tar.xz")
	if err != nil {
		t.Fatal(err)
	}
	waitTaskOK(t, c, id, "pve2", upid)
	spec := lxc.CreateSpec{VMID: 300, Template: "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz", Hostname: "new",
		Password: "s3cret-pass", SSHKeys: "", Cores: 2, MemoryMiB: 1024, SwapMiB: 256, RootStorage: "local-lvm", RootSizeGiB: 6,
		Net:        lxc.NetSpec{Bridge: "vmbr1", IPv4: "192.0.2.5/24", Gateway4: "192.0.2.1", IPv6: "auto", VLAN: 20, Firewall: true},
		Nameserver: "192.0.2.53", Unprivileged: true, Nesting: true, Pool: "dev", Tags: []string{"new", "web"}, Start: true}
	upid, err = c.CreateContainer(ctx, id, "pve2", spec)
	if err != nil {
		t.Fatal(err)
	}
	waitTaskOK(t, c, id, "pve2", upid)
	cfg, err := c.ContainerConfig(ctx, id, "pve2", 300, false)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"hostname": "new", "cores": "2", "memory": "1024", "swap": "256",
		"rootfs": "local-lvm:vm-300-disk-0,size=6G", "unprivileged": "1", "features": "nesting=1", "tags": "new;web",
		"nameserver": "192.0.2.53", "ostype": "alpine"} {
		if cfg.Values[k] != v {
			t.Errorf("%s = %q, want %q", k, cfg.Values[k], v)
		}
	}
	if net := cfg.Values["net0"]; !strings.Contains(net, "bridge=vmbr1") || !strings.Contains(net, "ip=192.0.2.5/24") ||
		!strings.Contains(net, "gw=192.0.2.1") || !strings.Contains(net, "ip6=auto") || !strings.Contains(net, "tag=20") {
		t.Errorf("net0 %s", net)
	}
	upid, err = c.CloneContainer(ctx, id, "pve1", 9000, lxc.CloneSpec{NewID: 301, Hostname: "linked", Pool: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	waitTaskOK(t, c, id, "pve1", upid)
	upid, err = c.CloneContainer(ctx, id, "pve1", 108, lxc.CloneSpec{NewID: 302, Full: true, Target: "pve3", Storage: "nfs"})
	if err != nil {
		t.Fatal(err)
	}
	waitTaskOK(t, c, id, "pve1", upid)
	if err := c.ConvertToTemplate(ctx, id, "pve3", 302); err != nil {
		t.Fatal(err)
	}
	if err := c.ConvertToTemplate(ctx, id, "pve1", 101); lxc.ErrorCode(err) != lxc.ERefused {
		t.Errorf("converting a running CT: %v", err)
	}
	upid, err = c.DestroyContainer(ctx, id, "pve1", 301, lxc.DestroyOptions{Force: true, Purge: true, DestroyUnreferencedDisks: true})
	if err != nil {
		t.Fatal(err)
	}
	waitTaskOK(t, c, id, "pve1", upid)
	if _, ok := sim.Container(301); ok {
		t.Error("CT 301 still exists")
	}

	calls := sim.Recorded()
	for _, file := range []string{"pve-9.1.json", "pve-8.4.json"} {
		schema, err := pveschema.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(file, func(t *testing.T) {
			for _, call := range calls {
				m, ok := schema.Method(call.Method, call.Route)
				if !ok {
					t.Errorf("%s %s is not in %s", call.Method, call.Route, file)
					continue
				}
				for _, e := range m.CheckParams(indexedAsSchema(m, call.Params)) {
					t.Errorf("%s %s: %v", call.Method, call.Route, e)
				}
			}
		})
	}
	for _, call := range calls {
		if call.Params["password"] != "" && call.Route != "/nodes/{node}/lxc" {
			t.Errorf("password sent to %s", call.Route)
		}
	}
}

// indexedRe matches an indexed parameter ("net0").
var indexedRe = regexp.MustCompile(`^([a-z]+)(\d+)$`)

// indexedAsSchema renames indexed parameters ("net0") to the name the
// schema declares them under ("net[n]").
func indexedAsSchema(m *pveschema.Method, params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if sm := indexedRe.FindStringSubmatch(k); sm != nil {
			if _, ok := m.Params[sm[1]+"[n]"]; ok {
				k = sm[1] + "[n]"
			}
		}
		out[k] = v
	}
	return out
}

// TestCreateErrorsNeverCarryThePassword: a refused create's error text
// names the call and PVE's answer, never the form.
func TestCreateErrorsNeverCarryThePassword(t *testing.T) {
	srv := startSim(t, pvesim.Options{Scenario: "demo"})
	c := newClient(t, proxmox.Options{BaseURL: srv.URL, Fingerprint: srv.Fingerprint})
	id, err := c.Login(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "do-not-log-me-42"
	_, err = c.CreateContainer(context.Background(), id, "pve1", lxc.CreateSpec{VMID: 101, Template: pvesim.DemoTemplate,
		Password: secret, RootStorage: "local-lvm", RootSizeGiB: 4, Net: lxc.NetSpec{Bridge: "vmbr0", IPv4: "dhcp"}, Unprivileged: true})
	if lxc.ErrorCode(err) != lxc.ERefused {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error carries the password: %v", err)
	}
}
