package app_test

import (
	"os/exec"
	"slices"
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

// allowedImports is the import column of docs/architecture.md for the
// packages whose rule is a list of what they may use: every project package
// a package depends on, directly or not, must be listed (nil: none).
var allowedImports = []struct {
	pkg     string
	allowed []string
}{
	{"netpeek", nil},
	{"session", []string{"netpeek"}},
	{"throttle", nil},
	{"markdown", nil},
	{"metrics", nil},
	{"pveschema", nil},
	{"loadtest", nil},
	{"jobs", nil},
	{"live", []string{"lxc"}},
	{"proxmox", []string{"lxc"}},
	{"web", []string{"lxc", "session", "throttle", "live", "metrics", "markdown", "jobs", "netpeek"}},
}

// exemptFromImportRules are the packages without an import rule, and why.
var exemptFromImportRules = map[string]string{
	"cmd/lxc-manager":             "calls app.Run only; app wires everything",
	"internal/app":                "the one wiring point: may import everything",
	"internal/app/apptest":        "test support: the whole stack",
	"internal/testutil":           "test support",
	"internal/testutil/redistest": "test support",
	"e2e":                         "tests only",
}

// projectDeps lists the project packages pkg depends on, directly or not,
// relative to the module ("internal/lxc").
func projectDeps(t *testing.T, pkg string) []string {
	t.Helper()
	const module = "github.com/lxc-manager/lxc-manager/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var deps []string
	for _, dep := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(dep, module); ok && rest != pkg {
			deps = append(deps, rest)
		}
	}
	return deps
}

// TestImportAllowLists holds the packages of allowedImports to their lists.
func TestImportAllowLists(t *testing.T) {
	for _, tc := range allowedImports {
		t.Run(tc.pkg, func(t *testing.T) {
			for _, dep := range projectDeps(t, "internal/"+tc.pkg) {
				name := strings.TrimPrefix(dep, "internal/")
				if !slices.Contains(tc.allowed, name) {
					t.Errorf("%s depends on %s; docs/architecture.md allows %q", tc.pkg, dep, tc.allowed)
				}
			}
		})
	}
}

// TestEveryPackageHasAnImportRule keeps the claim of docs/architecture.md
// true as packages are added: each package of the module has a rule in
// TestImportRules or TestImportAllowLists (a subpackage falls under its
// parent's), or is exempt with a reason.
func TestEveryPackageHasAnImportRule(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", "github.com/lxc-manager/lxc-manager/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ruled []string
	for _, r := range allowedImports {
		ruled = append(ruled, r.pkg)
	}
	// The packages TestImportRules covers.
	ruled = append(ruled, "pvesim", "lxc", "config", "web", "proxmox", "session")
	for _, path := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(path, "github.com/lxc-manager/lxc-manager"), "/")
		if _, ok := exemptFromImportRules[rel]; ok {
			continue
		}
		name, internal := strings.CutPrefix(rel, "internal/")
		covered := internal && slices.ContainsFunc(ruled, func(r string) bool {
			return name == r || strings.HasPrefix(name, r+"/")
		})
		if !covered {
			t.Errorf("package %s has no import rule (add it to docs/architecture.md and to this test)", rel)
		}
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
