package pvesim

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// backups lists storage sid's backups on node as user, by volid.
func (ce *clusterEnv) backups(user, node, sid, query string) map[string]map[string]any {
	ce.t.Helper()
	out := map[string]map[string]any{}
	for _, e := range ce.get(user, "/nodes/"+node+"/storage/"+sid+"/content?content=backup"+query).list(ce.t) {
		out[e["volid"].(string)] = e
	}
	return out
}

// vzdump starts a backup as user and returns the UPID.
func (ce *clusterEnv) vzdump(user, node string, form url.Values) string {
	ce.t.Helper()
	upid, ok := ce.post(user, "/nodes/"+node+"/vzdump", form).data(ce.t).(string)
	if !ok || !strings.HasPrefix(upid, "UPID:") {
		ce.t.Fatalf("vzdump: no UPID")
	}
	return upid
}

// finished advances the clock until the task ends and returns its log.
func (ce *clusterEnv) finished(user, node, upid string) (map[string]any, []string) {
	ce.t.Helper()
	for range 600 {
		if st := ce.task(user, node, upid); st["status"] == "stopped" {
			lines, _ := ce.taskLog(user, node, upid, "?limit=1000")
			return st, lines
		}
		ce.clock.Advance(time.Second)
	}
	ce.t.Fatalf("task %s did not end", upid)
	return nil, nil
}

// inOrder checks that want appear in lines in this order.
func inOrder(t *testing.T, lines []string, want ...string) {
	t.Helper()
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("log lacks %q (in order) in:\n%s", want[i], strings.Join(lines, "\n"))
	}
}

func TestVzdumpSnapshotMode(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	upid := e.vzdump("root@pam", "pve1", url.Values{"vmid": {"101"}, "storage": {"local"}, "mode": {"snapshot"},
		"compress": {"zstd"}, "notes-template": {"{{guestname}} on {{node}}\\n{{cluster}}"}, "protected": {"1"}})
	if m := upidShape.FindStringSubmatch(upid); m == nil || m[5] != "vzdump" || m[6] != "101" {
		t.Fatalf("UPID %q", upid)
	}
	e.clock.Advance(500 * time.Millisecond)
	cur := e.get("root@pam", "/nodes/pve1/lxc/101/config").object(t)
	snaps := e.snapshotsOf("root@pam", "pve1", "101")
	if cur["lock"] != "backup" || cur["parent"] != "vzdump" || snaps["vzdump"]["description"] != "vzdump backup snapshot\n" {
		t.Errorf("during the backup: lock %v parent %v vzdump %v", cur["lock"], cur["parent"], snaps["vzdump"])
	}
	e.put("root@pam", "/nodes/pve1/lxc/101/config", url.Values{"memory": {"4096"}}).wantError(t, 500, "CT is locked (backup)")
	st, lines := e.finished("root@pam", "pve1", upid)
	if st["exitstatus"] != "OK" {
		t.Fatalf("exit %v\n%s", st["exitstatus"], strings.Join(lines, "\n"))
	}
	name := "vzdump-lxc-101-" + demoStart.Format("2006_01_02-15_04_05") + ".tar.zst"
	inOrder(t, lines,
		"INFO: starting new backup job: vzdump 101 --compress zstd --mode snapshot --node pve1 --notes-template",
		"INFO: Starting Backup of VM 101 (lxc)", "INFO: Backup started at 2026-03-01 12:00:00", "INFO: status = running",
		"INFO: CT Name: web-01", "INFO: including mount point rootfs ('/') in backup", "INFO: backup mode: snapshot",
		"INFO: ionice priority: 7", "INFO: create storage snapshot 'vzdump'",
		`  Logical volume "snap_vm-101-disk-0_vzdump" created.`,
		"INFO: creating vzdump archive '/var/lib/vz/dump/"+name+"'", "INFO: Total bytes written: ",
		"INFO: archive file size: ", "INFO: adding notes to backup", "INFO: marking backup as protected",
		"INFO: cleanup temporary 'vzdump' snapshot", `  Logical volume "snap_vm-101-disk-0_vzdump" successfully removed.`,
		"INFO: Finished Backup of VM 101 (00:00:", "INFO: Backup finished at ", "INFO: Backup job finished successfully", "TASK OK")
	b := e.backups("root@pam", "pve1", "local", "&vmid=101")["local:backup/"+name]
	if b == nil || b["format"] != "tar.zst" || b["subtype"] != "lxc" || b["vmid"] != float64(101) ||
		b["ctime"] != float64(demoStart.Unix()) || b["protected"] != float64(1) || b["notes"] != "web-01 on pve1" ||
		b["size"].(float64) < 1<<20 {
		t.Errorf("archive %v", b)
	}
	if other := e.backups("root@pam", "pve2", "local", ""); len(other) != 0 {
		t.Errorf("pve2's local storage shows pve1's backups: %v", other)
	}
	cur = e.get("root@pam", "/nodes/pve1/lxc/101/config").object(t)
	if cur["lock"] != nil || cur["parent"] != "before-php84" || e.snapshotsOf("root@pam", "pve1", "101")["vzdump"] != nil {
		t.Errorf("after: lock %v parent %v", cur["lock"], cur["parent"])
	}
}

