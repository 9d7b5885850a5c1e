package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// BenchmarkBulkStopLarge stops 500 running containers of the `large`
// scenario (10,000 containers on 20 nodes) in one bulk action, through
// Redis-held task slots, while the person's list page is open and
// reloaded every 100 ms. It reports the most PVE tasks of the person that
// ran at once (from the simulator's exact task times) and the list's
// response times while the action ran, and fails above 4 tasks or a p95
// above 100 ms. The live interval is 30 s, so every load is rendered from
// the person's snapshot: this measures the page's render while the bulk
// action competes for the machine, not PVE's answer to a fresh poll of
// 10,000 containers (the `with-poll` case of BenchmarkContainerListLarge).
// BULK_LIVE_INTERVAL=3s runs it with the default interval instead.
//
//	go test -run '^$' -bench BenchmarkBulkStopLarge -benchtime=1x ./internal/web
func BenchmarkBulkStopLarge(b *testing.B) {
	interval := 30 * time.Second
	if v, err := time.ParseDuration(os.Getenv("BULK_LIVE_INTERVAL")); err == nil {
		interval = v
	}
	st := apptest.Start(b, apptest.Options{LiveInterval: interval,
		Sim: pvesim.Options{Scenario: "large", TaskDurationScale: 0.01}})
	c := st.Client(b)
	if code := benchLogin(b, st, c); code != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", code)
	}
	// An open page keeps the live poller going, as a person watching does.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, st.URL+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	stream, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer stream.Body.Close()
	go func() { _, _ = io.Copy(io.Discard, stream.Body) }()

	var running []lxc.Container
	for _, ct := range st.Sim.Containers() {
		if ct.Type == "lxc" && ct.Status == "running" && ct.Lock == "" && len(running) < 500 {
			running = append(running, lxc.Container{VMID: ct.VMID, Node: ct.Node})
		}
	}
	form := url.Values{"action": {"stop"}, "confirm": {"1"}}
	for _, ct := range running {
		form.Add("ct", fmt.Sprintf("%s/%d", ct.Node, ct.VMID))
	}
	var idle []time.Duration
	for range 20 {
		start := time.Now()
		getB(b, st, c, "/")
		idle = append(idle, time.Since(start))
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(idle)
	b.Logf("idle list: p50 %v p95 %v max %v", idle[10], idle[18], idle[19])
	b.ResetTimer()
	for b.Loop() {
		r := postFormB(b, st, c, "/containers/bulk", form)
		if r.StatusCode != http.StatusSeeOther {
			b.Fatalf("bulk: %d", r.StatusCode)
		}
		job := r.Header.Get("Location")
		var renders []time.Duration
		deadline := time.Now().Add(10 * time.Minute)
		for done := false; !done; {
			if time.Now().After(deadline) {
				b.Fatal("the bulk action did not end in 10 minutes")
			}
			start := time.Now()
			page := getB(b, st, c, "/")
			renders = append(renders, time.Since(start))
			if page.StatusCode != http.StatusOK {
				b.Fatalf("list: %d", page.StatusCode)
			}
			done = bulkDone(b, st, c, job)
			time.Sleep(100 * time.Millisecond) // a person reloading, not synchronisation
		}
		b.StopTimer()
		slices.Sort(renders)
		p := func(q float64) float64 { return float64(renders[int(q*float64(len(renders)-1))]) / 1e6 }
		most := maxInFlight(st.Sim.Tasks(), "root@pam")
		b.ReportMetric(float64(most), "max-in-flight")
		b.ReportMetric(p(0.5), "list-p50-ms")
		b.ReportMetric(p(0.95), "list-p95-ms")
		b.ReportMetric(p(1), "list-max-ms")
		b.ReportMetric(float64(len(renders)), "list-loads")
		b.Logf("during the bulk action: p50 %.1f ms p95 %.1f ms max %.1f ms over %d loads; %d in flight at most",
			p(0.5), p(0.95), p(1), len(renders), most)
		if most > 4 {
			b.Errorf("%d tasks ran at once", most)
		}
		if p(0.95) > 100 {
			b.Errorf("list p95 %.1f ms while the bulk action ran", p(0.95))
		}
		b.StartTimer()
	}
}

func postFormB(b *testing.B, st *apptest.Stack, c *http.Client, path string, form url.Values) *http.Response {
	b.Helper()
	req, _ := http.NewRequest(http.MethodPost, st.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = drain(resp)
	return resp
}

func getB(b *testing.B, st *apptest.Stack, c *http.Client, path string) *http.Response {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, st.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = drain(resp)
	return resp
}

func bulkDone(b *testing.B, st *apptest.Stack, c *http.Client, path string) bool {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, st.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct{ Done bool }
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		b.Fatal(err)
	}
	return j.Done
}
