package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Creating, cloning, deleting containers and bulk actions in a real
// browser.

// waitAcross waits until cond holds, through the page loads on the way
// (task pages reload and redirect); it polls every 100 ms for 30 s.
func waitAcross(t *testing.T, b *browser, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: timed out (at %s)", cond, b.location(t))
}

func TestRootCreatesFromADownloadedTemplateAndLandsOnItsRunningPage(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")), chromedp.Click(chromedp.CSS("#new-container")),
		chromedp.WaitVisible(chromedp.CSS("#ct-node")))
	b.do(t, chromedp.SetValue(chromedp.CSS("#ct-node"), "pve2"), chromedp.Click(chromedp.CSS("#show-node")),
		chromedp.WaitVisible(chromedp.CSS("#downloads")))
	const alpine = "alpine-3.22-default_20250617_amd64.tar.xz"
	b.do(t, chromedp.Click(chromedp.CSS(`tr[data-template="`+alpine+`"] [data-testid="download"]`)))
	// The task page follows the download, then comes back with it chosen.
	waitAcross(t, b, `location.pathname === "/containers/new" && location.search.includes("template=")`)
	if got := eval[string](t, b, `document.getElementById("ct-template").value`); got != "local:vztmpl/"+alpine {
		t.Fatalf("chosen template %q", got)
	}
	b.do(t, chromedp.Click(chromedp.CSS("#continue")), chromedp.WaitVisible(chromedp.CSS("#create-form")))
	b.do(t,
		chromedp.SendKeys(chromedp.CSS("#ct-hostname"), "made-in-browser"),
		chromedp.SendKeys(chromedp.CSS("#ct-password"), "browser-pass-1"),
		chromedp.SendKeys(chromedp.CSS("#ct-password2"), "browser-pass-1"),
		chromedp.Click(chromedp.CSS("#ct-start")),
	)
	vmid := eval[string](t, b, `document.getElementById("ct-vmid").value`)
	b.screenshot(t, "create-form")
	b.do(t, chromedp.Click(chromedp.CSS("#create")))
	waitAcross(t, b, `location.pathname === "/containers/pve2/`+vmid+`"`)
	// The container starts after its creation: the page shows it running.
	waitFor(t, b, `document.getElementById("ct-status-badge").textContent.trim() === "running"`)
	if got := b.text(t, "#ct-title"); got != "CT "+vmid+" made-in-browser" {
		t.Errorf("title %q", got)
	}
	b.screenshot(t, "created")
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestBulkStopOfFiveShowsEachTaskAndTheSummary(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	// Live updates replace rows at any time, so each click is one step in
	// the page (a node chromedp looked up could be gone by the click).
	for _, vmid := range []string{"101", "102", "103", "104", "110"} {
		eval[bool](t, b, `(document.querySelector('tr[data-vmid="`+vmid+`"] .bulk-select').click(), true)`)
	}
	if got := b.text(t, "#bulk-count"); got != "5 selected" {
		t.Errorf("count %q", got)
	}
	// The selection survives a live update of the rows.
	updates := eval[float64](t, b, `Number(document.getElementById("live").dataset.updates || "0")`)
	waitFor(t, b, `Number(document.getElementById("live").dataset.updates || "0") > `+fmt.Sprint(updates))
	if n := eval[float64](t, b, `document.querySelectorAll("#live .bulk-select:checked").length`); n != 5 {
		t.Fatalf("%v rows still selected after a live update", n)
	}
	// Stop asks first.
	eval[bool](t, b, `window.__asked = ""; window.confirm = function (m) { window.__asked = m; return true; }; true`)
	eval[bool](t, b, `(document.querySelector('[data-testid="bulk-stop"]').click(), true)`)
	waitFor(t, b, `!!document.querySelector(".bulk-task details li")`)
	if asked := eval[string](t, b, `window.__asked`); !strings.Contains(asked, "Stop 5 containers?") {
		t.Errorf("confirmation %q", asked)
	}
	waitFor(t, b, `document.querySelector(".bulk-task .task-text").textContent.includes("1 failed")`)
	want := "Stop 5 containers: 4 stopped, 1 failed: CT 110 is locked (backup)."
	if got := b.text(t, ".bulk-task .task-text"); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if n := eval[float64](t, b, `document.querySelectorAll(".bulk-task details li").length`); n != 5 {
		t.Errorf("%v lines, want one per container", n)
	}
	if s := eval[string](t, b, `document.querySelector('tr[data-vmid="110"]').dataset.bulk`); s != "failed" {
		t.Errorf("row 110 marked %q", s)
	}
	if s := eval[string](t, b, `document.querySelector('tr[data-vmid="101"]').dataset.bulk`); s != "ok" {
		t.Errorf("row 101 marked %q", s)
	}
	var stops int
	for _, task := range st.Sim.Tasks() {
		if task.Type == "vzstop" {
			stops++
		}
	}
	if stops != 5 {
		t.Errorf("%d vzstop tasks", stops)
	}
	b.screenshot(t, "bulk-stop")
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestDeleteAsksForTheNameThenDeletes(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")), chromedp.Navigate(st.URL+"/containers/pve1/108"),
		chromedp.WaitVisible(chromedp.CSS("#ct-delete")), chromedp.Click(chromedp.CSS("#ct-delete")),
		chromedp.WaitVisible(chromedp.CSS("#delete-form")))
	if lost := b.text(t, "#will-be-lost"); !strings.Contains(lost, "local-lvm:vm-108-disk-0") {
		t.Errorf("what will be lost: %q", lost)
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS("#confirm-name"), "dev-sandbx"), chromedp.Click(chromedp.CSS("#delete")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-name-error")))
	if _, ok := st.Sim.Container(108); !ok {
		t.Fatal("deleted with the wrong name")
	}
	if got := b.text(t, "#confirm-name-error"); !strings.Contains(got, "Type dev-sandbox exactly") {
		t.Errorf("error %q", got)
	}
	eval[bool](t, b, `document.getElementById("confirm-name").value = ""; true`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#confirm-name"), "dev-sandbox"), chromedp.Click(chromedp.CSS("#delete")))
	waitAcross(t, b, `location.pathname === "/"`)
	if _, ok := st.Sim.Container(108); ok {
		t.Error("CT 108 still exists")
	}
}

func TestCloneTemplateLinkedInTheBrowser(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")), chromedp.Navigate(st.URL+"/containers/pve1/9000"),
		chromedp.WaitVisible(chromedp.CSS("#ct-clone")), chromedp.Click(chromedp.CSS("#ct-clone")),
		chromedp.WaitVisible(chromedp.CSS("#clone-form")))
	if mode := eval[string](t, b, `document.getElementById("clone-mode").value`); mode != "linked" {
		t.Errorf("mode %q", mode)
	}
	newid := eval[string](t, b, `document.getElementById("clone-newid").value`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#clone-hostname"), "linked-one"), chromedp.Click(chromedp.CSS("#clone")))
	waitAcross(t, b, `location.pathname === "/containers/pve1/`+newid+`"`)
	if got := b.text(t, "#ct-title"); got != "CT "+newid+" linked-one" {
		t.Errorf("title %q", got)
	}
}

func TestProvisioningPagesFitAPhone(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")), chromedp.EmulateViewport(390, 844))
	for _, path := range []string{"/", "/containers/new?node=pve1",
		"/containers/new?step=2&node=pve1&template=local%3Avztmpl%2Fdebian-12-standard_12.12-1_amd64.tar.zst",
		"/containers/pve1/9000/clone", "/containers/pve1/108/delete", "/containers/pve1/108/template"} {
		b.do(t, chromedp.Navigate(st.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		if wide := eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide {
			t.Errorf("%s scrolls sideways at 390 px (%v px wide)", path, eval[float64](t, b, `document.documentElement.scrollWidth`))
		}
	}
	b.screenshot(t, "phone-create")
	// Dark mode: the new pages take the dark palette.
	b.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	for _, path := range []string{"/containers/new?step=2&node=pve1&template=local%3Avztmpl%2Fdebian-12-standard_12.12-1_amd64.tar.zst",
		"/containers/pve1/108/delete"} {
		b.do(t, chromedp.Navigate(st.URL+path), chromedp.WaitVisible(chromedp.CSS(".card")))
		bg := eval[string](t, b, `getComputedStyle(document.body).backgroundColor + " " + getComputedStyle(document.querySelector(".card")).backgroundColor`)
		if bg != "rgb(18, 22, 30) rgb(27, 33, 44)" {
			t.Errorf("%s in dark mode: page and card %s", path, bg)
		}
	}
	b.screenshot(t, "phone-dark-delete")
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestAliceCreatesInPoolDevAndIsRefusedElsewhere(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")), chromedp.Click(chromedp.CSS("#new-container")),
		chromedp.WaitVisible(chromedp.CSS("#ct-node")))
	if n := eval[float64](t, b, `document.querySelectorAll("#downloads").length`); n != 0 {
		t.Error("alice is offered downloads without Datastore.AllocateTemplate")
	}
	b.do(t, chromedp.SetValue(chromedp.CSS("#ct-node"), "pve1"), chromedp.Click(chromedp.CSS("#show-node")),
		chromedp.WaitVisible(chromedp.CSS("#ct-template")))
	b.do(t, chromedp.SetValue(chromedp.CSS("#ct-template"), "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"),
		chromedp.Click(chromedp.CSS("#continue")), chromedp.WaitVisible(chromedp.CSS("#create-form")))
	if pools := eval[string](t, b, `Array.from(document.querySelectorAll("#ct-pool option")).map(o => o.value).join(",")`); pools != "dev" {
		t.Errorf("pools offered %q", pools)
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS("#ct-password"), "alice-ct-pass"), chromedp.SendKeys(chromedp.CSS("#ct-password2"), "alice-ct-pass"))
	// A form changed to another pool (as an old page might send) is refused
	// at the field, before PVE.
	eval[bool](t, b, `const o = document.createElement("option"); o.value = "prod"; o.textContent = "prod";
		document.getElementById("ct-pool").appendChild(o); document.getElementById("ct-pool").value = "prod"; true`)
	b.do(t, chromedp.Click(chromedp.CSS("#create")), chromedp.WaitVisible(chromedp.CSS("#ct-pool-error")))
	if got := b.text(t, "#ct-pool-error"); got != "Choose one of the pools you may create containers in." {
		t.Errorf("pool error %q", got)
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS("#ct-password"), "alice-ct-pass"), chromedp.SendKeys(chromedp.CSS("#ct-password2"), "alice-ct-pass"),
		chromedp.Click(chromedp.CSS("#create")))
	waitAcross(t, b, `location.pathname.startsWith("/containers/pve1/1")`)
	vmid := eval[string](t, b, `location.pathname.split("/")[3]`)
	var id int
	fmt.Sscan(vmid, &id)
	if ct, ok := st.Sim.Container(id); !ok || ct.Pool != "dev" {
		t.Errorf("CT %s: %+v", vmid, ct)
	}
	// Her pool's containers offer clone and delete; outside it she may not
	// even see the clone page.
	b.do(t, chromedp.Navigate(st.URL+"/containers/pve1/108"), chromedp.WaitVisible(chromedp.CSS("#ct-clone")))
	b.do(t, chromedp.Navigate(st.URL+"/containers/pve1/9000/clone"), chromedp.WaitVisible(chromedp.CSS("main")))
	if body := b.text(t, "main"); !strings.Contains(body, "You don't have permission to see CT 9000.") {
		t.Errorf("clone page outside her pool: %q", body)
	}
}
