package pvesim

import (
	"net/url"
	"strings"
	"testing"
)

// PUT .../resize.

func TestResizeGrows(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.01})
	for _, tc := range []struct {
		name, node string
		vmid       int
		size       string
		wantRootfs string
		wantLog    string // a line the log must hold
	}{
		{"relative, stopped", "pve1", 108, "+2G", "local-lvm:vm-108-disk-0,size=10G", "Pass 1: Checking inodes, blocks, and sizes"},
		{"absolute, running", "pve3", 106, "40G", "local-lvm:vm-106-disk-0,size=40G",
			"Filesystem at /dev/pve/vm-106-disk-0 is mounted on /tmp; on-line resizing required"},
		{"fraction of a unit", "pve1", 108, "+512M", "local-lvm:vm-108-disk-0,size=10752M", "  Logical volume pve/vm-108-disk-0 successfully resized."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.put("root@pam", ctPath(tc.node, tc.vmid, "/resize"), url.Values{"disk": {"rootfs"}, "size": {tc.size}})
			upid, ok := res.data(t).(string)
			if !ok {
				t.Fatalf("resize answered %s", res.body)
			}
			ti := e.waitTask(upid)
			if ti.Type != "resize" || ti.ID != itoa(tc.vmid) || ti.ExitStatus != "OK" {
				t.Fatalf("task %+v", ti)
			}
			found := false
			for _, l := range ti.Log {
				found = found || l == tc.wantLog
			}
			if !found {
				t.Errorf("log %q lacks %q", ti.Log, tc.wantLog)
			}
			if got := e.config("root@pam", tc.node, tc.vmid, "")["rootfs"]; got != tc.wantRootfs {
				t.Errorf("rootfs %v, want %s", got, tc.wantRootfs)
			}
		})
	}
	if g, _ := e.sim.Container(106); g.DiskGiB != 40 {
		t.Errorf("Container(106).DiskGiB = %d", g.DiskGiB)
	}
}

func TestResizeRefusals(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.01})
	mustDo(t, e.sim.AddRole("DiskOnly", "VM.Config.Disk", "VM.Audit"))
	e.addUser("disk@pve", "DiskOnly", "/vms/108")
	mustDo(t, e.sim.AddRole("DiskOpts", "VM.Config.Disk", "VM.Config.Options"))
	e.addUser("opts@pve", "DiskOpts", "/vms/108")
	e.addUser("vmuser@pve", "PVEVMUser", "/pool/dev")
	mustDo(t, e.sim.SetLock(107, "snapshot"))
	digest := e.config("root@pam", "pve1", 108, "")["digest"].(string)
	mustDo(t, e.sim.SetConfig(108, "onboot", "1"))
	tests := []struct {
		name, user, node string
		vmid             int
		form             url.Values
		code             int
		msg              string
		errors           map[string]string
	}{
		{name: "shrink", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"4G"}}, code: 500, msg: "unable to shrink disk size"},
		{name: "same size", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"8G"}}, code: 500, msg: "disk is already at specified size"},
		{name: "grow by nothing", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"+0"}}, code: 500, msg: "disk is already at specified size"},
		{name: "stale digest", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"+1G"}, "digest": {digest}}, code: 500,
			msg: "detected modified configuration - file changed by other user? Try again."},
		{name: "locked", node: "pve3", vmid: 107, form: url.Values{"disk": {"rootfs"}, "size": {"+1G"}}, code: 500, msg: "CT is locked (snapshot)"},
		{name: "missing CT", vmid: 4242, form: url.Values{"disk": {"rootfs"}, "size": {"+1G"}}, code: 500,
			msg: "Configuration file 'nodes/pve1/lxc/4242.conf' does not exist"},
		{name: "no such mount point", vmid: 108, form: url.Values{"disk": {"mp0"}, "size": {"+1G"}}, code: 500,
			msg: "format error\nmp: property is missing and it is not optional\nvolume: property is missing and it is not optional"},
		{name: "bad size", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"-1G"}},
			errors: map[string]string{"size": "value does not match the regex pattern"}},
		{name: "bad disk", vmid: 108, form: url.Values{"disk": {"mp256"}, "size": {"1G"}}, code: 400},
		{name: "a VM user has no VM.Config.Disk", user: "vmuser@pve", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"+1G"}},
			code: 403, msg: "Permission check failed (/vms/108, VM.Config.Disk)"},
		{name: "the handler wants VM.Config.Options too", user: "disk@pve", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"+1G"}},
			code: 403, msg: "Permission check failed (/vms/108, VM.Config.Options)"},
		{name: "and space on the storage", user: "opts@pve", vmid: 108, form: url.Values{"disk": {"rootfs"}, "size": {"+1G"}},
			code: 403, msg: "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, node := tc.user, tc.node
			if user == "" {
				user = "root@pam"
			}
			if node == "" {
				node = "pve1"
			}
			before := len(e.sim.Tasks())
			res := e.put(user, ctPath(node, tc.vmid, "/resize"), tc.form)
			switch {
			case tc.errors != nil:
				res.wantParamErrors(t, tc.errors)
			case tc.code == 400:
				res.wantError(t, 400, "Parameter verification failed.")
			case strings.Contains(tc.msg, "\n"):
				// The status line carries the first line only.
				if res.code != tc.code || res.reason != strings.Split(tc.msg, "\n")[0] || res.json(t)["message"] != tc.msg+"\n" {
					t.Errorf("got %d %q %s, want %d %q", res.code, res.reason, res.body, tc.code, tc.msg)
				}
			default:
				res.wantError(t, tc.code, tc.msg)
			}
			if n := len(e.sim.Tasks()); n != before {
				t.Errorf("a refused resize started a task")
			}
		})
	}
	if got := e.config("root@pam", "pve1", 108, "")["rootfs"]; got != "local-lvm:vm-108-disk-0,size=8G" {
		t.Errorf("rootfs changed to %v", got)
	}
}

func TestResizeChecksAgainInTheTask(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	// A start holds the config lock; the resize waits for it, and by
	// then the disk was grown behind its back.
	start := e.action("root@pam", "pve1", 108, "start", nil)
	res := e.put("root@pam", ctPath("pve1", 108, "/resize"), url.Values{"disk": {"rootfs"}, "size": {"9G"}})
	upid := res.data(t).(string)
	mustDo(t, e.sim.SetConfig(108, "rootfs", "local-lvm:vm-108-disk-0,size=12G"))
	e.waitTask(start)
	ti := e.waitTask(upid)
	if ti.ExitStatus != "unable to shrink disk size" {
		t.Errorf("resize task %+v", ti)
	}
}
