package pvesim

import (
	"fmt"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Test controls for containers' configuration files.

// ContainerConfig is a container's configuration file as the simulator
// holds it.
type ContainerConfig struct {
	// Values are the current options as the file holds them (strings;
	// "description" decoded, with "\n" after each line, as PVE reads it).
	Values map[string]string
	// Pending is the [pve:pending] section; its "delete" entry lists the
	// pending deletions ("a,b"; "!a" forces).
	Pending map[string]string
	// Digest is the SHA-1 of the file, as GET .../config reports it.
	Digest string
}

// Config returns container vmid's configuration. The error wraps
// state.ErrNotFound for a vmid that is not a container.
func (s *Sim) Config(vmid int) (ContainerConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return ContainerConfig{}, err
	}
	conf := s.cluster.ConfOf(g)
	if conf == nil {
		return ContainerConfig{}, fmt.Errorf("pvesim: guest %d is not a container: %w", vmid, state.ErrNotFound)
	}
	out := ContainerConfig{Values: map[string]string{}, Pending: map[string]string{}, Digest: conf.Digest()}
	for k, v := range conf.Values {
		out.Values[k] = v
	}
	for k, v := range conf.Pending {
		out.Pending[k] = v
	}
	return out, nil
}

// SetConfig sets one current option of container vmid directly in its
// file, as another user or an edit on the host would: the digest
// changes, so a later PUT with the old digest fails like in PVE. An
// empty value removes the option. key is a container option ("memory",
// "net0", "description", ...) and value must pass PVE's check for it;
// otherwise the error wraps state.ErrInvalid. Pending changes are left
// alone; a change of the lock acts like SetLock.
func (s *Sim) SetConfig(vmid int, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return err
	}
	if g.Type != "lxc" {
		return fmt.Errorf("pvesim: guest %d is not a container: %w", vmid, state.ErrNotFound)
	}
	k, ok := state.LookupKey(s.cluster.Keys, key)
	if !ok {
		return fmt.Errorf("pvesim: unknown option %q: %w", key, state.ErrInvalid)
	}
	if value != "" {
		errs := map[string]string{}
		js.CheckString(errs, key, k.Prop, value, s.formats)
		if msg, bad := errs[key]; bad {
			return fmt.Errorf("pvesim: %s: %s: %w", key, msg, state.ErrInvalid)
		}
	}
	s.cluster.SetOption(g, key, value)
	return nil
}
