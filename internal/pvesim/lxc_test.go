package pvesim

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var upidShape = regexp.MustCompile(`^UPID:([a-zA-Z0-9][a-zA-Z0-9\-]*):([0-9A-F]{8}):([0-9A-F]{8,9}):([0-9A-F]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$`)

func TestVisibility(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	e.addUser("vmuser@pve", "PVEVMUser", "/pool/dev")
	all := []int{100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 150, 9000}
	tests := []struct {
		user       string
		guests     []int // /cluster/resources?type=vm
		pve3       []int // /nodes/pve3/lxc
		poolField  bool  // guests carry "pool" (Pool.Audit)
		nodeStats  bool  // nodes carry statistics (Sys.Audit)
		storage    bool  // storage entries (Datastore.Audit)
		poolsShown []string
	}{
		{"root@pam", all, []int{105, 106, 107, 112}, true, true, true, []string{"dev", "prod"}},
		{"auditor@pve", all, []int{105, 106, 107, 112}, true, true, true, []string{"dev", "prod"}},
		{"alice@pve", []int{106, 107, 108, 109, 150}, []int{106, 107}, false, false, true, nil},
		{"vmuser@pve", []int{106, 107, 108, 109, 150}, []int{106, 107}, false, false, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			vms := e.get(tc.user, "/cluster/resources?type=vm").list(t)
			if got := vmids(vms, ""); !reflect.DeepEqual(got, tc.guests) {
				t.Errorf("type=vm guests %v, want %v", got, tc.guests)
			}
			for _, g := range vms {
				if g["type"] != "lxc" && g["type"] != "qemu" {
					t.Errorf("type=vm returned %v", g["id"])
				}
				if _, has := g["pool"]; has != (tc.poolField && g["vmid"] != float64(100) && g["vmid"] != float64(110) &&
					g["vmid"] != float64(111) && g["vmid"] != float64(9000)) {
					t.Errorf("%v: pool field present %v", g["id"], has)
				}
			}
			if got := vmids(e.get(tc.user, "/nodes/pve3/lxc").list(t), "lxc"); !reflect.DeepEqual(got, tc.pve3) {
				t.Errorf("/nodes/pve3/lxc %v, want %v", got, tc.pve3)
			}
			everything := e.get(tc.user, "/cluster/resources").list(t)
			var pools []string
			nodes, storages := 0, 0
			for _, r := range everything {
				switch r["type"] {
				case "pool":
					pools = append(pools, r["pool"].(string))
				case "node":
					nodes++
					if _, has := r["maxmem"]; has != tc.nodeStats {
						t.Errorf("node %v statistics present %v", r["node"], has)
					}
				case "storage":
					storages++
				}
			}
			if nodes != 3 || (storages > 0) != tc.storage || !reflect.DeepEqual(pools, tc.poolsShown) {
				t.Errorf("nodes %d storages %d pools %v", nodes, storages, pools)
			}
		})
	}
	t.Run("sorted like PVE's sort keys", func(t *testing.T) {
		var ids []string
		for _, g := range e.get("root@pam", "/cluster/resources?type=vm").list(t) {
			ids = append(ids, g["id"].(string))
		}
		want := "qemu/100 lxc/101 lxc/102 lxc/103 lxc/104 lxc/105 lxc/106 lxc/107 lxc/108 lxc/109 lxc/110 lxc/111 lxc/112 qemu/150 lxc/9000"
		if strings.Join(ids, " ") != want {
			t.Errorf("order %v", ids)
		}
	})
	t.Run("field shapes", func(t *testing.T) {
		ct := e.resource("root@pam", "lxc/110")
		for k, want := range map[string]any{"vmid": float64(110), "node": "pve1", "status": "running", "name": "backup-proxy",
			"template": float64(0), "lock": "backup", "tags": "infra", "maxcpu": float64(2), "maxmem": float64(1 << 30)} {
			if ct[k] != want {
				t.Errorf("lxc/110 %s = %v, want %v", k, ct[k], want)
			}
		}
		for _, k := range []string{"cpu", "mem", "disk", "maxdisk", "netin", "netout", "diskread", "diskwrite", "uptime"} {
			if _, ok := ct[k].(float64); !ok {
				t.Errorf("lxc/110 %s = %v, want a number", k, ct[k])
			}
		}
		if _, has := ct["pool"]; has {
			t.Error("lxc/110 is in no pool")
		}
		st := e.current("pve1", 9000)
		if st["template"] != float64(1) || st["status"] != "stopped" || st["uptime"] != float64(0) {
			t.Errorf("template status %v", st)
		}
		if _, has := st["pid"]; has {
			t.Error("a stopped CT has no pid")
		}
		run := e.current("pve1", 101)
		if _, has := run["pid"]; !has || run["ha"].(map[string]any)["managed"] != float64(0) || run["cpus"] != float64(2) {
			t.Errorf("running status %v", run)
		}
		if _, has := run["template"]; has {
			t.Error("template flag on a non-template")
		}
	})
}

