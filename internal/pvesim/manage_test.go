package pvesim

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Clone, template conversion and destroy.

func TestCloneLinkedFromTemplate(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	upid := e.post("root@pam", "/nodes/pve1/lxc/9000/clone", url.Values{"newid": {"300"}, "hostname": {"from-tmpl"}}).data(t).(string)
	if !strings.Contains(upid, ":vzclone:9000:root@pam:") {
		t.Fatalf("upid %s", upid)
	}
	src, _ := e.sim.Container(9000)
	dst, _ := e.sim.Container(300)
	if src.Lock != "disk" || dst.Lock != "create" {
		t.Errorf("locks during the task: source %q, clone %q", src.Lock, dst.Lock)
	}
	ti := e.waitTask(upid)
	if ti.ExitStatus != "OK" || !slices.Contains(ti.Log, "create linked clone of mount point rootfs (local-lvm:base-9000-disk-0)") {
		t.Fatalf("exit %q log %q", ti.ExitStatus, ti.Log)
	}
	src, _ = e.sim.Container(9000)
	dst, _ = e.sim.Container(300)
	if src.Lock != "" || dst.Lock != "" || dst.Template || dst.Name != "from-tmpl" || dst.Node != "pve1" {
		t.Errorf("after: source %+v, clone %+v", src, dst)
	}
	cfg := e.config("root@pam", "pve1", 300, "")
	if cfg["rootfs"] != "local-lvm:vm-300-disk-0,size=4G" {
		t.Errorf("rootfs %v", cfg["rootfs"])
	}
	if src := e.config("root@pam", "pve1", 9000, ""); src["net0"] == cfg["net0"] {
		t.Error("the clone kept the source's MAC address")
	}
}

func TestCloneRefusals(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	mustDo(t, e.sim.AddGuest(Guest{VMID: 9001, Name: "tmpl-nfs", Node: "pve2", Template: true}))
	mustDo(t, e.sim.SetConfig(9001, "rootfs", "nfs:9001/base-9001-disk-0.raw,size=4G"))
	tests := []struct {
		name, user, node string
		vmid             int
		form             url.Values
		code             int
		msg              string
	}{
		{"new id taken", "root@pam", "pve1", 9000, url.Values{"newid": {"101"}}, 500, "CT 101 already exists on node 'pve1'"},
		{"locked source", "root@pam", "pve1", 110, url.Values{"newid": {"301"}}, 500, "CT is locked (backup)"},
		{"storage for a linked clone", "root@pam", "pve1", 9000, url.Values{"newid": {"301"}, "storage": {"nfs"}}, 500,
			"parameter 'storage' not allowed for linked clones"},
		{"full clone of a running CT", "root@pam", "pve1", 101, url.Values{"newid": {"301"}}, 500,
			"Full clone of a running container is only possible from a snapshot"},
		{"linked from a non-template", "root@pam", "pve1", 108, url.Values{"newid": {"301"}, "full": {"0"}}, 500,
			"Linked clone feature for 'local-lvm:vm-108-disk-0' is not available"},
		{"linked on NFS", "root@pam", "pve2", 9001, url.Values{"newid": {"301"}}, 500,
			"Linked clone feature for 'nfs:9001/base-9001-disk-0.raw' is not available"},
		{"target with local storage", "root@pam", "pve1", 108, url.Values{"newid": {"301"}, "target": {"pve2"}}, 500,
			"can't clone CT to node 'pve2' (CT uses local storage)"},
		{"target with a local storage asked", "root@pam", "pve1", 108,
			url.Values{"newid": {"301"}, "target": {"pve2"}, "storage": {"local-lvm"}}, 500, "can't clone to non-shared storage 'local-lvm'"},
		{"alice has no VM.Clone on the template", "alice@pve", "pve1", 9000, url.Values{"newid": {"301"}, "pool": {"dev"}}, 403,
			"Permission check failed (/vms/9000, VM.Clone)"},
		{"alice clones into another pool", "alice@pve", "pve1", 108, url.Values{"newid": {"301"}, "pool": {"prod"}}, 403,
			"Permission check failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.post(tc.user, ctPath(tc.node, tc.vmid, "/clone"), tc.form).wantError(t, tc.code, tc.msg)
			if _, ok := e.sim.Container(301); ok {
				t.Error("CT 301 exists")
			}
			if g, _ := e.sim.Container(tc.vmid); tc.vmid != 110 && g.Lock != "" {
				t.Errorf("source left locked: %q", g.Lock)
			}
		})
	}
}

