package pvesim

import (
	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
)

// The white-box tests written against the flat package before its
// internals moved to subpackages reach them through these names.

// permState is the ACL with the maps the permission tests fill in.
type permState struct {
	acl    *access.ACL
	groups map[string]map[string]bool
	pools  map[string]bool
	vmPool map[int]string
}

func newPermState() *permState {
	ps := &permState{pools: map[string]bool{}, vmPool: map[int]string{}}
	ps.acl = access.NewACL(func(vmid int) string { return ps.vmPool[vmid] })
	ps.groups = ps.acl.Groups
	return ps
}

func (ps *permState) setACL(path, ugid, role string, propagate bool) {
	ps.acl.SetACL(path, ugid, role, propagate)
}

func (ps *permState) can(user, path, priv string) bool { return ps.acl.Can(user, path, priv) }

func (ps *permState) check(user, path string, privs ...string) *apiError {
	if err := ps.acl.Check(user, path, privs...); err != nil {
		return toAPIError(err)
	}
	return nil
}

func (ps *permState) checkAny(user, path string, privs ...string) *apiError {
	if err := ps.acl.CheckAny(user, path, privs...); err != nil {
		return toAPIError(err)
	}
	return nil
}

// auditorShim gives the access package's VMAuditor its old method name.
type auditorShim struct{ a *access.VMAuditor }

func (v auditorShim) can(vmid int) bool { return v.a.Can(vmid) }

func (ps *permState) vmAuditor(user, priv string) auditorShim {
	return auditorShim{ps.acl.NewVMAuditor(user, priv)}
}

var (
	decodeTOTPSecret = access.DecodeTOTPSecret
	totpCode         = access.TOTPCode
	totpCounter      = access.TOTPCounter
)

const (
	tfaFailureLimit = access.TFAFailureLimit
	pamComment      = access.PAMComment
	pveComment      = access.PVEComment
)