func TestVzdumpModes(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	// A stopped container is always backed up in stop mode, the mode
	// line first.
	_, lines := e.finished("root@pam", "pve3", e.vzdump("root@pam", "pve3", url.Values{"vmid": {"107"}, "storage": {"nfs"}}))
	inOrder(t, lines, "INFO: status = stopped", "INFO: backup mode: stop", "INFO: ionice priority: 7", "INFO: CT Name: ci-runner-2",
		"INFO: creating vzdump archive '/mnt/pve/nfs/dump/vzdump-lxc-107-", "TASK OK")
	if !strings.Contains(strings.Join(lines, "\n"), ".tar'") {
		t.Errorf("no compression: want a .tar archive")
	}
	if len(e.backups("root@pam", "pve2", "nfs", "&vmid=107")) != 1 {
		t.Error("the shared storage shows the backup on every node")
	}
	// Volumes without snapshots: suspend instead.
	mustDo(t, e.sim.SetConfig(106, "rootfs", "local:106/vm-106-disk-0.raw,size=32G"))
	_, lines = e.finished("root@pam", "pve3", e.vzdump("root@pam", "pve3", url.Values{"vmid": {"106"}, "storage": {"local"}}))
	inOrder(t, lines, "INFO: CT Name: ci-runner-1", "INFO: mode failure - some volumes do not support snapshots",
		"INFO: trying 'suspend' mode instead", "INFO: backup mode: suspend", "INFO: ionice priority: 7", "INFO: CT Name: ci-runner-1",
		"INFO: starting first sync /proc/", "INFO: first sync finished - transferred ", "INFO: suspending guest",
		"INFO: starting final sync", "INFO: final sync finished", "INFO: resuming guest", "INFO: guest is online again after 1 seconds",
		"INFO: creating vzdump archive", "TASK OK")
	// Stop mode stops a running container and starts it again.
	upid := e.vzdump("root@pam", "pve1", url.Values{"vmid": {"103"}, "storage": {"nfs"}, "mode": {"stop"}})
	e.clock.Advance(4 * time.Second)
	if s := e.current("pve1", 103)["status"]; s != "stopped" {
		t.Errorf("during a stop-mode backup: %v", s)
	}
	_, lines = e.finished("root@pam", "pve1", upid)
	inOrder(t, lines, "INFO: backup mode: stop", "INFO: stopping virtual guest", "INFO: creating vzdump archive", "INFO: restarting vm",
		"INFO: guest is online again after ", "INFO: Finished Backup of VM 103", "TASK OK")
	if s := e.current("pve1", 103)["status"]; s != "running" {
		t.Errorf("after a stop-mode backup: %v", s)
	}
}

