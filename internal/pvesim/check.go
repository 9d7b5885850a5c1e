package pvesim

import (
	"fmt"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
)

// Composite permission checks (RPCEnvironment.pm exec_api2_perm_check):
//
//	["perm", "/vms/{vmid}", ["VM.Clone"], "any", 1, "require_param", "pool"]
//	["and", check, check, ...]  every check must pass
//	["or", check, check, ...]   one must pass, else a bare "Permission check failed"
//
// A "perm" check whose require_param is absent counts as failed. Path
// templates take the raw parameter values. Called with s.mu held.
func (s *Sim) evalCheck(c *call, expr []any) error {
	if len(expr) == 0 {
		return fmt.Errorf("pvesim: empty permission check")
	}
	switch expr[0] {
	case "and":
		for _, sub := range expr[1:] {
			if err := s.evalCheck(c, sub.([]any)); err != nil {
				return err
			}
		}
		return nil
	case "or":
		for _, sub := range expr[1:] {
			if s.evalCheck(c, sub.([]any)) == nil {
				return nil
			}
		}
		return &access.PermError{}
	case "perm":
		path := expr[1].(string)
		var privs []string
		for _, p := range expr[2].([]any) {
			privs = append(privs, p.(string))
		}
		any := false
		for i := 3; i+1 < len(expr); i += 2 {
			switch expr[i] {
			case "any":
				any = expr[i+1] != float64(0)
			case "require_param":
				if !c.params.has(expr[i+1].(string)) {
					return &access.PermError{}
				}
			}
		}
		rt := route{checkPath: path, checkPrivs: privs, checkAny: any}
		return rt.checkPerm(c)
	}
	return fmt.Errorf("pvesim: unknown permission check %v", expr[0])
}
