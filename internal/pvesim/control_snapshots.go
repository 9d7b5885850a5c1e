package pvesim

import (
	"fmt"
	"sort"
)

// Test controls for snapshots.

// AddSnapshot records a finished snapshot of container vmid, taken now
// without a task, like one made earlier: it captures the current options
// and becomes the parent of the current state. It fails for a taken or
// reserved name, a template, or storage without snapshots.
func (s *Sim) AddSnapshot(vmid int, name, description string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return err
	}
	if g.Type != "lxc" {
		return fmt.Errorf("pvesim: guest %d is not a container", vmid)
	}
	if err := s.ops.AddSnapshot(g, name, description, s.now(), nil); err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	return nil
}

// Snapshots returns the names of container vmid's snapshots, sorted, and
// the name of the current state's parent ("" for none).
func (s *Sim) Snapshots(vmid int) (names []string, parent string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestLocked(vmid)
	if err != nil {
		return nil, "", err
	}
	conf := s.cluster.ConfOf(g)
	if conf == nil {
		return nil, "", fmt.Errorf("pvesim: guest %d is not a container", vmid)
	}
	for name := range conf.Snapshots {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, conf.Values["parent"], nil
}
