package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitWithin polls a JavaScript condition until it is true, failing the
// test when within passes first. Unlike waitFor it carries on across
// navigations (the page it starts on may leave).
func waitWithin(t *testing.T, b *browser, cond string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
	for {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting %v for %s: last %v", within, cond, err)
		case <-tick.C:
		}
	}
}

// TestSignOutEverywhereEndsOpenPages: a page left open on the container
// list goes to the sign-in page by itself, within a poll interval, when the
// person signs out everywhere from another browser.
func TestSignOutEverywhereEndsOpenPages(t *testing.T) {
	st := demoStack(t) // polls every 500 ms
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	waitFor(t, b, `Number(document.getElementById('live').dataset.updates || 0) >= 1`)

	other := newBrowser(t)
	signIn(t, other, st, "root", "pam", "proxmox")
	other.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Navigate(st.URL+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#sessions")),
		chromedp.Click(chromedp.CSS("#logout-all")), chromedp.WaitVisible(chromedp.CSS("#login-form")))

	// One interval (500 ms), and slack for the browser and a busy machine.
	waitWithin(t, b, `location.pathname === "/login" && !!document.getElementById("login-form")`, 3*time.Second)
	if loc := b.location(t); loc != st.URL+"/login" {
		t.Errorf("the open page went to %s", loc)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// TestLiveUpdatesKeepKeyboardFocus: a control focused inside the live
// region is focused again once an update has replaced it.
func TestLiveUpdatesKeepKeyboardFocus(t *testing.T) {
	st := demoStack(t)
	b := newBrowser(t)
	signIn(t, b, st, "root", "pam", "proxmox")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#containers")))
	cases := []struct {
		name, selector, same string
	}{
		{"an action button", `#containers tr[data-status="stopped"] [data-testid="action-start"]`,
			`el.dataset.testid === "action-start" && el.closest("tr").dataset.vmid === old.closest("tr").dataset.vmid`},
		{"a sort link", `#containers th a[href="/?sort=name"]`, `el.getAttribute("href") === "/?sort=name"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eval[bool](t, b, `(() => {
				const el = document.querySelector(`+"`"+tc.selector+"`"+`);
				el.focus();
				window.__old = el;
				window.__updates = Number(document.getElementById("live").dataset.updates || 0);
				return document.activeElement === el;
			})()`)
			waitFor(t, b, `Number(document.getElementById("live").dataset.updates || 0) >= window.__updates + 2`)
			ok := eval[bool](t, b, `(() => {
				const el = document.activeElement, old = window.__old;
				return el !== old && !document.contains(old) && document.getElementById("live").contains(el) && (`+tc.same+`);
			})()`)
			if !ok {
				got := eval[string](t, b, `document.activeElement.outerHTML.slice(0, 200)`)
				t.Errorf("after two updates the focus is on %s", got)
			}
		})
	}
}

// scriptHarness serves the dashboard's own script on a page of its own,
// with event streams the test writes, to see what the script does with
// what a stream says.
type scriptHarness struct {
	*httptest.Server
	streams map[string]string // case -> the stream's first answer

	mu    sync.Mutex
	conns map[string]int // stream connections per case
}

func startHarness(t *testing.T, streams map[string]string) *scriptHarness {
	t.Helper()
	script, err := os.ReadFile("../internal/web/static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	h := &scriptHarness{streams: streams, conns: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(script)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>harness</title><main><div id="live" data-events="/stream?case=%s"></div></main><script src="/app.js"></script>`,
			r.URL.Query().Get("case"))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("case")
		h.mu.Lock()
		h.conns[name]++
		n := h.conns[name]
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		if n == 1 {
			_, _ = w.Write([]byte(h.streams[name]))
			return
		}
		// A reconnection: show it, and hold the stream open.
		_, _ = w.Write([]byte("event: update\ndata: <p id=\"reconnected\">reconnected</p>\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>landed</title><p id="landed">landed</p>`))
	})
	h.Server = httptest.NewServer(mux)
	t.Cleanup(h.Close)
	return h
}

func (h *scriptHarness) connections(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[name]
}

// TestExpiredStreamNavigatesOnlyWithinTheSite: the script follows the
// path an "expired" event names only when it is a path on the page's own
// site; anything else sends it to /login there.
func TestExpiredStreamNavigatesOnlyWithinTheSite(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>evil</title><p id="landed">evil</p>`))
	}))
	t.Cleanup(evil.Close)
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	cases := []struct {
		name, target, want string
	}{
		{"a path on the site", "/sessions?from=live", "/sessions?from=live"},
		{"the sign-in page", "/login?reason=expired", "/login?reason=expired"},
		{"another host, scheme-relative", "//" + evilHost + "/pwned", "/login"},
		{"another host through a backslash", `/\` + evilHost + "/pwned", "/login"},
		{"another host through a tab", "/\t/" + evilHost + "/pwned", "/login"},
		{"an absolute URL", evil.URL + "/pwned", "/login"},
		{"script", "javascript:document.title='pwned'", "/login"},
	}
	streams := map[string]string{}
	for i, tc := range cases {
		streams[fmt.Sprint(i)] = "event: expired\ndata: " + tc.target + "\n\n"
	}
	h := startHarness(t, streams)
	b := newBrowser(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.do(t, chromedp.Navigate(fmt.Sprintf("%s/page?case=%d", h.URL, i)))
			waitWithin(t, b, `!!document.getElementById("landed")`, 10*time.Second)
			if got := b.location(t); got != h.URL+tc.want {
				t.Errorf("went to %s, want %s", got, h.URL+tc.want)
			}
		})
	}
}

// TestClosedStreamStopsAndSaysSo: a page whose stream was closed to make
// room for newer pages says so and does not reconnect (which would close
// one of theirs).
func TestClosedStreamStopsAndSaysSo(t *testing.T) {
	// retry: 1 ms, so a reconnection would come at once.
	h := startHarness(t, map[string]string{"closed": "retry: 1\nevent: closed\ndata: too many open pages\n\n"})
	b := newBrowser(t)
	b.do(t, chromedp.Navigate(h.URL+"/page?case=closed"))
	waitFor(t, b, `!!document.getElementById("live-closed")`)
	if got := b.text(t, "#live-closed"); !strings.Contains(got, "Reload the page") {
		t.Errorf("notice %q", got)
	}
	// A round trip to the server after the notice: a reconnection, had the
	// script made one, came before it.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`fetch("/ping").then(r => r.status)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	if n := h.connections("closed"); n != 1 {
		t.Errorf("%d stream connections, want 1: the script reconnected", n)
	}
	if eval[bool](t, b, `!!document.getElementById("reconnected")`) {
		t.Error("the page shows a reconnected stream's update")
	}
}
