package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// waitAcrossNavigation is waitFor for a condition on the page a click
// navigates to: evaluation errors while the old page goes away are retried.
func waitAcrossNavigation(t *testing.T, b *browser, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("document.readyState === 'complete' && !window.__before && ("+cond+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s (last error %v)", cond, err)
		}
		time.Sleep(100 * time.Millisecond) // polling a page that is being replaced
	}
}

// TestAliceOpensAContainerChartsAndRaisesItsMemory: from the list to a
// pool-dev container's page; the charts draw from PVE's RRD data and follow
// a change of time frame; a memory change shows its new value.
func TestAliceOpensAContainerChartsAndRaisesItsMemory(t *testing.T) {
	st := demoStack(t)
	// Configuration rights in pool dev (the demo's PVEVMUser has none).
	if err := st.Sim.SetACL("/pool/dev", "alice@pve", "PVEVMAdmin", true); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS(`tr[data-vmid="107"] a.ct-link`)))
	eval[bool](t, b, `(window.__before = true, document.querySelector('tr[data-vmid="107"] a.ct-link').click(), true)`)
	waitAcrossNavigation(t, b, `!!document.getElementById('ct-title')`)
	if got := b.text(t, "#ct-title"); got != "CT 107 ci-runner-2" {
		t.Fatalf("title %q", got)
	}
	// Four charts drawn; the table for pages without script is hidden.
	waitFor(t, b, `document.querySelector('.charts').dataset.loaded >= 1 && document.querySelectorAll('.charts .uplot').length === 4`)
	if eval[bool](t, b, `!document.getElementById('latest-values').hidden`) {
		t.Error("the latest-values table still shows next to the charts")
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.Click(chromedp.CSS(`a[data-timeframe="day"]`)))
	waitAcrossNavigation(t, b, `location.search.includes('timeframe=day') && document.querySelector('.charts').dataset.loaded >= 1 && document.querySelectorAll('.charts .uplot').length === 4`)
	if got := eval[string](t, b, `document.querySelector('a[aria-current][data-timeframe]').dataset.timeframe`); got != "day" {
		t.Errorf("current time frame %q", got)
	}

	eval[bool](t, b, `window.__before = true`)
	// The page was reached by a click, so chromedp's node ids may still be
	// the old page's: act through the page's own DOM.
	eval[bool](t, b, `(document.getElementById('memory').value = '1792', document.getElementById('save-resources').click(), true)`)
	waitAcrossNavigation(t, b, `!!document.getElementById('flash')`)
	if msg := b.text(t, "#flash"); !strings.Contains(msg, "→ 1792") {
		t.Errorf("flash %q", msg)
	}
	if v := eval[string](t, b, `document.getElementById('memory').value`); v != "1792" {
		t.Errorf("memory field %q", v)
	}
	if cfg, _ := st.Sim.Config(107); cfg.Values["memory"] != "1792" {
		t.Errorf("memory in PVE %q", cfg.Values["memory"])
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestAuditorSeesTheContainerPageWithoutEditControls(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "auditor", "pve", "auditor-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/101"), chromedp.WaitVisible(chromedp.CSS("#ct-title")))
	waitFor(t, b, `document.querySelectorAll('.charts .uplot').length === 4`)
	n := eval[float64](t, b, `document.querySelectorAll('#settings, form[action$="/config"], form[action$="/resize"], .action-form, textarea, input:not([type=hidden])').length`)
	if n != 0 {
		t.Errorf("the auditor sees %v edit controls", n)
	}
}

// TestConflictingEditShowsBothValues: the configuration changed in PVE
// after the page was loaded; saving shows the 409 message with the person's
// value kept and PVE's beside it.
func TestConflictingEditShowsBothValues(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/108"), chromedp.WaitVisible(chromedp.CSS("#memory")))
	if err := st.Sim.SetConfig(108, "memory", "3072"); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, b, `window.__before = true`)
	b.do(t, chromedp.SetValue(chromedp.CSS("#memory"), "640"), chromedp.Click(chromedp.CSS("#save-resources")))
	waitAcrossNavigation(t, b, `!!document.getElementById('settings-error')`)
	if msg := b.text(t, "#settings-error"); msg != "This container was changed by someone else; review the current values." {
		t.Errorf("message %q", msg)
	}
	if v := eval[string](t, b, `document.getElementById('memory').value`); v != "640" {
		t.Errorf("the person's value was lost: %q", v)
	}
	if now := b.text(t, "#memory-now"); !strings.Contains(now, "3072") {
		t.Errorf("PVE's value not shown: %q", now)
	}
}

// TestPagesFitAPhone: at 390 px the body never scrolls sideways (tables
// scroll in their own box), in light and dark mode.
func TestPagesFitAPhone(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	b.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	overflow := `document.documentElement.scrollWidth - document.documentElement.clientWidth`
	for _, dark := range []bool{false, true} {
		scheme := "light"
		if dark {
			scheme = "dark"
		}
		if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/", "/containers/pve1/103", "/sessions"} {
			b.do(t, chromedp.Navigate(st.URL+path), chromedp.WaitVisible(chromedp.CSS("#main")))
			if px := eval[float64](t, b, overflow); px > 0 {
				t.Errorf("%s (%s): the page scrolls %v px sideways", path, scheme, px)
			}
			b.screenshot(t, "phone-"+scheme+strings.ReplaceAll(path, "/", "-"))
		}
		bg := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`)
		if dark != (bg == "rgb(18, 22, 30)") {
			t.Errorf("%s mode background %s", scheme, bg)
		}
	}
}
