package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
)

// grantBackupRights gives alice, exactly, what backing up and restoring in
// pool dev needs: PVEVMAdmin there and PVEDatastoreUser on local and
// local-lvm (whatever the demo grants).
func grantBackupRights(t *testing.T, st *apptest.Stack) {
	t.Helper()
	for _, a := range []struct{ path, role string }{{"/pool/dev", ""}, {"/pool/dev", "PVEVMAdmin"},
		{"/storage/local", ""}, {"/storage/local", "PVEDatastoreUser"},
		{"/storage/local-lvm", ""}, {"/storage/local-lvm", "PVEDatastoreUser"}, {"/storage/nfs", ""}} {
		if err := st.Sim.SetACL(a.path, "alice@pve", a.role, true); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAliceBacksUpRestoresAsNewAndLandsOnItsPage: a pool-dev container is
// backed up while the log streams in, then restored as a new container,
// whose page the task page opens.
func TestAliceBacksUpRestoresAsNewAndLandsOnItsPage(t *testing.T) {
	st := demoStack(t)
	grantBackupRights(t, st)
	b := newBrowser(t)
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve3/107"), chromedp.WaitVisible(chromedp.CSS("#backup-now-btn")))
	if opts := eval[string](t, b, `[...document.querySelectorAll('#backup-storage option')].map(o => o.value).join(',')`); opts != "local" {
		t.Errorf("storages offered %q", opts)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#backup-now-btn")))
	// The log grows while the task runs: lines arrive before its end.
	waitAcrossNavigation(t, b, `document.getElementById('task-log')?.dataset.running === 'true' && document.getElementById('task-log').textContent.includes('INFO: creating vzdump archive')`)
	waitAcrossNavigation(t, b, `document.getElementById('task-message')?.textContent === 'Backed up CT 107.'`)
	if log := b.text(t, "#task-log"); !strings.Contains(log, "INFO: Backup job finished successfully") {
		t.Errorf("log %q", log)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#task-back")))
	waitAcrossNavigation(t, b, `document.querySelectorAll('#backups li.backup').length === 1`)

	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS(`#backups [data-testid="restore"]`)))
	waitAcrossNavigation(t, b, `!!document.getElementById('confirm-new')`)
	newid := eval[string](t, b, `document.getElementById('newid').value`)
	if newid != "113" {
		t.Errorf("proposed ID %q", newid)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#confirm-new")))
	waitAcrossNavigation(t, b, `document.getElementById('task-message')?.textContent === 'Restored a backup to CT 113.'`)
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS("#task-open")))
	waitAcrossNavigation(t, b, `!!document.getElementById('ct-title')`)
	if title := b.text(t, "#ct-title"); title != "CT 113 ci-runner-2" {
		t.Errorf("landed on %q", title)
	}
	if !strings.HasSuffix(b.location(t), "/containers/pve3/113") {
		t.Errorf("at %s", b.location(t))
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// TestProtectedBackupCannotBeDeleted: the delete page says why and offers
// no button; the section and the page fit a phone.
func TestProtectedBackupCannotBeDeleted(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	b.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/101"), chromedp.WaitVisible(chromedp.CSS("#backups")))
	overflow := `document.documentElement.scrollWidth - document.documentElement.clientWidth`
	if px := eval[float64](t, b, overflow); px > 0 {
		t.Errorf("the container page scrolls %v px sideways at 390 px", px)
	}
	b.screenshot(t, "backups-root-phone")
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS(`li.backup:has([data-testid="protected"]) [data-testid="delete-backup"]`)))
	waitAcrossNavigation(t, b, `!!document.getElementById('confirm-h')`)
	if msg := b.text(t, "#confirm-protected"); !strings.Contains(msg, "protected") || !strings.Contains(msg, "Remove its protection first") {
		t.Errorf("message %q", msg)
	}
	if n := eval[float64](t, b, `document.querySelectorAll('#confirm, #typed').length`); n != 0 {
		t.Errorf("%v delete controls for a protected backup", n)
	}
	if px := eval[float64](t, b, overflow); px > 0 {
		t.Errorf("the delete page scrolls %v px sideways at 390 px", px)
	}
}
