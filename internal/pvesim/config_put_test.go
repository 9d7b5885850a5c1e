package pvesim

import (
	"net/url"
	"testing"
)

// PUT .../config: what applies when, and PVE's refusals.

func TestConfigPutStopped(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	// 108 is stopped: everything applies at once.
	res := e.put("root@pam", ctPath("pve1", 108, "/config"), url.Values{
		"memory": {"2048"}, "cores": {"2"}, "hostname": {"sandbox-2"}, "arch": {"arm64"},
		"description": {"first\nsecond"}, "tags": {"Dev;alpha;dev"}, "delete": {"swap"},
		"net1": {"name=eth1,bridge=vmbr1,ip=10.0.0.8/24"},
	})
	if res.data(t) != nil {
		t.Fatalf("PUT answered %s", res.body)
	}
	got := e.config("root@pam", "pve1", 108, "?current=1")
	want := map[string]any{"memory": float64(2048), "cores": float64(2), "hostname": "sandbox-2", "arch": "arm64",
		"description": "first\nsecond\n", "tags": "alpha;dev"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, ok := got["swap"]; ok {
		t.Errorf("swap was deleted but is %v", got["swap"])
	}
	// A new interface gets type veth and a MAC address, keys in PVE's order.
	if net1, _ := got["net1"].(string); !regexpMatch(`^name=eth1,bridge=vmbr1,hwaddr=BC:24:11:[0-9A-F:]{8},ip=10\.0\.0\.8/24,type=veth$`, net1) {
		t.Errorf("net1 = %q", net1)
	}
	cc, _ := e.sim.Config(108)
	if len(cc.Pending) != 0 {
		t.Errorf("pending %v on a stopped CT", cc.Pending)
	}
	st := e.current("pve1", 108)
	if st["name"] != "sandbox-2" || st["maxmem"] != float64(2048<<20) || st["cpus"] != float64(2) || st["maxswap"] != float64(0) {
		t.Errorf("status/current after the change: %v", st)
	}
	if g, _ := e.sim.Container(108); g.Name != "sandbox-2" || g.MemoryMiB != 2048 || g.SwapMiB != 0 || g.Tags != "alpha;dev" {
		t.Errorf("Container(108) = %+v", g)
	}
}

func TestConfigPutRunningGoesPendingUntilStart(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.01})
	path := ctPath("pve3", 106, "/config")
	res := e.put("root@pam", path, url.Values{
		"memory": {"1024"}, "swap": {"0"}, "cores": {"2"}, "onboot": {"1"}, "hostname": {"runner-a"}, // hot-plugged
		"arch": {"i386"}, "ostype": {"alpine"}, "timezone": {"Europe/Berlin"}, // only at the next start
	})
	if res.data(t) != nil {
		t.Fatalf("PUT answered %s", res.body)
	}
	cur := e.config("root@pam", "pve3", 106, "?current=1")
	for k, v := range map[string]any{"memory": float64(1024), "swap": float64(0), "cores": float64(2),
		"onboot": float64(1), "hostname": "runner-a", "arch": "amd64", "ostype": "debian"} {
		if cur[k] != v {
			t.Errorf("current %s = %#v, want %#v", k, cur[k], v)
		}
	}
	if _, ok := cur["timezone"]; ok {
		t.Errorf("timezone applied to a running CT: %v", cur)
	}
	cc, _ := e.sim.Config(106)
	wantPending := map[string]string{"arch": "i386", "ostype": "alpine", "timezone": "Europe/Berlin"}
	if len(cc.Pending) != len(wantPending) {
		t.Errorf("pending %v, want %v", cc.Pending, wantPending)
	}
	for k, v := range wantPending {
		if cc.Pending[k] != v {
			t.Errorf("pending %s = %q, want %q", k, cc.Pending[k], v)
		}
	}
	// The live status follows the hot-plugged values.
	if st := e.current("pve3", 106); st["maxmem"] != float64(1024<<20) || st["name"] != "runner-a" || st["cpus"] != float64(2) {
		t.Errorf("status/current %v", st)
	}
	// A reboot starts it again: the pending changes apply.
	upid := e.action("root@pam", "pve3", 106, "reboot", nil)
	if ti := e.waitTask(upid); ti.ExitStatus != "OK" {
		t.Fatalf("reboot: %+v", ti)
	}
	cur = e.config("root@pam", "pve3", 106, "?current=1")
	if cur["arch"] != "i386" || cur["ostype"] != "alpine" || cur["timezone"] != "Europe/Berlin" {
		t.Errorf("after the reboot: %v", cur)
	}
	if cc, _ := e.sim.Config(106); len(cc.Pending) != 0 {
		t.Errorf("pending after the reboot: %v", cc.Pending)
	}
}

func TestConfigRevertAndStaleSelection(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.01})
	path := ctPath("pve3", 106, "/config")
	e.put("root@pam", path, url.Values{"arch": {"i386"}, "cmode": {"console"}}).data(t)
	// Revert one pending change; the other stays.
	e.put("root@pam", path, url.Values{"revert": {"arch"}}).data(t)
	cc, _ := e.sim.Config(106)
	if _, ok := cc.Pending["arch"]; ok || cc.Pending["cmode"] != "console" {
		t.Errorf("after revert: pending %v", cc.Pending)
	}
	// Stopped now, an unrelated change applies only what it touches
	// (vmconfig_apply_pending's selection); cmode waits for the start.
	upid := e.action("root@pam", "pve3", 106, "stop", nil)
	e.waitTask(upid)
	e.put("root@pam", path, url.Values{"memory": {"3072"}}).data(t)
	cc, _ = e.sim.Config(106)
	if cc.Values["memory"] != "3072" || cc.Pending["cmode"] != "console" {
		t.Errorf("stopped CT: values %v pending %v", cc.Values, cc.Pending)
	}
	e.waitTask(e.action("root@pam", "pve3", 106, "start", nil))
	if cc, _ := e.sim.Config(106); cc.Values["cmode"] != "console" || len(cc.Pending) != 0 {
		t.Errorf("after start: values %v pending %v", cc.Values, cc.Pending)
	}
}