func TestMetricsMove(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	a := e.current("pve1", 103)
	e.clock.Advance(time.Minute)
	b := e.current("pve1", 103)
	if b["uptime"].(float64)-a["uptime"].(float64) != 60 {
		t.Errorf("uptime %v -> %v", a["uptime"], b["uptime"])
	}
	for _, k := range []string{"netin", "netout", "diskread", "diskwrite"} {
		if b[k].(float64) <= a[k].(float64) {
			t.Errorf("counter %s did not grow: %v -> %v", k, a[k], b[k])
		}
	}
	if a["cpu"] == b["cpu"] && a["mem"] == b["mem"] {
		t.Error("cpu and mem never move")
	}
	if m := b["mem"].(float64); m <= 0 || m >= b["maxmem"].(float64) {
		t.Errorf("mem %v of %v", m, b["maxmem"])
	}
	// Same clock, same numbers.
	other := startCluster(t, Options{})
	other.clock.Advance(time.Minute)
	c := other.current("pve1", 103)
	delete(b, "pid")
	delete(c, "pid")
	if !reflect.DeepEqual(b, c) {
		t.Errorf("not deterministic:\n%v\n%v", b, c)
	}
}

func TestPermissionErrors(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	tests := []struct {
		name, user, method, path string
		code                     int
		message                  string
	}{
		{"alice audits outside her pool", "alice@pve", "GET", "/nodes/pve1/lxc/101/status/current", 403, "Permission check failed (/vms/101, VM.Audit)"},
		{"alice starts outside her pool", "alice@pve", "POST", "/nodes/pve1/lxc/101/status/start", 403, "Permission check failed (/vms/101, VM.PowerMgmt)"},
		{"alice, nonexistent vmid", "alice@pve", "POST", "/nodes/pve1/lxc/4242/status/stop", 403, "Permission check failed (/vms/4242, VM.PowerMgmt)"},
		{"alice, nonexistent vmid, status", "alice@pve", "GET", "/nodes/pve1/lxc/4242/status/current", 403, "Permission check failed (/vms/4242, VM.Audit)"},
		{"alice, bad vmid: permission first", "alice@pve", "GET", "/nodes/pve1/lxc/abc/status/current", 403, "Permission check failed (/vms/abc, VM.Audit)"},
		{"auditor may not act", "auditor@pve", "POST", "/nodes/pve3/lxc/107/status/start", 403, "Permission check failed (/vms/107, VM.PowerMgmt)"},
		{"alice, cluster status", "alice@pve", "GET", "/cluster/status", 403, "Permission check failed (/, Sys.Audit)"},
		{"alice, node status", "alice@pve", "GET", "/nodes/pve1/status", 403, "Permission check failed (/nodes/pve1, Sys.Audit)"},
		{"root, CT on another node", "root@pam", "GET", "/nodes/pve1/lxc/106/status/current", 500, "Configuration file 'nodes/pve1/lxc/106.conf' does not exist"},
		{"root, unknown CT", "root@pam", "GET", "/nodes/pve1/lxc/4242/status/current", 500, "Configuration file 'nodes/pve1/lxc/4242.conf' does not exist"},
		{"root, a VM is no CT", "root@pam", "GET", "/nodes/pve1/lxc/100/status/current", 500, "Configuration file 'nodes/pve1/lxc/100.conf' does not exist"},
		{"root, unknown CT index", "root@pam", "GET", "/nodes/pve1/lxc/4242/status", 500, "Configuration file 'nodes/pve1/lxc/4242.conf' does not exist"},
		{"root, unknown node", "root@pam", "GET", "/nodes/nosuch/lxc", 500, "hostname lookup 'nosuch' failed - failed to get address info for: nosuch: Name or service not known"},
		{"root, invalid node name: proxying comes before verification", "root@pam", "GET", "/nodes/pve_1/lxc", 500,
			"hostname lookup 'pve_1' failed - failed to get address info for: pve_1: Name or service not known"},
		{"alice, node status of an unknown node", "alice@pve", "GET", "/nodes/nosuch/status", 403, "Permission check failed (/nodes/nosuch, Sys.Audit)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var res result
			if tc.method == "POST" {
				res = e.post(tc.user, tc.path, nil)
			} else {
				res = e.get(tc.user, tc.path)
			}
			res.wantError(t, tc.code, tc.message)
		})
	}
	t.Run("allowed", func(t *testing.T) {
		e.get("auditor@pve", "/nodes/pve1/lxc/101/status/current").object(t)
		e.get("auditor@pve", "/cluster/status").list(t)
		e.get("alice@pve", "/nodes/pve2/lxc/109/status/current").object(t)
		e.get("root@pam", "/nodes/localhost/lxc/101/status/current").object(t) // "localhost" is the answering node
	})
}

func TestPreconditions(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	tests := []struct {
		action  string
		node    string
		vmid    int
		user    string
		form    url.Values
		code    int
		message string
	}{
		{"start", "pve1", 101, "root@pam", nil, 500, "CT 101 already running"},
		{"stop", "pve1", 108, "root@pam", nil, 500, "CT 108 not running"},
		{"shutdown", "pve1", 108, "root@pam", nil, 500, "CT 108 not running"},
		{"reboot", "pve1", 108, "root@pam", nil, 500, "VM 108 not running"},
		{"stop", "pve1", 106, "root@pam", nil, 500, "CT 106 not running"}, // runs, but on pve3
		{"stop", "pve1", 4242, "root@pam", nil, 500, "CT 4242 not running"},
		{"start", "pve3", 106, "alice@pve", nil, 500, "CT 106 already running"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %d on %s", tc.action, tc.vmid, tc.node), func(t *testing.T) {
			res := e.post(tc.user, fmt.Sprintf("/nodes/%s/lxc/%d/status/%s", tc.node, tc.vmid, tc.action), tc.form)
			res.wantError(t, tc.code, tc.message)
		})
	}
	t.Run("skiplock is root's", func(t *testing.T) {
		res := e.post("alice@pve", "/nodes/pve3/lxc/106/status/stop", url.Values{"skiplock": {"1"}})
		res.wantError(t, 400, "Parameter verification failed.")
		if errs := res.json(t)["errors"].(map[string]any); errs["skiplock"] != "Only root may use this option." {
			t.Errorf("errors %v", errs)
		}
	})
	if n := len(e.sim.Tasks()); n != 0 {
		t.Errorf("%d tasks were started", n)
	}
}

