package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// bulkJob is GET /bulk/{id}'s JSON.
type bulkJob struct {
	Done    bool   `json:"done"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Running int    `json:"running"`
	Items   []struct {
		VMID  int    `json:"vmid"`
		State string `json:"state"`
		Text  string `json:"text"`
	} `json:"items"`
}

// getBulk reads a bulk action's progress as the list's script does.
func getBulk(t *testing.T, st *apptest.Stack, c *http.Client, path string) (int, bulkJob) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, st.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	r := do(t, c, req)
	var j bulkJob
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &j); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return r.status, j
}

// waitBulk follows a bulk action until it is done, moving the clock on; it
// also returns the most tasks seen running at once.
func waitBulk(t *testing.T, st *apptest.Stack, c *http.Client, clock *pvesim.ManualClock, path string) (bulkJob, int) {
	t.Helper()
	most := 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		status, j := getBulk(t, st, c, path)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", path, status)
		}
		most = max(most, j.Running)
		if j.Done {
			return j, most
		}
		clock.Advance(100 * time.Millisecond)
	}
	t.Fatalf("bulk action %s did not end", path)
	return bulkJob{}, 0
}

// maxInFlight is the most tasks of user that ran at the same time in PVE,
// from each task's exact start and end on the simulator's clock.
func maxInFlight(tasks []pvesim.TaskInfo, user string) int {
	most := 0
	for _, a := range tasks {
		if a.User != user {
			continue
		}
		n := 0
		for _, b := range tasks {
			// b runs at a's start: begun by then, not yet ended
			if b.User == user && !b.Began.After(a.Began) && (b.End.IsZero() || b.End.After(a.Began)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func TestBulkStopFiveWithALockedOne(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	cts := []string{"pve1/101", "pve2/102", "pve1/103", "pve2/104", "pve1/110"} // 110 holds a backup lock
	form := url.Values{"action": {"stop"}, "ct": cts}
	// Without script, Stop asks first and names what it will stop.
	r := postForm(t, st, c, "/containers/bulk", form)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Stop 5 containers?") || !strings.Contains(r.body, "CT 110 backup-proxy") {
		t.Fatalf("confirmation: %d", r.status)
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/status/stop"); n != 0 {
		t.Fatalf("stopped %d before the confirmation", n)
	}
	form.Set("confirm", "1")
	r = postForm(t, st, c, "/containers/bulk", form)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/bulk/") {
		t.Fatalf("bulk: %d %q", r.status, r.header.Get("Location"))
	}
	job, most := waitBulk(t, st, c, clock, r.header.Get("Location"))
	if job.Summary != "4 stopped, 1 failed: CT 110 is locked (backup)." || job.Title != "Stop 5 containers" {
		t.Errorf("summary %q, title %q", job.Summary, job.Title)
	}
	tasks := st.Sim.Tasks()
	if most > 4 || maxInFlight(tasks, "root@pam") > 4 {
		t.Errorf("%d tasks ran at once in PVE (%d seen on the page), want at most 4", maxInFlight(tasks, "root@pam"), most)
	}
	var vzstops int
	for _, task := range tasks {
		if task.Type == "vzstop" && task.User == "root@pam" {
			vzstops++
		}
	}
	if vzstops != 5 {
		t.Errorf("%d vzstop tasks, want 5", vzstops)
	}
	for _, vmid := range []int{101, 102, 103, 104} {
		if ct, _ := st.Sim.Container(vmid); ct.Status != "stopped" {
			t.Errorf("CT %d is %s", vmid, ct.Status)
		}
	}
	if ct, _ := st.Sim.Container(110); ct.Status != "running" {
		t.Errorf("the locked CT 110 is %s", ct.Status)
	}
	page := get(t, st, c, r.header.Get("Location"))
	if page.status != http.StatusOK || !strings.Contains(page.body, "4 stopped, 1 failed: CT 110 is locked (backup).") {
		t.Errorf("results page: %d", page.status)
	}
	// Another person cannot read it.
	a := signInAs(t, st, "alice@pve")
	if status, _ := getBulk(t, st, a, r.header.Get("Location")); status != http.StatusNotFound {
		t.Errorf("alice reads root's job: %d", status)
	}
}

func TestBulkSkipsWhatThePersonMayNotTouch(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "alice@pve")
	list := get(t, st, c, "/")
	if !strings.Contains(list.body, `value="pve3/107"`) || strings.Contains(list.body, `value="pve1/101"`) {
		t.Error("alice's selectable rows are not her pool's")
	}
	req, _ := http.NewRequest(http.MethodPost, st.URL+"/containers/bulk",
		strings.NewReader(url.Values{"action": {"start"}, "ct": {"pve3/107", "pve1/101", "pve1/108", "pve3/106"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	r := do(t, c, req)
	var started struct{ URL string }
	if err := json.Unmarshal([]byte(r.body), &started); err != nil || r.status != http.StatusAccepted {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	job, _ := waitBulk(t, st, c, clock, started.URL)
	want := "2 started, 1 left as they were, 1 failed: CT 101 was not found."
	if job.Summary != want {
		t.Errorf("summary %q, want %q", job.Summary, want)
	}
	if n := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/status/start"); n != 3 {
		t.Errorf("PVE asked to start %d times, want 3 (101 is not alice's)", n)
	}
	if r := postForm(t, st, c, "/containers/bulk", url.Values{"action": {"start"}}); r.status != http.StatusBadRequest {
		t.Errorf("empty selection: %d", r.status)
	}
	if r := postForm(t, st, c, "/containers/bulk", url.Values{"action": {"explode"}, "ct": {"pve3/107"}}); r.status != http.StatusBadRequest {
		t.Errorf("unknown action: %d", r.status)
	}
}
