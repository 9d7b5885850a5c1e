package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

var manageErrorRe = regexp.MustCompile(`id="manage-error">([^<]*)`)

func TestCloneTemplateLinked(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	page := get(t, st, c, "/containers/pve1/9000")
	if !strings.Contains(page.body, `id="ct-clone"`) || !strings.Contains(page.body, `id="ct-delete"`) ||
		strings.Contains(page.body, `id="ct-template"`) {
		t.Fatal("a template's page shows Clone and Delete, not Convert")
	}
	form := get(t, st, c, "/containers/pve1/9000/clone")
	if form.status != http.StatusOK || !strings.Contains(form.body, `<option value="linked" selected>`) ||
		!strings.Contains(form.body, `name="newid" type="number" value="113"`) {
		t.Fatalf("clone form: %d", form.status)
	}
	r := postForm(t, st, c, "/containers/pve1/9000/clone", url.Values{"newid": {"300"}, "hostname": {"from-template"},
		"mode": {"linked"}, "target": {""}, "storage": {""}, "pool": {"dev"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), ":vzclone:9000:root@pam:") {
		t.Fatalf("clone: %d %v", r.status, fieldErrors(r.body))
	}
	if next := followTask(t, st, c, clock, r.header.Get("Location")); next != "/containers/pve1/300" {
		t.Fatalf("lands on %q", next)
	}
	cfg, _ := st.Sim.Config(300)
	if cfg.Values["rootfs"] != "local-lvm:vm-300-disk-0,size=4G" || cfg.Values["hostname"] != "from-template" {
		t.Errorf("clone's config %v", cfg.Values)
	}
	if tmpl, _ := st.Sim.Container(9000); tmpl.Lock != "" {
		t.Errorf("template left locked: %q", tmpl.Lock)
	}
	if ct, _ := st.Sim.Container(300); ct.Pool != "dev" {
		t.Errorf("pool %q", ct.Pool)
	}
	// A running container that is no template: only a full copy, refused
	// before PVE while it runs.
	r = postForm(t, st, c, "/containers/pve1/101/clone", url.Values{"newid": {"301"}, "mode": {"full"}, "target": {""},
		"storage": {""}, "pool": {""}})
	if r.status != http.StatusBadRequest || !strings.Contains(fieldErrors(r.body)["clone-mode"], "CT 101 is running") {
		t.Errorf("full copy of a running CT: %d %v", r.status, fieldErrors(r.body))
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/clone"); n != 1 {
		t.Errorf("PVE asked %d times", n)
	}
}

func TestDeleteNeedsTheName(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "alice@pve")
	page := get(t, st, c, "/containers/pve1/108/delete")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Type dev-sandbox to confirm") ||
		!strings.Contains(page.body, "local-lvm:vm-108-disk-0") {
		t.Fatalf("delete page: %d", page.status)
	}
	for _, typed := range []string{"", "dev-sandbox2", "108"} {
		r := postForm(t, st, c, "/containers/pve1/108/delete", url.Values{"confirm": {typed}})
		if r.status != http.StatusBadRequest || !strings.Contains(fieldErrors(r.body)["confirm-name"], "dev-sandbox") {
			t.Errorf("typed %q: %d %v", typed, r.status, fieldErrors(r.body))
		}
	}
	if n := st.Sim.Calls(http.MethodDelete, "/nodes/{node}/lxc/{vmid}"); n != 0 {
		t.Fatalf("PVE asked to delete %d times", n)
	}
	r := postForm(t, st, c, "/containers/pve1/108/delete", url.Values{"confirm": {"dev-sandbox"}, "purge": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", r.status, manageErrorRe.FindString(r.body))
	}
	if next := followTask(t, st, c, clock, r.header.Get("Location")); next != "/" {
		t.Fatalf("lands on %q", next)
	}
	if _, ok := st.Sim.Container(108); ok {
		t.Error("CT 108 still exists")
	}
}

func TestDeleteRefusalsInWords(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	prot := get(t, st, c, "/containers/pve1/103/delete")
	if !strings.Contains(prot.body, `id="protected"`) || strings.Contains(prot.body, `id="delete-form"`) {
		t.Error("a protected container's page offers deletion")
	}
	tests := []struct {
		path, confirm, want string
		status              int
	}{
		{"/containers/pve1/103/delete", "db-main", "CT 103 is protected: turn protection off in its options first.", http.StatusConflict},
		{"/containers/pve3/106/delete", "ci-runner-1", "CT 106 is running: stop it first.", http.StatusConflict},
		{"/containers/pve1/110/delete", "backup-proxy", "CT 110 is locked (backup): another job works on it.", http.StatusConflict},
	}
	for _, tc := range tests {
		r := postForm(t, st, c, tc.path, url.Values{"confirm": {tc.confirm}})
		if m := manageErrorRe.FindStringSubmatch(r.body); r.status != tc.status || m == nil || m[1] != tc.want {
			t.Errorf("%s: %d %v, want %q", tc.path, r.status, m, tc.want)
		}
	}
	if strings.Contains(get(t, st, c, "/containers/pve3/106/delete").body, `name="force"`) != true {
		t.Error("a running container's delete page offers no stop first")
	}
	// auditor may see, not delete: no buttons, and the pages refuse.
	a := signInAs(t, st, "auditor@pve")
	if body := get(t, st, a, "/containers/pve1/108").body; strings.Contains(body, `id="ct-delete"`) || strings.Contains(body, `id="ct-clone"`) {
		t.Error("the auditor sees Clone or Delete")
	}
	if r := get(t, st, a, "/containers/pve1/108/delete"); r.status != http.StatusForbidden {
		t.Errorf("auditor's delete page: %d", r.status)
	}
	list := get(t, st, a, "/")
	if strings.Contains(list.body, `id="new-container"`) || strings.Contains(list.body, `id="bulk-form"`) || strings.Contains(list.body, `class="bulk-select"`) {
		t.Error("the auditor is offered New container or bulk actions")
	}
	if r := get(t, st, a, "/containers/new"); r.status != http.StatusForbidden || !strings.Contains(r.body, "VM.Allocate") {
		t.Errorf("auditor's new-container page: %d", r.status)
	}
	if r := postForm(t, st, a, "/containers", createValues()); r.status != http.StatusForbidden {
		t.Errorf("auditor's create: %d", r.status)
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc"); n != 0 {
		t.Errorf("PVE asked to create %d times", n)
	}
}

func TestConvertToTemplate(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	if r := postForm(t, st, c, "/containers/pve1/108/template", nil); r.status != http.StatusBadRequest {
		t.Errorf("unconfirmed: %d", r.status)
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/template"); n != 0 {
		t.Fatalf("PVE asked %d times", n)
	}
	running := get(t, st, c, "/containers/pve1/101/template")
	if !strings.Contains(running.body, `id="must-stop"`) || strings.Contains(running.body, `id="convert"`) {
		t.Error("a running container's page offers the conversion")
	}
	r := postForm(t, st, c, "/containers/pve1/101/template", url.Values{"confirm": {"1"}})
	if m := manageErrorRe.FindStringSubmatch(r.body); r.status != http.StatusConflict || m == nil || m[1] != "CT 101 is running: stop it first." {
		t.Errorf("running: %d %v", r.status, m)
	}
	// 108 has the demo snapshot "clean": PVE refuses, the page says why.
	r = postForm(t, st, c, "/containers/pve1/108/template", url.Values{"confirm": {"1"}})
	if m := manageErrorRe.FindStringSubmatch(r.body); r.status != http.StatusConflict || m == nil ||
		!strings.Contains(m[1], "has snapshots; a container with snapshots cannot become a template.") {
		t.Errorf("with snapshots: %d %v", r.status, m)
	}
	if ct, _ := st.Sim.Container(108); ct.Template {
		t.Error("CT 108 became a template despite its snapshot")
	}
	r = postForm(t, st, c, "/containers/pve3/107/template", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/containers/pve3/107" {
		t.Fatalf("convert: %d %q", r.status, r.header.Get("Location"))
	}
	page := get(t, st, c, "/containers/pve3/107")
	if !strings.Contains(page.body, "CT 107 is being converted to a template") {
		t.Error("no flash message")
	}
	for range 40 {
		if ct, _ := st.Sim.Container(107); ct.Template {
			return
		}
		clock.Advance(250 * time.Millisecond)
	}
	t.Error("CT 107 never became a template")
}
