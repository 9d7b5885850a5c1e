// Package access is the simulated cluster's access control
// (pve-access-control): users and realms, their passwords and second
// factors (TOTP, recovery keys, WebAuthn and Yubico entries, with PVE's
// reuse checks and lockouts), groups, roles, ACLs with pools, and the
// permission checks built on them. It knows nothing of HTTP or tickets.
//
// Nothing here is safe for concurrent use: the simulator serialises every
// access under one lock.
package access

import (
	"sort"
)

// The privileges and roles of AccessControl.pm ($privgroups,
// create_roles), PVE 9.x flavour (no VM.Monitor).

// privGroup is one category of $privgroups.
type privGroup struct {
	root, admin, user, audit []string
}

func privGroups() map[string]privGroup {
	return map[string]privGroup{
		"VM": {
			admin: []string{"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
				"VM.Config.HWType", "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted",
				"VM.Migrate", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"},
			user: []string{"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup",
				"VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"},
			audit: []string{"VM.Audit", "VM.GuestAgent.Audit"},
		},
		"Sys": {
			root:  []string{"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"},
			admin: []string{"Sys.Console", "Sys.Syslog"},
			audit: []string{"Sys.Audit"},
		},
		"Datastore": {
			admin: []string{"Datastore.Allocate", "Datastore.AllocateTemplate"},
			user:  []string{"Datastore.AllocateSpace"},
			audit: []string{"Datastore.Audit"},
		},
		"SDN": {
			admin: []string{"SDN.Allocate", "SDN.Audit"},
			user:  []string{"SDN.Use"},
			audit: []string{"SDN.Audit"},
		},
		"User": {
			root:  []string{"Realm.Allocate"},
			admin: []string{"User.Modify", "Group.Allocate", "Realm.AllocateUser"},
		},
		"Pool": {
			admin: []string{"Pool.Allocate"},
			user:  []string{"Pool.Audit"},
			audit: []string{"Pool.Audit"},
		},
		"Mapping": {
			admin: []string{"Mapping.Modify"},
			user:  []string{"Mapping.Use"},
			audit: []string{"Mapping.Audit"},
		},
	}
}

// privTables holds every known privilege and the built-in roles.
type privTables struct {
	valid map[string]bool
	roles map[string]map[string]bool
}

// builtins computes the privileges and the special roles create_roles()
// builds from the privilege groups.
func builtins() privTables {
	t := privTables{valid: map[string]bool{"Permissions.Modify": true}, roles: map[string]map[string]bool{}}
	add := func(role string, privs ...string) {
		if t.roles[role] == nil {
			t.roles[role] = map[string]bool{}
		}
		for _, p := range privs {
			t.roles[role][p] = true
		}
	}
	add("NoAccess")
	for cat, g := range privGroups() {
		for _, list := range [][]string{g.root, g.admin, g.user, g.audit} {
			for _, p := range list {
				t.valid[p] = true
			}
		}
		for _, list := range [][]string{g.admin, g.user, g.audit} {
			add("PVE"+cat+"Admin", list...)
			add("PVEAdmin", list...)
		}
		if len(g.user) > 0 {
			add("PVE"+cat+"User", g.user...)
			add("PVE"+cat+"User", g.audit...)
		}
		add("PVEAuditor", g.audit...)
	}
	delete(t.roles["PVEAdmin"], "Mapping.Modify")
	add("PVETemplateUser", "VM.Clone", "VM.Audit")
	for p := range t.valid {
		add("Administrator", p)
	}
	return t
}

// RoleNames returns the names of the built-in roles, sorted.
func RoleNames() []string {
	roles := builtins().roles
	out := make([]string, 0, len(roles))
	for r := range roles {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
