package pvesim

import (
	"strconv"
	"testing"
)

func TestPoolPermissions(t *testing.T) {
	t.Parallel()
	type acl struct {
		path, ugid, role string
		propagate        bool
	}
	type probe struct {
		vmid int
		priv string
		want bool
	}
	members := map[int]string{106: "dev", 107: "dev", 101: "prod"}
	tests := []struct {
		name   string
		acls   []acl
		probes []probe
	}{
		{"pool role reaches members only", []acl{{"/pool/dev", "alice@pve", "PVEVMUser", true}},
			[]probe{{106, "VM.PowerMgmt", true}, {107, "VM.Audit", true}, {101, "VM.Audit", false}, {300, "VM.Audit", false},
				{106, "VM.Allocate", false}}},
		{"non-propagating pool ACL still applies", []acl{{"/pool/dev", "alice@pve", "PVEVMUser", false}},
			[]probe{{106, "VM.PowerMgmt", true}}},
		{"pool NoAccess trumps inherited roles", []acl{{"/", "alice@pve", "PVEAuditor", true}, {"/pool/dev", "alice@pve", "NoAccess", true}},
			[]probe{{106, "VM.Audit", false}, {101, "VM.Audit", true}, {300, "VM.Audit", true}}},
		{"own NoAccess beats the pool", []acl{{"/pool/dev", "alice@pve", "PVEVMUser", true}, {"/vms/106", "alice@pve", "NoAccess", false}},
			[]probe{{106, "VM.Audit", false}, {107, "VM.Audit", true}}},
		{"pool and /vms roles add up", []acl{{"/vms", "alice@pve", "PVEAuditor", true}, {"/pool/dev", "alice@pve", "PVEVMUser", true}},
			[]probe{{106, "VM.PowerMgmt", true}, {101, "VM.PowerMgmt", false}, {101, "VM.Audit", true}}},
		{"group on the pool", []acl{{"/pool/prod", "@ops", "PVEVMAdmin", true}},
			[]probe{{101, "VM.Allocate", true}, {106, "VM.Allocate", false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPermState()
			ps.groups["ops"] = map[string]bool{"alice@pve": true}
			for id, p := range members {
				ps.pools[p] = true
				ps.vmPool[id] = p
			}
			for _, a := range tc.acls {
				ps.setACL(a.path, a.ugid, a.role, a.propagate)
			}
			for _, p := range tc.probes {
				path := "/vms/" + strconv.Itoa(p.vmid)
				if got := ps.can("alice@pve", path, p.priv); got != p.want {
					t.Errorf("can(%s, %s) = %v, want %v", path, p.priv, got, p.want)
				}
				// The per-request cache used by the lists must agree.
				if got := ps.vmAuditor("alice@pve", p.priv).can(p.vmid); got != p.want {
					t.Errorf("vmAuditor(%s).can(%d) = %v, want %v", p.priv, p.vmid, got, p.want)
				}
			}
		})
	}
}
