package pvesim

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
)

// Test controls for users, groups, roles and ACLs, like pveum.

// SetUser adds a user or replaces an existing user's password at run time.
// The user's realm should exist; otherwise the user can never log in.
// An existing user keeps its second factors (and their state: used
// recovery keys, locks) unless u sets any factor, in which case u's
// factors replace all old ones. SetUser panics if u's factors are
// invalid (a malformed TOTP secret or recovery key).
func (s *Sim) SetUser(u User) {
	if err := u.CheckFactors(); err != nil {
		panic(fmt.Sprintf("pvesim: SetUser %q: %v", u.ID, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir.Put(u)
}

// RemoveUser deletes a user like "pveum user delete": its ACL entries and
// group memberships go too, and its tickets stop working. root@pam cannot
// be removed.
func (s *Sim) RemoveUser(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dir.Remove(id); err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	s.acl.RemoveUser(id)
	return nil
}

// SetACL grants role on path to ugid (a userid, or "@group"), like
// "pveum acl modify PATH --roles ROLE [--users|--groups] --propagate".
// An empty role removes ugid's entries on path.
func (s *Sim) SetACL(path, ugid, role string, propagate bool) error {
	np := access.NormalizePath(path)
	if np == "" {
		return fmt.Errorf("pvesim: invalid ACL path %q", path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if role != "" && !s.acl.HasRole(role) {
		return fmt.Errorf("pvesim: role '%s' does not exist", role)
	}
	if strings.HasPrefix(ugid, "@") {
		if _, ok := s.acl.Groups[ugid[1:]]; !ok {
			return fmt.Errorf("pvesim: group '%s' does not exist", ugid[1:])
		}
	} else if !s.dir.Has(ugid) {
		return fmt.Errorf("pvesim: user '%s' does not exist", ugid)
	}
	s.acl.SetACL(np, ugid, role, propagate)
	return nil
}

// AddRole creates (or replaces) a custom role with the given privileges,
// like "pveum role add NAME --privs ...", for tests that need a user who
// may do some things but not others (say VM.Config.Memory without
// VM.Config.CPU). Built-in roles cannot be changed.
func (s *Sim) AddRole(name string, privs ...string) error {
	if !roleNameRe.MatchString(name) {
		return fmt.Errorf("pvesim: invalid role name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.acl.AddRole(name, privs...); err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	return nil
}

var roleNameRe = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)

// SetGroup creates or replaces a group with the given member userids.
func (s *Sim) SetGroup(name string, members ...string) error {
	if !groupNameRe.MatchString(name) {
		return fmt.Errorf("pvesim: invalid group name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	for _, m := range members {
		if !s.dir.Has(m) {
			return fmt.Errorf("pvesim: user '%s' does not exist", m)
		}
		set[m] = true
	}
	s.acl.Groups[name] = set
	return nil
}

var groupNameRe = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)

// UnlockTFA lifts a user's TOTP lock and the one-hour TFA lock and resets
// the failure counters, like "pveum user tfa unlock".
func (s *Sim) UnlockTFA(userid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dir.UnlockTFA(userid); err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	return nil
}
