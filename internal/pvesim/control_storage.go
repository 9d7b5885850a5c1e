package pvesim

import (
	"fmt"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// PutVolume places a disk no configuration references on a storage
// ("local-lvm:vm-108-disk-7", size in bytes), as a failed job or a
// detached mount point leaves behind. Its owner is read from the name.
// The node is ignored for a shared storage.
func (s *Sim) PutVolume(node, storage, volid string, size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.cluster.NodeByName(node)
	st := s.cluster.StorageByID(storage)
	if n == nil || st == nil {
		return fmt.Errorf("pvesim: no node %q or storage %q: %w", node, storage, state.ErrNotFound)
	}
	sid, volname, ok := state.SplitVolID(volid)
	if !ok || sid != storage {
		return fmt.Errorf("pvesim: %q is no volume of %s: %w", volid, storage, state.ErrInvalid)
	}
	vi, err := st.ParseVolName(volname)
	if err != nil {
		return fmt.Errorf("pvesim: %q: %w", volid, state.ErrInvalid)
	}
	content := vi.Content
	if g := s.cluster.Guests[vi.Owner]; content == "images" && g != nil && g.Type == "lxc" {
		content = "rootdir"
	}
	s.cluster.PutVolume(storage, n, state.Volume{VolID: volid, Content: content, Format: vi.Format, Size: size,
		VMID: vi.Owner, CTime: s.now().Unix()})
	return nil
}