func TestConfigPutErrors(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	mustDo(t, e.sim.SetLock(112, "backup"))
	stale := e.config("root@pam", "pve3", 107, "")["digest"].(string)
	mustDo(t, e.sim.SetConfig(107, "description", "changed behind your back")) // someone else
	tests := []struct {
		name   string
		vmid   int
		node   string
		form   url.Values
		code   int
		msg    string
		errors map[string]string
	}{
		{name: "digest mismatch", vmid: 107, form: url.Values{"memory": {"1024"}, "digest": {stale}},
			code: 500, msg: "detected modified configuration - file changed by other user? Try again."},
		{name: "nothing to do", vmid: 107, form: url.Values{"digest": {stale}}, code: 500, msg: "no options specified"},
		{name: "locked", vmid: 112, form: url.Values{"memory": {"1024"}}, code: 500, msg: "CT is locked (backup)"},
		{name: "missing CT", vmid: 4242, form: url.Values{"memory": {"1024"}}, code: 500,
			msg: "Configuration file 'nodes/pve3/lxc/4242.conf' does not exist"},
		{name: "required option", vmid: 107, form: url.Values{"delete": {"memory"}}, code: 500,
			msg: "unable to delete required option 'memory'"},
		{name: "read-only option", vmid: 107, form: url.Values{"delete": {"unprivileged"}}, code: 500,
			msg: "unable to delete read-only option: 'unprivileged'"},
		{name: "modify read-only", vmid: 107, form: url.Values{"unprivileged": {"0"}}, code: 500,
			msg: "unable to modify read-only option: 'unprivileged'"},
		{name: "protection", vmid: 103, node: "pve1", form: url.Values{"rootfs": {"local-lvm:vm-103-disk-0,size=64G"}},
			code: 500, msg: "can't update CT 103 drive 'rootfs' - protection mode enabled"},
		{name: "unknown delete", vmid: 107, form: url.Values{"delete": {"frobnicate"}},
			errors: map[string]string{"delete": "unknown option 'frobnicate'"}},
		{name: "set and delete", vmid: 107, form: url.Values{"delete": {"swap"}, "swap": {"0"}},
			errors: map[string]string{"delete": "you can't use '-swap' and -delete swap' at the same time"}},
		{name: "delete and revert", vmid: 107, form: url.Values{"delete": {"swap"}, "revert": {"swap"}},
			errors: map[string]string{"delete": "you can't use '-delete swap' and '-revert swap' at the same time"}},
		{name: "set and revert", vmid: 107, form: url.Values{"revert": {"swap"}, "swap": {"0"}},
			errors: map[string]string{"revert": "you can't use '-swap' and '-revert swap' at the same time"}},
		{name: "bad values", vmid: 107, form: url.Values{"cores": {"0"}, "memory": {"8"}, "hostname": {"a_b"},
			"onboot": {"true"}, "tags": {"a b"}, "tty": {"7"}, "frob": {"1"}, "net40": {"name=eth0"}},
			errors: map[string]string{
				"cores":    "value must have a minimum value of 1",
				"memory":   "value must have a minimum value of 16",
				"hostname": "invalid format - value does not look like a valid DNS name\n",
				"onboot":   "type check ('boolean') failed - got 'true'",
				"tty":      "value must have a maximum value of 6",
				"frob":     "property is not defined in schema and the schema does not allow additional properties",
				"net40":    "property is not defined in schema and the schema does not allow additional properties",
			}},
		{name: "bad interface", vmid: 107, form: url.Values{"net0": {"bridge=vmbr0,ip=10.0.0.1,mtu=9"}},
			errors: map[string]string{"net0": "invalid format - format error\n" +
				"net0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n" +
				"net0.mtu: value must have a minimum value of 64\n" +
				"net0.name: property is missing and it is not optional\n"}},
		{name: "unknown interface key", vmid: 107, form: url.Values{"net0": {"name=eth0,speed=10"}},
			errors: map[string]string{"net0": "invalid format - invalid key in comma-separated list property: speed\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := tc.node
			if node == "" {
				node = "pve3"
			}
			before, _ := e.sim.Config(tc.vmid)
			res := e.put("root@pam", ctPath(node, tc.vmid, "/config"), tc.form)
			if tc.errors != nil {
				res.wantParamErrors(t, tc.errors)
			} else {
				res.wantError(t, tc.code, tc.msg)
			}
			if after, _ := e.sim.Config(tc.vmid); after.Digest != before.Digest {
				t.Errorf("a refused PUT changed the file")
			}
		})
	}
}

func TestConfigPutJSON(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	res := e.do(req{method: "PUT", path: ctPath("pve1", 108, "/config"), ticket: e.tickets["root@pam"][0],
		csrf: e.tickets["root@pam"][1], json: `{"onboot": true, "memory": 1536, "delete": ["tags", "swap"]}`})
	if res.data(t) != nil {
		t.Fatalf("answer %s", res.body)
	}
	cc, _ := e.sim.Config(108)
	if cc.Values["onboot"] != "1" || cc.Values["memory"] != "1536" || cc.Values["tags"] != "" || cc.Values["swap"] != "" {
		t.Errorf("values %v", cc.Values)
	}
}
