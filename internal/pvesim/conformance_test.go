package pvesim

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/pveschema"
)

// The simulator checked against the official API schema: every method it
// serves exists, with exactly PVE's parameters, proxying, token and
// permission settings, and the answers of every GET method carry only
// declared fields, apart from the fields listed in undeclaredFields.

// schemaVersions pairs a simulated pve-manager version with its schema.
var schemaVersions = []struct{ version, file string }{
	{"9.1.4", "pve-9.1.json"},
	{"8.4.1", "pve-8.4.json"},
}

// loadSchema returns the named schema file, skipping loudly when the
// shared directory is absent (failing when CI=true).
func loadSchema(t *testing.T, file string) *pveschema.Schema {
	t.Helper()
	dir := pveschema.Locate(t)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("../shared/pve-schema is missing and CI=true")
		}
		t.Skip("SKIP (missing dependency): ../shared/pve-schema (the official PVE API schema) not found next to the module root")
	}
	s, err := pveschema.Load(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// undeclaredFields are fields real PVE sends although the schema of that
// version does not declare them, keyed by method, then "where.field" as
// reported by CheckReturn. Each has its source.
var undeclaredFields = map[string]map[string]string{
	"GET /access/domains": {
		"data[].default": "API2/Domains.pm index sets default => 1 for the default realm",
	},
	"GET /nodes": {
		"data[].id":      "API2Tools extract_node_stats always sets id",
		"data[].type":    "extract_node_stats always sets type",
		"data[].disk":    "extract_node_stats, with Sys.Audit",
		"data[].maxdisk": "extract_node_stats, with Sys.Audit",
	},
	"GET /nodes/{node}/lxc": {
		"data[].type":            "PVE::LXC::config_list sets type => 'lxc'",
		"data[].pid":             "vmstatus sets pid for running containers",
		"data[].swap":            "vmstatus sets swap",
		"data[].pressurecpufull": "vmstatus sets it; vmstatus_return_properties forgets it (9.x)",
	},
	"GET /nodes/{node}/lxc/{vmid}/status/current": {
		"data.type":            "vmstatus($vmid) starts from { type => 'lxc' }",
		"data.pid":             "vmstatus sets pid for running containers",
		"data.swap":            "vmstatus sets swap",
		"data.pressurecpufull": "vmstatus sets it; vmstatus_return_properties forgets it (9.x)",
	},
	"GET /nodes/{node}/lxc/{vmid}/config": {
		"data.parent": "load_current_config keeps parent, the snapshot the current state descends from",
	},
	"GET /nodes/{node}/lxc/{vmid}/snapshot": {
		"data[].digest":    "Snapshot.pm list: the 'current' entry carries the config digest",
		"data[].running":   "Snapshot.pm list: the 'current' entry carries running (0/1)",
		"data[].snapstate": "Snapshot.pm list copies snapstate of a snapshot being taken or deleted",
	},
	"GET /nodes/{node}/tasks": {
		"data[].saved": "read_active_workers keeps the saved flag of active tasks (source=active|all)",
	},
	"GET /nodes/{node}/storage": {
		"data[].format": "Storage.pm storage_info keeps the deprecated format pair (FIXME: remove with 10.0)",
	},
	"GET /nodes/{node}/storage/{storage}/content": {
		"data[].content": "Plugin.pm list_volumes sets content on every item",
		"data[].subtype": "Plugin.pm list_volumes sets subtype (lxc, qemu) of a backup",
	},
	"GET /nodes/{node}/network": {
		"data[].bridge_stp": "INotify.pm read_etc_network_interfaces keeps bridge_stp; json_config_properties omits it",
		"data[].bridge_fd":  "read_etc_network_interfaces keeps bridge_fd; json_config_properties omits it",
	},
	"GET /nodes/{node}/status": {
		"data.cpuinfo.user_hz":  "ProcFSTools::read_cpuinfo returns more than the schema declares",
		"data.cpuinfo.mhz":      "read_cpuinfo",
		"data.cpuinfo.flags":    "read_cpuinfo",
		"data.cpuinfo.hvm":      "read_cpuinfo",
		"data.memory.available": "Nodes.pm status sets memory.available (memavailable)",
	},
}

// typeDeviations are declared fields real PVE sends with another JSON
// kind than the schema says, keyed by method, then "where.field"; each
// has its source.
var typeDeviations = map[string]map[string]string{
	"GET /cluster/nextid": {
		"data.": "the next id was a hash key and JSON::XS encodes it as a string (pve-api.md §6.22)",
	},
	"GET /nodes/{node}/lxc/{vmid}/config": {
		"data.cpulimit": "a 'number' option: LXC/Config.pm check_type returns the string as written",
	},
	"GET /nodes/{node}/lxc/{vmid}/pending": {
		"data[].value":   "parse_pct_config's check_type makes integer and boolean options Perl numbers",
		"data[].pending": "the pending section is parsed the same way",
	},
}

// indexedField matches the options the schema declares once as "net[n]".
var indexedField = regexp.MustCompile(`^(net|mp|dev|unused)\d+$`)

// undeclaredFields84 adds what only the 8.4 schema lacks.
var undeclaredFields84 = map[string]map[string]string{
	"GET /cluster/resources": {
		"data[].sdn":    "the localnetwork zone entry (cdc140f0, 8.0) carries sdn; declared only from 9.x",
		"data[].shared": "extract_storage_stats sets shared since 2018; declared only from 9.x",
	},
}

func allowedUndeclared(version, method, where string) bool {
	if _, ok := undeclaredFields[method][where]; ok {
		return true
	}
	if strings.HasPrefix(version, "8.") {
		_, ok := undeclaredFields84[method][where]
		return ok
	}
	return false
}

// TestConformanceRoutes compares every served method with the schema.
func TestConformanceRoutes(t *testing.T) {
	t.Parallel()
	for _, sv := range schemaVersions {
		t.Run(sv.version, func(t *testing.T) {
			sch := loadSchema(t, sv.file)
			sim, err := New(Options{Version: sv.version, Scenario: "demo"})
			if err != nil {
				t.Fatal(err)
			}
			if len(sim.routes.all) < 18 {
				t.Fatalf("only %d routes", len(sim.routes.all))
			}
			for _, rt := range sim.routes.all {
				t.Run(rt.key(), func(t *testing.T) {
					m, ok := sch.Method(rt.method, rt.path)
					if !ok {
						t.Fatalf("%s is not in %s", rt.key(), sv.file)
					}
					compareMethod(t, rt, m)
				})
			}
		})
	}
}

func compareMethod(t *testing.T, rt *route, m *pveschema.Method) {
	t.Helper()
	var simNames []string
	for k := range rt.params {
		simNames = append(simNames, k)
	}
	sort.Strings(simNames)
	if got, want := strings.Join(simNames, ","), strings.Join(m.ParamNames(), ","); got != want {
		t.Errorf("parameters %s, schema has %s", got, want)
	}
	for name, p := range rt.params {
		sp := m.Params[name]
		if sp == nil {
			continue
		}
		type desc struct {
			Type, Format, Requires string
			Optional, Pattern      bool
			Enum                   []string
			Min, Max               any
			MaxLen, MinLen         any
		}
		num := func(f *float64) any {
			if f == nil {
				return nil
			}
			return *f
		}
		length := func(n int) any {
			if n == 0 {
				return nil
			}
			return n
		}
		lengthPtr := func(n *int) any {
			if n == nil {
				return nil
			}
			return *n
		}
		got := desc{p.Type, p.Format, p.Requires, p.Optional, p.Pattern != "", p.Enum, num(p.Minimum), num(p.Maximum),
			length(p.MaxLength), length(p.MinLength)}
		want := desc{sp.Type, sp.Format, sp.Requires, sp.Optional, sp.Pattern != "", sp.Enum, num(sp.Minimum), num(sp.Maximum),
			lengthPtr(sp.MaxLength), lengthPtr(sp.MinLength)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parameter %s: simulator %+v, schema %+v", name, got, want)
		}
	}
	if rt.proxyTo != m.ProxyTo {
		t.Errorf("proxyto %q, schema %q", rt.proxyTo, m.ProxyTo)
	}
	if rt.protected != m.Protected {
		t.Errorf("protected %v, schema %v", rt.protected, m.Protected)
	}
	if rt.allowToken != m.AllowToken {
		t.Errorf("allowtoken %v, schema %v", rt.allowToken, m.AllowToken)
	}
	check, hasCheck := m.Permissions["check"]
	switch {
	case rt.checkExpr != nil:
		if !reflect.DeepEqual(any(rt.checkExpr), check) {
			t.Errorf("permission check %v, schema %v", rt.checkExpr, check)
		}
	case rt.checkPath != "":
		privs := make([]any, len(rt.checkPrivs))
		for i, p := range rt.checkPrivs {
			privs[i] = p
		}
		want := []any{"perm", rt.checkPath, privs}
		if rt.checkAny {
			want = append(want, "any", float64(1))
		}
		if !reflect.DeepEqual(check, want) {
			t.Errorf("permission check %v, schema %v", want, check)
		}
	case hasCheck:
		t.Errorf("the simulator has no permission check, the schema has %v", check)
	default:
		user, _ := m.Permissions["user"].(string)
		exempt := authExempt(rt.method, rt.path)
		if (user == "world") != exempt || (user != "world" && user != "all") {
			t.Errorf("schema permissions user=%q, simulator exempt from auth: %v", user, exempt)
		}
	}
}

// getSamples are concrete calls for every GET method, in the demo
// scenario. "{upid}" is replaced with a task of alice's.
var getSamples = map[string][]string{
	"/access/ticket":      {"/access/ticket"},
	"/access/domains":     {"/access/domains"},
	"/access/permissions": {"/access/permissions", "/access/permissions?path=/vms/106", "/access/permissions?userid=alice@pve"},
	"/version":            {"/version"},
	"/nodes":              {"/nodes"},
	"/cluster/resources": {"/cluster/resources", "/cluster/resources?type=vm", "/cluster/resources?type=node",
		"/cluster/resources?type=storage", "/cluster/resources?type=sdn"},
	"/cluster/status":                         {"/cluster/status"},
	"/nodes/{node}/status":                    {"/nodes/pve1/status", "/nodes/pve3/status"},
	"/nodes/{node}/lxc":                       {"/nodes/pve1/lxc", "/nodes/pve3/lxc"},
	"/nodes/{node}/lxc/{vmid}":                {"/nodes/pve3/lxc/106"},
	"/nodes/{node}/lxc/{vmid}/status":         {"/nodes/pve3/lxc/106/status"},
	"/nodes/{node}/lxc/{vmid}/status/current": {"/nodes/pve3/lxc/106/status/current", "/nodes/pve3/lxc/107/status/current", "/nodes/pve1/lxc/9000/status/current"},
	"/nodes/{node}/tasks/{upid}/status":       {"/nodes/pve3/tasks/{upid}/status"},
	"/nodes/{node}/lxc/{vmid}/config": {"/nodes/pve3/lxc/106/config", "/nodes/pve3/lxc/106/config?current=1",
		"/nodes/pve2/lxc/111/config", "/nodes/pve1/lxc/9000/config"},
	"/nodes/{node}/lxc/{vmid}/pending": {"/nodes/pve3/lxc/106/pending", "/nodes/pve2/lxc/111/pending"},
	"/nodes/{node}/lxc/{vmid}/rrddata": {"/nodes/pve3/lxc/106/rrddata?timeframe=hour",
		"/nodes/pve3/lxc/107/rrddata?timeframe=day&cf=MAX", "/nodes/pve1/lxc/106/rrddata?timeframe=year"},
	"/nodes/{node}/lxc/{vmid}/interfaces": {"/nodes/pve3/lxc/106/interfaces", "/nodes/pve3/lxc/107/interfaces"},
	"/nodes/{node}/tasks": {"/nodes/pve3/tasks", "/nodes/pve3/tasks?source=all&limit=5",
		"/nodes/pve3/tasks?vmid=107&typefilter=vzstart&errors=0&statusfilter=ok,error"},
	"/nodes/{node}/tasks/{upid}/log": {"/nodes/pve3/tasks/{upid}/log", "/nodes/pve3/tasks/{upid}/log?start=0&limit=0"},
	"/nodes/{node}/lxc/{vmid}/snapshot": {"/nodes/pve1/lxc/101/snapshot", "/nodes/pve3/lxc/106/snapshot",
		"/nodes/pve3/lxc/107/snapshot"},
	"/nodes/{node}/lxc/{vmid}/snapshot/{snapname}":        {"/nodes/pve3/lxc/106/snapshot/baseline"},
	"/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config": {"/nodes/pve1/lxc/101/snapshot/fresh-install/config", "/nodes/pve3/lxc/106/snapshot/baseline/config"},
	"/nodes/{node}/lxc/{vmid}/feature": {"/nodes/pve3/lxc/106/feature?feature=snapshot",
		"/nodes/pve1/lxc/9000/feature?feature=clone", "/nodes/pve3/lxc/106/feature?feature=copy&snapname=baseline"},
	// {vncport} and {vncticket} come from a termproxy call of root's.
	"/nodes/{node}/lxc/{vmid}/vncwebsocket": {"/nodes/pve1/lxc/101/vncwebsocket?port={vncport}&vncticket={vncticket}"},
	"/nodes/{node}/storage": {"/nodes/pve1/storage", "/nodes/pve2/storage?content=rootdir&enabled=1",
		"/nodes/pve1/storage?content=vztmpl&format=1", "/nodes/pve1/storage?target=pve2"},
	"/nodes/{node}/storage/{storage}/content": {"/nodes/pve1/storage/local/content?content=vztmpl",
		"/nodes/pve1/storage/local-lvm/content", "/nodes/pve3/storage/local-lvm/content?vmid=106",
		"/nodes/pve2/storage/nfs/content", "/nodes/pve1/storage/local/content?content=backup",
		"/nodes/pve1/storage/nfs/content?content=backup&vmid=101", "/nodes/pve3/storage/local/content"},
	"/nodes/{node}/aplinfo": {"/nodes/pve1/aplinfo"},
	"/nodes/{node}/network": {"/nodes/pve1/network", "/nodes/pve2/network?type=any_bridge"},
	"/pools":                {"/pools", "/pools?poolid=dev", "/pools?poolid=prod&type=lxc"},
	"/cluster/nextid":       {"/cluster/nextid", "/cluster/nextid?vmid=4242"},
}

// TestConformanceAnswers drives every GET method as root and as alice and
// checks the answers' fields and their JSON kinds against the schema.
func TestConformanceAnswers(t *testing.T) {
	t.Parallel()
	for _, sv := range schemaVersions {
		t.Run(sv.version, func(t *testing.T) {
			sch := loadSchema(t, sv.file)
			e := startEnv(t, Options{Version: sv.version, Scenario: "demo", TaskDurationScale: 100})
			aliceT, aliceC := e.login("alice@pve", "alice-pass")
			rootT, rootC := e.login("root@pam", "proxmox")
			res := e.do(req{method: "POST", path: "/nodes/pve3/lxc/107/status/start", ticket: aliceT, csrf: aliceC, form: url.Values{}})
			if res.code != 200 {
				t.Fatalf("start: %d %s", res.code, res.body)
			}
			upid := res.json(t)["data"].(string)
			vnc := e.termproxy(rootT, rootC, "pve1", 101)
			for _, rt := range e.sim.routes.all {
				if rt.method != "GET" {
					continue
				}
				samples := getSamples[rt.path]
				if len(samples) == 0 {
					t.Errorf("no sample call for GET %s: add one to getSamples", rt.path)
					continue
				}
				m, ok := sch.Method("GET", rt.path)
				if !ok {
					continue // reported by TestConformanceRoutes
				}
				okForRoot := false
				for _, sample := range samples {
					path := strings.NewReplacer("{upid}", url.PathEscape(upid), "{vncport}", strconv.Itoa(vnc.port),
						"{vncticket}", url.QueryEscape(vnc.ticket)).Replace(sample)
					for _, who := range []struct{ name, ticket string }{{"root", rootT}, {"alice", aliceT}} {
						res := e.do(req{path: path, ticket: who.ticket})
						if res.code != 200 {
							continue
						}
						okForRoot = okForRoot || who.name == "root"
						var env struct{ Data any }
						if err := json.Unmarshal([]byte(res.body), &env); err != nil {
							t.Fatalf("%s: %v", path, err)
						}
						for _, err := range append(m.CheckReturn(env.Data), m.CheckReturnTypes(env.Data)...) {
							var fe *pveschema.FieldError
							if errors.As(err, &fe) && fe.Msg == "not declared in the schema" &&
								(allowedUndeclared(sv.version, "GET "+rt.path, fe.Where+"."+fe.Field) ||
									indexedField.MatchString(fe.Field)) {
								continue
							}
							if errors.As(err, &fe) && strings.HasPrefix(fe.Msg, "want ") {
								if _, ok := typeDeviations["GET "+rt.path][fe.Where+"."+fe.Field]; ok {
									continue
								}
							}
							t.Errorf("%s as %s: %v", path, who.name, err)
						}
					}
				}
				if !okForRoot {
					t.Errorf("GET %s: no sample answered 200 for root", rt.path)
				}
			}
		})
	}
}

// TestConformanceVersionedParams: overrule-shutdown exists from 8.2 on.
func TestConformanceVersionedParams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		want    bool
	}{{"8.1.4", false}, {"8.2.0", true}, {"9.1.4", true}} {
		t.Run(tc.version, func(t *testing.T) {
			sim, err := New(Options{Version: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			rt := sim.routes.byKey["POST /nodes/{node}/lxc/{vmid}/status/stop"]
			if _, has := rt.params["overrule-shutdown"]; has != tc.want {
				t.Errorf("overrule-shutdown present: %v, want %v", has, tc.want)
			}
		})
	}
}

// TestRecordedCallsMatchSchema: what the recorder keeps is checkable with
// CheckParams, as the client's conformance test does.
func TestRecordedCallsMatchSchema(t *testing.T) {
	t.Parallel()
	sch := loadSchema(t, "pve-9.1.json")
	e := startEnv(t, Options{Scenario: "demo"})
	ticket, csrf := e.login("root@pam", "proxmox")
	e.sim.Record(true)
	e.do(req{path: "/cluster/resources?type=vm&_dc=123", ticket: ticket})
	e.do(req{path: "/nodes/pve1/lxc/101/status/current", ticket: ticket})
	e.do(req{method: "POST", path: "/nodes/pve1/lxc/101/status/shutdown", ticket: ticket, csrf: csrf,
		json: `{"timeout":30,"forceStop":true}`})
	e.do(req{path: "/cluster/resources?type=lxc", ticket: ticket}) // a client bug the check must catch
	calls := e.sim.Recorded()
	if len(calls) != 4 {
		t.Fatalf("recorded %d calls: %+v", len(calls), calls)
	}
	var problems []string
	for _, c := range calls {
		m, ok := sch.Method(c.Method, c.Route)
		if !ok {
			t.Fatalf("%s %s not in schema", c.Method, c.Route)
		}
		for _, err := range m.CheckParams(c.Params) {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) != 1 || !strings.Contains(problems[0], `"type": "lxc" is not one of`) {
		t.Errorf("problems %v, want only the bad type", problems)
	}
	want := map[string]string{"node": "pve1", "vmid": "101", "timeout": "30", "forceStop": "1"}
	if !reflect.DeepEqual(calls[2].Params, want) || calls[2].Route != "/nodes/{node}/lxc/{vmid}/status/shutdown" ||
		calls[2].Path != "/nodes/pve1/lxc/101/status/shutdown" || calls[2].Status != 200 {
		t.Errorf("shutdown recorded as %+v", calls[2])
	}
	if _, has := calls[0].Params["_dc"]; has {
		t.Error("_dc recorded")
	}
	e.sim.Record(false)
	e.do(req{path: "/version", ticket: ticket})
	if n := len(e.sim.Recorded()); n != 4 {
		t.Errorf("recording went on after Record(false): %d calls", n)
	}
}
