package pveschema

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// load returns the schema of version ("9.1", "8.4"), skipping loudly when
// the shared directory is absent (and failing in CI).
func load(t *testing.T, version string) *Schema {
	t.Helper()
	dir := Locate(t)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("../shared/pve-schema is missing (CI=true)")
		}
		t.Skip("SKIP (missing dependency): ../shared/pve-schema not found next to the module root")
	}
	s, err := Load(filepath.Join(dir, "pve-"+version+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadAndMethod(t *testing.T) {
	s := load(t, "9.1")
	m, ok := s.Method("POST", "/nodes/{node}/lxc/{vmid}/status/stop")
	if !ok {
		t.Fatal("stop method missing")
	}
	if m.Name != "vm_stop" || m.ProxyTo != "node" || !m.Protected || !m.AllowToken {
		t.Errorf("method = %+v", m)
	}
	if got := strings.Join(m.ParamNames(), ","); got != "node,overrule-shutdown,skiplock,vmid" {
		t.Errorf("params %s", got)
	}
	vmid := m.Params["vmid"]
	if vmid.Type != "integer" || vmid.Format != "pve-vmid" || vmid.Optional || *vmid.Minimum != 100 || *vmid.Maximum != 999999999 {
		t.Errorf("vmid = %+v", vmid)
	}
	if _, ok := s.Method("GET", "/nodes/{node}/lxc/{vmid}/nothing"); ok {
		t.Error("unknown method found")
	}
	if len(s.Methods()) < 600 {
		t.Errorf("only %d methods", len(s.Methods()))
	}
	old := load(t, "8.4")
	if _, ok := old.Method("GET", "/cluster/resources"); !ok {
		t.Error("8.4 lacks /cluster/resources")
	}
}

func TestCheckParams(t *testing.T) {
	s := load(t, "9.1")
	tests := []struct {
		method, path string
		params       map[string]string
		want         []string // substrings, one per expected error
	}{
		{"POST", "/nodes/{node}/lxc/{vmid}/status/shutdown",
			map[string]string{"node": "pve1", "vmid": "101", "timeout": "30", "forceStop": "1"}, nil},
		{"POST", "/nodes/{node}/lxc/{vmid}/status/shutdown",
			map[string]string{"node": "pve1", "vmid": "101", "forceStop": "true"}, []string{`"forceStop": boolean must be 0 or 1`}},
		{"POST", "/nodes/{node}/lxc/{vmid}/status/shutdown",
			map[string]string{"node": "pve1", "vmid": "99", "timeout": "-1"},
			[]string{`"timeout": -1 is below the minimum 0`, `"vmid": format pve-vmid`}},
		{"POST", "/nodes/{node}/lxc/{vmid}/status/start",
			map[string]string{"vmid": "101", "force": "1"}, []string{`"force": not defined`, `"node": required but missing`}},
		{"GET", "/cluster/resources", map[string]string{"type": "lxc"}, []string{`"type": "lxc" is not one of vm, storage, node, sdn`}},
		{"GET", "/cluster/resources", map[string]string{}, nil},
		{"GET", "/nodes/{node}/tasks/{upid}/log", map[string]string{"node": "pve1", "upid": "x", "limit": "ten"},
			[]string{`"limit": not an integer`}},
		{"GET", "/access/permissions", map[string]string{"userid": "alice@pve"}, nil},
		{"GET", "/access/permissions", map[string]string{"userid": "alice"}, []string{`"userid": "alice" does not match the pattern`}},
		{"POST", "/access/ticket", map[string]string{"username": "root@pam", "password": "x", "path": "/"},
			[]string{`"path": requires "privs"`}},
		{"GET", "/nodes/{node}/lxc", map[string]string{"node": "pve_1"}, []string{`"node": format pve-node`}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			m, ok := s.Method(tc.method, tc.path)
			if !ok {
				t.Fatal("no such method")
			}
			errs := m.CheckParams(tc.params)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tc.want))
			}
			for _, w := range tc.want {
				found := false
				for _, e := range errs {
					found = found || strings.Contains(e.Error(), w)
				}
				if !found {
					t.Errorf("no error containing %q in %v", w, errs)
				}
			}
		})
	}
}

func TestCheckReturn(t *testing.T) {
	s := load(t, "9.1")
	res, _ := s.Method("GET", "/cluster/resources")
	cur, _ := s.Method("GET", "/nodes/{node}/lxc/{vmid}/status/current")
	nodeStatus, _ := s.Method("GET", "/nodes/{node}/status")
	perms, _ := s.Method("GET", "/access/permissions")
	tests := []struct {
		name      string
		m         *Method
		data      any
		types     bool
		wantWhere []string // "where.field" of each error
	}{
		{"declared fields", res, []any{map[string]any{"id": "lxc/101", "type": "lxc", "vmid": 101.0, "status": "running"}}, false, nil},
		{"undeclared field once for many items", res, []any{
			map[string]any{"id": "lxc/101", "bogus": 1.0},
			map[string]any{"id": "lxc/102", "bogus": 2.0},
		}, false, []string{"data[].bogus"}},
		{"object for array", res, map[string]any{"id": "x"}, false, []string{"data"}},
		{"object fields", cur, map[string]any{"vmid": 101.0, "status": "running", "pid": 123.0, "ha": map[string]any{"managed": 0.0}}, false, []string{"data.pid"}},
		{"additionalProperties allowed", nodeStatus, map[string]any{"uptime": 1.0, "whatever": "x"}, false, nil},
		{"nested declared object", nodeStatus, map[string]any{"cpuinfo": map[string]any{"cores": 4.0, "user_hz": 100.0}}, false, []string{"data.cpuinfo.user_hz"}},
		{"free-form object", perms, map[string]any{"/": map[string]any{"Sys.Audit": 1.0}}, false, nil},
		{"types fine", res, []any{map[string]any{"vmid": 101.0, "cpu": 0.5, "template": 0.0, "name": "x"}}, true, nil},
		{"types wrong", res, []any{map[string]any{"vmid": "101", "cpu": "0.5", "template": 2.0, "name": 1.0}}, true,
			[]string{"data[].cpu", "data[].name", "data[].template", "data[].vmid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := tc.m.CheckReturn
			if tc.types {
				check = tc.m.CheckReturnTypes
			}
			errs := check(tc.data)
			var got []string
			for _, e := range errs {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *FieldError", e)
				}
				w := fe.Where
				if fe.Field != "" {
					w += "." + fe.Field
				}
				got = append(got, w)
			}
			if strings.Join(got, " ") != strings.Join(tc.wantWhere, " ") {
				t.Errorf("errors at %v, want %v (%v)", got, tc.wantWhere, errs)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	dir := Locate(t)
	if dir == "" {
		t.Skip("SKIP (missing dependency): ../shared/pve-schema not found next to the module root")
	}
	if _, err := os.Stat(filepath.Join(dir, "pve-9.1.json")); err != nil {
		t.Errorf("Locate returned %s without pve-9.1.json: %v", dir, err)
	}
	t.Chdir(os.TempDir())
	if d, err := Dir(); !errors.Is(err, ErrNotFound) {
		t.Errorf("outside a module: Dir() = %q, %v", d, err)
	}
}