func TestVzdumpErrors(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	mustDo(t, e.sim.AddRole("StoreOnly", "Datastore.AllocateSpace", "Datastore.Audit"))
	mustDo(t, e.sim.SetACL("/storage/local", "auditor@pve", "StoreOnly", true))
	mustDo(t, e.sim.SetLock(108, "snapshot"))

	e.post("alice@pve", "/nodes/pve1/vzdump", url.Values{"vmid": {"108"}, "storage": {"nfs"}}).
		wantError(t, 403, "Permission check failed (/storage/nfs, Datastore.AllocateSpace)")
	bad := e.post("root@pam", "/nodes/pve1/vzdump", url.Values{"vmid": {"108"}, "protected": {"1"}})
	if bad.code != 400 || !strings.Contains(bad.body, "missing property required by 'protected'") {
		t.Errorf("protected without storage: %d %s", bad.code, bad.body)
	}
	bad = e.post("auditor@pve", "/nodes/pve1/vzdump", url.Values{"vmid": {"108"}, "dumpdir": {"/tmp"}})
	if bad.code != 400 || !strings.Contains(bad.body, "Only root may set this option.") {
		t.Errorf("dumpdir: %d %s", bad.code, bad.body)
	}
	if got := e.post("root@pam", "/nodes/pve1/vzdump", url.Values{"vmid": {"106"}}).data(t); got != "OK" {
		t.Errorf("a guest on another node: %v", got)
	}
	tests := []struct {
		name, user string
		form       url.Values
		exit, line string
	}{
		{"no VM.Backup", "auditor@pve", url.Values{"vmid": {"108"}, "storage": {"local"}},
			"Permission check failed (/vms/108, VM.Backup)", "INFO: starting new backup job: vzdump 108"},
		{"locked", "root@pam", url.Values{"vmid": {"108"}, "storage": {"local"}},
			"job errors", "ERROR: Backup of VM 108 failed - CT is locked (snapshot)"},
		{"unknown guest", "root@pam", url.Values{"vmid": {"999"}, "storage": {"local"}},
			"job errors", "ERROR: Backup of VM 999 failed - unable to find VM '999'"},
		{"no backup content", "root@pam", url.Values{"vmid": {"108"}, "storage": {"local-lvm"}},
			"could not get storage information for 'local-lvm': can't use storage 'local-lvm' for backups - wrong content type", ""},
	}
	for _, tc := range tests {
		st, lines := e.finished(tc.user, "pve1", e.vzdump(tc.user, "pve1", tc.form))
		if st["exitstatus"] != tc.exit {
			t.Errorf("%s: exit %v", tc.name, st["exitstatus"])
		}
		if tc.line != "" {
			inOrder(t, lines, tc.line, "TASK ERROR: "+tc.exit)
		}
	}
	if g, _ := e.sim.Container(108); g.Lock != "snapshot" {
		t.Errorf("the failed backup changed the lock: %q", g.Lock)
	}
	// Five protected backups per guest without Datastore.Allocate.
	mustDo(t, e.sim.SetLock(108, ""))
	mustDo(t, e.sim.AddRole("Backupper", "VM.Backup", "VM.Audit"))
	mustDo(t, e.sim.SetACL("/vms/108", "auditor@pve", "Backupper", true))
	for i := 0; i < 6; i++ {
		st, lines := e.finished("auditor@pve", "pve1", e.vzdump("auditor@pve", "pve1",
			url.Values{"vmid": {"108"}, "storage": {"local"}, "protected": {"1"}}))
		if i < 5 && st["exitstatus"] != "OK" || i == 5 && st["exitstatus"] != "job errors" {
			t.Fatalf("protected backup %d: %v\n%s", i+1, st["exitstatus"], strings.Join(lines, "\n"))
		}
		if i == 5 {
			inOrder(t, lines, "ERROR: Backup of VM 108 failed - The number of protected backups per guest is limited to 5 on storage 'local'")
		}
		e.clock.Advance(time.Second) // a new archive name
	}
}

