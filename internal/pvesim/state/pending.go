package state

import (
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Pending changes (pve-guest-common AbstractConfig: parse_pending_delete,
// add_to_pending_delete, remove_from_pending_delete, cleanup_pending,
// load_current_config).

// PendingDeletes parses the pending "delete" value: option -> forced.
func (c *Conf) PendingDeletes() map[string]bool {
	out := map[string]bool{}
	data := strings.NewReplacer(",", " ", ";", " ").Replace(c.Pending["delete"])
	for _, e := range strings.Fields(data) {
		key, force := strings.CutPrefix(e, "!")
		out[key] = force
	}
	return out
}

func (c *Conf) setPendingDeletes(m map[string]bool) {
	if len(m) == 0 {
		delete(c.Pending, "delete")
		return
	}
	parts := make([]string, 0, len(m))
	for _, k := range perl.SortedKeys(m) {
		if m[k] {
			parts = append(parts, "!"+k)
		} else {
			parts = append(parts, k)
		}
	}
	c.Pending["delete"] = strings.Join(parts, ",")
}

// AddPendingDelete queues the deletion of key.
func (c *Conf) AddPendingDelete(key string, force bool) {
	m := c.PendingDeletes()
	m[key] = force
	c.setPendingDeletes(m)
}

// RemovePendingDelete drops key from the queued deletions.
func (c *Conf) RemovePendingDelete(key string) {
	m := c.PendingDeletes()
	if _, ok := m[key]; !ok {
		return
	}
	delete(m, key)
	c.setPendingDeletes(m)
}

// CleanupPending drops pending values equal to the current ones and
// deletions of options that are not set.
func (c *Conf) CleanupPending() {
	for k, v := range c.Pending {
		if k == "delete" {
			continue
		}
		if cur, ok := c.Values[k]; ok && cur == v {
			delete(c.Pending, k)
		}
	}
	m := c.PendingDeletes()
	for k := range m {
		if _, ok := c.Values[k]; !ok {
			delete(m, k)
		}
	}
	c.setPendingDeletes(m)
}

// Current is load_current_config: the options with the pending changes
// taken in, unless current is set.
func (c *Conf) Current(current bool) map[string]string {
	out := make(map[string]string, len(c.Values))
	for k, v := range c.Values {
		out[k] = v
	}
	if current {
		return out
	}
	for k, v := range c.Pending {
		if k != "delete" {
			out[k] = v
		}
	}
	for k := range c.PendingDeletes() {
		if perl.True(out[k], true) {
			delete(out, k)
		}
	}
	return out
}
