package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// backupSection cuts the backups section out of a container page.
func backupSection(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `<section class="card" id="backups"`)
	if i < 0 {
		t.Fatal("the page has no backups section")
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

// volids lists the backups of a section, in order.
func volids(sec string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<li class="backup" data-volid="([^"]+)"`).FindAllStringSubmatch(sec, -1) {
		out = append(out, m[1])
	}
	return out
}

// aliceBackupRights gives alice what backing up and restoring in pool dev
// needs, whatever the scenario grants.
func aliceBackupRights(t *testing.T, st *apptest.Stack) {
	t.Helper()
	pinRole(t, st, "/pool/dev", "alice@pve", "PVEVMAdmin")
	pinRole(t, st, "/storage/local", "alice@pve", "PVEDatastoreUser")
	pinRole(t, st, "/storage/local-lvm", "alice@pve", "PVEDatastoreUser")
	pinRole(t, st, "/storage/nfs", "alice@pve", "")
}

func TestBackupsSectionFollowsPrivileges(t *testing.T) {
	st := demoStack(t, nil)
	root := signInAs(t, st, "root@pam")
	sec := backupSection(t, get(t, st, root, "/containers/pve1/101").body)
	got := volids(sec)
	if len(got) != 4 || !strings.HasPrefix(got[0], "nfs:backup/vzdump-lxc-101-") || !strings.HasPrefix(got[3], "local:backup/") {
		t.Fatalf("backups, newest first: %v", got)
	}
	mustContain(t, "root's section", sec, `id="last-backup"`, "(6 hours ago)", "protected", "Before the PHP 8.4 upgrade",
		"not verified", `id="backup-now"`, `<option value="snapshot" selected>`, `<option value="zstd" selected>`,
		`<option value="nfs">nfs (shared)`, `data-testid="restore"`, `data-testid="delete-backup"`, "Notes and protection")

	auditor := signInAs(t, st, "auditor@pve")
	body := get(t, st, auditor, "/containers/pve1/101").body
	sec = backupSection(t, body)
	mustContain(t, "auditor's section", sec, `id="backups-hidden"`, "Datastore.AllocateSpace")
	mustNotContain(t, "auditor's section", sec, "<form", "<button", "<li")

	// PVEVMUser with the datastore role on local: backs up there, sees and
	// deletes the backups, restores nothing (no storage for disks).
	pinRole(t, st, "/pool/dev", "alice@pve", "PVEVMUser")
	pinRole(t, st, "/storage/local", "alice@pve", "PVEDatastoreUser")
	pinRole(t, st, "/storage/local-lvm", "alice@pve", "")
	alice := signInAs(t, st, "alice@pve")
	sec = backupSection(t, get(t, st, alice, "/containers/pve3/106").body)
	if got := volids(sec); len(got) != 1 || !strings.HasPrefix(got[0], "local:backup/vzdump-lxc-106-") {
		t.Errorf("alice's backups of 106: %v", got)
	}
	mustContain(t, "alice's section", sec, `<option value="local" selected>`, `data-testid="delete-backup"`,
		`class="backup-stale">(9 days ago, older than 7 days)`)
	mustNotContain(t, "alice's section", sec, `value="nfs"`, `data-testid="restore"`)
}

// TestAliceBacksUpAndRestoresAsNew: a pool-dev container backed up, the
// log followed, the backup restored as a new container in the pool.
func TestAliceBacksUpAndRestoresAsNew(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	aliceBackupRights(t, st)
	c := signInAs(t, st, "alice@pve")
	r := postForm(t, st, c, "/containers/pve3/107/backups", url.Values{"storage": {"local"}, "mode": {"snapshot"},
		"compress": {"zstd"}, "notes": {"before {{vmid}} moves"}, "protected": {"1"}})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.Contains(loc, "?back="+url.QueryEscape("/containers/pve3/107#backups")) {
		t.Fatalf("backup: %d %q", r.status, loc)
	}
	// The container shows its backup lock meanwhile.
	clock.Advance(time.Second)
	mustContain(t, "page during the backup", get(t, st, c, "/containers/pve3/107").body, `id="ct-lock">locked: backup</span>`)
	done := waitTask(t, st, c, clock, loc)
	if done["ok"] != true || done["message"] != "Backed up CT 107." {
		t.Fatalf("vzdump task %v", done)
	}
	mustContain(t, "task page", get(t, st, c, loc).body, "INFO: creating vzdump archive &#39;/var/lib/vz/dump/vzdump-lxc-107-",
		"INFO: Backup job finished successfully", `id="task-back">Back to CT 107</a>`)
	sec := backupSection(t, get(t, st, c, "/containers/pve3/107").body)
	got := volids(sec)
	if len(got) != 1 {
		t.Fatalf("backups of 107: %v", got)
	}
	mustContain(t, "new backup", sec, "before 107 moves", `data-testid="protected"`)

	ask := postForm(t, st, c, "/containers/pve3/107/backups/restore", url.Values{"volid": {got[0]}})
	mustContain(t, "restore page", ask.body, "Restore the backup of CT 107 ci-runner-2", `name="newid" type="number" value="113"`,
		`<option value="dev" selected>dev</option>`, `<option value="local-lvm" selected>`)
	mustNotContain(t, "restore page", ask.body, `value="nfs"`)
	r = postForm(t, st, c, "/containers/pve3/107/backups/restore", url.Values{"volid": {got[0]}, "confirm": {"1"},
		"to": {"new"}, "newid": {"113"}, "storage": {"local-lvm"}, "pool": {"dev"}})
	loc = r.header.Get("Location")
	if r.status != http.StatusSeeOther {
		t.Fatalf("restore: %d %.500s", r.status, r.body)
	}
	if done = waitTask(t, st, c, clock, loc); done["ok"] != true || done["message"] != "Restored a backup to CT 113." {
		t.Fatalf("restore task %v", done)
	}
	mustContain(t, "task page", get(t, st, c, loc).body, `href="/containers/pve3/113" class="btn btn-primary btn-inline" id="task-open">Open CT 113</a>`)
	page := get(t, st, c, "/containers/pve3/113")
	if page.status != http.StatusOK {
		t.Fatalf("the new container's page: %d", page.status)
	}
	mustContain(t, "new container", page.body, `<h1 id="ct-title">CT 113 ci-runner-2</h1>`)
	if g, _ := st.Sim.Container(113); g.Pool != "dev" || g.MemoryMiB != 4096 {
		t.Errorf("restored guest %+v", g)
	}
}

