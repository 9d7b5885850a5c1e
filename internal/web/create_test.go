package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// followTask reloads a task page, moving the simulator's clock on, until
// the task has ended well and the page sends the person on; it returns
// where to.
func followTask(t *testing.T, st *apptest.Stack, c *http.Client, clock *pvesim.ManualClock, taskPage string) string {
	t.Helper()
	for range 120 {
		r := get(t, st, c, taskPage)
		if r.status == http.StatusSeeOther {
			return r.header.Get("Location")
		}
		if r.status != http.StatusOK || strings.Contains(r.body, `class="task-failed"`) {
			t.Fatalf("task page %s: %d %s", taskPage, r.status, taskMessage(r.body))
		}
		clock.Advance(500 * time.Millisecond)
	}
	t.Fatalf("task %s did not end within 60 simulated seconds", taskPage)
	return ""
}

var taskMessageRe = regexp.MustCompile(`(?s)id="task-message"[^>]*>(.*?)</p>`)

// taskMessage is the task page's message.
func taskMessage(body string) string {
	if m := taskMessageRe.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

var fieldErrorRe = regexp.MustCompile(`(?s)<p class="field-error" id="([^"]+)-error">(.*?)</p>`)

// fieldErrors maps each field's id to its error text.
func fieldErrors(body string) map[string]string {
	out := map[string]string{}
	for _, m := range fieldErrorRe.FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// createValues is a valid settings step for pve1.
func createValues(extra ...string) url.Values {
	v := url.Values{"node": {"pve1"}, "template": {pvesim.DemoTemplate}, "vmid": {"113"}, "hostname": {"fresh-01"},
		"password": {"pw-secret-77"}, "password2": {"pw-secret-77"}, "cores": {"2"}, "memory": {"1024"}, "swap": {"256"},
		"storage": {"local-lvm"}, "disk": {"6"}, "bridge": {"vmbr0"}, "ip4mode": {"dhcp"}, "ip6mode": {"none"},
		"firewall": {"1"}, "unprivileged": {"1"}, "nesting": {"1"}, "start": {"1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestRootCreatesFromADownloadedTemplate(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := apptest.Start(t, apptest.Options{LiveInterval: 200 * time.Millisecond,
		Sim: pvesim.Options{Scenario: "demo", Now: clock.Now}})
	c := signInAs(t, st, "root@pam")
	if r := get(t, st, c, "/"); !strings.Contains(r.body, `id="new-container"`) {
		t.Fatal("no New container button for root")
	}
	step1 := get(t, st, c, "/containers/new?node=pve1")
	if step1.status != http.StatusOK || !strings.Contains(step1.body, pvesim.DemoTemplate) ||
		!strings.Contains(step1.body, "alpine-3.22-default_20250617_amd64.tar.xz") {
		t.Fatalf("step one: %d", step1.status)
	}
	const alpine = "alpine-3.22-default_20250617_amd64.tar.xz"
	r := postForm(t, st, c, "/containers/new/download", url.Values{"node": {"pve1"}, "storage": {"local"}, "template": {alpine}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("download: %d %s", r.status, r.body)
	}
	back := followTask(t, st, c, clock, r.header.Get("Location"))
	if back != "/containers/new?node=pve1&template=local%3Avztmpl%2F"+alpine {
		t.Fatalf("after the download: %q", back)
	}
	if r := get(t, st, c, back); !strings.Contains(r.body, `<option value="local:vztmpl/`+alpine+`" selected>`) {
		t.Error("the downloaded template is not chosen")
	}
	step2 := get(t, st, c, "/containers/new?step=2&node=pve1&template="+url.QueryEscape("local:vztmpl/"+alpine))
	if step2.status != http.StatusOK || !strings.Contains(step2.body, `name="vmid" type="number" value="113"`) {
		t.Fatalf("step two: %d", step2.status)
	}
	r = postForm(t, st, c, "/containers", createValues("template", "local:vztmpl/"+alpine))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), ":vzcreate:113:root@pam:") {
		t.Fatalf("create: %d %v %s", r.status, fieldErrors(r.body), r.body)
	}
	// The task page shows the log while it runs, then sends the person on.
	running := get(t, st, c, r.header.Get("Location"))
	if msg := taskMessage(running.body); msg != "Creating CT 113…" {
		t.Errorf("task message %q", msg)
	}
	if next := followTask(t, st, c, clock, r.header.Get("Location")); next != "/containers/pve1/113" {
		t.Fatalf("lands on %q", next)
	}
	ct, ok := st.Sim.Container(113)
	if !ok || ct.Name != "fresh-01" || ct.Cores != 2 || ct.MemoryMiB != 1024 || ct.DiskGiB != 6 {
		t.Fatalf("CT 113: %+v", ct)
	}
	cfg, _ := st.Sim.Config(113)
	if cfg.Values["unprivileged"] != "1" || cfg.Values["ostype"] != "alpine" || cfg.Values["features"] != "nesting=1" {
		t.Errorf("config %v", cfg.Values)
	}
	page := get(t, st, c, "/containers/pve1/113")
	if page.status != http.StatusOK || !strings.Contains(page.body, "fresh-01") {
		t.Errorf("container page: %d", page.status)
	}
	// The password never reached a log or Redis.
	if strings.Contains(st.Logs.String(), "pw-secret-77") {
		t.Error("the password is in the log")
	}
	keys, err := st.RDB.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if dump, err := st.RDB.Dump(context.Background(), k).Result(); err == nil && strings.Contains(dump, "pw-secret-77") {
			t.Errorf("the password is in Redis at %s", k)
		}
	}
}

