package pvesim

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScenarios(t *testing.T) {
	t.Parallel()
	if got := strings.Join(Scenarios(), ","); got != "demo,empty,large" {
		t.Fatalf("Scenarios() = %s", got)
	}
	wantUsers := []User{
		{ID: "root@pam", Password: "proxmox"},
		{ID: "alice@pve", Password: "alice-pass"},
		{ID: "auditor@pve", Password: "auditor-pass"},
		{ID: "carol@corp", Password: "carol-pass"},
		{ID: "bob@pve", Password: "bob-pass", TOTPSecret: DemoTOTPSecret, RecoveryKeys: DemoRecoveryKeys()},
		{ID: "erin@pve", Password: "erin-pass", WebAuthn: true},
		{ID: "dana@sso"},
	}
	for _, name := range Scenarios() {
		if users := ScenarioUsers(name); !reflect.DeepEqual(users, wantUsers) {
			t.Errorf("ScenarioUsers(%s) = %+v", name, users)
		}
	}
	if len(ScenarioUsers("")) != 2 || ScenarioUsers("nope") != nil {
		t.Error("ScenarioUsers for \"\" or an unknown name")
	}
	tests := []struct {
		scenario   string
		nodes      []string
		lxc, qemu  int
		templates  int
		devCTs     int // containers in pool dev
		users      []string
		wantPools  []string
		mixedState bool
	}{
		{"demo", []string{"pve1", "pve2", "pve3"}, 13, 2, 1, 4,
			[]string{"root@pam", "alice@pve", "auditor@pve", "carol@corp"}, []string{"dev", "prod"}, true},
		{"empty", []string{"pve1", "pve2", "pve3"}, 0, 0, 0, 0,
			[]string{"root@pam", "alice@pve", "auditor@pve", "carol@corp"}, []string{"dev", "prod"}, false},
		{"large", nil, 10000, 40, 10, 3334,
			[]string{"root@pam", "alice@pve", "auditor@pve", "carol@corp"}, []string{"dev", "prod"}, true},
		{"", []string{"pve1", "pve2", "pve3"}, 0, 0, 0, 0, []string{"root@pam", "alice@pve"}, nil, false},
	}
	for _, tc := range tests {
		t.Run("scenario "+tc.scenario, func(t *testing.T) {
			e := startEnv(t, Options{Scenario: tc.scenario})
			for _, u := range tc.users {
				e.login(u, scenarioPasswords[u])
			}
			if tc.scenario == "" {
				res := e.do(req{method: "POST", path: "/access/ticket",
					form: url.Values{"username": {"auditor@pve"}, "password": {"auditor-pass"}}})
				if res.code != 401 {
					t.Errorf("auditor@pve exists without a scenario: %d", res.code)
				}
			}
			ticket, _ := e.login("root@pam", "proxmox")
			nodes := e.do(req{path: "/nodes", ticket: ticket}).list(t)
			var names []string
			for _, n := range nodes {
				names = append(names, n["node"].(string))
			}
			wantNodes := tc.nodes
			if wantNodes == nil {
				for i := 1; i <= 20; i++ {
					wantNodes = append(wantNodes, "pve"+string(rune('0'+i/10))+string(rune('0'+i%10)))
				}
			}
			if !reflect.DeepEqual(names, wantNodes) {
				t.Errorf("nodes %v, want %v", names, wantNodes)
			}
			res := e.do(req{path: "/cluster/resources", ticket: ticket}).list(t)
			lxc, qemu, templates, dev, running, stopped := 0, 0, 0, 0, 0, 0
			var pools []string
			for _, r := range res {
				switch r["type"] {
				case "pool":
					pools = append(pools, r["pool"].(string))
				case "lxc":
					lxc++
					if r["template"] == float64(1) {
						templates++
					}
					if r["pool"] == "dev" {
						dev++
					}
					fallthrough
				case "qemu":
					if r["type"] == "qemu" {
						qemu++
					}
					switch r["status"] {
					case "running":
						running++
					case "stopped":
						stopped++
					default:
						t.Errorf("%v: status %v", r["id"], r["status"])
					}
				}
			}
			if lxc != tc.lxc || qemu != tc.qemu || templates != tc.templates || dev != tc.devCTs {
				t.Errorf("lxc %d qemu %d templates %d dev %d, want %d %d %d %d",
					lxc, qemu, templates, dev, tc.lxc, tc.qemu, tc.templates, tc.devCTs)
			}
			if !reflect.DeepEqual(pools, tc.wantPools) {
				t.Errorf("pools %v, want %v", pools, tc.wantPools)
			}
			if tc.mixedState && (running == 0 || stopped == 0) {
				t.Errorf("running %d, stopped %d: want a mix", running, stopped)
			}
			if got := len(e.sim.Containers()); got != tc.lxc+tc.qemu {
				t.Errorf("Containers() has %d guests", got)
			}
		})
	}
}

