package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The permission model of pve-access-control (AccessControl.pm privgroups,
// roles(); RPCEnvironment.pm permissions(), compute_api_permission()), PVE
// 9.x flavour (no VM.Monitor).
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

// privGroup is one category of AccessControl.pm's $privgroups.
type privGroup struct {
	root, admin, user, audit []string
}

var privGroups = map[string]privGroup{
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

// validPrivs is every known privilege name.
var validPrivs = map[string]bool{"Permissions.Modify": true}

// builtinRoles are the special roles create_roles() builds from privGroups.
var builtinRoles = map[string]map[string]bool{}

func init() {
	add := func(role string, privs ...string) {
		if builtinRoles[role] == nil {
			builtinRoles[role] = map[string]bool{}
		}
		for _, p := range privs {
			builtinRoles[role][p] = true
		}
	}
	add("NoAccess")
	for cat, g := range privGroups {
		for _, list := range [][]string{g.root, g.admin, g.user, g.audit} {
			for _, p := range list {
				validPrivs[p] = true
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
	delete(builtinRoles["PVEAdmin"], "Mapping.Modify")
	add("PVETemplateUser", "VM.Clone", "VM.Audit")
	for p := range validPrivs {
		add("Administrator", p)
	}
}

// RoleNames returns the names of the built-in roles, sorted.
func RoleNames() []string {
	out := make([]string, 0, len(builtinRoles))
	for r := range builtinRoles {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// aclNode is one path of the ACL tree: role -> propagate, per user and group.
type aclNode struct {
	users  map[string]map[string]bool
	groups map[string]map[string]bool
}

// permState is the ACL configuration (user.cfg acl/group/pool lines).
type permState struct {
	acl    map[string]*aclNode        // normalised path -> entries
	groups map[string]map[string]bool // group -> member userids
	pools  map[string]bool            // pool names
	vmPool map[int]string             // vmid -> pool, for pool members
}

func newPermState() *permState {
	return &permState{
		acl:    map[string]*aclNode{},
		groups: map[string]map[string]bool{},
		pools:  map[string]bool{},
		vmPool: map[int]string{},
	}
}

var aclPathRe = regexp.MustCompile(`^[[:alnum:]._\-/]+$`)

// normalizePath is AccessControl::normalize_path; "" means invalid.
func normalizePath(p string) string {
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

// setACL adds (or, with role "", removes all of) an entry.
func (ps *permState) setACL(path, ugid, role string, propagate bool) {
	n := ps.acl[path]
	if n == nil {
		n = &aclNode{users: map[string]map[string]bool{}, groups: map[string]map[string]bool{}}
		ps.acl[path] = n
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

// removeUser drops a user's ACL entries and group memberships (PVE does
// this when a user is deleted).
func (ps *permState) removeUser(userid string) {
	for _, n := range ps.acl {
		delete(n.users, userid)
	}
	for _, members := range ps.groups {
		delete(members, userid)
	}
}

// roles is AccessControl::roles for a normal user (not root): role ->
// propagate flag effective on path.
func (ps *permState) roles(user, path string) map[string]bool {
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
		n := ps.acl[key]
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
			if !ps.groups[g][user] {
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
func (ps *permState) effectiveRoles(user, path string) map[string]bool {
	roles := ps.roles(user, path)
	vmid, ok := vmidOfPath(path)
	if !ok {
		return roles
	}
	pool := ps.vmPool[vmid]
	if pool == "" {
		return roles
	}
	return mergePoolRoles(roles, ps.roles(user, "/pool/"+pool))
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
func privsOfRoles(roles map[string]bool) map[string]int {
	out := map[string]int{}
	for role, prop := range roles {
		for p := range builtinRoles[role] {
			if prop {
				out[p] = 1
			} else if _, set := out[p]; !set {
				out[p] = 0
			}
		}
	}
	return out
}

// privileges is RPCEnvironment::permissions: every privilege user holds on
// path, mapped to its propagate flag (0/1). root@pam holds all, flagged 1.
func (ps *permState) privileges(user, path string) map[string]int {
	if user == rootUser {
		out := make(map[string]int, len(validPrivs))
		for p := range validPrivs {
			out[p] = 1
		}
		return out
	}
	return privsOfRoles(ps.effectiveRoles(user, path))
}

// can reports whether user holds priv on path (RPCEnvironment::check with
// noerr).
func (ps *permState) can(user, path, priv string) bool {
	if user == rootUser {
		return true
	}
	_, ok := ps.privileges(user, path)[priv]
	return ok
}

// check is RPCEnvironment::check: all privs are needed, else a 403 naming
// the first one missing.
func (ps *permState) check(user, path string, privs ...string) *apiError {
	have := ps.privileges(user, path)
	for _, p := range privs {
		if !validPrivs[p] {
			return internalError("invalid privilege '%s'\n", p)
		}
		if _, ok := have[p]; !ok {
			return permError(fmt.Sprintf("%s, %s", path, p))
		}
	}
	return nil
}

// checkAny is RPCEnvironment::check_any: one of privs is enough; the 403
// lists them joined with '|'.
func (ps *permState) checkAny(user, path string, privs ...string) *apiError {
	have := ps.privileges(user, path)
	for _, p := range privs {
		if _, ok := have[p]; ok {
			return nil
		}
	}
	return permError(fmt.Sprintf("%s, %s", path, strings.Join(privs, "|")))
}

// vmAuditor answers "may user hold priv on /vms/<id>" for many guests in
// one request (cluster resources, container lists) without recomputing
// the inherited roles for every guest, like PVE's per-request ACL cache.
type vmAuditor struct {
	ps        *permState
	user      string
	priv      string
	inherited map[string]bool           // roles reaching a /vms/<id> without own ACL entries
	ownACL    map[int]bool              // vmids with ACL entries of their own
	perPool   map[string]map[string]int // pool -> privileges of its members without own ACL
}

func (ps *permState) vmAuditor(user, priv string) *vmAuditor {
	a := &vmAuditor{ps: ps, user: user, priv: priv, ownACL: map[int]bool{}, perPool: map[string]map[string]int{}}
	if user == rootUser {
		return a
	}
	// A path component no ACL can name stands for "a guest with no
	// entries of its own".
	a.inherited = ps.roles(user, "/vms/\x00")
	for p := range ps.acl {
		if id, ok := vmidOfPath(p); ok {
			a.ownACL[id] = true
		}
	}
	return a
}

func (a *vmAuditor) can(vmid int) bool {
	if a.user == rootUser {
		return true
	}
	if a.ownACL[vmid] {
		return a.ps.can(a.user, "/vms/"+strconv.Itoa(vmid), a.priv)
	}
	pool := a.ps.vmPool[vmid]
	privs, ok := a.perPool[pool]
	if !ok {
		roles := make(map[string]bool, len(a.inherited))
		for r, p := range a.inherited {
			roles[r] = p
		}
		if pool != "" {
			roles = mergePoolRoles(roles, a.ps.roles(a.user, "/pool/"+pool))
		}
		privs = privsOfRoles(roles)
		a.perPool[pool] = privs
	}
	_, has := privs[a.priv]
	return has
}

// capBuckets: which privileges the "cap" object collects per top-level
// path component (compute_api_permission's $priv_re_map).
var capBuckets = map[string]*regexp.Regexp{
	"vms":     regexp.MustCompile(`^(VM\.|Permissions\.Modify)`),
	"access":  regexp.MustCompile(`^((User|Group)\.|Permissions\.Modify)`),
	"storage": regexp.MustCompile(`^(Datastore\.|Permissions\.Modify)`),
	"nodes":   regexp.MustCompile(`^(Sys\.|Permissions\.Modify)`),
	"sdn":     regexp.MustCompile(`^(SDN\.|Permissions\.Modify)`),
	"dc":      regexp.MustCompile(`^(Sys\.Audit|Sys\.Modify|SDN\.)`),
	"mapping": regexp.MustCompile(`^(Mapping\.|Permissions.Modify)`),
}

var capTopLevelRe = regexp.MustCompile(`^/(\w+)`)

// computeCap is compute_api_permission: "the user has this privilege
// somewhere", per GUI area. Values are always 1.
func (ps *permState) computeCap(user string) map[string]map[string]int {
	res := map[string]map[string]int{}
	for k := range capBuckets {
		res[k] = map[string]int{}
	}
	paths := []string{"/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"}
	var defined []string
	for p := range ps.acl {
		defined = append(defined, p)
	}
	sort.Strings(defined)
	paths = append(paths, defined...)
	seen := map[string]bool{}
	for _, path := range paths {
		if seen[path] {
			continue
		}
		seen[path] = true
		privs := ps.privileges(user, path)
		top := "dc"
		if m := capTopLevelRe.FindStringSubmatch(path); m != nil {
			top = m[1]
		}
		if top == "pool" {
			for p := range privs {
				switch {
				case strings.HasPrefix(p, "VM."):
					res["vms"][p] = 1
				case strings.HasPrefix(p, "Datastore."):
					res["storage"][p] = 1
				case p == "Permissions.Modify":
					res["storage"][p] = 1
					res["vms"][p] = 1
				}
			}
			continue
		}
		re, ok := capBuckets[top]
		if !ok {
			continue
		}
		for p := range privs {
			if re.MatchString(p) {
				res[top][p] = 1
			}
		}
	}
	return res
}
