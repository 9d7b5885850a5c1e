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
				if !ok || rest == tc.pkg {
					continue
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