func TestCreateChecksBeforePVE(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	tests := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"no password nor key", createValues("password", "", "password2", ""), "ct-password", "Set a root password or give an SSH key"},
		{"passwords differ", createValues("password2", "other-pass"), "ct-password2", "The two passwords differ."},
		{"short password", createValues("password", "abc", "password2", "abc"), "ct-password", "at least 5 characters"},
		{"bad SSH key", createValues("sshkeys", "ssh-ed25519 AAAAnotakey x"), "ct-sshkeys", "Line 1 is not an OpenSSH public key"},
		{"taken VMID", createValues("vmid", "101"), "ct-vmid", "VMID 101 is taken. 113 is free."},
		{"VMID too low", createValues("vmid", "99"), "ct-vmid", "at least 100"},
		{"bad host name", createValues("hostname", "-x-"), "ct-hostname", "DNS name"},
		{"static address without prefix", createValues("ip4mode", "static", "ip4", "10.0.0.5"), "ct-ip4", "prefix length"},
		{"gateway outside the network", createValues("ip4mode", "static", "ip4", "10.0.0.5/24", "gw4", "10.9.0.1"), "ct-gw4", "interface's network"},
		{"no such bridge", createValues("bridge", "vmbr9"), "ct-bridge", "one of the node's bridges"},
		{"storage without containers", createValues("storage", "local"), "ct-storage", "Choose a storage"},
		{"disk larger than the storage", createValues("disk", "100000"), "ct-disk", "free"},
		{"VLAN out of range", createValues("vlan", "5000"), "ct-vlan", "1 to 4094"},
		{"unknown template", createValues("template", "local:vztmpl/nope.tar.gz"), "ct-template", "Choose one of the node's templates."},
		{"bad tag", createValues("tags", "ok bad!"), "ct-tags", `The tag "bad!"`},
		{"no such pool", createValues("pool", "nope"), "ct-pool", "Choose one of the pools"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := postForm(t, st, c, "/containers", tc.form)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if got := fieldErrors(r.body)[tc.field]; !strings.Contains(got, tc.msg) {
				t.Errorf("%s error %q, want %q (all: %v)", tc.field, got, tc.msg, fieldErrors(r.body))
			}
			if strings.Contains(r.body, "pw-secret-77") || strings.Contains(r.body, "other-pass") {
				t.Error("the form sent a password back")
			}
		})
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc"); n != 0 {
		t.Errorf("PVE was asked to create %d times", n)
	}
}

