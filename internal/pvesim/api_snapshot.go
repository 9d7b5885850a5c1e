package pvesim

import (
	"net/http"
)

// Snapshots of a container: GET, POST .../snapshot, DELETE
// .../snapshot/{snapname}, the per-snapshot index, .../rollback, GET and
// PUT .../config (pve-container API2/LXC/Snapshot.pm), and GET
// .../feature (API2/LXC.pm vm_feature), which the GUI asks before it
// offers "Take Snapshot". The work is in package ops.

// snapnameParam is pve-snapshot-name (a pve-configid of at most 40
// characters).
var snapnameParam = prop{Type: "string", Format: "pve-configid", MaxLength: 40}

func (s *Sim) snapshotRoutes(rr *router) {
	base := "/nodes/{node}/lxc/{vmid}/snapshot"
	snap := []string{"VM.Snapshot"}
	rr.add(&route{
		name: "list", method: http.MethodGet, path: base,
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Audit"},
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.listSnapshots,
	})
	rr.add(&route{
		name: "snapshot", method: http.MethodPost, path: base,
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: snap,
		params: schema{"node": nodeParam, "vmid": vmidParam, "snapname": snapnameParam,
			"description": {Type: "string", Optional: true}},
		fn: s.takeSnapshot,
	})
	rr.add(&route{
		name: "delsnapshot", method: http.MethodDelete, path: base + "/{snapname}",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: snap,
		params: schema{"node": nodeParam, "vmid": vmidParam, "snapname": snapnameParam,
			"force": {Type: "boolean", Optional: true}},
		fn: s.deleteSnapshot,
	})
	rr.add(&route{
		name: "snapshot_cmd_idx", method: http.MethodGet, path: base + "/{snapname}",
		allowToken: true,
		params:     schema{"node": nodeParam, "vmid": vmidParam, "snapname": snapnameParam},
		fn: func(*call) (any, error) {
			return []map[string]string{{"cmd": "rollback"}, {"cmd": "config"}}, nil
		},
	})
	rr.add(&route{
		name: "rollback", method: http.MethodPost, path: base + "/{snapname}/rollback",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Snapshot", "VM.Snapshot.Rollback"}, checkAny: true,
		params: schema{"node": nodeParam, "vmid": vmidParam, "snapname": snapnameParam,
			"start": {Type: "boolean", Optional: true}},
		fn: s.rollbackSnapshot,
	})
	rr.add(&route{
		name: "get_snapshot_config", method: http.MethodGet, path: base + "/{snapname}/config",
		allowToken: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Snapshot", "VM.Snapshot.Rollback", "VM.Audit"}, checkAny: true,
		params: schema{"node": nodeParam, "vmid": vmidParam, "snapname": snapnameParam},
		fn:     s.snapshotConfig,
	})
	rr.add(&route{
		name: "update_snapshot_config", method: http.MethodPut, path: base + "/{snapname}/config",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: snap,
		params: schema{"node": nodeParam, "vmid": vmidParam, "snapname": snapnameParam,
			"description": {Type: "string", Optional: true}},
		fn: s.updateSnapshotConfig,
	})
	rr.add(&route{
		name: "vm_feature", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/feature",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Audit"},
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"feature":  {Type: "string", Enum: []string{"snapshot", "clone", "copy"}},
			"snapname": {Type: "string", Optional: true, Format: "pve-configid", MaxLength: 40}},
		fn: s.feature,
	})
}

// snapArgs reads the vmid and snapname path parameters.
func (c *call) snapArgs() (vmid, snapname string) {
	vmid, _ = c.params.str("vmid")
	snapname, _ = c.params.str("snapname")
	return vmid, snapname
}

func (s *Sim) listSnapshots(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	return s.ops.Snapshots(c.caller(), vmid)
}

func (s *Sim) takeSnapshot(c *call) (any, error) {
	vmid, name := c.snapArgs()
	description, _ := c.params.str("description")
	return s.ops.Snapshot(c.caller(), vmid, name, description)
}

func (s *Sim) deleteSnapshot(c *call) (any, error) {
	vmid, name := c.snapArgs()
	return s.ops.DeleteSnapshot(c.caller(), vmid, name)
}

func (s *Sim) rollbackSnapshot(c *call) (any, error) {
	vmid, name := c.snapArgs()
	return s.ops.Rollback(c.caller(), vmid, name, c.flag("start"))
}

func (s *Sim) snapshotConfig(c *call) (any, error) {
	vmid, name := c.snapArgs()
	return s.ops.SnapshotConfig(c.caller(), vmid, name)
}

// updateSnapshotConfig is PUT .../snapshot/{snapname}/config; it answers
// null.
func (s *Sim) updateSnapshotConfig(c *call) (any, error) {
	vmid, name := c.snapArgs()
	var desc *string
	if d, ok := c.params.str("description"); ok {
		desc = &d
	}
	return nil, s.ops.SetSnapshotDescription(c.caller(), vmid, name, desc)
}

func (s *Sim) feature(c *call) (any, error) {
	vmid, name := c.snapArgs()
	feature, _ := c.params.str("feature")
	if !perlTrue(name, true) {
		name = ""
	}
	return s.ops.Feature(c.caller(), vmid, feature, name)
}
