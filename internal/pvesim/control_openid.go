package pvesim

import (
	"fmt"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
)

// Test controls for OpenID realms and the users they create.

// OpenIDConfig is an OpenID realm's settings (domains.cfg).
type OpenIDConfig = access.OpenIDConfig

// UserAttrs is what user.cfg holds about a user besides its password.
type UserAttrs = access.UserAttrs

// OpenIDRealm returns an OpenID realm's settings.
func (s *Sim) OpenIDRealm(name string) (OpenIDConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.dir.Realm(name)
	if !ok || r.OpenID == nil {
		return OpenIDConfig{}, false
	}
	return *r.OpenID, true
}

// SetOpenIDRealm replaces an OpenID realm's settings, like "pveum realm
// modify".
func (s *Sim) SetOpenIDRealm(name string, cfg OpenIDConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dir.SetOpenID(name, cfg); err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	return nil
}

// LookupUser returns a user's attributes (an OpenID sign-in with
// autocreate fills them from the claims).
func (s *Sim) LookupUser(id string) (UserAttrs, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir.Lookup(id)
}

// SetUserEnabled sets a user's enable flag, like "pveum user modify
// --enable".
func (s *Sim) SetUserEnabled(id string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dir.SetEnabled(id, enabled); err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	return nil
}
