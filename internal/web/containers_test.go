package web_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// demo users (see the README).
var demoPasswords = map[string]string{"root@pam": "proxmox", "alice@pve": "alice-pass", "auditor@pve": "auditor-pass"}

func demoStack(t *testing.T, clock *pvesim.ManualClock) *apptest.Stack {
	t.Helper()
	opts := apptest.Options{MemorySessions: true, LiveInterval: 200 * time.Millisecond, Sim: pvesim.Options{Scenario: "demo"}}
	if clock != nil {
		opts.Sim.Now = clock.Now
	}
	return apptest.Start(t, opts)
}

func signInAs(t *testing.T, st *apptest.Stack, userid string) *http.Client {
	t.Helper()
	c := st.Client(t)
	name, realm, _ := strings.Cut(userid, "@")
	r := login(t, st, c, name, realm, demoPasswords[userid])
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-in as %s: %d", userid, r.status)
	}
	return c
}

// truth is the cluster as root sees it through the real client.
func truth(t *testing.T, st *apptest.Stack) []lxc.Container {
	t.Helper()
	c, err := proxmox.New(proxmox.Options{BaseURL: st.SimServer.URL, Fingerprint: st.SimServer.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Login(context.Background(), lxc.Credentials{Username: "root@pam", Password: "proxmox"})
	if err != nil {
		t.Fatal(err)
	}
	cts, err := c.Containers(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return cts
}

var rowRe = regexp.MustCompile(`<tr data-vmid="(\d+)" data-status="(\w+)">`)

func rows(body string) map[string]string {
	out := map[string]string{}
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func pick(t *testing.T, cts []lxc.Container, ok func(lxc.Container) bool) lxc.Container {
	t.Helper()
	for _, c := range cts {
		if ok(c) {
			return c
		}
	}
	t.Fatal("the demo scenario has no container for this test")
	return lxc.Container{}
}

func TestContainerListFollowsPermissions(t *testing.T) {
	st := demoStack(t, nil)
	all := truth(t, st)
	if len(all) < 10 {
		t.Fatalf("demo scenario has %d containers", len(all))
	}
	cases := []struct {
		user       string
		visible    func(lxc.Container) bool
		canActions bool
	}{
		{"root@pam", func(lxc.Container) bool { return true }, true},
		{"alice@pve", func(c lxc.Container) bool { return c.Pool == "dev" }, true},
		{"auditor@pve", func(lxc.Container) bool { return true }, false},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			c := signInAs(t, st, tc.user)
			r := get(t, st, c, "/")
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			got := rows(r.body)
			want := 0
			for _, ct := range all {
				if !tc.visible(ct) {
					if _, ok := got[fmt.Sprint(ct.VMID)]; ok {
						t.Errorf("%s sees CT %d", tc.user, ct.VMID)
					}
					continue
				}
				want++
				if _, ok := got[fmt.Sprint(ct.VMID)]; !ok {
					t.Errorf("%s does not see CT %d", tc.user, ct.VMID)
				}
			}
			if len(got) != want || want == 0 {
				t.Errorf("%d rows, want %d", len(got), want)
			}
			hasActions := strings.Contains(r.body, `class="action-form"`)
			if hasActions != tc.canActions {
				t.Errorf("action buttons shown = %v, want %v", hasActions, tc.canActions)
			}
			for _, s := range []string{`id="count-total"`, `id="count-running"`, `id="count-stopped"`, `data-node="pve1"`, `Proxmox VE 9.`} {
				if !strings.Contains(r.body, s) {
					t.Errorf("page lacks %s", s)
				}
			}
		})
	}
}

// rowOrder is the VMIDs of the rows of a list page, in order.
func rowOrder(t *testing.T, body string) []int {
	t.Helper()
	var out []int
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		id, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatalf("row VMID %q", m[1])
		}
		out = append(out, id)
	}
	return out
}

