package access

import "strconv"

// VMAuditor answers "may user hold priv on /vms/<id>" for many guests in
// one request (cluster resources, container lists) without recomputing
// the inherited roles for every guest, like PVE's per-request ACL cache.
type VMAuditor struct {
	a         *ACL
	user      string
	priv      string
	inherited map[string]bool           // roles reaching a /vms/<id> without own ACL entries
	ownACL    map[int]bool              // vmids with ACL entries of their own
	perPool   map[string]map[string]int // pool -> privileges of its members without own ACL
}

// NewVMAuditor prepares the checks of priv for user.
func (a *ACL) NewVMAuditor(user, priv string) *VMAuditor {
	v := &VMAuditor{a: a, user: user, priv: priv, ownACL: map[int]bool{}, perPool: map[string]map[string]int{}}
	if user == RootUser {
		return v
	}
	// A path component no ACL can name stands for "a guest with no
	// entries of its own".
	v.inherited = a.roleSet(user, "/vms/\x00")
	for p := range a.acl {
		if id, ok := vmidOfPath(p); ok {
			v.ownACL[id] = true
		}
	}
	return v
}

// Can reports whether the user holds the privilege on /vms/<vmid>.
func (v *VMAuditor) Can(vmid int) bool {
	if v.user == RootUser {
		return true
	}
	if v.ownACL[vmid] {
		return v.a.Can(v.user, "/vms/"+strconv.Itoa(vmid), v.priv)
	}
	pool := v.a.PoolOf(vmid)
	privs, ok := v.perPool[pool]
	if !ok {
		roles := make(map[string]bool, len(v.inherited))
		for r, p := range v.inherited {
			roles[r] = p
		}
		if pool != "" {
			roles = mergePoolRoles(roles, v.a.roleSet(v.user, "/pool/"+pool))
		}
		privs = v.a.privsOfRoles(roles)
		v.perPool[pool] = privs
	}
	_, has := privs[v.priv]
	return has
}