func TestVzdumpOneJobPerNode(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	first := e.vzdump("root@pam", "pve1", url.Values{"vmid": {"103"}, "storage": {"nfs"}})
	second := e.vzdump("root@pam", "pve1", url.Values{"vmid": {"108"}, "storage": {"nfs"}})
	e.clock.Advance(100 * time.Millisecond)
	if lines, _ := e.taskLog("root@pam", "pve1", second, ""); len(lines) != 1 || lines[0] != "INFO: trying to get global lock - waiting..." {
		t.Errorf("second job while the first runs: %q", lines)
	}
	st1, _ := e.finished("root@pam", "pve1", first)
	st2, lines := e.finished("root@pam", "pve1", second)
	if st1["exitstatus"] != "OK" || st2["exitstatus"] != "OK" {
		t.Errorf("exits %v %v", st1["exitstatus"], st2["exitstatus"])
	}
	inOrder(t, lines, "INFO: trying to get global lock - waiting...", "INFO: got global lock", "INFO: starting new backup job", "TASK OK")
}

func TestBackupDeleteNotesAndProtection(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	list := e.backups("root@pam", "pve1", "local", "&vmid=101")
	var protected, plain string
	for volid, b := range list {
		if b["protected"] == float64(1) {
			protected = volid
		}
	}
	for volid := range e.backups("root@pam", "pve1", "nfs", "&vmid=101") {
		plain = volid
	}
	if protected == "" || plain == "" || list[protected]["notes"] != "Before the PHP 8.4 upgrade" {
		t.Fatalf("demo backups %v", list)
	}
	del := func(user, volid string) result {
		sid, _, _ := strings.Cut(volid, ":")
		return e.do(req{method: "DELETE", path: "/nodes/pve1/storage/" + sid + "/content/" + url.PathEscape(volid),
			ticket: e.tickets[user][0], csrf: e.tickets[user][1]})
	}
	del("auditor@pve", plain).wantError(t, 403, "Permission check failed (/storage/nfs, Datastore.AllocateSpace)")
	upid := del("root@pam", protected).data(t).(string)
	if m := upidShape.FindStringSubmatch(upid); m == nil || m[5] != "imgdel" || m[6] != "101@local" {
		t.Errorf("UPID %q", upid)
	}
	_, name, _ := strings.Cut(protected, ":")
	if st, _ := e.finished("root@pam", "pve1", upid); st["exitstatus"] != "cannot remove protected volume '"+name+"' on 'local'" {
		t.Errorf("protected: %v", st["exitstatus"])
	}
	if e.backups("root@pam", "pve1", "local", "")[protected] == nil {
		t.Error("the protected backup is gone")
	}
	st, lines := e.finished("root@pam", "pve1", del("root@pam", plain).data(t).(string))
	if st["exitstatus"] != "OK" || lines[0] != "Removed volume '"+plain+"'" || e.backups("root@pam", "pve2", "nfs", "")[plain] != nil {
		t.Errorf("delete: %v %q", st["exitstatus"], lines)
	}
	// Notes and protection change at once; "" removes the notes.
	path := "/nodes/pve1/storage/local/content/" + url.PathEscape(protected)
	if r := e.put("root@pam", path, url.Values{"notes": {"line one\nline two"}, "protected": {"0"}}); r.code != 200 || r.json(t)["data"] != nil {
		t.Fatalf("PUT: %d %s", r.code, r.body)
	}
	b := e.backups("root@pam", "pve1", "local", "")[protected]
	if b["notes"] != "line one" || b["protected"] != nil {
		t.Errorf("after PUT: %v", b)
	}
	e.put("root@pam", path, url.Values{"notes": {""}})
	if b := e.backups("root@pam", "pve1", "local", "")[protected]; b["notes"] != nil {
		t.Errorf("notes not removed: %v", b)
	}
	e.put("auditor@pve", path, url.Values{"notes": {"x"}}).wantError(t, 403, "Permission check failed (/storage/local, Datastore.AllocateSpace)")
	// The auditor may list the storage but sees no backup (PVE needs
	// Datastore.AllocateSpace and VM.Backup, or Datastore.Allocate).
	if l := e.backups("auditor@pve", "pve1", "nfs", ""); len(l) != 0 {
		t.Errorf("the auditor sees %d backups", len(l))
	}
}