func TestCloneFullToSharedStorageOnAnotherNode(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	form := url.Values{"newid": {"302"}, "storage": {"nfs"}, "target": {"pve3"}, "full": {"1"}, "pool": {"dev"}}
	// alice may not use nfs: refused before any task.
	e.post("alice@pve", ctPath("pve1", 108, "/clone"), form).wantError(t, 403,
		"Permission check failed (/storage/nfs, Datastore.AllocateSpace)")
	if g, _ := e.sim.Container(108); g.Lock != "" {
		t.Errorf("source left locked %q", g.Lock)
	}
	ti := e.waitTask(e.post("root@pam", ctPath("pve1", 108, "/clone"), form).data(t).(string))
	if ti.ExitStatus != "OK" {
		t.Fatalf("exit %q", ti.ExitStatus)
	}
	g, _ := e.sim.Container(302)
	if g.Node != "pve3" || g.Pool != "dev" {
		t.Errorf("clone %+v", g)
	}
	if cfg := e.config("root@pam", "pve3", 302, ""); cfg["rootfs"] != "nfs:302/vm-302-disk-0.raw,size=8G" {
		t.Errorf("rootfs %v", cfg["rootfs"])
	}
}

func TestTemplateConversion(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	e.post("root@pam", ctPath("pve2", 102, "/template"), nil).wantError(t, 500, "you can't convert a CT to template if the CT is running")
	// 101 has snapshots (and runs): the snapshots are checked first.
	e.post("root@pam", ctPath("pve1", 101, "/template"), nil).wantError(t, 500, "unable to create template, because CT contains snapshots")
	e.post("alice@pve", ctPath("pve1", 108, "/template"), nil).wantError(t, 500, "unable to create template, because CT contains snapshots")
	e.post("root@pam", ctPath("pve1", 9000, "/template"), nil).wantError(t, 500, "you can't convert a template to a template")
	e.post("root@pam", ctPath("pve1", 110, "/template"), nil).wantError(t, 500, "CT is locked (backup)")
	e.post("auditor@pve", ctPath("pve3", 107, "/template"), nil).wantError(t, 403, "Permission check failed (/vms/107, VM.Allocate)")
	if got := e.post("alice@pve", ctPath("pve3", 107, "/template"), nil).data(t); got != nil {
		t.Fatalf("answer %v, want null", got)
	}
	var task TaskInfo
	for _, ti := range e.sim.Tasks() {
		if ti.Type == "vztemplate" && ti.ID == "107" {
			task = e.waitTask(ti.UPID)
		}
	}
	if task.ExitStatus != "OK" || !slices.Contains(task.Log, `  Renamed "vm-107-disk-0" to "base-107-disk-0" in volume group "pve"`) {
		t.Fatalf("task %+v", task)
	}
	cfg := e.config("root@pam", "pve3", 107, "")
	if cfg["template"] != float64(1) || cfg["rootfs"] != "local-lvm:base-107-disk-0,size=32G" {
		t.Errorf("config %v", cfg)
	}
}

func TestDestroy(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	e.del("root@pam", ctPath("pve1", 103, "")).wantError(t, 500, "can't remove CT 103 - protection mode enabled")
	e.del("root@pam", ctPath("pve1", 110, "")).wantError(t, 500, "CT is locked (backup)")
	e.del("root@pam", ctPath("pve3", 106, "")).wantError(t, 500, "unable to destroy CT 106 - container is running")
	e.del("auditor@pve", ctPath("pve1", 108, "")).wantError(t, 403, "Permission check failed (/vms/108, VM.Allocate)")
	mustDo(t, e.sim.SetACL("/vms/108", "auditor@pve", "PVEAuditor", false))
	mustDo(t, e.sim.PutVolume("pve1", "local-lvm", "local-lvm:vm-108-disk-7", 2<<30))

	ti := e.waitTask(e.del("alice@pve", ctPath("pve1", 108, "")+"?purge=1&destroy-unreferenced-disks=1").data(t).(string))
	if ti.ExitStatus != "OK" || !slices.Contains(ti.Log, `  Logical volume "vm-108-disk-0" successfully removed.`) ||
		!slices.Contains(ti.Log, `  Logical volume "vm-108-disk-7" successfully removed.`) ||
		!slices.Contains(ti.Log, "purging CT 108 from related configurations..") {
		t.Fatalf("task %+v", ti)
	}
	if _, ok := e.sim.Container(108); ok {
		t.Error("CT 108 still exists")
	}
	if vols := e.get("root@pam", "/nodes/pve1/storage/local-lvm/content?vmid=108").list(t); len(vols) != 0 {
		t.Errorf("volumes left %v", vols)
	}
	if p := e.get("auditor@pve", "/access/permissions").object(t); p["/vms/108"] != nil {
		t.Errorf("ACL of /vms/108 kept: %v", p["/vms/108"])
	}
	// A running CT with force: stopped first.
	ti = e.waitTask(e.del("root@pam", ctPath("pve3", 106, "")+"?force=1").data(t).(string))
	if ti.ExitStatus != "OK" || !slices.Contains(ti.Log, "forced to stop CT 106 before destroying!") {
		t.Fatalf("task %+v", ti)
	}
}