func TestDemoGuests(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	want := map[int]struct{ name, node, pool, status, tags, lock string }{
		101:  {"web-01", "pve1", "prod", "running", "prod;web", ""},
		106:  {"ci-runner-1", "pve3", "dev", "running", "ci;dev", ""},
		107:  {"ci-runner-2", "pve3", "dev", "stopped", "ci;dev", ""},
		108:  {"dev-sandbox", "pve1", "dev", "stopped", "dev", ""},
		109:  {"stubborn-app", "pve2", "dev", "running", "dev;legacy", ""},
		110:  {"backup-proxy", "pve1", "", "running", "infra", "backup"},
		9000: {"debian-12-template", "pve1", "", "stopped", "template", ""},
	}
	for vmid, w := range want {
		g, ok := e.sim.Container(vmid)
		if !ok {
			t.Fatalf("no guest %d", vmid)
		}
		if g.Name != w.name || g.Node != w.node || g.Pool != w.pool || g.Status != w.status || g.Tags != w.tags || g.Lock != w.lock {
			t.Errorf("guest %d = %+v, want %+v", vmid, g, w)
		}
	}
	if g, _ := e.sim.Container(109); !g.IgnoreShutdown {
		t.Error("stubborn-app obeys shutdown")
	}
	if g, _ := e.sim.Container(9000); !g.Template {
		t.Error("9000 is no template")
	}
	if g, _ := e.sim.Container(101); g.Uptime < 19*24*time.Hour {
		t.Errorf("web-01 uptime %v", g.Uptime)
	}
}

func TestScenarioOptions(t *testing.T) {
	t.Parallel()
	t.Run("Users override scenario passwords", func(t *testing.T) {
		e := startEnv(t, Options{Scenario: "demo", Users: []User{{ID: "alice@pve", Password: "changed"}, {ID: "dave@pve", Password: "dave"}}})
		e.login("alice@pve", "changed")
		e.login("dave@pve", "dave")
		e.login("auditor@pve", "auditor-pass")
	})
	tests := []struct {
		name string
		opts Options
	}{
		{"unknown scenario", Options{Scenario: "huge"}},
		{"scenario with nodes", Options{Scenario: "demo", Nodes: []string{"a1"}}},
		{"offline node unknown", Options{Scenario: "demo", OfflineNodes: []string{"pve9"}}},
		{"offline local node", Options{Scenario: "demo", OfflineNodes: []string{"pve1"}}},
		{"negative task scale", Options{TaskDurationScale: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestLargeScenario(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sim, err := New(Options{Scenario: "large"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("large scenario built in %v", time.Since(start)) // the RSA keys take most of it
	lxc := 0
	perNode := map[string]int{}
	for _, g := range sim.Containers() {
		if g.Type == "lxc" {
			lxc++
			perNode[g.Node]++
		}
	}
	if lxc != 10000 || len(perNode) != 20 || perNode["pve01"] != 500 {
		t.Errorf("lxc %d over %d nodes (%d on pve01)", lxc, len(perNode), perNode["pve01"])
	}
}

func BenchmarkNewLarge(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Options{Scenario: "large"}); err != nil {
			b.Fatal(err)
		}
	}
}
