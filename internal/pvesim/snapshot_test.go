package pvesim

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// snapshotsOf reads GET .../snapshot as user, by name.
func (ce *clusterEnv) snapshotsOf(user, node, vmid string) map[string]map[string]any {
	ce.t.Helper()
	out := map[string]map[string]any{}
	for _, e := range ce.get(user, "/nodes/"+node+"/lxc/"+vmid+"/snapshot").list(ce.t) {
		out[e["name"].(string)] = e
	}
	return out
}

// snapTask posts (or deletes) a snapshot call as user and returns the
// UPID.
func (ce *clusterEnv) snapTask(user, method, path string, form url.Values) string {
	ce.t.Helper()
	tk := ce.tickets[user]
	if form == nil {
		form = url.Values{}
	}
	r := req{method: method, path: path, ticket: tk[0], csrf: tk[1], form: form}
	if method == "DELETE" {
		r.form = nil
	}
	upid, ok := ce.do(r).data(ce.t).(string)
	if !ok || !strings.HasPrefix(upid, "UPID:") {
		ce.t.Fatalf("%s %s: no UPID", method, path)
	}
	return upid
}

func TestSnapshotTakeListAndConfig(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	before := e.snapshotsOf("root@pam", "pve1", "101")
	if before["current"]["parent"] != "before-php84" || before["before-php84"]["parent"] != "fresh-install" {
		t.Fatalf("demo tree %v", before)
	}
	if _, has := before["fresh-install"]["parent"]; has {
		t.Errorf("the oldest snapshot has a parent: %v", before["fresh-install"])
	}
	cur := before["current"]
	if cur["description"] != "You are here!" || cur["running"] != float64(1) || len(cur["digest"].(string)) != 40 {
		t.Errorf("current entry %v", cur)
	}

	upid := e.snapTask("root@pam", "POST", "/nodes/pve1/lxc/101/snapshot",
		url.Values{"snapname": {"pre-deploy"}, "description": {"Before deploy 42"}})
	if m := upidShape.FindStringSubmatch(upid); m == nil || m[5] != "vzsnapshot" || m[6] != "101" {
		t.Fatalf("UPID %q", upid)
	}
	// While the volumes are snapshotted the container is locked and the
	// snapshot is in state "prepare"; a config change is refused.
	e.clock.Advance(100 * time.Millisecond)
	mid := e.snapshotsOf("root@pam", "pve1", "101")
	if mid["pre-deploy"]["snapstate"] != "prepare" {
		t.Errorf("during the task: %v", mid["pre-deploy"])
	}
	e.do(req{method: "PUT", path: "/nodes/pve1/lxc/101/config", form: url.Values{"memory": {"4096"}},
		ticket: e.tickets["root@pam"][0], csrf: e.tickets["root@pam"][1]}).wantError(t, 500, "CT is locked (snapshot)")

	e.clock.Advance(2 * time.Second)
	if st := e.task("root@pam", "pve1", upid); st["exitstatus"] != "OK" {
		t.Fatalf("task %v", st)
	}
	lines, _ := e.taskLog("root@pam", "pve1", upid, "")
	if want := []string{`  Logical volume "snap_vm-101-disk-0_pre-deploy" created.`, "TASK OK"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("log %q", lines)
	}
	after := e.snapshotsOf("root@pam", "pve1", "101")
	snap := after["pre-deploy"]
	if snap["parent"] != "before-php84" || snap["description"] != "Before deploy 42\n" ||
		snap["snaptime"] != float64(demoStart.Unix()) || snap["snapstate"] != nil {
		t.Errorf("new snapshot %v", snap)
	}
	if after["current"]["parent"] != "pre-deploy" || len(after) != 4 {
		t.Errorf("after: %v", after)
	}
	cfg := e.get("root@pam", "/nodes/pve1/lxc/101/config").object(t)
	if cfg["parent"] != "pre-deploy" || cfg["lock"] != nil {
		t.Errorf("config parent %v lock %v", cfg["parent"], cfg["lock"])
	}
	sc := e.get("auditor@pve", "/nodes/pve1/lxc/101/snapshot/fresh-install/config").object(t)
	if sc["memory"] != float64(1024) || sc["snaptime"] == nil || sc["hostname"] != "web-01" || sc["digest"] != nil {
		t.Errorf("snapshot config %v", sc)
	}
	if idx := e.get("alice@pve", "/nodes/pve1/lxc/101/snapshot/xy").list(t); len(idx) != 2 || idx[0]["cmd"] != "rollback" {
		t.Errorf("index %v", idx)
	}
}