// count reads one of the summary's figures (id="count-NAME"); -1 if absent.
func count(t *testing.T, body, name string) int {
	t.Helper()
	m := regexp.MustCompile(`id="count-` + name + `">(\d+)<`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestFiltersSearchAndSortInURL checks every view the URL can describe
// against the cluster as PVE reports it: exactly the matching rows (none of
// the others), in exactly the expected order (VMIDs compared as numbers).
func TestFiltersSearchAndSortInURL(t *testing.T) {
	st := demoStack(t, nil)
	all := truth(t, st)
	if len(all) < 10 || !slices.ContainsFunc(all, func(ct lxc.Container) bool { return ct.Template }) {
		t.Fatal("the demo scenario lacks the containers these cases need (a template among them)")
	}
	c := signInAs(t, st, "root@pam")
	byVMID := func(a, b lxc.Container) int { return cmp.Compare(a.VMID, b.VMID) }
	byName := func(a, b lxc.Container) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), byVMID(a, b))
	}
	byNodeDesc := func(a, b lxc.Container) int { return cmp.Or(-cmp.Compare(a.Node, b.Node), byVMID(a, b)) }
	contains := func(needle string) func(lxc.Container) bool {
		needle = strings.ToLower(needle)
		return func(ct lxc.Container) bool {
			if strings.Contains(strings.ToLower(ct.Name), needle) || strings.Contains(strconv.Itoa(ct.VMID), needle) {
				return true
			}
			return slices.ContainsFunc(ct.Tags, func(tag string) bool { return strings.Contains(strings.ToLower(tag), needle) })
		}
	}
	everything := func(lxc.Container) bool { return true }
	named := pick(t, all, func(ct lxc.Container) bool { return ct.Name != "" && !ct.Template })
	tagged := pick(t, all, func(ct lxc.Container) bool { return len(ct.Tags) > 0 })
	cases := []struct {
		query string
		keep  func(lxc.Container) bool
		order func(a, b lxc.Container) int
	}{
		{"", everything, byVMID},
		{"status=running", func(ct lxc.Container) bool { return ct.Status == "running" && !ct.Template }, byVMID},
		// Templates never run: the stopped filter leaves them out, as the
		// stopped count does.
		{"status=stopped", func(ct lxc.Container) bool { return ct.Status == "stopped" && !ct.Template }, byVMID},
		{"q=" + url.QueryEscape(named.Name), contains(named.Name), byVMID},
		{"q=" + url.QueryEscape(strings.ToUpper(tagged.Tags[0])), contains(tagged.Tags[0]), byVMID},
		{"q=10", contains("10"), byVMID},
		{"node=pve2", func(ct lxc.Container) bool { return ct.Node == "pve2" }, byVMID},
		{"sort=vmid&dir=desc", everything, func(a, b lxc.Container) int { return -byVMID(a, b) }},
		{"sort=name", everything, byName},
		{"sort=node&dir=desc", everything, byNodeDesc},
		{"status=running&node=pve1&sort=name", func(ct lxc.Container) bool {
			return ct.Status == "running" && !ct.Template && ct.Node == "pve1"
		}, byName},
		{"q=no-such-container-anywhere", func(lxc.Container) bool { return false }, byVMID},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var want []int
			expected := slices.Clone(all)
			slices.SortStableFunc(expected, tc.order)
			for _, ct := range expected {
				if tc.keep(ct) {
					want = append(want, ct.VMID)
				}
			}
			r := get(t, st, c, "/?"+tc.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			if got := rowOrder(t, r.body); !slices.Equal(got, want) {
				t.Errorf("rows %v\nwant %v", got, want)
			}
			if len(want) == 0 && !strings.Contains(r.body, `id="empty-filtered"`) {
				t.Error("no empty-search message")
			}
			// Live updates keep the view.
			wantEvents := "/events"
			v, _ := url.ParseQuery(tc.query)
			if v.Get("sort") == "vmid" {
				v.Del("sort") // the default is left out
			}
			if len(v) > 0 {
				wantEvents += "?" + v.Encode()
			}
			if !strings.Contains(r.body, `data-events="`+html.EscapeString(wantEvents)+`"`) {
				t.Errorf("live updates do not keep the view (want %s)", wantEvents)
			}
		})
	}
}

