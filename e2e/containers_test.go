package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/chromedp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// demoStack runs the demo scenario with a simulated clock that runs ten
// times faster than the real one, so tasks finish quickly.
func demoStack(t *testing.T) *apptest.Stack {
	t.Helper()
	clock := pvesim.NewManualClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				clock.Advance(500 * time.Millisecond)
			}
		}
	}()
	return apptest.Start(t, apptest.Options{MemorySessions: true, LiveInterval: 500 * time.Millisecond,
		Sim: pvesim.Options{Scenario: "demo", Now: clock.Now}})
}

// eval runs a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true. A page that
// navigates meanwhile ends the poll with a protocol error (its script
// context is gone); the condition is then polled again in the new page.
func waitFor(t *testing.T, b *browser, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond)))
		var lost *cdproto.Error
		if err == nil {
			return
		}
		if !errors.As(err, &lost) || ctx.Err() != nil {
			t.Fatalf("waiting for %s: %v", cond, err)
		}
	}
}

func TestAliceStartsAContainerAndWatchesItRun(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "alice", "pve", "alice-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	// alice sees only her pool's containers: the simulator knows which.
	rows := eval[[]any](t, b, `Array.from(document.querySelectorAll('#containers tbody tr')).map(r => r.dataset.vmid)`)
	if len(rows) == 0 {
		t.Fatal("alice sees no containers")
	}
	for _, v := range rows {
		var vmid int
		fmt.Sscan(fmt.Sprint(v), &vmid)
		ct, ok := st.Sim.Container(vmid)
		if !ok || ct.Pool != "dev" {
			t.Errorf("alice sees CT %v outside pool dev", v)
		}
	}
	vmid := eval[string](t, b, `(document.querySelector('tr[data-status="stopped"] [data-testid="action-start"]') || {closest(){return {dataset:{}}}}).closest('tr').dataset.vmid || ""`)
	if vmid == "" {
		t.Fatal("no stopped container with a Start button")
	}
	// A marker that a reload would wipe out.
	eval[bool](t, b, `window.__noReload = true`)
	// One step in the page: live updates may replace the row at any time.
	eval[bool](t, b, `(document.querySelector('tr[data-vmid="`+vmid+`"] [data-testid="action-start"]').click(), true)`)
	waitFor(t, b, `document.querySelector('tr[data-vmid="`+vmid+`"]').dataset.status === "running"`)
	waitFor(t, b, `!!document.querySelector('.task-ok')`)
	if msg := b.text(t, ".task-ok .task-text"); !strings.Contains(msg, "CT "+vmid+" started") {
		t.Errorf("task message %q", msg)
	}
	if !eval[bool](t, b, `window.__noReload === true`) {
		t.Error("the page reloaded")
	}
	b.screenshot(t, "alice-started")
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

func TestAuditorSeesNoActionButtons(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "auditor", "pve", "auditor-pass")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	if n := eval[float64](t, b, `document.querySelectorAll('#containers tbody tr').length`); n < 10 {
		t.Errorf("auditor sees %v containers", n)
	}
	if n := eval[float64](t, b, `document.querySelectorAll('.action-form').length`); n != 0 {
		t.Errorf("auditor sees %v action buttons", n)
	}
}

func TestOfflineNodeShowsBanner(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	if err := st.Sim.SetNodeOnline("pve3", false); err != nil {
		t.Fatal(err)
	}
	// The live update brings the banner without a reload.
	waitFor(t, b, `!!document.querySelector('[data-offline-node="pve3"]')`)
	if got := b.text(t, `[data-offline-node="pve3"]`); !strings.Contains(got, "Node pve3 is offline") {
		t.Errorf("banner %q", got)
	}
	if n := eval[float64](t, b, `document.querySelectorAll('#containers tbody tr[data-status="running"]').length`); n == 0 {
		t.Error("the other nodes' containers are gone")
	}
	// Later updates keep the unchanged banner in place (a screen reader
	// would announce a banner inserted again), however the rest changes.
	eval[bool](t, b, `(document.querySelector('[data-offline-node="pve3"]').__same = true, window.__seen = Number(document.getElementById('live').dataset.updates), true)`)
	waitFor(t, b, `Number(document.getElementById('live').dataset.updates) >= window.__seen + 2`)
	if !eval[bool](t, b, `document.querySelector('[data-offline-node="pve3"]').__same === true`) {
		t.Error("an unchanged banner was inserted again by a live update")
	}
	b.screenshot(t, "node-offline")
}

func TestLockedContainerShowsWhyItFailed(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	vmid := eval[string](t, b, `document.querySelector('tr[data-status="stopped"] [data-testid="action-start"]').closest('tr').dataset.vmid`)
	var id int
	fmt.Sscan(vmid, &id)
	if err := st.Sim.SetLock(id, "backup"); err != nil {
		t.Fatal(err)
	}
	// One step in the page: live updates may replace the row at any time.
	eval[bool](t, b, `(document.querySelector('tr[data-vmid="`+vmid+`"] [data-testid="action-start"]').click(), true)`)
	waitFor(t, b, `!!document.querySelector('.task-failed')`)
	want := "Could not start CT " + vmid + ": CT is locked (backup)"
	if got := b.text(t, ".task-failed .task-text"); got != want {
		t.Errorf("task message %q, want %q", got, want)
	}
}