func TestAliceCreatesInPoolDevOnly(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "alice@pve")
	step2 := get(t, st, c, "/containers/new?step=2&node=pve1&template="+url.QueryEscape(pvesim.DemoTemplate))
	if step2.status != http.StatusOK {
		t.Fatalf("step two: %d", step2.status)
	}
	pools := regexp.MustCompile(`(?s)<select id="ct-pool".*?</select>`).FindString(step2.body)
	if !strings.Contains(pools, `value="dev"`) || strings.Contains(pools, `value="prod"`) || strings.Contains(pools, `value=""`) {
		t.Errorf("pool choices %s", pools)
	}
	if strings.Contains(step2.body, `value="nfs"`) {
		t.Error("alice is offered nfs, where she may not allocate")
	}
	// Elsewhere: refused before PVE, with the reason at the field.
	for _, pool := range []string{"", "prod"} {
		r := postForm(t, st, c, "/containers", createValues("pool", pool))
		if r.status != http.StatusBadRequest || fieldErrors(r.body)["ct-pool"] == "" {
			t.Errorf("pool %q: %d %v", pool, r.status, fieldErrors(r.body))
		}
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc"); n != 0 {
		t.Fatalf("PVE asked %d times", n)
	}
	// In pool dev it works.
	r := postForm(t, st, c, "/containers", createValues("pool", "dev"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("create in dev: %d %v", r.status, fieldErrors(r.body))
	}
	if next := followTask(t, st, c, clock, r.header.Get("Location")); next != "/containers/pve1/113" {
		t.Fatalf("lands on %q", next)
	}
	if ct, _ := st.Sim.Container(113); ct.Pool != "dev" {
		t.Errorf("pool %q", ct.Pool)
	}
}

func TestCreateRefusedByPVEInWords(t *testing.T) {
	st := demoStack(t, nil)
	// maker may allocate in pool dev but not set memory: only PVE knows.
	if err := st.Sim.AddRole("Maker", "VM.Allocate", "VM.Audit", "VM.Config.CPU", "VM.Config.Disk", "VM.Config.Network", "VM.Config.Options"); err != nil {
		t.Fatal(err)
	}
	st.Sim.SetUser(pvesim.User{ID: "maker@pve", Password: "maker-pass"})
	for path, role := range map[string]string{"/pool/dev": "Maker", "/storage": "PVEDatastoreUser", "/sdn/zones/localnetwork": "PVESDNUser"} {
		if err := st.Sim.SetACL(path, "maker@pve", role, true); err != nil {
			t.Fatal(err)
		}
	}
	c := st.Client(t)
	if r := login(t, st, c, "maker", "pve", "maker-pass"); r.status != http.StatusSeeOther {
		t.Fatal(r.status)
	}
	r := postForm(t, st, c, "/containers", createValues("pool", "dev"))
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Proxmox VE refused: your permissions lack a privilege") {
		t.Errorf("status %d, %v", r.status, regexp.MustCompile(`id="create-error">[^<]*`).FindString(r.body))
	}
	if strings.Contains(r.body, "Permission check failed") {
		t.Error("PVE's text reached the page")
	}
	if _, ok := st.Sim.Container(113); ok {
		t.Error("CT 113 exists")
	}
}

// PVE 8 makes containers privileged unless told: the form always says.
func TestCreateOnPVE8IsUnprivilegedToo(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := apptest.Start(t, apptest.Options{MemorySessions: true,
		Sim: pvesim.Options{Scenario: "demo", Version: "8.4.1", Now: clock.Now}})
	c := signInAs(t, st, "alice@pve")
	r := postForm(t, st, c, "/containers", createValues("pool", "dev"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %v", r.status, fieldErrors(r.body))
	}
	followTask(t, st, c, clock, r.header.Get("Location"))
	if cfg, _ := st.Sim.Config(113); cfg.Values["unprivileged"] != "1" {
		t.Errorf("unprivileged %q", cfg.Values["unprivileged"])
	}
}
