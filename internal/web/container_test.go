package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

const putConfig = "/nodes/{node}/lxc/{vmid}/config"

// digestOf reads the settings forms' digest from a container page.
func digestOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="digest" value="([0-9a-f]{40})"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page has no digest")
	}
	return m[1]
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s has %q", what, w)
		}
	}
}

// grantAliceAdmin gives alice the configuration privileges on pool dev
// that the demo's PVEVMUser lacks.
func grantAliceAdmin(t *testing.T, st *apptest.Stack) {
	t.Helper()
	if err := st.Sim.SetACL("/pool/dev", "alice@pve", "PVEVMAdmin", true); err != nil {
		t.Fatal(err)
	}
}

func TestContainerPageShowsTheContainer(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	// The list links to the page.
	mustContain(t, "list", get(t, st, c, "/").body, `href="/containers/pve1/103" class="ct-link">db-main</a>`)

	r := get(t, st, c, "/containers/pve1/103")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, "page", r.body,
		`<h1 id="ct-title">CT 103 db-main</h1>`,
		`id="ct-status">running</span>`,
		`<dd id="ct-node">pve1</dd>`,
		`<dd id="ct-pool">prod</dd>`,
		`<span class="tag">db</span><span class="tag">prod</span>`,
		`<code>192.168.100.103/24</code>`,
		`<p>Primary PostgreSQL 16.</p>`, // the notes, rendered
		`id="ct-uptime"`, `id="ct-mem"`, `id="ct-swap"`, `id="ct-net"`,
		`data-rrd="/containers/pve1/103/rrddata?timeframe=hour&amp;cf=AVERAGE"`,
		`aria-label="Shutdown CT 103 db-main"`,
		`id="save-resources"`, `id="save-network"`, `id="save-options"`, `id="save-notes"`,
		`data-events="/containers/pve1/103/events"`,
	)
	if !regexp.MustCompile(`id="ct-unprivileged">(un)?privileged</dd>`).MatchString(r.body) {
		t.Error("no privilege flag")
	}
	// The time frame and function are in the URL.
	r = get(t, st, c, "/containers/pve1/103?timeframe=week&cf=MAX")
	mustContain(t, "week page", r.body, `timeframe=week&amp;cf=MAX`, `data-timeframe="week" aria-current="true"`, `data-cf="MAX" aria-current="true"`)
	mustNotContain(t, "week page", r.body, `data-timeframe="hour" aria-current`)
}

func TestContainerPageRefusals(t *testing.T) {
	st := demoStack(t, nil)
	root := signInAs(t, st, "root@pam")
	alice := signInAs(t, st, "alice@pve")
	cases := []struct {
		name   string
		c      *http.Client
		path   string
		status int
		text   string
	}{
		{"missing", root, "/containers/pve1/999", http.StatusNotFound, "CT 999 was not found on pve1."},
		{"not alice's", alice, "/containers/pve1/101", http.StatusForbidden, "You don&#39;t have permission to see CT 101."},
		{"bad id", root, "/containers/pve1/abc", http.StatusBadRequest, "That is not a valid container ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, st, tc.c, tc.path)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			mustContain(t, tc.path, r.body, tc.text)
			mustNotContain(t, tc.path, r.body, "Configuration file", "does not exist", "Permission check failed")
		})
	}
	// A container asked for on the wrong node: the page is on its own node.
	r := get(t, st, root, "/containers/pve2/101?timeframe=day")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/containers/pve1/101?timeframe=day" {
		t.Errorf("wrong node: %d %q", r.status, r.header.Get("Location"))
	}
}

// TestAuditorSeesNoEditControls: PVE's permissions decide, on the page too.
func TestAuditorSeesNoEditControls(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "auditor@pve")
	r := get(t, st, c, "/containers/pve1/101")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, "auditor's page", r.body, `<h1 id="ct-title">CT 101 web-01</h1>`, `id="recent-tasks"`)
	mustNotContain(t, "auditor's page", r.body, `id="settings"`, `action="/containers/pve1/101/config"`,
		`action="/containers/pve1/101/resize"`, `data-testid="action-`)
	// And a hand-made post is refused by PVE, shown in words.
	form := url.Values{"section": {"resources"}, "digest": {digestOfConfig(t, st, 101)}, "memory": {"1024"}, "swap": {"512"}}
	r = postForm(t, st, c, "/containers/pve1/101/config", form)
	if r.status != http.StatusForbidden {
		t.Fatalf("auditor's change: %d", r.status)
	}
	mustContain(t, "refusal", r.body, "You don&#39;t have permission to change this setting of CT 101")
	if cfg, _ := st.Sim.Config(101); cfg.Values["memory"] == "1024" {
		t.Error("the auditor changed the memory")
	}
}

