package web

import (
	"context"
	"sort"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// What a person may do towards new containers, from PVE's permissions
// (§5.4): VM.Allocate on /vms/{id} or on a pool creates; VM.Config.Options
// on the new VMID sets tags (PVE checks it without the pool); Sys.Modify
// on / makes privileged containers (PVE 9); Datastore.AllocateTemplate on a
// storage downloads templates into it.

// Privileges of provisioning.
const (
	privAllocate = "VM.Allocate"
	privClone    = "VM.Clone"
)

// provisionPerms reads a person's permissions for provisioning.
type provisionPerms struct {
	perms lxc.Permissions
	root  bool
}

// anyVMID is a path below /vms that no ACL names: privileges on it are
// the ones every VMID inherits.
const anyVMID = "/vms/0"

// anywhere reports whether the person may create with any VMID.
func (p provisionPerms) anywhere() bool { return p.root || p.perms.Has(anyVMID, privAllocate) }

// pools are the pools the person may create containers in, sorted.
func (p provisionPerms) pools() []string {
	var out []string
	for path := range p.perms {
		if pool, ok := strings.CutPrefix(path, "/pool/"); ok && p.perms.Has(path, privAllocate) {
			out = append(out, pool)
		}
	}
	sort.Strings(out)
	return out
}

// canCreate reports whether the person may create containers at all.
func (p provisionPerms) canCreate() bool { return p.anywhere() || len(p.pools()) > 0 }

// tags reports whether PVE lets the person tag a new container.
func (p provisionPerms) tags() bool { return p.root || p.perms.Has(anyVMID, privOptions) }

// privileged reports whether the person may create privileged containers.
func (p provisionPerms) privileged() bool { return p.root || p.perms.Has("/", "Sys.Modify") }

// download reports whether the person may download templates into sid.
func (p provisionPerms) download(sid string) bool {
	return p.root || p.perms.Has("/storage/"+sid, "Datastore.AllocateTemplate")
}

// space reports whether the person may allocate space on sid.
func (p provisionPerms) space(sid string) bool {
	return p.root || p.perms.Has("/storage/"+sid, "Datastore.AllocateSpace")
}

// provisionPermissions asks PVE what decides provisioning. Administrators
// (VM.Allocate propagated on /vms) get /vms, /storage and / alone; their
// full list can be huge. Everybody else gets the full list, which names
// their pools.
func (s *Server) provisionPermissions(ctx context.Context, id lxc.Identity) (provisionPerms, error) {
	pp := provisionPerms{root: id.Username == "root@pam"}
	top, err := s.cfg.PVE.Permissions(ctx, id, "/vms")
	if err != nil {
		return pp, err
	}
	if prop, ok := top["/vms"][privAllocate]; ok && prop {
		pp.perms = lxc.Permissions{}
		for path, privs := range top {
			pp.perms[path] = privs
		}
		for _, path := range []string{"/", "/storage"} {
			more, err := s.cfg.PVE.Permissions(ctx, id, path)
			if err != nil {
				return pp, err
			}
			for p, privs := range more {
				pp.perms[p] = privs
			}
		}
		return pp, nil
	}
	pp.perms, err = s.cfg.PVE.Permissions(ctx, id, "")
	return pp, err
}