// TestCountsAgreeWithStatusFilters: the summary's running and stopped
// figures are the rows of ?status=running and ?status=stopped; templates,
// which never run, are counted apart and listed without a status filter.
func TestCountsAgreeWithStatusFilters(t *testing.T) {
	st := demoStack(t, nil)
	all := truth(t, st)
	c := signInAs(t, st, "root@pam")
	templates := 0
	for _, ct := range all {
		if ct.Template {
			templates++
		}
	}
	if templates == 0 {
		t.Fatal("the demo scenario has no template")
	}
	home := get(t, st, c, "/").body
	for _, status := range []string{"running", "stopped"} {
		body := get(t, st, c, "/?status="+status).body
		n := len(rowOrder(t, body))
		if figure := count(t, body, status); figure != n {
			t.Errorf("?status=%s lists %d rows but counts %d %s", status, n, figure, status)
		}
		if figure := count(t, home, status); figure != n {
			t.Errorf("the unfiltered page counts %d %s, ?status=%s lists %d", figure, status, status, n)
		}
	}
	if got := count(t, home, "templates"); got != templates {
		t.Errorf("templates counted %d, want %d", got, templates)
	}
	if rowsShown, total := len(rowOrder(t, home)), count(t, home, "total"); rowsShown != total+templates {
		t.Errorf("unfiltered: %d rows, %d containers + %d templates", rowsShown, total, templates)
	}
}

// actJSON starts an action as a script would.
func actJSON(t *testing.T, st *apptest.Stack, c *http.Client, node string, vmid int, action string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/containers/%s/%d/%s", st.URL, node, vmid, action), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	r := do(t, c, req)
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("%s: not JSON: %s", action, r.body)
	}
	return r.status, body
}

// waitTask polls the task's JSON until it ends, moving the simulator's
// clock forward so the task can finish.
func waitTask(t *testing.T, st *apptest.Stack, c *http.Client, clock *pvesim.ManualClock, taskURL string) map[string]any {
	t.Helper()
	for range 60 {
		req, _ := http.NewRequest(http.MethodGet, st.URL+taskURL, nil)
		req.Header.Set("Accept", "application/json")
		r := do(t, c, req)
		var body map[string]any
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != http.StatusOK {
			t.Fatalf("task: %d %s", r.status, r.body)
		}
		if body["running"] == false {
			return body
		}
		clock.Advance(time.Second)
	}
	t.Fatal("task did not end within 60 simulated seconds")
	return nil
}

func TestStartContainerAndFollowTask(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	ct := pick(t, truth(t, st), func(c lxc.Container) bool {
		return c.Pool == "dev" && c.Status == "stopped" && !c.Template && c.Lock == ""
	})
	c := signInAs(t, st, "alice@pve")
	status, body := actJSON(t, st, c, ct.Node, ct.VMID, "start", nil)
	if status != http.StatusAccepted || !strings.HasPrefix(fmt.Sprint(body["upid"]), "UPID:"+ct.Node+":") {
		t.Fatalf("start: %d %v", status, body)
	}
	done := waitTask(t, st, c, clock, body["taskUrl"].(string))
	if done["ok"] != true || done["status"] != "running" || !strings.Contains(done["message"].(string), "started") {
		t.Fatalf("task ended: %v", done)
	}
	if got := rows(get(t, st, c, "/").body)[fmt.Sprint(ct.VMID)]; got != "running" {
		t.Errorf("list shows CT %d as %q after the start", ct.VMID, got)
	}
}

