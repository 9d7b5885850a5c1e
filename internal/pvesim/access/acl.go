package access

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The permission model of pve-access-control (RPCEnvironment.pm
// permissions(), compute_api_permission()).
//
// An ACL entry grants a role on a path to a user or a group ("@name"),
// with a propagate flag. For a checked path the tree is walked from "/"
// down; at every level the entries that apply (all of them on the final
// path, only propagating ones above it) REPLACE what was inherited, user
// entries win over group entries on the same level, and NoAccess wipes
// everything. root@pam holds every privilege everywhere.
//
// Pools (compile_acl_path): the roles a user holds on /pool/<p> apply,
// never propagating, to /vms/<id> of every member guest, unless the
// regular ACL already set the role or NoAccess; a NoAccess on the pool
// trumps the regular roles.

// RootUser passes every check.
const RootUser = "root@pam"

// PermError is raise_perm_exc: "Permission check failed (<What>)".
type PermError struct {
	What string // "/vms/100, VM.Audit"; "" for a bare failure
}

func (e *PermError) Error() string {
	if e.What == "" {
		return "Permission check failed\n"
	}
	return "Permission check failed (" + e.What + ")\n"
}

// PrivError is a check for a privilege that does not exist (a plain
// die in PVE).
type PrivError struct {
	Priv string
}

func (e *PrivError) Error() string { return "invalid privilege '" + e.Priv + "'\n" }

// aclNode is one path of the ACL tree: role -> propagate, per user and group.
type aclNode struct {
	users  map[string]map[string]bool
	groups map[string]map[string]bool
}

// ACL is the ACL configuration (user.cfg acl and group lines) with the
// roles it can grant.
type ACL struct {
	acl    map[string]*aclNode        // normalised path -> entries
	Groups map[string]map[string]bool // group -> member userids
	// PoolOf tells the pool a guest belongs to ("" for none).
	PoolOf func(vmid int) string
	valid  map[string]bool
	roles  map[string]map[string]bool
}

// NewACL is an empty ACL with the built-in roles.
func NewACL(poolOf func(vmid int) string) *ACL {
	t := builtins()
	if poolOf == nil {
		poolOf = func(int) string { return "" }
	}
	return &ACL{acl: map[string]*aclNode{}, Groups: map[string]map[string]bool{}, PoolOf: poolOf,
		valid: t.valid, roles: t.roles}
}

// ValidPriv reports whether p is a known privilege.
func (a *ACL) ValidPriv(p string) bool { return a.valid[p] }

// HasRole reports whether role exists.
func (a *ACL) HasRole(role string) bool {
	_, ok := a.roles[role]
	return ok
}

// AddRole creates or replaces a custom role ("pveum role add"); built-in
// roles cannot be changed.
func (a *ACL) AddRole(name string, privs ...string) error {
	if _, builtin := builtins().roles[name]; builtin {
		return fmt.Errorf("cannot modify built-in role '%s'", name)
	}
	set := map[string]bool{}
	for _, p := range privs {
		if !a.valid[p] {
			return fmt.Errorf("invalid privilege '%s'", p)
		}
		set[p] = true
	}
	a.roles[name] = set
	return nil
}

var aclPathRe = regexp.MustCompile(`^[[:alnum:]._\-/]+$`)

// NormalizePath is AccessControl::normalize_path; "" means invalid.
func NormalizePath(p string) string {
	if p == "" {
		return ""
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !aclPathRe.MatchString(p) {
		return ""
	}
	return p
}

// SetACL adds (or, with role "", removes all of) an entry.
func (a *ACL) SetACL(path, ugid, role string, propagate bool) {
	n := a.acl[path]
	if n == nil {
		n = &aclNode{users: map[string]map[string]bool{}, groups: map[string]map[string]bool{}}
		a.acl[path] = n
	}
	m := n.users
	id := ugid
	if strings.HasPrefix(ugid, "@") {
		m, id = n.groups, ugid[1:]
	}
	if role == "" {
		delete(m, id)
		return
	}
	if m[id] == nil {
		m[id] = map[string]bool{}
	}
	m[id][role] = propagate
}

// RemoveUser drops a user's ACL entries and group memberships (PVE does
// this when a user is deleted).
func (a *ACL) RemoveUser(userid string) {
	for _, n := range a.acl {
		delete(n.users, userid)
	}
	for _, members := range a.Groups {
		delete(members, userid)
	}
}

// Paths returns every path that has ACL entries.
func (a *ACL) Paths() []string {
	out := make([]string, 0, len(a.acl))
	for p := range a.acl {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// roleSet is AccessControl::roles for a normal user (not root): role ->
// propagate flag effective on path.
func (a *ACL) roleSet(user, path string) map[string]bool {
	var segs []string
	if path == "/" {
		segs = []string{""}
	} else {
		segs = strings.Split(path, "/")
	}
	res := map[string]bool{}
	cur := ""
	for i, seg := range segs {
		final := i == len(segs)-1
		if seg != "" {
			cur += "/" + seg
		}
		key := cur
		if key == "" {
			key = "/"
		}
		n := a.acl[key]
		if n == nil {
			continue
		}
		pick := func(ri map[string]bool, into map[string]bool) map[string]bool {
			for role, prop := range ri {
				if final || prop {
					if into == nil {
						into = map[string]bool{}
					}
					into[role] = prop
				}
			}
			return into
		}
		if ri := n.users[user]; ri != nil {
			if nw := pick(ri, nil); nw != nil {
				res = nw
				continue // user entries always override group entries
			}
		}
		var nw map[string]bool
		gnames := make([]string, 0, len(n.groups))
		for g := range n.groups {
			gnames = append(gnames, g)
		}
		sort.Strings(gnames)
		for _, g := range gnames {
			if !a.Groups[g][user] {
				continue
			}
			nw = pick(n.groups[g], nw)
		}
		if nw != nil {
			res = nw
		}
	}
	if prop, ok := res["NoAccess"]; ok {
		return map[string]bool{"NoAccess": prop}
	}
	return res
}

// vmidOfPath returns the vmid of a canonical "/vms/<vmid>" path.
func vmidOfPath(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "/vms/")
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(rest)
	if err != nil || id <= 0 || strconv.Itoa(id) != rest {
		return 0, false
	}
	return id, true
}

// effectiveRoles is compile_acl_path's role set: the ACL roles on path
// plus, for a pool member's /vms/<id>, the roles held on its pool.
func (a *ACL) effectiveRoles(user, path string) map[string]bool {
	roles := a.roleSet(user, path)
	vmid, ok := vmidOfPath(path)
	if !ok {
		return roles
	}
	pool := a.PoolOf(vmid)
	if pool == "" {
		return roles
	}
	return mergePoolRoles(roles, a.roleSet(user, "/pool/"+pool))
}

// mergePoolRoles applies a member's pool roles (never propagating) to its
// own roles; roles is modified and returned.
func mergePoolRoles(roles, poolRoles map[string]bool) map[string]bool {
	if len(poolRoles) == 0 {
		return roles
	}
	if _, no := roles["NoAccess"]; no {
		return roles
	}
	if _, no := poolRoles["NoAccess"]; no {
		return map[string]bool{"NoAccess": false}
	}
	for r := range poolRoles {
		if _, set := roles[r]; !set {
			roles[r] = false
		}
	}
	return roles
}

// privsOfRoles maps every privilege of roles to its propagate flag (1 if
// any role holding it propagates).
func (a *ACL) privsOfRoles(roles map[string]bool) map[string]int {
	out := map[string]int{}
	for role, prop := range roles {
		for p := range a.roles[role] {
			if prop {
				out[p] = 1
			} else if _, set := out[p]; !set {
				out[p] = 0
			}
		}
	}
	return out
}

// Privileges is RPCEnvironment::permissions: every privilege user holds
// on path, mapped to its propagate flag (0/1). root@pam holds all,
// flagged 1.
func (a *ACL) Privileges(user, path string) map[string]int {
	if user == RootUser {
		out := make(map[string]int, len(a.valid))
		for p := range a.valid {
			out[p] = 1
		}
		return out
	}
	return a.privsOfRoles(a.effectiveRoles(user, path))
}

// Can reports whether user holds priv on path (RPCEnvironment::check with
// noerr).
func (a *ACL) Can(user, path, priv string) bool {
	if user == RootUser {
		return true
	}
	_, ok := a.Privileges(user, path)[priv]
	return ok
}

// Check is RPCEnvironment::check: all privs are needed, else a
// *PermError naming the first one missing; an unknown privilege gives a
// *PrivError.
func (a *ACL) Check(user, path string, privs ...string) error {
	have := a.Privileges(user, path)
	for _, p := range privs {
		if !a.valid[p] {
			return &PrivError{Priv: p}
		}
		if _, ok := have[p]; !ok {
			return &PermError{What: path + ", " + p}
		}
	}
	return nil
}

// CheckAny is RPCEnvironment::check_any: one of privs is enough; the
// *PermError lists them joined with '|'.
func (a *ACL) CheckAny(user, path string, privs ...string) error {
	have := a.Privileges(user, path)
	for _, p := range privs {
		if _, ok := have[p]; ok {
			return nil
		}
	}
	return &PermError{What: path + ", " + strings.Join(privs, "|")}
}
