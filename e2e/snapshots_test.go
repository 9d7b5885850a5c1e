package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestRootSnapshotsChangesMemoryAndRollsBack: root takes a snapshot, raises
// the memory, rolls back after the page named what is lost, and sees the
// old value again.
func TestRootSnapshotsChangesMemoryAndRollsBack(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/108"), chromedp.WaitVisible(chromedp.CSS("#snapname")))

	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#snapname"), "before-mem"),
		chromedp.SendKeys(chromedp.CSS("#snapdesc"), "Memory still 1 GiB"),
		chromedp.Click(chromedp.CSS("#take-snapshot-btn")))
	// The task page follows the log and reloads once the task has ended.
	waitAcrossNavigation(t, b, `document.getElementById('task-message')?.textContent === 'Took a snapshot of CT 108.'`)
	if log := b.text(t, "#task-log"); !strings.Contains(log, `snap_vm-108-disk-0_before-mem" created.`) || !strings.Contains(log, "TASK OK") {
		t.Errorf("task log %q", log)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#task-back")))
	waitAcrossNavigation(t, b, `!!document.querySelector('[data-snapshot="before-mem"]')`)
	if !strings.HasSuffix(b.location(t), "/containers/pve1/108#snapshots") {
		t.Errorf("back at %s", b.location(t))
	}
	// "You are here" now follows the new snapshot.
	if last := eval[string](t, b, `[...document.querySelectorAll('#snapshots li[data-snapshot]')].map(e => e.dataset.snapshot).join(',')`); last != "clean,before-mem,current" {
		t.Errorf("tree %q", last)
	}

	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.SetValue(chromedp.CSS("#memory"), "3072"), chromedp.Click(chromedp.CSS("#save-resources")))
	waitAcrossNavigation(t, b, `!!document.getElementById('flash')`)

	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS(`[data-testid="rollback-before-mem"]`)))
	waitAcrossNavigation(t, b, `!!document.getElementById('confirm-loss')`)
	if loss := b.text(t, "#confirm-loss"); !strings.Contains(loss, "every change made since then") {
		t.Errorf("confirmation %q", loss)
	}
	if row := b.text(t, "#confirm-changes tbody"); !strings.Contains(row, "memory") || !strings.Contains(row, "3072") || !strings.Contains(row, "1024") {
		t.Errorf("changes %q", row)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#confirm")))
	waitAcrossNavigation(t, b, `document.getElementById('task-message')?.textContent === 'Rolled back CT 108.'`)
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#task-back")))
	waitAcrossNavigation(t, b, `!!document.getElementById('memory')`)
	if v := eval[string](t, b, `document.getElementById('memory').value`); v != "1024" {
		t.Errorf("memory after the rollback %q", v)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// TestDuplicateSnapshotNameFailsWithReason: the name is refused at its
// field, with the rule beside it, before PVE is asked.
func TestDuplicateSnapshotNameFailsWithReason(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/101"), chromedp.WaitVisible(chromedp.CSS("#snapname")))
	if hint := b.text(t, "#snapname-hint"); !strings.Contains(hint, "starting with a letter") {
		t.Errorf("rule at the field %q", hint)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#snapname"), "before-php84"), chromedp.Click(chromedp.CSS("#take-snapshot-btn")))
	waitAcrossNavigation(t, b, `!!document.getElementById('snapname-error')`)
	if msg := b.text(t, "#snapname-error"); msg != "A snapshot named “before-php84” already exists; choose another name." {
		t.Errorf("error %q", msg)
	}
	if v := eval[string](t, b, `document.getElementById('snapname').getAttribute('aria-describedby')`); !strings.Contains(v, "snapname-error") {
		t.Errorf("the error is not tied to the field: %q", v)
	}
	if n := st.Sim.Calls("POST", "/nodes/{node}/lxc/{vmid}/snapshot"); n != 0 {
		t.Errorf("PVE was asked %d times", n)
	}
}

// TestAuditorSeesSnapshotsAndBackupsWithoutButtons, and the sections fit a
// phone in dark mode.
func TestAuditorSeesSnapshotsAndBackupsWithoutButtons(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	b.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	signIn(t, b, st, "auditor", "pve", "auditor-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/101"), chromedp.WaitVisible(chromedp.CSS("#snapshots")))
	if names := b.text(t, "#snapshots .snap-tree"); !strings.Contains(names, "fresh-install") || !strings.Contains(names, "You are here") {
		t.Errorf("tree %q", names)
	}
	if n := eval[float64](t, b, `document.querySelectorAll('#snapshots form, #snapshots button, #snapshots input, #snapshots textarea, #snapshots summary').length`); n != 0 {
		t.Errorf("the auditor sees %v snapshot controls", n)
	}
	// PVE lists backups only with Datastore.AllocateSpace and VM.Backup (or
	// Datastore.Allocate): the auditor is told so, with nothing to click.
	if note := b.text(t, "#backups-hidden"); !strings.Contains(note, "Datastore.AllocateSpace") {
		t.Errorf("backups note %q", note)
	}
	if n := eval[float64](t, b, `document.querySelectorAll('#backups form, #backups button, #backups input, #backups textarea, #backups summary').length`); n != 0 {
		t.Errorf("the auditor sees %v backup controls", n)
	}
	if px := eval[float64](t, b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); px > 0 {
		t.Errorf("the page scrolls %v px sideways at 390 px", px)
	}
	b.screenshot(t, "snapshots-auditor-phone-dark")
}
