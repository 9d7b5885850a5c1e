package pvesim

import (
	"net/http"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// A container's configuration: GET and PUT .../config, GET .../pending
// (pve-container API2/LXC/Config.pm, API2/LXC.pm vm_pending); the work is
// in package ops.

// configPrivs are the privileges of which PUT .../config needs one at
// the door.
var configPrivs = []string{"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options"}

func (s *Sim) configRoutes(rr *router) {
	rr.add(&route{
		name: "vm_config", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/config",
		allowToken: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Audit"},
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"current":  {Type: "boolean", Optional: true},
			"snapshot": {Type: "string", Optional: true, Format: "pve-configid", MaxLength: 40}},
		fn: s.getConfig,
	})
	put := schema{"node": nodeParam, "vmid": vmidParam,
		"delete": {Type: "string", Optional: true, Format: "pve-configid-list"},
		"revert": {Type: "string", Optional: true, Format: "pve-configid-list"},
		"digest": {Type: "string", Optional: true, MaxLength: 40},
	}
	for name, k := range s.cluster.Keys {
		put[name] = k.Prop
	}
	rr.add(&route{
		name: "update_vm", method: http.MethodPut, path: "/nodes/{node}/lxc/{vmid}/config",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: configPrivs, checkAny: true,
		params: put,
		fn:     s.putConfig,
	})
	rr.add(&route{
		name: "vm_pending", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/pending",
		allowToken: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Audit"},
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.getPending,
	})
}

// getConfig is GET .../config.
func (s *Sim) getConfig(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	snapshot, _ := c.params.str("snapshot")
	if !perlTrue(snapshot, true) {
		snapshot = ""
	}
	return s.ops.Config(c.caller(), vmid, c.flag("current"), snapshot)
}

// getPending is GET .../pending.
func (s *Sim) getPending(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	return s.ops.Pending(c.caller(), vmid)
}

// putConfig is PUT .../config; it answers null.
func (s *Sim) putConfig(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	u := ops.ConfigUpdate{Set: map[string]string{}}
	u.Digest, _ = c.params.str("digest")
	u.Delete, u.HasDelete = c.params.str("delete")
	u.Revert, u.HasRevert = c.params.str("revert")
	for k := range c.params {
		switch k {
		case "node", "vmid", "digest", "delete", "revert":
			continue
		}
		if v, ok := c.params.str(k); ok {
			u.Set[k] = v
		}
	}
	return nil, s.ops.SetConfig(c.caller(), vmid, u)
}

// resizeRoutes registers PUT .../resize (pve-container API2/LXC.pm
// resize_vm).
func (s *Sim) resizeRoutes(rr *router) {
	disks := []string{"rootfs"}
	for i := 0; i < state.MaxMountPoints; i++ {
		disks = append(disks, "mp"+itoa(i))
	}
	rr.add(&route{
		name: "resize_vm", method: http.MethodPut, path: "/nodes/{node}/lxc/{vmid}/resize",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Config.Disk"}, checkAny: true,
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"disk":   {Type: "string", Enum: disks},
			"size":   {Type: "string", Pattern: `\+?\d+(\.\d+)?[KMGT]?`},
			"digest": {Type: "string", Optional: true, MaxLength: 40}},
		fn: s.resize,
	})
}

// resize is PUT .../resize; it answers the task's UPID.
func (s *Sim) resize(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	disk, _ := c.params.str("disk")
	size, _ := c.params.str("size")
	digest, _ := c.params.str("digest")
	return s.ops.Resize(c.caller(), vmid, disk, size, digest)
}
