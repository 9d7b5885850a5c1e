package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules holds the package boundaries of docs/architecture.md:
// the simulator stays an independent check, the web layer reaches PVE only
// through its own interface, and the domain package depends on nothing.
func TestImportRules(t *testing.T) {
	const mod = "github.com/lxc-manager/lxc-manager/internal/"
	cases := []struct {
		pkg       string
		forbidden []string // project packages pkg must not depend on; "*" = any
	}{
		{"pvesim", []string{"*"}},
		{"lxc", []string{"*"}},
		{"config", []string{"*"}},
		{"web", []string{"proxmox", "pvesim", "app", "config"}},
		{"proxmox", []string{"web", "session", "pvesim", "app", "config"}},
		{"session", []string{"web", "proxmox", "pvesim", "app", "lxc"}},
	}
	for _, tc := range cases {
		t.Run(tc.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+tc.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, dep := range strings.Fields(string(out)) {
				rest, ok := strings.CutPrefix(dep, mod)
				if !ok || rest == tc.pkg || strings.HasPrefix(rest, tc.pkg+"/") {
					continue // a package may use its own subpackages
				}
				for _, f := range tc.forbidden {
					if f == "*" || rest == f || strings.HasPrefix(rest, f+"/") {
						t.Errorf("%s depends on %s", tc.pkg, rest)
					}
				}
			}
		})
	}
}

// TestSimulatorImportRules: the simulator's subpackages use nothing of the
// project outside the simulator, and the cluster's state, tasks and
// operations (and the other non-HTTP parts) never depend on net/http,
// which only the simulator's API layer (package pvesim itself) uses.
func TestSimulatorImportRules(t *testing.T) {
	const mod = "github.com/lxc-manager/lxc-manager/internal/"
	noHTTP := map[string]bool{"state": true, "tasks": true, "ops": true, "access": true, "jsonschema": true, "perl": true}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", mod+"pvesim/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	subs := strings.Fields(string(out))
	seen := map[string]bool{}
	for _, pkg := range subs {
		sub, ok := strings.CutPrefix(pkg, mod+"pvesim/")
		if !ok {
			continue
		}
		seen[sub] = true
		t.Run(sub, func(t *testing.T) {
			deps, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, dep := range strings.Fields(string(deps)) {
				if rest, ok := strings.CutPrefix(dep, mod); ok && !strings.HasPrefix(rest, "pvesim/") {
					t.Errorf("pvesim/%s depends on %s", sub, rest)
				}
				if dep == "net/http" && noHTTP[sub] {
					t.Errorf("pvesim/%s depends on net/http", sub)
				}
			}
		})
	}
	for sub := range noHTTP {
		if !seen[sub] {
			t.Errorf("pvesim/%s is gone: update the rule", sub)
		}
	}
}
