package pvesim

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// POST /nodes/{node}/lxc: the checks before the task, the task's log and
// the configuration it writes, the rollback after a failure.

// del is a DELETE as user, parameters in the query.
func (ce *clusterEnv) del(user, path string) result {
	ce.t.Helper()
	return ce.do(req{method: "DELETE", path: path, ticket: ce.tickets[user][0], csrf: ce.tickets[user][1]})
}

// createForm is what the GUI sends for a small container.
func createForm(vmid string, extra ...string) url.Values {
	f := url.Values{"vmid": {vmid}, "ostemplate": {DemoTemplate}, "hostname": {"fresh"}, "password": {"secret-pw"},
		"rootfs": {"local-lvm:8"}, "cores": {"1"}, "memory": {"1024"}, "swap": {"512"}, "unprivileged": {"1"},
		"net0": {"name=eth0,bridge=vmbr0,ip=dhcp,firewall=1"}, "features": {"nesting=1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			f.Del(extra[i])
			continue
		}
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func TestCreateWritesPVEsDefaults(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	res := e.post("root@pam", "/nodes/pve2/lxc", createForm("200"))
	upid := res.data(t).(string)
	if !strings.Contains(upid, ":vzcreate:200:root@pam:") {
		t.Fatalf("upid %s", upid)
	}
	// The file exists at once, locked.
	if g, ok := e.sim.Container(200); !ok || g.Lock != "create" || g.Node != "pve2" {
		t.Fatalf("during the task: %+v %v", g, ok)
	}
	ti := e.waitTask(upid)
	if ti.ExitStatus != "OK" {
		t.Fatalf("exit %q, log %q", ti.ExitStatus, ti.Log)
	}
	want := []string{`  Logical volume "vm-200-disk-0" created.`, "Creating filesystem with 2097152 4k blocks and 524288 inodes",
		"extracting archive '/var/lib/vz/template/cache/debian-12-standard_12.12-1_amd64.tar.zst'",
		"Detected container architecture: amd64", "Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...",
		"TASK OK"}
	for _, w := range want {
		if !slices.Contains(ti.Log, w) {
			t.Errorf("log lacks %q: %q", w, ti.Log)
		}
	}
	cfg := e.config("root@pam", "pve2", 200, "")
	for k, v := range map[string]any{"hostname": "fresh", "memory": float64(1024), "swap": float64(512), "cores": float64(1),
		"arch": "amd64", "ostype": "debian", "unprivileged": float64(1), "features": "nesting=1",
		"rootfs": "local-lvm:vm-200-disk-0,size=8G"} {
		if cfg[k] != v {
			t.Errorf("%s = %v, want %v", k, cfg[k], v)
		}
	}
	if net := cfg["net0"].(string); !regexpMatch(`name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:[0-9A-F:]{8},ip=dhcp,type=veth`, net) {
		t.Errorf("net0 %s", net)
	}
	for _, k := range []string{"lock", "password"} {
		if _, has := cfg[k]; has {
			t.Errorf("config has %s", k)
		}
	}
	// The disk shows on the storage, and uses space there.
	vols := e.get("root@pam", "/nodes/pve2/storage/local-lvm/content?vmid=200").list(t)
	if len(vols) != 1 || vols[0]["volid"] != "local-lvm:vm-200-disk-0" || vols[0]["size"] != float64(8<<30) ||
		vols[0]["content"] != "rootdir" {
		t.Errorf("volumes %v", vols)
	}
}

func TestCreateDefaultsWithoutOptions(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	// Without rootfs the default storage, local, is asked: it holds no
	// container directories.
	f := url.Values{"vmid": {"201"}, "ostemplate": {DemoTemplate}}
	e.post("root@pam", "/nodes/pve1/lxc", f).wantParamErrors(t,
		map[string]string{"storage": "storage 'local' does not support container directories"})
	f.Set("storage", "local-lvm")
	f.Set("start", "1")
	ti := e.waitTask(e.post("root@pam", "/nodes/pve1/lxc", f).data(t).(string))
	if ti.ExitStatus != "OK" {
		t.Fatalf("exit %q", ti.ExitStatus)
	}
	cfg := e.config("root@pam", "pve1", 201, "")
	for k, v := range map[string]any{"hostname": "CT201", "memory": float64(512), "swap": float64(512),
		"rootfs": "local-lvm:vm-201-disk-0,size=4G", "unprivileged": float64(1)} {
		if cfg[k] != v {
			t.Errorf("%s = %v, want %v", k, cfg[k], v)
		}
	}
	// start=1: a vzstart task of its own follows.
	var started bool
	for _, task := range e.sim.Tasks() {
		if task.Type == "vzstart" && task.ID == "201" {
			e.waitTask(task.UPID)
			started = true
		}
	}
	if g, _ := e.sim.Container(201); !started || g.Status != "running" {
		t.Errorf("started %v, status %s", started, g.Status)
	}
}

func TestCreateRefusals(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	tests := []struct {
		name, user, node string
		form             url.Values
		code             int
		msg              string
	}{
		{"taken VMID", "root@pam", "pve1", createForm("103"), 500, "CT 103 already exists on node 'pve1'"},
		{"taken by a VM", "root@pam", "pve2", createForm("150"), 500, "VM 150 already exists on node 'pve2'"},
		{"alice outside her pool", "alice@pve", "pve1", createForm("202"), 403, "Permission check failed"},
		{"alice in another pool", "alice@pve", "pve1", createForm("202", "pool", "prod"), 403, "Permission check failed"},
		{"no such pool", "alice@pve", "pve1", createForm("202", "pool", "nope"), 403, "Permission check failed (pool 'nope' does not exist)"},
		{"alice tags need the VMID", "alice@pve", "pve1", createForm("202", "pool", "dev", "tags", "x"), 403,
			"Permission check failed (/vms/202, VM.Config.Options)"},
		{"alice on nfs", "alice@pve", "pve1", createForm("202", "pool", "dev", "rootfs", "nfs:8"), 403,
			"Permission check failed (/storage/nfs, Datastore.AllocateSpace)"},
		{"privileged needs Sys.Modify", "alice@pve", "pve1", createForm("202", "pool", "dev", "unprivileged", "0"), 403,
			"Permission check failed (/, Sys.Modify)"},
		{"a VM user may not allocate", "vmuser@pve", "pve1", createForm("202", "pool", "dev"), 403, "Permission check failed"},
		{"a backup is no template", "root@pam", "pve1", createForm("202", "ostemplate", "nfs:backup/x.tar"), 500,
			"unable to use volume nfs:backup/x.tar - content type needs to be 'vztmpl'"},
		{"storage without container directories", "root@pam", "pve1", createForm("202", "rootfs", "local:8"), 400, ""},
		{"bad SSH key", "root@pam", "pve1", createForm("202", "ssh-public-keys", "ssh-rsa AAAA"), 500,
			"SSH public key validation error"},
		{"mount points without rootfs", "root@pam", "pve1", createForm("202", "rootfs", "", "mp0", "local-lvm:2,mp=/srv"), 500,
			"mount points configured, but 'rootfs' not set - aborting"},
	}
	e.addUser("vmuser@pve", "PVEVMUser", "/pool/dev")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(tc.user, "/nodes/"+tc.node+"/lxc", tc.form)
			if tc.code == 400 {
				res.wantParamErrors(t, map[string]string{"storage": "storage 'local' does not support container directories"})
			} else {
				res.wantError(t, tc.code, tc.msg)
			}
			if g, ok := e.sim.Container(202); ok {
				t.Errorf("CT 202 exists: %+v", g)
			}
		})
	}
	t.Run("alice in pool dev", func(t *testing.T) {
		upid := e.post("alice@pve", "/nodes/pve1/lxc", createForm("203", "pool", "dev")).data(t).(string)
		if ti := e.waitTask(upid); ti.ExitStatus != "OK" {
			t.Fatalf("exit %q", ti.ExitStatus)
		}
		if g, _ := e.sim.Container(203); g.Pool != "dev" {
			t.Errorf("pool %q", g.Pool)
		}
	})
}

func TestCreateFailureRollsBack(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	// pve3's local storage has no Alpine template.
	form := createForm("204", "ostemplate", "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz")
	ti := e.waitTask(e.post("root@pam", "/nodes/pve3/lxc", form).data(t).(string))
	want := "unable to create CT 204 - can't find file 'local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz'"
	if ti.ExitStatus != want {
		t.Errorf("exit %q, want %q", ti.ExitStatus, want)
	}
	if _, ok := e.sim.Container(204); ok {
		t.Error("CT 204 still exists")
	}
	if vols := e.get("root@pam", "/nodes/pve3/storage/local-lvm/content?vmid=204").list(t); len(vols) != 0 {
		t.Errorf("volumes left: %v", vols)
	}
	e.get("root@pam", "/cluster/nextid?vmid=204").data(t)
}
