package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// rowsJS is the terminal's rows as the person sees them.
const rowsJS = `Array.from(document.querySelectorAll(".xterm-rows > div")).map(r => r.textContent.replace(/\s+$/, ""))`

// lastRowsJS is the last non-empty row of the terminal.
const lastRowJS = `(() => { const rows = ` + rowsJS + `.filter(r => r !== ""); return rows[rows.length - 1] || ""; })()`

// typeLine types text into the focused terminal and presses Enter.
// (chromedp.KeyEvent's key-down-with-text plus char events would type each
// character twice into xterm.js, which handles the key-down itself; a
// person's keyboard sends one.)
func typeLine(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			return err
		}
		return chromedp.Do(ctx, press("Enter", "Enter", 13, 0))
	})
}

// press presses and releases one key (with modifiers: 2 is Ctrl).
func press(key, code string, keyCode, modifiers int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: keyCode, Modifiers: modifiers}
			if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestConsoleInChromium: root opens the console of web-01 (CT 101 on
// pve1), types hostname and sees web-01; a smaller window reaches PVE as
// the terminal's new size; Ctrl-C stops yes. The page causes no
// Content-Security-Policy violation.
func TestConsoleInChromium(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/containers/pve1/101/console"))
	waitFor(t, b, `document.getElementById("console").dataset.state === "open"`)
	waitFor(t, b, lastRowJS+` === "root@web-01:~#"`)

	b.do(t, typeLine("hostname"))
	waitFor(t, b, rowsJS+`.includes("web-01") && `+lastRowJS+` === "root@web-01:~#"`)

	before := eval[string](t, b, `document.getElementById("console").dataset.cols`)
	b.do(t, chromedp.EmulateViewport(900, 600))
	waitFor(t, b, `document.getElementById("console").dataset.cols !== "`+before+`"`)
	cols, _ := strconv.Atoi(eval[string](t, b, `document.getElementById("console").dataset.cols`))
	rows, _ := strconv.Atoi(eval[string](t, b, `document.getElementById("console").dataset.rows`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.Sim.AwaitConsoleSize(ctx, "pve1", 101, cols, rows); err != nil {
		c, r, _ := st.Sim.ConsoleSize("pve1", 101)
		t.Fatalf("PVE has %dx%d, the terminal %dx%d: %v", c, r, cols, rows, err)
	}

	b.do(t, typeLine("yes"))
	waitFor(t, b, rowsJS+`.filter(r => r === "y").length > 5`)
	b.do(t, press("c", "KeyC", 67, 2))
	waitFor(t, b, lastRowJS+` === "root@web-01:~#"`)
	b.do(t, typeLine("echo stopped"))
	waitFor(t, b, lastRowJS+` === "root@web-01:~#" && `+rowsJS+`.includes("stopped")`)
	// yes no longer writes: the prompt stays the last row.
	if got := eval[string](t, b, lastRowJS); got != "root@web-01:~#" {
		t.Errorf("last row %q after Ctrl-C", got)
	}
	b.screenshot(t, "console")
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