func TestRestore(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	for _, a := range []struct{ path, role string }{{"/pool/dev", ""}, {"/pool/dev", "PVEVMAdmin"},
		{"/storage/local", "PVEDatastoreUser"}, {"/storage/local-lvm", "PVEDatastoreUser"}} {
		mustDo(t, e.sim.SetACL(a.path, "alice@pve", a.role, true))
	}
	var archive string
	for volid := range e.backups("alice@pve", "pve3", "local", "&vmid=106") {
		archive = volid
	}
	if archive == "" {
		t.Fatal("alice sees no backup of 106")
	}
	form := url.Values{"vmid": {"120"}, "ostemplate": {archive}, "restore": {"1"}, "storage": {"local-lvm"}}
	e.post("alice@pve", "/nodes/pve3/lxc", form).wantError(t, 403, "Permission check failed")
	form.Set("pool", "dev")
	upid := e.post("alice@pve", "/nodes/pve3/lxc", form).data(t).(string)
	if m := upidShape.FindStringSubmatch(upid); m == nil || m[5] != "vzrestore" || m[6] != "120" {
		t.Fatalf("UPID %q", upid)
	}
	if g, ok := e.sim.Container(120); !ok || g.Lock != "create" || g.Pool != "" {
		t.Errorf("while restoring: %+v", g)
	}
	st, lines := e.finished("alice@pve", "pve3", upid)
	if st["exitstatus"] != "OK" {
		t.Fatalf("restore: %v\n%s", st["exitstatus"], strings.Join(lines, "\n"))
	}
	inOrder(t, lines, "recovering backed-up configuration from '"+archive+"'", `  Logical volume "vm-120-disk-0" created.`,
		"restoring '"+archive+"' now..", "extracting archive '/var/lib/vz/dump/vzdump-lxc-106-", "Total bytes read: ",
		"merging backed-up and given configuration..", "TASK OK")
	cfg, _ := e.sim.Config(120)
	if cfg.Values["hostname"] != "ci-runner-1" || cfg.Values["memory"] != "4096" || cfg.Values["lock"] != "" ||
		cfg.Values["rootfs"] != "local-lvm:vm-120-disk-0,size=32G" {
		t.Errorf("restored config %v", cfg.Values)
	}
	if g, _ := e.sim.Container(120); g.Pool != "dev" || g.Node != "pve3" {
		t.Errorf("restored guest %+v", g)
	}

	// Over an existing container: it must be stopped, force is needed.
	var own string
	for volid := range e.backups("root@pam", "pve1", "local", "&vmid=108") {
		own = volid
	}
	over := url.Values{"vmid": {"108"}, "ostemplate": {own}, "restore": {"1"}, "storage": {"local-lvm"}}
	e.post("root@pam", "/nodes/pve1/lxc", over).wantError(t, 500, "CT 108 already exists on node 'pve1'")
	over.Set("force", "1")
	bad := e.post("root@pam", "/nodes/pve1/lxc", url.Values{"vmid": {"108"}, "ostemplate": {own}, "restore": {"1"}, "force": {"1"}})
	if bad.code != 400 || !strings.Contains(bad.body, "storage 'local' does not support container directories") {
		t.Errorf("default storage: %d %s", bad.code, bad.body)
	}
	mustDo(t, e.sim.SetStatus(108, "running"))
	e.post("root@pam", "/nodes/pve1/lxc", over).wantError(t, 500, "can't overwrite running container")
	mustDo(t, e.sim.SetStatus(108, "stopped"))
	mustDo(t, e.sim.SetConfig(108, "protection", "1"))
	e.post("root@pam", "/nodes/pve1/lxc", over).wantError(t, 500, "unable to restore CT 108 - protection mode enabled")
	mustDo(t, e.sim.SetConfig(108, "protection", ""))
	mustDo(t, e.sim.SetConfig(108, "memory", "3000"))
	st, lines = e.finished("root@pam", "pve1", e.post("root@pam", "/nodes/pve1/lxc", over).data(t).(string))
	if st["exitstatus"] != "OK" {
		t.Fatalf("restore over: %v", st["exitstatus"])
	}
	inOrder(t, lines, `  Logical volume "vm-108-disk-1" created.`, `  Logical volume "vm-108-disk-0" successfully removed.`, "TASK OK")
	cfg, _ = e.sim.Config(108)
	names, parent, _ := e.sim.Snapshots(108)
	if cfg.Values["memory"] != "1024" || !strings.HasPrefix(cfg.Values["rootfs"], "local-lvm:vm-108-disk-1,") || len(names) != 0 || parent != "" {
		t.Errorf("after restore over 108: memory %q rootfs %q snapshots %v parent %q", cfg.Values["memory"], cfg.Values["rootfs"], names, parent)
	}
	if id := e.get("alice@pve", "/cluster/nextid").data(t); id != "100" && id == "" {
		t.Errorf("nextid %v", id)
	}
	if r := e.get("alice@pve", "/cluster/nextid?vmid=120"); r.code != 400 || !strings.Contains(r.body, "VM 120 already exists") {
		t.Errorf("nextid of a taken id: %d %s", r.code, r.body)
	}
}