func TestActionRefusals(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	all := truth(t, st)
	outside := pick(t, all, func(c lxc.Container) bool { return c.Pool != "dev" && !c.Template })
	running := pick(t, all, func(c lxc.Container) bool { return c.Status == "running" && c.Lock == "" })
	stopped := pick(t, all, func(c lxc.Container) bool { return c.Status == "stopped" && !c.Template && c.Lock == "" })
	alice := signInAs(t, st, "alice@pve")
	auditor := signInAs(t, st, "auditor@pve")
	root := signInAs(t, st, "root@pam")
	cases := []struct {
		name   string
		c      *http.Client
		node   string
		vmid   int
		action string
		form   url.Values
		status int
		msg    string
	}{
		{"alice outside her pool", alice, outside.Node, outside.VMID, "start", nil, 403,
			fmt.Sprintf("You don't have permission to start CT %d (needs VM.PowerMgmt).", outside.VMID)},
		{"alice on a missing CT", alice, "pve1", 99999, "start", nil, 403,
			"You don't have permission to start CT 99999 (needs VM.PowerMgmt)."},
		{"auditor", auditor, running.Node, running.VMID, "reboot", nil, 403,
			fmt.Sprintf("You don't have permission to reboot CT %d (needs VM.PowerMgmt).", running.VMID)},
		{"already running", root, running.Node, running.VMID, "start", nil, 409, fmt.Sprintf("CT %d is already running.", running.VMID)},
		{"not running", root, stopped.Node, stopped.VMID, "reboot", nil, 409, fmt.Sprintf("CT %d is not running.", stopped.VMID)},
		{"stop needs confirmation", root, running.Node, running.VMID, "stop", nil, 400, "Please confirm this action."},
		{"bad timeout", root, running.Node, running.VMID, "shutdown", url.Values{"confirm": {"1"}, "timeout": {"-5"}}, 400, "from 0 to 3600"},
		{"bad node", root, "pve_1", running.VMID, "start", nil, 400, "not a valid node name"},
		{"bad vmid", root, "pve1", 12, "start", nil, 400, "not a valid container ID"},
		{"unknown action", root, running.Node, running.VMID, "destroy", nil, 400, "Unknown action."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/status/start")
			status, body := actJSON(t, st, tc.c, tc.node, tc.vmid, tc.action, tc.form)
			if status != tc.status || !strings.Contains(fmt.Sprint(body["error"]), tc.msg) {
				t.Errorf("got %d %q, want %d %q", status, body["error"], tc.status, tc.msg)
			}
			if tc.status == 400 && st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/status/start") != before {
				t.Error("PVE was called for invalid input")
			}
		})
	}
}

func TestLockedContainerTaskShowsReason(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	ct := pick(t, truth(t, st), func(c lxc.Container) bool { return c.Status == "stopped" && !c.Template })
	if err := st.Sim.SetLock(ct.VMID, "backup"); err != nil {
		t.Fatal(err)
	}
	c := signInAs(t, st, "root@pam")
	status, body := actJSON(t, st, c, ct.Node, ct.VMID, "start", nil)
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
	done := waitTask(t, st, c, clock, body["taskUrl"].(string))
	want := fmt.Sprintf("Could not start CT %d: CT is locked (backup)", ct.VMID)
	if done["ok"] != false || done["message"] != want {
		t.Errorf("task: %v, want message %q", done, want)
	}
}

func TestStopWithoutScriptAsksFirst(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	ct := pick(t, truth(t, st), func(c lxc.Container) bool { return c.Status == "running" && c.Lock == "" })
	c := signInAs(t, st, "root@pam")
	path := fmt.Sprintf("/containers/%s/%d/stop", ct.Node, ct.VMID)
	r := postForm(t, st, c, path, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, fmt.Sprintf("Stop CT %d?", ct.VMID)) || !strings.Contains(r.body, `name="confirm" value="1"`) {
		t.Fatalf("no confirmation page: %d", r.status)
	}
	if st.Sim.Calls(http.MethodPost, "/nodes/{node}/lxc/{vmid}/status/stop") != 0 {
		t.Fatal("stopped without confirmation")
	}
	r = postForm(t, st, c, path, url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/tasks/"+ct.Node+"/UPID") {
		t.Fatalf("confirmed stop: %d %q", r.status, r.header.Get("Location"))
	}
	task := get(t, st, c, r.header.Get("Location"))
	if !strings.Contains(task.body, `id="task-message"`) {
		t.Error("task page lacks its message")
	}
}

func TestOfflineNodeBanner(t *testing.T) {
	st := demoStack(t, nil)
	all := truth(t, st)
	if err := st.Sim.SetNodeOnline("pve2", false); err != nil {
		t.Fatal(err)
	}
	c := signInAs(t, st, "root@pam")
	r := get(t, st, c, "/")
	if !strings.Contains(r.body, `data-offline-node="pve2"`) {
		t.Error("no banner for the offline node")
	}
	got := rows(r.body)
	for _, ct := range all {
		if ct.Node != "pve2" && ct.Status == "running" && got[fmt.Sprint(ct.VMID)] != "running" {
			t.Errorf("CT %d on %s is not shown as running", ct.VMID, ct.Node)
		}
	}
}