func TestSnapshotErrors(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	mustDo(t, e.sim.SetACL("/pool/dev", "alice@pve", "PVEVMAdmin", true))
	mustDo(t, e.sim.SetConfig(107, "rootfs", "local:107/vm-107-disk-0.raw,size=32G"))
	mustDo(t, e.sim.SetLock(108, "backup"))
	tests := []struct {
		name, vmid, node, snap, want string
	}{
		{"duplicate name", "106", "pve3", "baseline", "snapshot name 'baseline' already used"},
		{"directory storage", "107", "pve3", "s1", "snapshot feature is not available"},
		{"locked", "108", "pve1", "s1", "CT is locked (backup)"},
		{"template", "9000", "pve1", "s1", "you can't take a snapshot if it's a template"},
		{"missing", "999", "pve1", "s1", "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"},
	}
	for _, tc := range tests {
		user := "alice@pve"
		if tc.vmid == "9000" || tc.vmid == "999" {
			user = "root@pam"
		}
		names, _, _ := e.sim.Snapshots(atoi(tc.vmid))
		upid := e.snapTask(user, "POST", "/nodes/"+tc.node+"/lxc/"+tc.vmid+"/snapshot", url.Values{"snapname": {tc.snap}})
		e.clock.Advance(time.Second)
		if st := e.task(user, tc.node, upid); st["exitstatus"] != tc.want {
			t.Errorf("%s: exit %v, want %q", tc.name, st["exitstatus"], tc.want)
		}
		if after, _, _ := e.sim.Snapshots(atoi(tc.vmid)); !reflect.DeepEqual(after, names) {
			t.Errorf("%s: snapshots %v, before %v", tc.name, after, names)
		}
	}
	if got, _ := e.sim.Container(108); got.Lock != "backup" {
		t.Errorf("lock of 108 after the failed snapshot: %q", got.Lock)
	}
	if f := e.get("alice@pve", "/nodes/pve3/lxc/107/feature?feature=snapshot").object(t); f["hasFeature"] != float64(0) {
		t.Errorf("feature on dir storage %v", f)
	}
	if f := e.get("alice@pve", "/nodes/pve3/lxc/106/feature?feature=snapshot").object(t); f["hasFeature"] != float64(1) {
		t.Errorf("feature on lvm-thin %v", f)
	}

	// Synchronous refusals: reserved names, the format, permissions.
	for _, name := range []string{"current", "vzdump"} {
		e.post("root@pam", "/nodes/pve3/lxc/106/snapshot", url.Values{"snapname": {name}}).
			wantError(t, 500, "unable to use snapshot name '"+name+"' (reserved name)")
	}
	bad := e.post("root@pam", "/nodes/pve3/lxc/106/snapshot", url.Values{"snapname": {"1st"}})
	if bad.code != 400 || !strings.Contains(bad.json(t)["errors"].(map[string]any)["snapname"].(string), "invalid configuration ID '1st'") {
		t.Errorf("bad name: %d %s", bad.code, bad.body)
	}
	long := e.post("root@pam", "/nodes/pve3/lxc/106/snapshot", url.Values{"snapname": {"a" + strings.Repeat("b", 40)}})
	if long.code != 400 {
		t.Errorf("41 characters: %d %s", long.code, long.body)
	}
	e.post("auditor@pve", "/nodes/pve3/lxc/106/snapshot", url.Values{"snapname": {"s2"}}).
		wantError(t, 403, "Permission check failed (/vms/106, VM.Snapshot)")
	e.post("auditor@pve", "/nodes/pve3/lxc/106/snapshot/baseline/rollback", nil).
		wantError(t, 403, "Permission check failed (/vms/106, VM.Snapshot|VM.Snapshot.Rollback)")
	e.do(req{method: "DELETE", path: "/nodes/pve3/lxc/106/snapshot/baseline", ticket: e.tickets["auditor@pve"][0],
		csrf: e.tickets["auditor@pve"][1]}).wantError(t, 403, "Permission check failed (/vms/106, VM.Snapshot)")
	// PVEVMUser may not take snapshots; a rollback-only role may roll back.
	mustDo(t, e.sim.AddRole("Rollbacker", "VM.Audit", "VM.Snapshot.Rollback"))
	mustDo(t, e.sim.SetACL("/vms/106", "auditor@pve", "Rollbacker", true))
	e.snapTask("auditor@pve", "POST", "/nodes/pve3/lxc/106/snapshot/baseline/rollback", nil)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSnapshotRollback(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	root := e.tickets["root@pam"]
	put := func(form url.Values) {
		t.Helper()
		res := e.do(req{method: "PUT", path: "/nodes/pve1/lxc/101/config", form: form, ticket: root[0], csrf: root[1]})
		if res.code != 200 {
			t.Fatalf("PUT config: %d %s", res.code, res.body)
		}
	}
	put(url.Values{"memory": {"3072"}, "description": {"changed notes"}})
	upid := e.snapTask("root@pam", "POST", "/nodes/pve1/lxc/101/snapshot/fresh-install/rollback", nil)
	e.clock.Advance(10 * time.Millisecond)
	if cur := e.current("pve1", 101); cur["status"] != "stopped" || cur["lock"] != "rollback" {
		t.Errorf("during the rollback: status %v lock %v", cur["status"], cur["lock"])
	}
	e.clock.Advance(2 * time.Second)
	if st := e.task("root@pam", "pve1", upid); st["exitstatus"] != "OK" {
		t.Fatalf("rollback %v", st)
	}
	lines, _ := e.taskLog("root@pam", "pve1", upid, "")
	want := []string{`  Logical volume "vm-101-disk-0" successfully removed.`, `  Logical volume "vm-101-disk-0" created.`, "TASK OK"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("log %q", lines)
	}
	cfg, _ := e.sim.Config(101)
	if cfg.Values["memory"] != "1024" || cfg.Values["parent"] != "fresh-install" || cfg.Values["lock"] != "" ||
		cfg.Values["description"] != "changed notes\n" {
		t.Errorf("config after rollback: memory %q parent %q lock %q notes %q", cfg.Values["memory"],
			cfg.Values["parent"], cfg.Values["lock"], cfg.Values["description"])
	}
	if cur := e.current("pve1", 101); cur["status"] != "stopped" {
		t.Errorf("without start the container stays stopped: %v", cur["status"])
	}
	names, parent, _ := e.sim.Snapshots(101)
	if !reflect.DeepEqual(names, []string{"before-php84", "fresh-install"}) || parent != "fresh-install" {
		t.Errorf("snapshots %v parent %q", names, parent)
	}

	// With start, a vzstart task of its own follows.
	upid = e.snapTask("root@pam", "POST", "/nodes/pve1/lxc/101/snapshot/before-php84/rollback", url.Values{"start": {"1"}})
	e.clock.Advance(5 * time.Second)
	if st := e.task("root@pam", "pve1", upid); st["exitstatus"] != "OK" {
		t.Fatalf("rollback with start %v", st)
	}
	var started bool
	for _, ti := range e.sim.Tasks() {
		started = started || (ti.Type == "vzstart" && ti.ID == "101" && ti.ExitStatus == "OK" && ti.Start.After(demoStart))
	}
	if cur := e.current("pve1", 101); !started || cur["status"] != "running" || cur["maxmem"] != float64(2048<<20) {
		t.Errorf("after rollback with start: vzstart %v, status %v, maxmem %v", started, cur["status"], cur["maxmem"])
	}

	// Missing and incomplete snapshots fail inside the task.
	upid = e.snapTask("root@pam", "POST", "/nodes/pve1/lxc/101/snapshot/nope/rollback", nil)
	e.clock.Advance(time.Second)
	if st := e.task("root@pam", "pve1", upid); st["exitstatus"] != "snapshot 'nope' does not exist" {
		t.Errorf("missing snapshot: %v", st["exitstatus"])
	}
}

func TestSnapshotDeleteAndDescription(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	root := e.tickets["root@pam"]
	upid := e.snapTask("root@pam", "DELETE", "/nodes/pve1/lxc/101/snapshot/before-php84", nil)
	e.clock.Advance(10 * time.Millisecond)
	if l := e.snapshotsOf("root@pam", "pve1", "101")["before-php84"]; l["snapstate"] != "delete" {
		t.Errorf("while deleting: %v", l)
	}
	if cur := e.current("pve1", 101); cur["lock"] != "snapshot-delete" {
		t.Errorf("lock while deleting: %v", cur["lock"])
	}
	e.clock.Advance(2 * time.Second)
	if st := e.task("root@pam", "pve1", upid); st["exitstatus"] != "OK" {
		t.Fatalf("delete %v", st)
	}
	if lines, _ := e.taskLog("root@pam", "pve1", upid, ""); len(lines) != 2 ||
		lines[0] != `  Logical volume "snap_vm-101-disk-0_before-php84" successfully removed.` {
		t.Errorf("log %q", lines)
	}
	names, parent, _ := e.sim.Snapshots(101)
	if !reflect.DeepEqual(names, []string{"fresh-install"}) || parent != "fresh-install" {
		t.Errorf("after delete: %v, current's parent %q", names, parent)
	}
	upid = e.snapTask("root@pam", "DELETE", "/nodes/pve1/lxc/101/snapshot/before-php84", nil)
	e.clock.Advance(time.Second)
	if st := e.task("root@pam", "pve1", upid); st["exitstatus"] != "snapshot 'before-php84' does not exist" {
		t.Errorf("second delete: %v", st["exitstatus"])
	}

	putDesc := func(name string, form url.Values) result {
		return e.do(req{method: "PUT", path: "/nodes/pve1/lxc/101/snapshot/" + name + "/config", form: form, ticket: root[0], csrf: root[1]})
	}
	if res := putDesc("fresh-install", url.Values{"description": {"Installed\nby hand"}}); res.code != 200 || res.json(t)["data"] != nil {
		t.Fatalf("PUT description: %d %s", res.code, res.body)
	}
	if d := e.snapshotsOf("root@pam", "pve1", "101")["fresh-install"]["description"]; d != "Installed\nby hand\n" {
		t.Errorf("description %q", d)
	}
	putDesc("nope", url.Values{"description": {"x"}}).wantError(t, 500, "snapshot 'nope' does not exist")
	if res := putDesc("nope", url.Values{}); res.code != 200 {
		t.Errorf("without a description PVE returns at once: %d %s", res.code, res.body)
	}
	mustDo(t, e.sim.SetLock(101, "backup"))
	putDesc("fresh-install", url.Values{"description": {"x"}}).wantError(t, 500, "CT is locked (backup)")
}
