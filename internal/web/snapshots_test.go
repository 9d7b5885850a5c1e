package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

const postSnapshot = "/nodes/{node}/lxc/{vmid}/snapshot"

// snapshotSection cuts the snapshots section out of a container page.
func snapshotSection(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `<section class="card" id="snapshots"`)
	if i < 0 {
		t.Fatal("the page has no snapshots section")
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

// pinRole gives user exactly role on path (whatever the demo grants
// there), so a test does not depend on the scenario's ACLs.
func pinRole(t *testing.T, st *apptest.Stack, path, user, role string) {
	t.Helper()
	if err := st.Sim.SetACL(path, user, "", true); err != nil {
		t.Fatal(err)
	}
	if role == "" {
		return
	}
	if err := st.Sim.SetACL(path, user, role, true); err != nil {
		t.Fatal(err)
	}
}

// taskLocation checks a 303 to a task page that links back to the
// container's snapshots and returns it.
func taskLocation(t *testing.T, r result, node string, vmid string) string {
	t.Helper()
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/"+node+"/UPID") ||
		!strings.HasSuffix(loc, "?back="+url.QueryEscape("/containers/"+node+"/"+vmid+"#snapshots")) {
		t.Fatalf("want a 303 to the task page, got %d %q %.300s", r.status, loc, r.body)
	}
	return loc
}

func TestSnapshotsSectionFollowsPrivileges(t *testing.T) {
	st := demoStack(t, nil)
	if err := st.Sim.SetConfig(107, "rootfs", "local:107/vm-107-disk-0.raw,size=32G"); err != nil {
		t.Fatal(err)
	}
	root := signInAs(t, st, "root@pam")
	sec := snapshotSection(t, get(t, st, root, "/containers/pve1/101").body)
	// The chain oldest first, "You are here" last, with names, times and
	// descriptions.
	order := regexp.MustCompile(`data-snapshot="([a-z0-9-]+)"`).FindAllStringSubmatch(sec, -1)
	var names []string
	for _, m := range order {
		names = append(names, m[1])
	}
	if strings.Join(names, ",") != "fresh-install,before-php84,current" {
		t.Errorf("tree order %v", names)
	}
	mustContain(t, "root's section", sec, "2 snapshots", `id="you-are-here"`, "the container running",
		"Debian 12 as installed, before nginx", "Before the PHP 8.4 upgrade", "(60 days ago)", `<time datetime="`,
		`action="/containers/pve1/101/snapshots"`, `aria-label="Roll back to snapshot fresh-install"`,
		`aria-label="Delete snapshot before-php84"`, `action="/containers/pve1/101/snapshots/fresh-install/description"`,
		"letters, digits, - and _, starting with a letter", `maxlength="40"`)

	auditor := signInAs(t, st, "auditor@pve")
	sec = snapshotSection(t, get(t, st, auditor, "/containers/pve1/101").body)
	mustContain(t, "auditor's section", sec, "fresh-install", "before-php84", "You are here")
	mustNotContain(t, "auditor's section", sec, "<form", "<button", "Roll back", "Delete")

	// PVEVMUser (alice in pool dev) sees snapshots, takes none.
	pinRole(t, st, "/pool/dev", "alice@pve", "PVEVMUser")
	alice := signInAs(t, st, "alice@pve")
	sec = snapshotSection(t, get(t, st, alice, "/containers/pve3/106").body)
	mustContain(t, "alice's section", sec, "baseline", "Runner registered, no jobs yet")
	mustNotContain(t, "alice's section", sec, "<form", "<button")
	// A rollback-only role rolls back, nothing else.
	if err := st.Sim.AddRole("SnapRollback", "VM.Audit", "VM.Snapshot.Rollback"); err != nil {
		t.Fatal(err)
	}
	if err := st.Sim.SetACL("/pool/dev", "alice@pve", "SnapRollback", true); err != nil {
		t.Fatal(err)
	}
	alice = signInAs(t, st, "alice@pve")
	sec = snapshotSection(t, get(t, st, alice, "/containers/pve3/106").body)
	mustContain(t, "rollback-only section", sec, `aria-label="Roll back to snapshot baseline"`)
	mustNotContain(t, "rollback-only section", sec, "Delete snapshot", "Edit description", `id="take-snapshot"`)

	// Storage without snapshots: said, and no form to take one.
	sec = snapshotSection(t, get(t, st, root, "/containers/pve3/107").body)
	mustContain(t, "dir storage", sec, "Snapshots are not available for this container's storage.", "No snapshots yet.")
	mustNotContain(t, "dir storage", sec, `id="take-snapshot"`)
}

// TestRootSnapshotsChangesMemoryAndRollsBack: a snapshot, a memory change,
// the rollback that names what is lost, and the old value back.
func TestRootSnapshotsChangesMemoryAndRollsBack(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	r := postForm(t, st, c, "/containers/pve1/108/snapshots", url.Values{"snapname": {"before-mem"}, "description": {"Memory 1 GiB"}})
	loc := taskLocation(t, r, "pve1", "108")
	done := waitTask(t, st, c, clock, loc)
	if done["ok"] != true || done["message"] != "Took a snapshot of CT 108." {
		t.Fatalf("snapshot task %v", done)
	}
	page := get(t, st, c, loc)
	mustContain(t, "task page", page.body, `href="/containers/pve1/108#snapshots" id="task-back">Back to CT 108</a>`,
		`Logical volume &#34;snap_vm-108-disk-0_before-mem&#34; created.`)

	if err := st.Sim.SetConfig(108, "memory", "3072"); err != nil {
		t.Fatal(err)
	}
	if err := st.Sim.SetStatus(108, "running"); err != nil {
		t.Fatal(err)
	}
	// Without confirm=1 the page asks and names what will be lost.
	ask := postForm(t, st, c, "/containers/pve1/108/snapshots/before-mem/rollback", url.Values{})
	if ask.status != http.StatusOK {
		t.Fatalf("confirmation: %d", ask.status)
	}
	mustContain(t, "confirmation", ask.body, "Roll CT 108 dev-sandbox back to “before-mem”?", "every change made since then",
		"it is stopped first", "<td>memory</td><td><code>3072</code></td><td><code>1024</code></td>",
		`name="confirm" value="1"`, `id="start" name="start" type="checkbox" value="1" checked`)
	if cfg, _ := st.Sim.Config(108); cfg.Values["memory"] != "3072" {
		t.Fatalf("asking changed the memory: %q", cfg.Values["memory"])
	}
	r = postForm(t, st, c, "/containers/pve1/108/snapshots/before-mem/rollback", url.Values{"confirm": {"1"}})
	done = waitTask(t, st, c, clock, taskLocation(t, r, "pve1", "108"))
	if done["ok"] != true || done["message"] != "Rolled back CT 108." || done["status"] != "stopped" {
		t.Fatalf("rollback task %v", done)
	}
	if cfg, _ := st.Sim.Config(108); cfg.Values["memory"] != "1024" || cfg.Values["parent"] != "before-mem" {
		t.Errorf("after the rollback: memory %q parent %q", cfg.Values["memory"], cfg.Values["parent"])
	}
	mustContain(t, "settings after the rollback", get(t, st, c, "/containers/pve1/108").body, `name="memory" type="number" value="1024"`)

	// Delete asks first too, then goes.
	ask = postForm(t, st, c, "/containers/pve1/108/snapshots/clean/delete", url.Values{})
	mustContain(t, "delete confirmation", ask.body, "Delete snapshot “clean” of CT 108 dev-sandbox?", "you can no longer roll back")
	r = postForm(t, st, c, "/containers/pve1/108/snapshots/clean/delete", url.Values{"confirm": {"1"}})
	if done = waitTask(t, st, c, clock, taskLocation(t, r, "pve1", "108")); done["ok"] != true {
		t.Fatalf("delete task %v", done)
	}
	if names, parent, _ := st.Sim.Snapshots(108); strings.Join(names, ",") != "before-mem" || parent != "before-mem" {
		t.Errorf("after delete: %v parent %q", names, parent)
	}
	// The description changes at once.
	r = postForm(t, st, c, "/containers/pve1/108/snapshots/before-mem/description", url.Values{"description": {"Memory was 1 GiB"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/containers/pve1/108#snapshots" {
		t.Fatalf("description: %d %q", r.status, r.header.Get("Location"))
	}
	mustContain(t, "page after description", get(t, st, c, "/containers/pve1/108").body,
		"Saved the description of snapshot “before-mem”.", `<p class="snap-desc">Memory was 1 GiB</p>`)
}

func TestSnapshotNameCheckedBeforePVE(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	tests := []struct{ name, want string }{
		{"", "Enter a name for the snapshot."},
		{"a", "at least 2 characters"},
		{"1st", "starting with a letter"},
		{"has space", "Use letters, digits, - and _ only"},
		{"current", "“current” is reserved by Proxmox VE"},
		{"vzdump", "“vzdump” is reserved by Proxmox VE"},
		{"a" + strings.Repeat("b", 40), "41 characters long; at most 40"},
		{"before-php84", "A snapshot named “before-php84” already exists"},
	}
	for _, tc := range tests {
		r := postForm(t, st, c, "/containers/pve1/101/snapshots", url.Values{"snapname": {tc.name}, "description": {"kept"}})
		if r.status != http.StatusBadRequest {
			t.Errorf("%q: status %d", tc.name, r.status)
			continue
		}
		sec := snapshotSection(t, r.body)
		mustContain(t, tc.name, sec, `<p class="field-error" id="snapname-error">`, tc.want, `aria-invalid="true"`, ">kept</textarea>")
	}
	if n := st.Sim.Calls("POST", postSnapshot); n != 0 {
		t.Errorf("PVE was asked %d times", n)
	}
}

// TestSnapshotTaskFailuresInWords: what PVE finds inside the task is said
// on the task page in words.
func TestSnapshotTaskFailuresInWords(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	if err := st.Sim.SetConfig(107, "rootfs", "local:107/vm-107-disk-0.raw,size=32G"); err != nil {
		t.Fatal(err)
	}
	if err := st.Sim.SetLock(106, "backup"); err != nil {
		t.Fatal(err)
	}
	c := signInAs(t, st, "root@pam")
	for _, tc := range []struct{ node, vmid, want string }{
		{"pve3", "107", "Could not take a snapshot of CT 107: Snapshots are not available for this container's storage."},
		{"pve3", "106", "Could not take a snapshot of CT 106: CT is locked (backup): another operation is running on it"},
	} {
		r := postForm(t, st, c, "/containers/"+tc.node+"/"+tc.vmid+"/snapshots", url.Values{"snapname": {"try"}})
		done := waitTask(t, st, c, clock, taskLocation(t, r, tc.node, tc.vmid))
		if done["ok"] != false || !strings.HasPrefix(done["message"].(string), tc.want) {
			t.Errorf("CT %s: %v", tc.vmid, done)
		}
	}
	// Two snapshots at once: both wait for the config lock a reboot holds;
	// the second then finds the first's lock, as in PVE.
	if status, body := actJSON(t, st, c, "pve1", 101, "reboot", nil); status != http.StatusAccepted {
		t.Fatalf("reboot: %d %v", status, body)
	}
	first := taskLocation(t, postForm(t, st, c, "/containers/pve1/101/snapshots", url.Values{"snapname": {"one"}}), "pve1", "101")
	second := taskLocation(t, postForm(t, st, c, "/containers/pve1/101/snapshots", url.Values{"snapname": {"two"}}), "pve1", "101")
	if done := waitTask(t, st, c, clock, first); done["ok"] != true {
		t.Fatalf("first %v", done)
	}
	if done := waitTask(t, st, c, clock, second); done["message"] !=
		"Could not take a snapshot of CT 101: CT is locked (snapshot): another operation is running on it; try again when it has finished." {
		t.Errorf("second %v", done)
	}
}

func TestSnapshotFormsRefused(t *testing.T) {
	st := demoStack(t, nil)
	pinRole(t, st, "/pool/dev", "alice@pve", "PVEVMUser")
	alice := signInAs(t, st, "alice@pve")
	r := postForm(t, st, alice, "/containers/pve3/106/snapshots", url.Values{"snapname": {"mine"}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "You don&#39;t have permission to take snapshots of CT 106 (needs VM.Snapshot).") {
		t.Errorf("alice takes: %d %.300s", r.status, r.body)
	}
	r = postForm(t, st, alice, "/containers/pve3/106/snapshots/baseline/rollback", url.Values{"confirm": {"1"}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "VM.Snapshot or VM.Snapshot.Rollback") {
		t.Errorf("alice rolls back: %d", r.status)
	}
	root := signInAs(t, st, "root@pam")
	for _, path := range []string{"/containers/pve3/106/snapshots/current/delete", "/containers/pve3/106/snapshots/..%2Fx/rollback"} {
		if r := postForm(t, st, root, path, url.Values{"confirm": {"1"}}); r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("%s: %d", path, r.status)
		}
	}
	r = postForm(t, st, root, "/containers/pve3/106/snapshots/nope/delete", url.Values{})
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "CT 106 has no snapshot “nope”.") {
		t.Errorf("unknown snapshot: %d", r.status)
	}
	// An empty description cannot be sent (PVE would ignore it); a locked
	// container is named.
	r = postForm(t, st, root, "/containers/pve3/106/snapshots/baseline/description", url.Values{"description": {" "}})
	mustContain(t, "empty description", snapshotSection(t, r.body), "cannot remove a snapshot&#39;s description")
	if err := st.Sim.SetLock(106, "backup"); err != nil {
		t.Fatal(err)
	}
	r = postForm(t, st, root, "/containers/pve3/106/snapshots/baseline/description", url.Values{"description": {"x"}})
	mustContain(t, "locked", snapshotSection(t, r.body), "CT 106 is locked (backup); try again when that has finished.")
	// The task page links back only to container pages.
	loc := taskLocation(t, postForm(t, st, root, "/containers/pve1/101/snapshots", url.Values{"snapname": {"s1"}}), "pve1", "101")
	base, _, _ := strings.Cut(loc, "?")
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/containers/pve1/101\x`, "/sessions"} {
		body := get(t, st, root, base+"?back="+url.QueryEscape(next)).body
		mustContain(t, "task page with back="+next, body, `<a href="/">Back to containers</a>`)
		mustNotContain(t, "task page with back="+next, body, "evil", `id="task-back"`)
	}
}