func TestRestoreOverAsksForTheNameAndAStoppedContainer(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	if err := st.Sim.SetConfig(108, "memory", "3000"); err != nil {
		t.Fatal(err)
	}
	volid := volids(backupSection(t, get(t, st, c, "/containers/pve1/108").body))[0]
	form := url.Values{"volid": {volid}, "confirm": {"1"}, "to": {"over"}, "storage": {"local-lvm"}, "typed": {"dev-sandboxx"}}
	r := postForm(t, st, c, "/containers/pve1/108/backups/restore", form)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Type the container&#39;s name, dev-sandbox, to confirm.") {
		t.Fatalf("wrong name: %d", r.status)
	}
	mustContain(t, "restore page", r.body, "its 1 snapshot", `value="dev-sandboxx"`)
	if n := st.Sim.Calls("POST", "/nodes/{node}/lxc"); n != 0 {
		t.Fatalf("PVE was asked %d times", n)
	}
	form.Set("typed", "dev-sandbox")
	r = postForm(t, st, c, "/containers/pve1/108/backups/restore", form)
	done := waitTask(t, st, c, clock, r.header.Get("Location"))
	if done["ok"] != true {
		t.Fatalf("restore over: %v", done)
	}
	if cfg, _ := st.Sim.Config(108); cfg.Values["memory"] != "1024" {
		t.Errorf("memory after the restore %q", cfg.Values["memory"])
	}
	// A running container is not restored over.
	volid = volids(backupSection(t, get(t, st, c, "/containers/pve1/101").body))[0]
	ask := postForm(t, st, c, "/containers/pve1/101/backups/restore", url.Values{"volid": {volid}})
	mustContain(t, "running", ask.body, `id="over-running"`)
	mustNotContain(t, "running", ask.body, `id="confirm-over"`)
	r = postForm(t, st, c, "/containers/pve1/101/backups/restore", url.Values{"volid": {volid}, "confirm": {"1"},
		"to": {"over"}, "storage": {"local-lvm"}, "typed": {"web-01"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "CT 101 is running. Stop it first") {
		t.Errorf("running: %d", r.status)
	}
}

func TestProtectedBackupCannotBeDeleted(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	var protected, plain string
	for _, v := range volids(backupSection(t, get(t, st, c, "/containers/pve1/101").body)) {
		if strings.HasPrefix(v, "local:") {
			protected = v
		} else if plain == "" {
			plain = v
		}
	}
	ask := postForm(t, st, c, "/containers/pve1/101/backups/delete", url.Values{"volid": {protected}})
	mustContain(t, "delete page", ask.body, `id="confirm-protected"`, "Remove its protection first")
	mustNotContain(t, "delete page", ask.body, `id="confirm"`)
	r := postForm(t, st, c, "/containers/pve1/101/backups/delete", url.Values{"volid": {protected}, "confirm": {"1"}, "typed": {"web-01"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="confirm-protected"`) {
		t.Errorf("protected: %d", r.status)
	}
	// Even asked directly, PVE's task refuses; the task page says why.
	pve, err := proxmox.New(proxmox.Options{BaseURL: "https://" + st.SimServer.Addr, Fingerprint: st.SimServer.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	id, err := pve.Login(context.Background(), lxc.Credentials{Username: "root", Realm: "pam", Password: "proxmox"})
	if err != nil {
		t.Fatal(err)
	}
	upid, err := pve.DeleteBackup(context.Background(), id, "pve1", protected)
	if err != nil {
		t.Fatal(err)
	}
	done := waitTask(t, st, c, clock, "/tasks/pve1/"+url.PathEscape(upid))
	if done["ok"] != false || done["message"] != "Could not delete the backup of CT 101: the backup is protected. Remove its protection first." {
		t.Errorf("task %v", done)
	}
	// An unprotected one goes, after its name is typed.
	ask = postForm(t, st, c, "/containers/pve1/101/backups/delete", url.Values{"volid": {plain}})
	mustContain(t, "delete page", ask.body, "removed for good", "Type web-01 to confirm")
	r = postForm(t, st, c, "/containers/pve1/101/backups/delete", url.Values{"volid": {plain}, "confirm": {"1"}, "typed": {"web"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("wrong name: %d", r.status)
	}
	r = postForm(t, st, c, "/containers/pve1/101/backups/delete", url.Values{"volid": {plain}, "confirm": {"1"}, "typed": {"web-01"}})
	if done := waitTask(t, st, c, clock, r.header.Get("Location")); done["ok"] != true || done["message"] != "Deleted a backup of CT 101." {
		t.Fatalf("delete %v", done)
	}
	sec := backupSection(t, get(t, st, c, "/containers/pve1/101").body)
	mustNotContain(t, "after delete", sec, plain)
	mustContain(t, "after delete", sec, protected)
	// Notes and protection change at once.
	r = postForm(t, st, c, "/containers/pve1/101/backups/attributes", url.Values{"volid": {protected}, "notes": {"signed off"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/containers/pve1/101#backups" {
		t.Fatalf("attributes: %d", r.status)
	}
	sec = backupSection(t, get(t, st, c, "/containers/pve1/101").body)
	mustContain(t, "after attributes", sec, "signed off")
	mustNotContain(t, "after attributes", sec, `data-testid="protected"`)
}

func TestBackupFormCheckedAndFailuresInWords(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	for _, form := range []url.Values{
		{"storage": {"local"}, "mode": {"fast"}, "compress": {"zstd"}},
		{"storage": {"local"}, "mode": {"stop"}, "compress": {"bzip2"}},
		{"storage": {"../x"}, "mode": {"stop"}, "compress": {"zstd"}},
		{"storage": {"local"}, "mode": {"stop"}, "compress": {"zstd"}, "notes": {strings.Repeat("x", 1100)}},
	} {
		r := postForm(t, st, c, "/containers/pve1/108/backups", form)
		if r.status != http.StatusBadRequest || !strings.Contains(backupSection(t, r.body), `id="backup-error"`) {
			t.Errorf("%v: %d", form, r.status)
		}
	}
	if n := st.Sim.Calls("POST", "/nodes/{node}/vzdump"); n != 0 {
		t.Errorf("PVE was asked %d times", n)
	}
	if err := st.Sim.SetLock(108, "snapshot"); err != nil {
		t.Fatal(err)
	}
	r := postForm(t, st, c, "/containers/pve1/108/backups", url.Values{"storage": {"local"}, "mode": {"snapshot"}, "compress": {"zstd"}})
	done := waitTask(t, st, c, clock, r.header.Get("Location"))
	if done["message"] != "Could not back up CT 108: CT is locked (snapshot): another operation is running on it; try again when it has finished." {
		t.Errorf("locked: %v", done)
	}
}

// TestLastBackupColumn: ages on the list, red past the threshold from the
// URL, "never", and one round of storage calls per minute.
func TestLastBackupColumn(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	cell := func(body, vmid string) string {
		m := regexp.MustCompile(`<tr data-vmid="` + vmid + `"[\s\S]*?<td class="last-backup([^"]*)"[^>]*>([^<]*)</td>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no last-backup cell for %s", vmid)
		}
		return strings.TrimSpace(m[1] + " " + m[2])
	}
	body := get(t, st, c, "/").body
	mustContain(t, "list", body, `id="col-backup"`, "older than 7 days")
	for vmid, want := range map[string]string{"101": "6 hours ago", "106": "backup-stale 9 days ago",
		"107": "backup-stale never", "111": "backup-stale 40 days ago"} {
		if got := cell(body, vmid); got != want {
			t.Errorf("CT %s: %q, want %q", vmid, got, want)
		}
	}
	body = get(t, st, c, "/?stale_backup=10d").body
	if got := cell(body, "106"); got != "9 days ago" {
		t.Errorf("with 10d: %q", got)
	}
	mustContain(t, "list with 10d", body, `href="/?sort=name&amp;stale_backup=10d"`, "older than 10 days")
	// One content call per backup storage and node (local on three nodes,
	// nfs once), then none for a minute.
	if n := st.Sim.Calls("GET", "/nodes/{node}/storage/{storage}/content"); n != 4 {
		t.Errorf("storage content calls: %d, want 4", n)
	}
	get(t, st, c, "/?sort=name")
	if n := st.Sim.Calls("GET", "/nodes/{node}/storage/{storage}/content"); n != 4 {
		t.Errorf("storage content calls after a second page: %d", n)
	}
	// Without rights on backups the column says nothing.
	auditor := signInAs(t, st, "auditor@pve")
	if got := cell(get(t, st, auditor, "/").body, "101"); got != "–" {
		t.Errorf("auditor: %q", got)
	}
}
