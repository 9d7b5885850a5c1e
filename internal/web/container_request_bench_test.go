package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// BenchmarkContainerPageRequest is a whole request for a running
// container's page with the simulator in the same process: the PVE calls
// (status, config, pending, tasks, RRD, interfaces; the overview from the
// live snapshot of an open page) plus rendering. BenchmarkContainerPageRender
// is the dashboard's own part of it.
func BenchmarkContainerPageRequest(b *testing.B) {
	st := apptest.Start(b, apptest.Options{MemorySessions: true, LiveInterval: time.Minute, Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(b)
	if r := benchLogin(b, st, c); r != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", r)
	}
	// An open page keeps the overview fresh.
	ev, err := c.Get(st.URL + "/containers/pve1/103/events")
	if err != nil {
		b.Fatal(err)
	}
	defer ev.Body.Close()
	if _, err := ev.Body.Read(make([]byte, 4096)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, st.URL+"/containers/pve1/103", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := drain(resp); resp.StatusCode != http.StatusOK || n < 10<<10 {
			b.Fatalf("page: %d, %d bytes", resp.StatusCode, n)
		}
	}
}