func TestNoVisibleContainers(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "empty"}})
	c := signInAs(t, st, "root@pam")
	r := get(t, st, c, "/")
	if !strings.Contains(r.body, "No containers you can see") || !strings.Contains(r.body, "permissions") {
		t.Error("no empty state")
	}
}

// sseClient reads a live-update stream.
type sseClient struct {
	resp   *http.Response
	events chan [2]string
}

func openEvents(t *testing.T, st *apptest.Stack, c *http.Client, query string) *sseClient {
	t.Helper()
	return openEventsAt(t, st, c, "/events"+query)
}

// openEventsAt opens the event stream at path (a list's or a container
// page's).
func openEventsAt(t *testing.T, st *apptest.Stack, c *http.Client, path string) *sseClient {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, st.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Jar: c.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseClient{resp: resp, events: make(chan [2]string, 64)}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var name string
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			case line == "":
				if name != "" {
					s.events <- [2]string{name, strings.Join(data, "\n")}
				}
				name, data = "", nil
			}
		}
	}()
	return s
}

func (s *sseClient) next(t *testing.T) (string, string) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev[0], ev[1]
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return "", ""
}

func TestLiveUpdatesAndStaleData(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	s := openEvents(t, st, c, "?status=running")
	name, data := s.next(t)
	if name != "update" || !strings.Contains(data, `id="containers"`) {
		t.Fatalf("first event %q: %.200s", name, data)
	}
	for _, status := range rows(data) {
		if status != "running" {
			t.Error("live update ignores the view's filter")
		}
	}
	_ = st.SimServer.Close()
	for range 20 {
		_, data = s.next(t)
		if strings.Contains(data, "Unable to reach Proxmox server") {
			if !strings.Contains(data, "may be out of date") || !strings.Contains(data, `class="table containers stale"`) {
				t.Errorf("unreachable PVE: last data not marked stale: %.300s", data)
			}
			return
		}
	}
	t.Error("no banner after PVE went away")
}

func TestLiveStreamEndsWhenTicketDies(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	s := openEvents(t, st, c, "")
	if name, _ := s.next(t); name != "update" {
		t.Fatalf("first event %q", name)
	}
	clock.Advance(2*time.Hour + time.Minute)
	for range 20 {
		name, data := s.next(t)
		if name == "expired" {
			if data != "/login?reason=expired" {
				t.Errorf("expired event data %q", data)
			}
			return
		}
	}
	t.Error("no expired event")
}

func TestShutdownTimeoutOffersForceStop(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	ct := pick(t, truth(t, st), func(c lxc.Container) bool { return c.Name == "stubborn-app" })
	c := signInAs(t, st, "root@pam")
	status, body := actJSON(t, st, c, ct.Node, ct.VMID, "shutdown", url.Values{"confirm": {"1"}, "timeout": {"5"}})
	if status != http.StatusAccepted {
		t.Fatalf("shutdown: %d %v", status, body)
	}
	done := waitTask(t, st, c, clock, body["taskUrl"].(string))
	if done["ok"] != false || done["offerForceStop"] != true || !strings.Contains(done["message"].(string), "container did not stop") {
		t.Fatalf("task: %v", done)
	}
	// The task page offers the forced stop too, and shows the end of the
	// task's log.
	page := get(t, st, c, body["taskUrl"].(string))
	if !strings.Contains(page.body, `id="force-stop"`) {
		t.Error("task page offers no forced stop")
	}
	if !regexp.MustCompile(`(?s)id="task-log"[^>]*>.*TASK ERROR: container did not stop`).MatchString(page.body) {
		t.Error("task page lacks the task log's last line")
	}
	status, body = actJSON(t, st, c, ct.Node, ct.VMID, "stop", url.Values{"confirm": {"1"}})
	if status != http.StatusAccepted {
		t.Fatalf("forced stop: %d %v", status, body)
	}
	if done := waitTask(t, st, c, clock, body["taskUrl"].(string)); done["ok"] != true || done["status"] != "stopped" {
		t.Errorf("forced stop: %v", done)
	}
}