// TestBackupsInStorageModel checks that an archive is a volume of its
// storage like any other: listed with the other content, counted in the
// storage's usage, and gone from both once deleted.
func TestBackupsInStorageModel(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	used := func() float64 {
		t.Helper()
		l := e.get("root@pam", "/nodes/pve1/storage?storage=nfs").list(t)
		if len(l) != 1 {
			t.Fatalf("storage list %v", l)
		}
		return l[0]["used"].(float64)
	}
	content := func(query string) map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		for _, v := range e.get("root@pam", "/nodes/pve1/storage/nfs/content"+query).list(t) {
			out[v["volid"].(string)] = v
		}
		return out
	}
	before := used()
	st, lines := e.finished("root@pam", "pve1", e.vzdump("root@pam", "pve1", url.Values{"vmid": {"108"}, "storage": {"nfs"}}))
	if st["exitstatus"] != "OK" {
		t.Fatalf("vzdump: %v\n%s", st["exitstatus"], strings.Join(lines, "\n"))
	}
	all := content("")
	var volid string
	for v := range all {
		if strings.HasPrefix(v, "nfs:backup/vzdump-lxc-108-") {
			volid = v
		}
	}
	b := all[volid]
	if b == nil || b["content"] != "backup" || b["subtype"] != "lxc" || b["format"] != "tar" {
		t.Fatalf("unfiltered content lacks the archive: %v", all)
	}
	if all[SharedTemplate] == nil {
		t.Errorf("unfiltered content lost the template: %v", all)
	}
	if got := content("?content=vztmpl")[volid]; got != nil {
		t.Errorf("a template listing shows the archive: %v", got)
	}
	if got, want := used(), before+b["size"].(float64); got != want {
		t.Errorf("used %v after the backup, want %v", got, want)
	}
	path := "/nodes/pve1/storage/nfs/content/" + url.PathEscape(volid)
	del := e.do(req{method: "DELETE", path: path, ticket: e.tickets["root@pam"][0], csrf: e.tickets["root@pam"][1]})
	if st, _ := e.finished("root@pam", "pve1", del.data(t).(string)); st["exitstatus"] != "OK" {
		t.Fatalf("delete: %v", st["exitstatus"])
	}
	if got := content("")[volid]; got != nil {
		t.Errorf("deleted archive still listed: %v", got)
	}
	if got := used(); got != before {
		t.Errorf("used %v after the deletion, want %v", got, before)
	}
}