func TestStorageListsAndNextID(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	root := e.get("root@pam", "/nodes/pve1/storage?content=rootdir&enabled=1").list(t)
	var ids []string
	for _, s := range root {
		ids = append(ids, s["storage"].(string))
	}
	if strings.Join(ids, ",") != "local-lvm,nfs" {
		t.Errorf("rootdir storages %v", ids)
	}
	alice := e.get("alice@pve", "/nodes/pve1/storage?content=rootdir&enabled=1").list(t)
	if len(alice) != 1 || alice[0]["storage"] != "local-lvm" {
		t.Errorf("alice's rootdir storages %v", alice)
	}
	before := root[0]["used"].(float64)
	ti := e.waitTask(e.post("root@pam", "/nodes/pve1/lxc", createForm("205", "rootfs", "local-lvm:30")).data(t).(string))
	if ti.ExitStatus != "OK" {
		t.Fatal(ti.ExitStatus)
	}
	after := e.get("root@pam", "/nodes/pve1/storage?storage=local-lvm").list(t)[0]
	if after["used"].(float64)-before != float64(10<<30) || after["avail"].(float64) != after["total"].(float64)-after["used"].(float64) {
		t.Errorf("used %v -> %v", before, after)
	}
	if got := e.get("root@pam", "/cluster/nextid").data(t); got != "113" {
		t.Errorf("nextid %v", got)
	}
	e.get("root@pam", "/cluster/nextid?vmid=205").wantParamErrors(t, map[string]string{"vmid": "VM 205 already exists"})
	pools := e.get("root@pam", "/pools").list(t)
	if len(pools) != 2 || pools[0]["poolid"] != "dev" || pools[0]["comment"] != "Development" {
		t.Errorf("pools %v", pools)
	}
	if got := e.get("alice@pve", "/pools").list(t); len(got) != 0 {
		t.Errorf("alice has no Pool.Audit, sees %v", got)
	}
	dev := e.get("alice@pve", "/pools?poolid=dev&type=lxc").list(t)
	if ms := dev[0]["members"].([]any); len(ms) != 4 {
		t.Errorf("dev members %v", ms)
	}
}

func TestDownloadAndBridges(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.05})
	const alpine = "alpine-3.22-default_20250617_amd64.tar.xz"
	e.post("alice@pve", "/nodes/pve3/aplinfo", url.Values{"storage": {"local"}, "template": {alpine}}).wantError(t, 403,
		"Permission check failed (/storage/local, Datastore.AllocateTemplate)")
	e.post("root@pam", "/nodes/pve3/aplinfo", url.Values{"storage": {"local-lvm"}, "template": {alpine}}).wantError(t, 500,
		"storage 'local-lvm' does not support templates")
	e.post("root@pam", "/nodes/pve3/aplinfo", url.Values{"storage": {"local"}, "template": {"nope.tar.gz"}}).wantParamErrors(t,
		map[string]string{"template": "no such template"})
	ti := e.waitTask(e.post("root@pam", "/nodes/pve3/aplinfo", url.Values{"storage": {"local"}, "template": {alpine}}).data(t).(string))
	if ti.ExitStatus != "OK" || ti.Type != "download" || ti.ID != alpine ||
		!slices.Contains(ti.Log, "calculating checksum...OK, checksum verified") {
		t.Fatalf("task %+v", ti)
	}
	tmpls := e.get("alice@pve", "/nodes/pve3/storage/local/content?content=vztmpl").list(t)
	if len(tmpls) != 2 || tmpls[0]["volid"] != "local:vztmpl/"+alpine || tmpls[0]["format"] != "txz" {
		t.Errorf("templates %v", tmpls)
	}
	if other := e.get("root@pam", "/nodes/pve2/storage/local/content?content=vztmpl").list(t); len(other) != 1 {
		t.Errorf("pve2 got it too: %v", other)
	}
	bridges := func(user string) []string {
		var out []string
		for _, b := range e.get(user, "/nodes/pve1/network?type=any_bridge").list(t) {
			out = append(out, b["iface"].(string))
		}
		return out
	}
	if got := bridges("alice@pve"); strings.Join(got, ",") != "vmbr0,vmbr1" {
		t.Errorf("alice's bridges %v", got)
	}
	if got := bridges("auditor@pve"); strings.Join(got, ",") != "vmbr0,vmbr1" {
		t.Errorf("the auditor has SDN.Audit, sees %v", got)
	}
	e.addUser("vmuser@pve", "PVEVMUser", "/pool/dev")
	if got := bridges("vmuser@pve"); len(got) != 0 {
		t.Errorf("a VM user has no SDN privilege, sees %v", got)
	}
	mustDo(t, e.sim.AddRole("Bridge", "SDN.Use"))
	mustDo(t, e.sim.SetACL("/sdn/zones/localnetwork/vmbr1/20", "vmuser@pve", "Bridge", true))
	if got := bridges("vmuser@pve"); strings.Join(got, ",") != "vmbr1" {
		t.Errorf("SDN.Use on a VLAN of vmbr1 shows vmbr1 only, got %v", got)
	}
}
