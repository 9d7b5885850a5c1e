package pvesim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"
)

// demoStart is the ManualClock start of the cluster tests: a whole
// minute, so that task ends fall between pvestatd cycles predictably.
var demoStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clusterEnv is a running demo-like simulator with a manual clock and the
// scenario users logged in.
type clusterEnv struct {
	*testEnv
	clock   *ManualClock
	tickets map[string][2]string // user -> ticket, CSRF token
}

var scenarioPasswords = map[string]string{
	"root@pam": "proxmox", "alice@pve": "alice-pass", "auditor@pve": "auditor-pass",
	"carol@corp": "carol-pass",
}

func startCluster(t *testing.T, opts Options) *clusterEnv {
	t.Helper()
	clock := NewManualClock(demoStart)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Scenario == "" {
		opts.Scenario = "demo"
	}
	ce := &clusterEnv{testEnv: startEnv(t, opts), clock: clock, tickets: map[string][2]string{}}
	for u, p := range scenarioPasswords {
		tk, csrf := ce.login(u, p)
		ce.tickets[u] = [2]string{tk, csrf}
	}
	return ce
}

// get is a GET as user.
func (ce *clusterEnv) get(user, path string) result {
	ce.t.Helper()
	return ce.do(req{path: path, ticket: ce.tickets[user][0]})
}

// post is a form POST as user (with the user's CSRF token).
func (ce *clusterEnv) post(user, path string, form url.Values) result {
	ce.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return ce.do(req{method: "POST", path: path, form: form, ticket: ce.tickets[user][0], csrf: ce.tickets[user][1]})
}

// data decodes the "data" member of a 200 answer.
func (r result) data(t *testing.T) any {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("got %d %q %s, want 200", r.code, r.reason, r.body)
	}
	return r.json(t)["data"]
}

// list decodes a 200 answer whose data is an array of objects.
func (r result) list(t *testing.T) []map[string]any {
	t.Helper()
	arr, ok := r.data(t).([]any)
	if !ok {
		t.Fatalf("data is not an array: %s", r.body)
	}
	out := make([]map[string]any, len(arr))
	for i, e := range arr {
		out[i] = e.(map[string]any)
	}
	return out
}

// object decodes a 200 answer whose data is an object.
func (r result) object(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.data(t).(map[string]any)
	if !ok {
		t.Fatalf("data is not an object: %s", r.body)
	}
	return m
}

// vmids returns the sorted vmids of entries of type typ ("" for any guest).
func vmids(entries []map[string]any, typ string) []int {
	var out []int
	for _, e := range entries {
		id, ok := e["vmid"].(float64)
		if !ok {
			continue
		}
		if typ != "" && e["type"] != typ {
			continue
		}
		out = append(out, int(id))
	}
	sort.Ints(out)
	return out
}

// byID indexes entries by their "id" field.
func byID(entries []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range entries {
		if id, ok := e["id"].(string); ok {
			out[id] = e
		}
	}
	return out
}

// wantError checks a non-200 JSON error answer: status, reason phrase and
// message (with PVE's trailing newline).
func (r result) wantError(t *testing.T, code int, message string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("got %d %q %s, want %d %q", r.code, r.reason, r.body, code, message)
	}
	if r.reason != message {
		t.Errorf("reason %q, want %q", r.reason, message)
	}
	if got := r.json(t)["message"]; got != message+"\n" {
		t.Errorf("message %q, want %q", got, message+"\n")
	}
}

// action starts an action and returns the UPID, failing otherwise.
func (ce *clusterEnv) action(user, node string, vmid int, action string, form url.Values) string {
	ce.t.Helper()
	res := ce.post(user, "/nodes/"+node+"/lxc/"+strconv.Itoa(vmid)+"/status/"+action, form)
	upid, ok := res.data(ce.t).(string)
	if !ok {
		ce.t.Fatalf("%s %d: data is not a UPID: %s", action, vmid, res.body)
	}
	return upid
}

// task reads a task's status as user.
func (ce *clusterEnv) task(user, node, upid string) map[string]any {
	ce.t.Helper()
	return ce.get(user, "/nodes/"+node+"/tasks/"+url.PathEscape(upid)+"/status").object(ce.t)
}

// taskLog reads a task's log lines as user.
func (ce *clusterEnv) taskLog(user, node, upid, query string) ([]string, float64) {
	ce.t.Helper()
	res := ce.get(user, "/nodes/"+node+"/tasks/"+url.PathEscape(upid)+"/log"+query)
	var lines []string
	for i, e := range res.list(ce.t) {
		if n := e["n"].(float64); i == 0 && n < 1 {
			ce.t.Errorf("line numbers start at %v", n)
		}
		lines = append(lines, e["t"].(string))
	}
	total, _ := res.json(ce.t)["total"].(float64)
	return lines, total
}

// current reads status/current as root.
func (ce *clusterEnv) current(node string, vmid int) map[string]any {
	ce.t.Helper()
	return ce.get("root@pam", "/nodes/"+node+"/lxc/"+strconv.Itoa(vmid)+"/status/current").object(ce.t)
}

// resource returns the /cluster/resources entry with the given id as
// user, or nil.
func (ce *clusterEnv) resource(user, id string) map[string]any {
	ce.t.Helper()
	return byID(ce.get(user, "/cluster/resources").list(ce.t))[id]
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// newGet is an in-process GET with a ticket cookie.
func newGet(target, ticket string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Cookie", "PVEAuthCookie="+url.QueryEscape(ticket))
	return r
}
