package web_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// TestListPageWithFreshSnapshotCostsNoPVECall: once a poll has fetched the
// person's overview (containers, nodes, permissions and PVE's version),
// loading the list page again within the live interval asks PVE nothing,
// and still shows the version and the containers.
func TestListPageWithFreshSnapshotCostsNoPVECall(t *testing.T) {
	st := apptest.Start(t, apptest.Options{LiveInterval: time.Minute, Sim: pvesim.Options{Scenario: "demo"}})
	c := signInAs(t, st, "alice@pve")
	first := get(t, st, c, "/")
	if first.status != http.StatusOK {
		t.Fatalf("GET /: %d", first.status)
	}
	version := regexp.MustCompile(`id="pve-version">Proxmox VE [0-9.]+<`)
	if !version.MatchString(first.body) {
		t.Fatalf("the first load shows no PVE version")
	}
	before := st.Sim.Requests()
	for i := range 3 {
		again := get(t, st, c, "/")
		if again.status != http.StatusOK {
			t.Fatalf("GET / again: %d", again.status)
		}
		if !version.MatchString(again.body) {
			t.Errorf("load %d shows no PVE version", i+2)
		}
		if rows, want := countRows(again.body), countRows(first.body); rows != want || rows == 0 {
			t.Errorf("load %d shows %d containers, want %d", i+2, rows, want)
		}
	}
	if n := st.Sim.Requests() - before; n != 0 {
		t.Errorf("three loads with a fresh snapshot asked PVE %d times, want 0", n)
	}
}

// countRows counts the container rows of a list page.
func countRows(body string) int {
	return len(regexp.MustCompile(`<tr[^>]* data-vmid=`).FindAllString(body, -1))
}