func digestOfConfig(t *testing.T, st *apptest.Stack, vmid int) string {
	t.Helper()
	cfg, err := st.Sim.Config(vmid)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Digest
}

func TestChangeMemory(t *testing.T) {
	st := demoStack(t, nil)
	grantAliceAdmin(t, st)
	c := signInAs(t, st, "alice@pve")
	page := get(t, st, c, "/containers/pve3/107") // ci-runner-2, pool dev, stopped
	if page.status != http.StatusOK {
		t.Fatalf("page: %d", page.status)
	}
	before, _ := st.Sim.Config(107)
	form := url.Values{"section": {"resources"}, "digest": {digestOf(t, page.body)},
		"memory": {"1536"}, "swap": {before.Values["swap"]}, "cores": {before.Values["cores"]},
		"cpulimit": {before.Values["cpulimit"]}, "cpuunits": {before.Values["cpuunits"]}}
	r := postForm(t, st, c, "/containers/pve3/107/config", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/containers/pve3/107#resources" {
		t.Fatalf("change: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	after, _ := st.Sim.Config(107)
	if after.Values["memory"] != "1536" {
		t.Fatalf("memory in PVE: %q", after.Values["memory"])
	}
	for k, v := range before.Values {
		if k != "memory" && after.Values[k] != v {
			t.Errorf("%s changed too: %q -> %q", k, v, after.Values[k])
		}
	}
	// The person sees what changed, once.
	r = get(t, st, c, "/containers/pve3/107")
	mustContain(t, "page after change", r.body, `id="flash">Saved. Memory: `+before.Values["memory"]+` → 1536.`, `name="memory" type="number" value="1536"`)
	mustNotContain(t, "second view", get(t, st, c, "/containers/pve3/107").body, `id="flash"`)
}

func TestInvalidSettingsNeverReachPVE(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	digest := digestOf(t, get(t, st, c, "/containers/pve1/108").body)
	puts := func() int64 { return st.Sim.Calls(http.MethodPut, putConfig) }
	before := puts()
	cases := []struct {
		form  url.Values
		field string
		msg   string
	}{
		{url.Values{"section": {"resources"}, "memory": {"8"}, "swap": {"0"}}, "memory", "Memory must be at least 16 MiB."},
		{url.Values{"section": {"resources"}, "memory": {"512"}, "swap": {"-5"}}, "swap", "Swap must be at least 0 MiB."},
		{url.Values{"section": {"general"}, "hostname": {"bad_name"}}, "hostname", "Host name must be a DNS name"},
		{url.Values{"section": {"dns"}, "nameserver": {"1.2.3"}}, "nameserver", `&#34;1.2.3&#34; is not an IP address.`},
		{url.Values{"section": {"network"}, "net": {"net0"}, "net0.name": {"eth0"}, "net0.bridge": {"vmbr0"}, "net0.ipv4": {"static"}, "net0.ip": {"10.1.1.1"}, "net0.ipv6": {"none"}}, "net0-ip", "Enter an IPv4 address with its prefix length"},
	}
	for _, tc := range cases {
		tc.form.Set("digest", digest)
		r := postForm(t, st, c, "/containers/pve1/108/config", tc.form)
		if r.status != http.StatusBadRequest {
			t.Errorf("%v: status %d", tc.form, r.status)
			continue
		}
		mustContain(t, tc.field, r.body, `<p class="field-error" id="`+tc.field+`-error">`+tc.msg, `aria-invalid="true"`)
	}
	if n := puts() - before; n != 0 {
		t.Errorf("PVE was asked %d times", n)
	}
	// Shrinking the disk is refused before PVE is asked, too.
	resizes := st.Sim.Calls(http.MethodPut, "/nodes/{node}/lxc/{vmid}/resize")
	r := postForm(t, st, c, "/containers/pve1/108/resize", url.Values{"size": {"1"}, "digest": {digest}})
	if r.status != http.StatusBadRequest {
		t.Errorf("shrink: %d", r.status)
	}
	mustContain(t, "shrink", r.body, "The root disk can only grow")
	if st.Sim.Calls(http.MethodPut, "/nodes/{node}/lxc/{vmid}/resize") != resizes {
		t.Error("PVE was asked to shrink")
	}
}

// TestSomeoneElsesChangeIsAConflict: the digest makes PVE refuse a change
// made against old values; the person gets 409 with both values and keeps
// what they typed.
func TestSomeoneElsesChangeIsAConflict(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	page := get(t, st, c, "/containers/pve1/108")
	digest := digestOf(t, page.body)
	if err := st.Sim.SetConfig(108, "memory", "2048"); err != nil { // somebody else, meanwhile
		t.Fatal(err)
	}
	form := url.Values{"section": {"resources"}, "digest": {digest}, "memory": {"768"}, "swap": {"512"}}
	r := postForm(t, st, c, "/containers/pve1/108/config", form)
	if r.status != http.StatusConflict {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, "conflict page", r.body,
		"This container was changed by someone else; review the current values.",
		`name="memory" type="number" value="768"`,  // the person's value, kept
		`Now in Proxmox VE: <strong>2048</strong>`, // and the other one
	)
	if cfg, _ := st.Sim.Config(108); cfg.Values["memory"] != "2048" {
		t.Errorf("memory %q", cfg.Values["memory"])
	}
	// Submitting again applies it: the form now carries the new digest.
	form.Set("digest", digestOf(t, r.body))
	if r := postForm(t, st, c, "/containers/pve1/108/config", form); r.status != http.StatusSeeOther {
		t.Fatalf("second submit: %d", r.status)
	}
	if cfg, _ := st.Sim.Config(108); cfg.Values["memory"] != "768" {
		t.Errorf("memory after the second submit %q", cfg.Values["memory"])
	}
}

// TestPendingChangeAndRevert: a change a running container cannot take at
// once shows as pending, and can be reverted.
func TestPendingChangeAndRevert(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	page := get(t, st, c, "/containers/pve1/101") // running
	form := url.Values{"section": {"options"}, "digest": {digestOf(t, page.body)}, "onboot": {"1"}, "cmode": {"console"}}
	if r := postForm(t, st, c, "/containers/pve1/101/config", form); r.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	cfg, _ := st.Sim.Config(101)
	if cfg.Pending["cmode"] != "console" {
		t.Fatalf("cmode not pending: %+v", cfg.Pending)
	}
	page = get(t, st, c, "/containers/pve1/101")
	mustContain(t, "pending", page.body, `<tr data-pending="cmode">`, `aria-label="Revert the pending change of cmode"`)
	r := postForm(t, st, c, "/containers/pve1/101/config", url.Values{"section": {"revert"}, "key": {"cmode"}, "digest": {digestOf(t, page.body)}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", r.status, r.body)
	}
	if cfg, _ := st.Sim.Config(101); len(cfg.Pending) != 0 {
		t.Errorf("still pending: %+v", cfg.Pending)
	}
	mustNotContain(t, "after revert", get(t, st, c, "/containers/pve1/101").body, `data-pending="cmode"`)
}

func TestGrowRootDisk(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	page := get(t, st, c, "/containers/pve1/108")
	r := postForm(t, st, c, "/containers/pve1/108/resize", url.Values{"size": {"20"}, "digest": {digestOf(t, page.body)}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/tasks/pve1/UPID") {
		t.Fatalf("resize: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	for range 50 {
		clock.Advance(time.Second)
		if cfg, _ := st.Sim.Config(108); strings.Contains(cfg.Values["rootfs"], "size=20G") {
			return
		}
	}
	cfg, _ := st.Sim.Config(108)
	t.Errorf("rootfs after the task: %q", cfg.Values["rootfs"])
}

func TestRRDDataJSON(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	fetch := func(path string) (int, []map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, st.URL+path, nil)
		req.Header.Set("Accept", "application/json")
		r := do(t, c, req)
		var pts []map[string]any
		if r.status == http.StatusOK {
			if err := json.Unmarshal([]byte(r.body), &pts); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return r.status, pts
	}
	status, pts := fetch("/containers/pve1/101/rrddata?timeframe=hour")
	if status != http.StatusOK || len(pts) != 60 {
		t.Fatalf("hour: %d, %d points", status, len(pts))
	}
	last := pts[len(pts)-1]
	for _, f := range []string{"time", "cpu", "mem", "maxmem", "netin", "netout", "diskread", "diskwrite"} {
		if _, ok := last[f]; !ok {
			t.Errorf("running container's sample lacks %s: %v", f, last)
		}
	}
	if status, pts = fetch("/containers/pve1/101/rrddata?timeframe=year&cf=MAX"); status != http.StatusOK || len(pts) != 1440 {
		t.Errorf("year: %d, %d points", status, len(pts))
	}
	// A stopped container's samples have no usage values: gaps, not zeros.
	_, pts = fetch("/containers/pve1/108/rrddata?timeframe=hour")
	for _, p := range pts {
		if _, ok := p["cpu"]; ok {
			t.Fatalf("stopped container has a cpu value: %v", p)
		}
	}
	for _, bad := range []string{"timeframe=decade", "timeframe=hour&cf=MIN"} {
		if status, _ := fetch("/containers/pve1/101/rrddata?" + bad); status != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, status)
		}
	}
	alice := signInAs(t, st, "alice@pve")
	req, _ := http.NewRequest(http.MethodGet, st.URL+"/containers/pve1/101/rrddata?timeframe=hour", nil)
	req.Header.Set("Accept", "application/json")
	if r := do(t, alice, req); r.status != http.StatusForbidden || strings.Contains(r.body, "Permission check") {
		t.Errorf("alice on prod: %d %s", r.status, r.body)
	}
}

func TestContainerPageLiveUpdates(t *testing.T) {
	st := demoStack(t, nil)
	c := signInAs(t, st, "root@pam")
	ev := openEventsAt(t, st, c, "/containers/pve1/108/events")
	name, data := ev.next(t)
	if name != "update" || !strings.Contains(data, `id="ct-status">stopped`) {
		t.Fatalf("first event %q %q", name, data)
	}
	if status, body := actJSON(t, st, c, "pve1", 108, "start", nil); status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, data := ev.next(t); strings.Contains(data, `id="ct-status">running`) {
			return
		}
	}
	t.Error("the page never showed the container running")
}

// TestRecentTasksListRunningAndFinished: the page lists the container's
// tasks, a running one included, each linking to its log.
func TestRecentTasksListRunningAndFinished(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	status, body := actJSON(t, st, c, "pve1", 108, "start", nil)
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
	upid := body["upid"].(string)
	page := get(t, st, c, "/containers/pve1/108")
	running := regexp.MustCompile(`(?s)<tr data-upid="` + regexp.QuoteMeta(upid) + `"><td><a href="/tasks/pve1/` + regexp.QuoteMeta(upid) + `">vzstart</a></td><td>root@pam</td>.*?<span class="badge badge-running">running</span>`)
	if !running.MatchString(page.body) {
		t.Errorf("running start not listed:\n%s", page.body[strings.Index(page.body, `id="recent-tasks"`):])
	}
	clock.Advance(5 * time.Second)
	page = get(t, st, c, "/containers/pve1/108")
	if !strings.Contains(page.body, `<span class="badge badge-online">OK</span>`) {
		t.Error("finished start not listed as OK")
	}
	if other := get(t, st, c, "/containers/pve1/103"); strings.Contains(other.body, upid) {
		t.Error("another container lists the task")
	}
}

// TestTaskLogFollowsARunningTask: the task page shows the log while the
// task runs, and /log?start=N gives the lines after N until it has ended.
func TestTaskLogFollowsARunningTask(t *testing.T) {
	clock := pvesim.NewManualClock(time.Now())
	st := demoStack(t, clock)
	c := signInAs(t, st, "root@pam")
	status, body := actJSON(t, st, c, "pve1", 108, "start", nil)
	if status != http.StatusAccepted {
		t.Fatalf("start: %d", status)
	}
	taskURL := body["taskUrl"].(string)
	page := get(t, st, c, taskURL)
	mustContain(t, "running task page", page.body, `data-running="true"`, `<noscript><meta http-equiv="refresh" content="2"></noscript>`)
	logAt := func(start int) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, st.URL+taskURL+"/log?start="+strconv.Itoa(start), nil)
		req.Header.Set("Accept", "application/json")
		r := do(t, c, req)
		var chunk map[string]any
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &chunk) != nil {
			t.Fatalf("log: %d %s", r.status, r.body)
		}
		return chunk
	}
	first := logAt(0)
	if first["running"] != true {
		t.Fatalf("first chunk: %v", first)
	}
	next := int(first["next"].(float64))
	clock.Advance(5 * time.Second)
	rest := logAt(next)
	lines := rest["lines"].([]any)
	if rest["running"] != false || len(lines) == 0 || lines[len(lines)-1] != "TASK OK" {
		t.Errorf("after the task: %v", rest)
	}
	if int(rest["next"].(float64)) != next+len(lines) {
		t.Errorf("next %v after %d lines from %d", rest["next"], len(lines), next)
	}
	req, _ := http.NewRequest(http.MethodGet, st.URL+taskURL+"/log?start=-1", nil)
	req.Header.Set("Accept", "application/json")
	if r := do(t, c, req); r.status != http.StatusBadRequest {
		t.Errorf("start=-1: %d", r.status)
	}
}
