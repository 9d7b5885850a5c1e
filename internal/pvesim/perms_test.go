package pvesim

import (
	"net/url"
	"testing"
)

func TestPermissionPropagation(t *testing.T) {
	type acl struct {
		path, ugid, role string
		propagate        bool
	}
	type probe struct {
		path, priv string
		want       bool
	}
	tests := []struct {
		name   string
		groups map[string][]string
		acls   []acl
		user   string
		probes []probe
	}{
		{
			name:   "root holds everything",
			user:   "root@pam",
			probes: []probe{{"/", "Sys.Modify", true}, {"/vms/100", "VM.Allocate", true}, {"/nodes/pve1", "Sys.PowerMgmt", true}},
		},
		{
			name:   "no ACL, no privileges",
			user:   "alice@pve",
			probes: []probe{{"/", "Sys.Audit", false}, {"/vms/100", "VM.Audit", false}},
		},
		{
			name: "propagating role reaches children",
			acls: []acl{{"/vms", "alice@pve", "PVEVMUser", true}},
			user: "alice@pve",
			probes: []probe{
				{"/vms", "VM.PowerMgmt", true}, {"/vms/100", "VM.PowerMgmt", true}, {"/vms/100", "VM.Audit", true},
				{"/vms/100", "VM.Allocate", false}, {"/", "VM.Audit", false}, {"/nodes/pve1", "Sys.Audit", false},
			},
		},
		{
			name:   "non-propagating role stays on its path",
			acls:   []acl{{"/vms", "alice@pve", "PVEVMUser", false}},
			user:   "alice@pve",
			probes: []probe{{"/vms", "VM.PowerMgmt", true}, {"/vms/100", "VM.PowerMgmt", false}},
		},
		{
			name: "deeper entry replaces inherited roles",
			acls: []acl{{"/", "alice@pve", "Administrator", true}, {"/nodes", "alice@pve", "PVEAuditor", true}},
			user: "alice@pve",
			probes: []probe{
				{"/nodes/pve1", "Sys.Audit", true}, {"/nodes/pve1", "Sys.Modify", false},
				{"/vms/100", "VM.Allocate", true},
			},
		},
		{
			name:   "NoAccess wins on its path",
			acls:   []acl{{"/", "alice@pve", "Administrator", true}, {"/vms/101", "alice@pve", "NoAccess", false}},
			user:   "alice@pve",
			probes: []probe{{"/vms/101", "VM.Audit", false}, {"/vms/100", "VM.Audit", true}},
		},
		{
			name:   "group roles apply to members",
			groups: map[string][]string{"ops": {"alice@pve"}},
			acls:   []acl{{"/", "@ops", "PVEAuditor", true}},
			user:   "alice@pve",
			probes: []probe{{"/nodes/pve2", "Sys.Audit", true}, {"/vms/100", "VM.Audit", true}, {"/vms/100", "VM.PowerMgmt", false}},
		},
		{
			name:   "user entry overrides group entry on the same level",
			groups: map[string][]string{"ops": {"alice@pve"}},
			acls:   []acl{{"/vms", "@ops", "PVEVMAdmin", true}, {"/vms", "alice@pve", "PVEAuditor", true}},
			user:   "alice@pve",
			probes: []probe{{"/vms/100", "VM.Audit", true}, {"/vms/100", "VM.PowerMgmt", false}},
		},
		{
			name: "PVEAdmin lacks root-only privileges",
			acls: []acl{{"/", "alice@pve", "PVEAdmin", true}},
			user: "alice@pve",
			probes: []probe{
				{"/", "Sys.Audit", true}, {"/nodes/pve1", "Sys.Console", true}, {"/", "Sys.Modify", false},
				{"/", "Permissions.Modify", false}, {"/", "Realm.Allocate", false}, {"/mapping", "Mapping.Modify", false},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPermState()
			for g, members := range tc.groups {
				ps.groups[g] = map[string]bool{}
				for _, m := range members {
					ps.groups[g][m] = true
				}
			}
			for _, a := range tc.acls {
				ps.setACL(a.path, a.ugid, a.role, a.propagate)
			}
			for _, p := range tc.probes {
				if got := ps.can(tc.user, p.path, p.priv); got != p.want {
					t.Errorf("can(%s, %s, %s) = %v, want %v", tc.user, p.path, p.priv, got, p.want)
				}
			}
		})
	}
}

func TestPermissionCheckErrors(t *testing.T) {
	ps := newPermState()
	if err := ps.check("alice@pve", "/vms/100", "VM.Audit"); err == nil ||
		err.status != 403 || err.msg != "Permission check failed (/vms/100, VM.Audit)\n" {
		t.Errorf("check: %+v", err)
	}
	if err := ps.checkAny("alice@pve", "/vms/100", "VM.Config.Disk", "VM.Config.CPU"); err == nil ||
		err.msg != "Permission check failed (/vms/100, VM.Config.Disk|VM.Config.CPU)\n" {
		t.Errorf("checkAny: %+v", err)
	}
}

func TestCapWithACL(t *testing.T) {
	e := startEnv(t, Options{})
	if err := e.sim.SetACL("/vms/100", "alice@pve", "PVEVMUser", false); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetACL("/", "alice@pve", "PVEAuditor", false); err != nil {
		t.Fatal(err)
	}
	res := e.do(req{method: "POST", path: "/access/ticket",
		form: url.Values{"username": {"alice@pve"}, "password": {"alice-pass"}}})
	data := res.json(t)["data"].(map[string]any)
	cp := data["cap"].(map[string]any)
	vms := cp["vms"].(map[string]any)
	for _, p := range []string{"VM.PowerMgmt", "VM.Console", "VM.Audit"} {
		if vms[p] != float64(1) {
			t.Errorf("cap.vms.%s missing: %v", p, vms)
		}
	}
	if _, ok := vms["VM.Allocate"]; ok {
		t.Error("cap.vms must not hold VM.Allocate")
	}
	if dc := cp["dc"].(map[string]any); dc["Sys.Audit"] != float64(1) || len(dc) != 2 {
		// PVEAuditor on "/" (not propagated) gives Sys.Audit and SDN.Audit there.
		t.Errorf("cap.dc = %v", dc)
	}
	if nodes := cp["nodes"].(map[string]any); len(nodes) != 0 {
		t.Errorf("cap.nodes = %v, want empty (the role does not propagate)", nodes)
	}
	if data["clustername"] != "lab" {
		t.Errorf("Sys.Audit on / should reveal the cluster name, got %v", data["clustername"])
	}
	if err := e.sim.SetACL("/", "nobody@pve", "PVEAuditor", true); err == nil {
		t.Error("SetACL for an unknown user succeeded")
	}
	if err := e.sim.SetACL("/", "alice@pve", "NoSuchRole", true); err == nil {
		t.Error("SetACL with an unknown role succeeded")
	}
}