func TestTaskLifecycle(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	upid := e.action("alice@pve", "pve3", 107, "start", nil)
	m := upidShape.FindStringSubmatch(upid)
	if m == nil {
		t.Fatalf("UPID %q has the wrong shape", upid)
	}
	if m[1] != "pve3" || m[5] != "vzstart" || m[6] != "107" || m[7] != "alice@pve" {
		t.Errorf("UPID parts %q", m[1:])
	}
	if m[4] != fmt.Sprintf("%08X", demoStart.Unix()) {
		t.Errorf("starttime %s, want %08X", m[4], demoStart.Unix())
	}

	st := e.task("alice@pve", "pve3", upid)
	if st["status"] != "running" || st["type"] != "vzstart" || st["id"] != "107" || st["user"] != "alice@pve" ||
		st["node"] != "pve3" || st["upid"] != upid || st["starttime"] != float64(demoStart.Unix()) {
		t.Errorf("running task %v", st)
	}
	if _, has := st["exitstatus"]; has {
		t.Error("exitstatus while running")
	}
	if _, ok := st["pid"].(float64); !ok {
		t.Errorf("pid %v", st["pid"])
	}
	if lines, total := e.taskLog("alice@pve", "pve3", upid, ""); !reflect.DeepEqual(lines, []string{"no content"}) || total != 1 {
		t.Errorf("running log %v total %v", lines, total)
	}
	if s := e.current("pve3", 107)["status"]; s != "stopped" {
		t.Errorf("status while starting %v", s)
	}

	e.clock.Advance(2 * time.Second) // a start takes 1-2 s
	st = e.task("alice@pve", "pve3", upid)
	if st["status"] != "stopped" || st["exitstatus"] != "OK" {
		t.Fatalf("task after 2 s: %v", st)
	}
	cur := e.current("pve3", 107)
	if cur["status"] != "running" || cur["uptime"].(float64) > 1 {
		t.Errorf("after start: %v", cur)
	}
	if lines, total := e.taskLog("alice@pve", "pve3", upid, ""); !reflect.DeepEqual(lines, []string{"TASK OK"}) || total != 1 {
		t.Errorf("log %v total %v", lines, total)
	}

	// /cluster/resources lags until pve3's next pvestatd cycle (phase 6 s).
	if s := e.resource("root@pam", "lxc/107")["status"]; s != "stopped" {
		t.Errorf("resources right after the task: %v (want the stale stopped)", s)
	}
	e.clock.Advance(10 * time.Second)
	if r := e.resource("root@pam", "lxc/107"); r["status"] != "running" || r["uptime"].(float64) < 1 {
		t.Errorf("resources 10 s later: %v", r)
	}

	steps := []struct {
		action string
		form   url.Values
		typ    string
		after  time.Duration
		want   string
	}{
		{"shutdown", nil, "vzshutdown", 4 * time.Second, "stopped"},
		{"start", nil, "vzstart", 2 * time.Second, "running"},
		{"reboot", nil, "vzreboot", 5 * time.Second, "running"},
		{"stop", nil, "vzstop", 1 * time.Second, "stopped"},
	}
	for _, s := range steps {
		t.Run(s.action, func(t *testing.T) {
			before := e.current("pve3", 107)
			upid := e.action("alice@pve", "pve3", 107, s.action, s.form)
			if m := upidShape.FindStringSubmatch(upid); m == nil || m[5] != s.typ {
				t.Fatalf("UPID %q", upid)
			}
			if st := e.task("alice@pve", "pve3", upid); st["status"] != "running" {
				t.Errorf("task at once: %v", st)
			}
			e.clock.Advance(s.after)
			if st := e.task("alice@pve", "pve3", upid); st["status"] != "stopped" || st["exitstatus"] != "OK" {
				t.Fatalf("task after %v: %v", s.after, st)
			}
			cur := e.current("pve3", 107)
			if cur["status"] != s.want {
				t.Errorf("status %v, want %v", cur["status"], s.want)
			}
			if s.action == "reboot" && cur["pid"] == before["pid"] {
				t.Error("reboot kept the pid")
			}
		})
	}
}

func TestTaskErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(e *clusterEnv)
		user    string
		node    string
		vmid    int
		action  string
		form    url.Values
		after   time.Duration // clock time to let pass
		busy    time.Duration // the task must still run this long (0: not checked)
		exit    string
		logTail []string
		status  string // of the CT afterwards; "" to skip
	}{
		{name: "locked container", setup: func(e *clusterEnv) { mustDo(e.t, e.sim.SetLock(106, "backup")) },
			user: "alice@pve", node: "pve3", vmid: 106, action: "stop", after: time.Second,
			exit: "CT is locked (backup)", logTail: []string{"TASK ERROR: CT is locked (backup)"}, status: "running"},
		{name: "demo's backup lock", user: "root@pam", node: "pve1", vmid: 110, action: "shutdown", after: time.Second,
			exit: "CT is locked (backup)", logTail: []string{"TASK ERROR: CT is locked (backup)"}, status: "running"},
		{name: "skiplock overrides the lock", user: "root@pam", node: "pve1", vmid: 110, action: "stop",
			form: url.Values{"skiplock": {"1"}}, after: 2 * time.Second, exit: "OK", logTail: []string{"TASK OK"}, status: "stopped"},
		{name: "mounted lock does not block start", setup: func(e *clusterEnv) { mustDo(e.t, e.sim.SetLock(108, "mounted")) },
			user: "alice@pve", node: "pve1", vmid: 108, action: "start", after: 3 * time.Second, exit: "OK", status: "running"},
		{name: "reboot checks no lock (like vm_reboot)", setup: func(e *clusterEnv) { mustDo(e.t, e.sim.SetLock(106, "snapshot")) },
			user: "root@pam", node: "pve3", vmid: 106, action: "reboot", after: 6 * time.Second, exit: "OK", status: "running"},
		{name: "template", user: "root@pam", node: "pve1", vmid: 9000, action: "start", after: time.Second,
			exit: "you can't start a CT if it's a template", logTail: []string{"TASK ERROR: you can't start a CT if it's a template"}, status: "stopped"},
		{name: "CT on another node", user: "root@pam", node: "pve1", vmid: 107, action: "start", after: time.Second,
			exit: "Configuration file 'nodes/pve1/lxc/107.conf' does not exist"},
		{name: "unknown CT", user: "root@pam", node: "pve2", vmid: 4242, action: "start", after: time.Second,
			exit: "Configuration file 'nodes/pve2/lxc/4242.conf' does not exist"},
		{name: "stubborn shutdown", user: "alice@pve", node: "pve2", vmid: 109, action: "shutdown",
			form: url.Values{"timeout": {"10"}}, busy: 24900 * time.Millisecond, after: 25 * time.Second, exit: "container did not stop",
			logTail: []string{"command 'lxc-stop -n 109 --nokill --timeout 10' failed: exit code 1", "TASK ERROR: container did not stop"},
			status:  "running"},
		{name: "stubborn shutdown with forceStop", user: "alice@pve", node: "pve2", vmid: 109, action: "shutdown",
			form: url.Values{"timeout": {"10"}, "forceStop": {"1"}}, busy: 9900 * time.Millisecond, after: 10 * time.Second, exit: "OK", status: "stopped"},
		{name: "stubborn reboot is killed after the timeout", user: "alice@pve", node: "pve2", vmid: 109, action: "reboot",
			form: url.Values{"timeout": {"5"}}, busy: 5900 * time.Millisecond, after: 8 * time.Second, exit: "OK", status: "running"},
		{name: "short timeout, clean CT", user: "root@pam", node: "pve3", vmid: 106, action: "shutdown",
			form: url.Values{"timeout": {"1"}}, after: 5 * time.Second, exit: "OK",
			logTail: []string{"command 'lxc-stop -n 106 --nokill --timeout 1' failed: exit code 1", "TASK OK"}, status: "stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startCluster(t, Options{})
			if tc.setup != nil {
				tc.setup(e)
			}
			upid := e.action(tc.user, tc.node, tc.vmid, tc.action, tc.form)
			if tc.busy > 0 {
				e.clock.Advance(tc.busy)
				if st := e.task(tc.user, tc.node, upid); st["status"] != "running" {
					t.Errorf("task ended before %v: %v", tc.busy, st)
				}
				e.clock.Advance(tc.after - tc.busy)
			} else {
				e.clock.Advance(tc.after)
			}
			st := e.task(tc.user, tc.node, upid)
			if st["status"] != "stopped" || st["exitstatus"] != tc.exit {
				t.Fatalf("task: %v, want exitstatus %q", st, tc.exit)
			}
			lines, total := e.taskLog(tc.user, tc.node, upid, "")
			if int(total) != len(lines) {
				t.Errorf("total %v for %d lines", total, len(lines))
			}
			if tc.logTail != nil && (len(lines) < len(tc.logTail) || !reflect.DeepEqual(lines[len(lines)-len(tc.logTail):], tc.logTail)) {
				t.Errorf("log %q, want it to end with %q", lines, tc.logTail)
			}
			if tc.status != "" {
				if got := e.current(tc.node, tc.vmid)["status"]; got != tc.status {
					t.Errorf("CT status %v, want %v", got, tc.status)
				}
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigLockQueue(t *testing.T) {
	t.Parallel()
	t.Run("stop waits for a long shutdown, then times out", func(t *testing.T) {
		e := startCluster(t, Options{})
		shutdown := e.action("alice@pve", "pve2", 109, "shutdown", nil) // stubborn: runs 125 s
		e.clock.Advance(time.Second)
		stop := e.action("alice@pve", "pve2", 109, "stop", nil)
		e.clock.Advance(10 * time.Second)
		st := e.task("alice@pve", "pve2", stop)
		if st["exitstatus"] != "can't lock file '/run/lock/lxc/pve-config-109.lock' - got timeout" {
			t.Errorf("stop: %v", st)
		}
		if st := e.task("alice@pve", "pve2", shutdown); st["status"] != "running" {
			t.Errorf("shutdown: %v", st)
		}
	})
	t.Run("overrule-shutdown aborts it", func(t *testing.T) {
		e := startCluster(t, Options{})
		shutdown := e.action("alice@pve", "pve2", 109, "shutdown", nil)
		e.clock.Advance(time.Second)
		stop := e.action("alice@pve", "pve2", 109, "stop", url.Values{"overrule-shutdown": {"1"}})
		if st := e.task("alice@pve", "pve2", shutdown); st["exitstatus"] != "received interrupt" {
			t.Errorf("shutdown: %v", st)
		}
		e.clock.Advance(time.Second)
		if st := e.task("alice@pve", "pve2", stop); st["exitstatus"] != "OK" {
			t.Errorf("stop: %v", st)
		}
		lines, _ := e.taskLog("alice@pve", "pve2", stop, "")
		if want := []string{"overruled vzshutdown tasks: " + shutdown, "TASK OK"}; !reflect.DeepEqual(lines, want) {
			t.Errorf("stop log %q, want %q", lines, want)
		}
		if s := e.current("pve2", 109)["status"]; s != "stopped" {
			t.Errorf("status %v", s)
		}
	})
	t.Run("a queued start finds the CT running", func(t *testing.T) {
		e := startCluster(t, Options{})
		first := e.action("alice@pve", "pve1", 108, "start", nil)
		second := e.action("alice@pve", "pve1", 108, "start", nil) // not running yet: accepted
		e.clock.Advance(5 * time.Second)
		for _, u := range []string{first, second} {
			if st := e.task("alice@pve", "pve1", u); st["exitstatus"] != "OK" {
				t.Errorf("%s: %v", u, st)
			}
		}
	})
}

func TestTaskAccess(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	e.sim.SetUser(User{ID: "dave@pve", Password: "dave-pass"}) // no privileges
	daveT, _ := e.login("dave@pve", "dave-pass")
	upid := e.action("alice@pve", "pve3", 107, "start", nil)
	e.clock.Advance(3 * time.Second)
	enc := url.PathEscape(upid)

	e.get("auditor@pve", "/nodes/pve3/tasks/"+enc+"/status").object(t) // Sys.Audit on the node
	e.get("root@pam", "/nodes/pve3/tasks/"+enc+"/log").list(t)
	e.do(req{path: "/nodes/pve3/tasks/" + enc + "/status", ticket: daveT}).wantError(t, 403, "Permission check failed (/nodes/pve3, Sys.Audit)")
	e.do(req{path: "/nodes/pve3/tasks/" + enc + "/log", ticket: daveT}).wantError(t, 403, "Permission check failed (/nodes/pve3, Sys.Audit)")

	bad := e.get("alice@pve", "/nodes/pve3/tasks/UPID:nope/status")
	bad.wantError(t, 400, "Parameter verification failed.")
	if got := bad.json(t)["errors"].(map[string]any)["upid"]; got != "unable to parse worker upid" {
		t.Errorf("errors.upid %v", got)
	}
	other := e.get("alice@pve", "/nodes/pve1/tasks/"+enc+"/status") // the log file lives on pve3
	other.wantError(t, 400, "Parameter verification failed.")
	if got := other.json(t)["errors"].(map[string]any)["upid"]; got != "no such task" {
		t.Errorf("errors.upid %v", got)
	}
	if lines, total := e.taskLog("alice@pve", "pve1", upid, ""); total != 1 || lines[0] != "unable to open file - No such file or directory" {
		t.Errorf("log elsewhere %q", lines)
	}

	// Paging through a longer log.
	shut := e.action("root@pam", "pve3", 106, "shutdown", url.Values{"timeout": {"1"}})
	e.clock.Advance(5 * time.Second)
	tests := []struct {
		query string
		want  []string
		total float64
	}{
		{"", []string{"command 'lxc-stop -n 106 --nokill --timeout 1' failed: exit code 1", "TASK OK"}, 2},
		{"?start=1", []string{"TASK OK"}, 2},
		{"?limit=1", []string{"command 'lxc-stop -n 106 --nokill --timeout 1' failed: exit code 1"}, 2},
		{"?start=0&limit=0", []string{"command 'lxc-stop -n 106 --nokill --timeout 1' failed: exit code 1", "TASK OK"}, 2},
		{"?start=5", nil, 2},
	}
	for _, tc := range tests {
		lines, total := e.taskLog("root@pam", "pve3", shut, tc.query)
		if !reflect.DeepEqual(lines, tc.want) || total != tc.total {
			t.Errorf("log%s = %q total %v, want %q %v", tc.query, lines, total, tc.want, tc.total)
		}
	}
	res := e.get("root@pam", "/nodes/pve3/tasks/"+url.PathEscape(shut)+"/log?download=1")
	if res.code != 200 || res.header.Get("Content-Type") != "text/plain" ||
		res.body != "command 'lxc-stop -n 106 --nokill --timeout 1' failed: exit code 1\nTASK OK\n" {
		t.Errorf("download: %d %v %q", res.code, res.header, res.body)
	}
	e.get("root@pam", "/nodes/pve3/tasks/"+url.PathEscape(shut)+"/log?download=1&limit=5").
		wantError(t, 500, "'download' cannot be used together with 'start' or 'limit' parameters")

	infos := e.sim.Tasks()
	if len(infos) != 2 || infos[0].UPID != upid || infos[1].ExitStatus != "OK" || infos[0].User != "alice@pve" {
		t.Errorf("Tasks() = %+v", infos)
	}
}

func TestOfflineNode(t *testing.T) {
	t.Parallel()
	t.Run("offline from the start", func(t *testing.T) {
		e := startCluster(t, Options{OfflineNodes: []string{"pve2"}})
		res := e.get("root@pam", "/nodes/pve2/lxc")
		if res.code != 595 || res.reason != "Errors during connection establishment, proxy handshake: No route to host" || res.body != "" {
			t.Fatalf("got %d %q %q", res.code, res.reason, res.body)
		}
		// Permission is checked before the proxying.
		e.get("alice@pve", "/nodes/pve2/lxc/102/status/current").wantError(t, 403, "Permission check failed (/vms/102, VM.Audit)")
		if r := e.get("alice@pve", "/nodes/pve2/lxc/109/status/current"); r.code != 595 {
			t.Errorf("alice on pve2: %d", r.code)
		}
		if r := e.post("root@pam", "/nodes/pve2/lxc/102/status/stop", nil); r.code != 595 || r.body != "" {
			t.Errorf("stop on pve2: %d %q", r.code, r.body)
		}

		res2 := byID(e.get("root@pam", "/cluster/resources").list(t))
		node := res2["node/pve2"]
		if node["status"] != "offline" {
			t.Errorf("node %v", node)
		}
		for _, k := range []string{"cpu", "maxmem", "uptime", "level"} {
			if _, has := node[k]; has {
				t.Errorf("offline node has %s", k)
			}
		}
		for _, id := range []string{"lxc/102", "lxc/104", "lxc/109", "lxc/111", "qemu/150"} {
			g := res2[id]
			if g["status"] != "unknown" || g["node"] != "pve2" || g["vmid"] == nil || g["type"] == nil {
				t.Errorf("%s = %v", id, g)
			}
			for _, k := range []string{"name", "uptime", "maxmem", "cpu", "mem", "template"} {
				if _, has := g[k]; has {
					t.Errorf("%s has %s", id, k)
				}
			}
		}
		if res2["lxc/101"]["status"] != "running" {
			t.Errorf("pve1 guests are fine: %v", res2["lxc/101"])
		}
		if res2["storage/pve2/local"]["status"] != "unknown" {
			t.Errorf("storage %v", res2["storage/pve2/local"])
		}
		var pve2 map[string]any
		for _, n := range e.get("root@pam", "/nodes").list(t) {
			if n["node"] == "pve2" {
				pve2 = n
			}
		}
		if pve2["status"] != "offline" {
			t.Errorf("/nodes: %v", pve2)
		}
		status := e.get("root@pam", "/cluster/status").list(t)
		if status[0]["quorate"] != float64(1) || byID(status)["node/pve2"]["online"] != float64(0) {
			t.Errorf("cluster status %v", status)
		}
	})
	t.Run("goes offline at run time", func(t *testing.T) {
		e := startCluster(t, Options{})
		mustDo(t, e.sim.SetNodeOnline("pve3", false))
		if r := e.get("root@pam", "/nodes/pve3/lxc"); r.code != 595 {
			t.Errorf("got %d", r.code)
		}
		// pmxcfs keeps the last values for 5 minutes.
		e.clock.Advance(4 * time.Minute)
		if g := e.resource("root@pam", "lxc/105"); g["status"] != "running" || g["name"] != "cache-redis" {
			t.Errorf("after 4 min: %v", g)
		}
		if n := e.resource("root@pam", "node/pve3"); n["status"] != "offline" || n["maxmem"] == nil || n["mem"] != nil {
			t.Errorf("node after 4 min: %v", n)
		}
		e.clock.Advance(2 * time.Minute)
		if g := e.resource("root@pam", "lxc/105"); g["status"] != "unknown" || g["name"] != nil {
			t.Errorf("after 6 min: %v", g)
		}
		mustDo(t, e.sim.SetNodeOnline("pve3", true))
		if g := e.resource("root@pam", "lxc/105"); g["status"] != "running" {
			t.Errorf("back online: %v", g)
		}
		e.get("root@pam", "/nodes/pve3/lxc").list(t)
	})
	t.Run("without quorum", func(t *testing.T) {
		e := startCluster(t, Options{OfflineNodes: []string{"pve2", "pve3"}})
		e.post("root@pam", "/nodes/pve1/lxc/108/status/start", nil).wantError(t, 500, "cluster not ready - no quorum?")
		if q := e.get("root@pam", "/cluster/status").list(t)[0]["quorate"]; q != float64(0) {
			t.Errorf("quorate %v", q)
		}
	})
	t.Run("controls", func(t *testing.T) {
		e := startCluster(t, Options{})
		if err := e.sim.SetNodeOnline("pve1", false); err == nil {
			t.Error("the answering node went offline")
		}
		if err := e.sim.SetNodeOnline("pve9", false); err == nil {
			t.Error("unknown node accepted")
		}
	})
}

func TestBadParameters(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	tests := []struct {
		name, user, method, path string
		form                     url.Values
		want                     map[string]string
	}{
		{"type enum", "root@pam", "GET", "/cluster/resources?type=lxc", nil,
			map[string]string{"type": "value 'lxc' does not have a value in the enumeration 'vm, storage, node, sdn'"}},
		{"unknown parameter", "root@pam", "GET", "/nodes/pve1/lxc?full=1", nil,
			map[string]string{"full": "property is not defined in schema and the schema does not allow additional properties"}},
		{"vmid not an integer", "root@pam", "GET", "/nodes/pve1/lxc/abc/status/current", nil,
			map[string]string{"vmid": "type check ('integer') failed - got 'abc'"}},
		{"vmid too small", "root@pam", "GET", "/nodes/pve1/lxc/99/status/current", nil,
			map[string]string{"vmid": "invalid format - value does not look like a valid VM ID\n"}},
		{"negative timeout", "alice@pve", "POST", "/nodes/pve3/lxc/106/status/shutdown", url.Values{"timeout": {"-1"}},
			map[string]string{"timeout": "value must have a minimum value of 0"}},
		{"boolean as true", "alice@pve", "POST", "/nodes/pve3/lxc/106/status/shutdown", url.Values{"forceStop": {"true"}},
			map[string]string{"forceStop": "type check ('boolean') failed - got 'true'"}},
		{"start takes no timeout", "alice@pve", "POST", "/nodes/pve3/lxc/107/status/start", url.Values{"timeout": {"5"}},
			map[string]string{"timeout": "property is not defined in schema and the schema does not allow additional properties"}},
		{"log start negative", "root@pam", "GET", "/nodes/pve1/tasks/x/log?start=-1", nil,
			map[string]string{"start": "value must have a minimum value of 0"}},
		{"permissions userid", "alice@pve", "GET", "/access/permissions?userid=alice", nil,
			map[string]string{"userid": "value does not match the regex pattern"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var res result
			if tc.method == "POST" {
				res = e.post(tc.user, tc.path, tc.form)
			} else {
				res = e.get(tc.user, tc.path)
			}
			res.wantError(t, 400, "Parameter verification failed.")
			got := map[string]string{}
			for k, v := range res.json(t)["errors"].(map[string]any) {
				got[k] = v.(string)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAccessPermissions(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	alice := e.get("alice@pve", "/access/permissions").object(t)
	if got := strings.Join(sortedKeys(alice), " "); got != "/pool/dev /sdn/zones/localnetwork /storage/local /storage/local-lvm /vms/106 /vms/107 /vms/108 /vms/109 /vms/150" {
		t.Errorf("alice's paths %s", got)
	}
	pool := alice["/pool/dev"].(map[string]any)
	vm := alice["/vms/107"].(map[string]any)
	if pool["VM.PowerMgmt"] != float64(1) || vm["VM.PowerMgmt"] != float64(0) || vm["VM.Audit"] != float64(0) {
		t.Errorf("flags: pool %v, vm %v", pool, vm)
	}
	if pool["VM.Allocate"] != float64(1) || vm["VM.Allocate"] != float64(0) {
		t.Errorf("PVEVMAdmin has VM.Allocate: pool %v, vm %v", pool, vm)
	}
	if st := alice["/storage/local-lvm"].(map[string]any); st["Datastore.AllocateSpace"] != float64(1) {
		t.Errorf("alice on local-lvm: %v", st)
	}
	e.addUser("vmuser@pve", "PVEVMUser", "/pool/dev")
	vmuser := e.get("vmuser@pve", "/access/permissions").object(t)
	if got := strings.Join(sortedKeys(vmuser), " "); got != "/pool/dev /vms/106 /vms/107 /vms/108 /vms/109 /vms/150" {
		t.Errorf("vmuser's paths %s", got)
	}
	if _, has := vmuser["/vms/107"].(map[string]any)["VM.Allocate"]; has {
		t.Error("PVEVMUser has no VM.Allocate")
	}
	one := e.get("alice@pve", "/access/permissions?path=/vms/101").object(t)
	if len(one) != 1 || len(one["/vms/101"].(map[string]any)) != 0 {
		t.Errorf("path=/vms/101: %v", one)
	}
	e.get("alice@pve", "/access/permissions?userid=root@pam").wantError(t, 403, "Permission check failed (/access, Sys.Audit)")
	byAuditor := e.get("auditor@pve", "/access/permissions?userid=alice@pve").object(t)
	if !reflect.DeepEqual(byAuditor, alice) {
		t.Errorf("auditor sees %v", byAuditor)
	}
	root := e.get("root@pam", "/access/permissions?path=/").object(t)
	if root["/"].(map[string]any)["Sys.Modify"] != float64(1) {
		t.Errorf("root: %v", root)
	}
}

func TestCallsCounter(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	before := e.sim.Requests()
	e.get("root@pam", "/cluster/resources")
	e.get("alice@pve", "/cluster/resources?type=vm")
	e.do(req{path: "/cluster/resources"}) // 401 No ticket still counts
	e.get("alice@pve", "/nodes/pve1/lxc/101/status/current")
	e.get("alice@pve", "/nodes/pve3/lxc/106/status/current")
	e.post("alice@pve", "/nodes/pve3/lxc/107/status/start", nil)
	tests := []struct {
		method, route string
		want          int64
	}{
		{"GET", "/cluster/resources", 3},
		{"GET", "/nodes/{node}/lxc/{vmid}/status/current", 2},
		{"POST", "/nodes/{node}/lxc/{vmid}/status/start", 1},
		{"POST", "/nodes/{node}/lxc/{vmid}/status/stop", 0},
		{"GET", "/no/such/route", 0},
	}
	for _, tc := range tests {
		if got := e.sim.Calls(tc.method, tc.route); got != tc.want {
			t.Errorf("Calls(%s, %s) = %d, want %d", tc.method, tc.route, got, tc.want)
		}
	}
	if got := e.sim.Requests() - before; got != 6 {
		t.Errorf("Requests grew by %d", got)
	}
	routes := strings.Join(e.sim.Routes(), "\n")
	if !strings.Contains(routes, "GET /cluster/resources") || !strings.Contains(routes, "POST /nodes/{node}/lxc/{vmid}/status/reboot") {
		t.Errorf("Routes() = %s", routes)
	}
}

func TestGuestControls(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{Scenario: "empty"})
	mustDo(t, e.sim.AddGuest(Guest{VMID: 200, Node: "pve2", Name: "extra", Status: "running", Pool: "dev", Tags: "x"}))
	g, ok := e.sim.Container(200)
	if !ok || g.Type != "lxc" || g.MemoryMiB != 512 || g.DiskGiB != 4 || g.Status != "running" {
		t.Errorf("added %+v", g)
	}
	// No pvestatd data yet: unknown until pve2's next cycle.
	if r := e.resource("root@pam", "lxc/200"); r["status"] != "unknown" {
		t.Errorf("fresh guest %v", r)
	}
	e.clock.Advance(10 * time.Second)
	if r := e.resource("alice@pve", "lxc/200"); r["status"] != "running" || r["name"] != "extra" {
		t.Errorf("after a cycle %v", r)
	}
	mustDo(t, e.sim.SetStatus(200, "stopped"))
	if s := e.current("pve2", 200)["status"]; s != "stopped" {
		t.Errorf("SetStatus: %v", s)
	}
	mustDo(t, e.sim.SetLock(200, "snapshot"))
	if l := e.current("pve2", 200)["lock"]; l != "snapshot" {
		t.Errorf("SetLock: %v", l)
	}
	mustDo(t, e.sim.SetLock(200, ""))
	mustDo(t, e.sim.SetIgnoreShutdown(200, true))
	bad := []struct {
		name string
		err  error
	}{
		{"duplicate", e.sim.AddGuest(Guest{VMID: 200, Node: "pve1"})},
		{"vmid range", e.sim.AddGuest(Guest{VMID: 99, Node: "pve1"})},
		{"unknown node", e.sim.AddGuest(Guest{VMID: 201, Node: "pve9"})},
		{"bad tag", e.sim.AddGuest(Guest{VMID: 201, Node: "pve1", Tags: "a b"})},
		{"running template", e.sim.AddGuest(Guest{VMID: 201, Node: "pve1", Template: true, Status: "running"})},
		{"bad lock", e.sim.SetLock(200, "frozen")},
		{"unknown guest", e.sim.SetLock(4242, "backup")},
		{"bad status", e.sim.SetStatus(200, "paused")},
	}
	for _, b := range bad {
		if b.err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
}

// TestTaskDurationScale: a CT start takes 1-2 s of simulated time at scale
// 1 (and 0, which means 1); TaskDurationScale multiplies that. On a manual
// clock, the task must still run just before scale × 1 s and must have ended
// at scale × 2 s, so a scale that is ignored, or applied twice, fails.
func TestTaskDurationScale(t *testing.T) {
	t.Parallel()
	for _, scale := range []float64{0, 1, 4, 0.25, 0.001} {
		t.Run(fmt.Sprint(scale), func(t *testing.T) {
			t.Parallel()
			e := startCluster(t, Options{TaskDurationScale: scale})
			factor := scale
			if factor == 0 {
				factor = 1
			}
			shortest := time.Duration(float64(time.Second) * factor)
			upid := e.action("root@pam", "pve1", 108, "start", nil)
			e.clock.Advance(shortest - time.Microsecond)
			if st := e.task("root@pam", "pve1", upid); st["status"] != "running" {
				t.Fatalf("scale %v: the start ended before %v: %v", scale, shortest, st)
			}
			e.clock.Advance(shortest + time.Microsecond) // 2 × shortest in all
			st := e.task("root@pam", "pve1", upid)
			if st["status"] != "stopped" || st["exitstatus"] != "OK" {
				t.Fatalf("scale %v: the start had not ended OK after %v: %v", scale, 2*shortest, st)
			}
		})
	}
}

func BenchmarkClusterResourcesLarge(b *testing.B) {
	sim, err := New(Options{Scenario: "large"})
	if err != nil {
		b.Fatal(err)
	}
	for _, user := range []string{"root@pam", "alice@pve"} {
		b.Run(user, func(b *testing.B) {
			ticket := sim.keys.assembleTicket(user, "", sim.nowUnix())
			b.ReportAllocs()
			for b.Loop() {
				rec := newRecorder()
				r := newGet("/api2/json/cluster/resources?type=vm", ticket)
				sim.ServeHTTP(rec, r)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
