package pvesim

import (
	"net/http"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
)

// Creating, cloning, converting and destroying containers (pve-container
// API2/LXC.pm create_vm, clone_vm, template, destroy_vm); the work is in
// package ops.

// createExtras are create_vm's parameters that are not configuration
// options.
var createExtras = []string{"node", "vmid", "ostemplate", "password", "storage", "force", "restore", "unique",
	"pool", "ignore-unpack-errors", "ssh-public-keys", "bwlimit", "start", "ha-managed"}

func (s *Sim) createRoutes(rr *router) {
	create := schema{"node": nodeParam, "vmid": vmidParam,
		"ostemplate":           {Type: "string", MaxLength: 255},
		"password":             {Type: "string", Optional: true, MinLength: 5},
		"storage":              {Type: "string", Optional: true, Format: "pve-storage-id"},
		"force":                {Type: "boolean", Optional: true},
		"restore":              {Type: "boolean", Optional: true},
		"unique":               {Type: "boolean", Optional: true, Requires: "restore"},
		"pool":                 {Type: "string", Optional: true, Format: "pve-poolid"},
		"ignore-unpack-errors": {Type: "boolean", Optional: true},
		"ssh-public-keys":      {Type: "string", Optional: true},
		"bwlimit":              {Type: "number", Optional: true},
		"start":                {Type: "boolean", Optional: true},
	}
	if s.versionAtLeast(9, 1, 0) {
		create["ha-managed"] = prop{Type: "boolean", Optional: true}
	}
	for name, k := range s.cluster.Keys {
		create[name] = k.Prop
	}
	rr.add(&route{
		name: "create_vm", method: http.MethodPost, path: "/nodes/{node}/lxc",
		allowToken: true, protected: true, proxyTo: "node",
		params: create,
		fn:     s.createCT,
	})
	rr.add(&route{
		name: "destroy_vm", method: http.MethodDelete, path: "/nodes/{node}/lxc/{vmid}",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Allocate"},
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"force":                      {Type: "boolean", Optional: true},
			"purge":                      {Type: "boolean", Optional: true},
			"destroy-unreferenced-disks": {Type: "boolean", Optional: true}},
		fn: s.destroyCT,
	})
	rr.add(&route{
		name: "template", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/template",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Allocate"},
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.templateCT,
	})
	rr.add(&route{
		name: "clone_vm", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/clone",
		allowToken: true, protected: true, proxyTo: "node",
		checkExpr: []any{"and",
			[]any{"perm", "/vms/{vmid}", []any{"VM.Clone"}},
			[]any{"or",
				[]any{"perm", "/vms/{newid}", []any{"VM.Allocate"}},
				[]any{"perm", "/pool/{pool}", []any{"VM.Allocate"}, "require_param", "pool"}}},
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"newid":       vmidParam,
			"hostname":    {Type: "string", Optional: true, Format: "dns-name"},
			"description": {Type: "string", Optional: true},
			"pool":        {Type: "string", Optional: true, Format: "pve-poolid"},
			"snapname":    {Type: "string", Optional: true, Format: "pve-configid", MaxLength: 40},
			"storage":     {Type: "string", Optional: true, Format: "pve-storage-id"},
			"full":        {Type: "boolean", Optional: true},
			"target":      {Type: "string", Optional: true, Format: "pve-node"},
			"bwlimit":     {Type: "number", Optional: true}},
		fn: s.cloneCT,
	})
}

// createCT is POST /nodes/{node}/lxc.
func (s *Sim) createCT(c *call) (any, error) {
	r := ops.CreateRequest{Options: map[string]string{}}
	r.VMID = c.intParam("vmid", 0)
	r.OSTemplate, _ = c.params.str("ostemplate")
	r.Storage, _ = c.params.str("storage")
	r.Pool, _ = c.params.str("pool")
	r.SSHKeys, r.HasSSHKeys = c.params.str("ssh-public-keys")
	r.Unprivileged, _ = c.params.str("unprivileged")
	r.Start, r.HAManaged = c.flag("start"), c.flag("ha-managed")
	extra := map[string]bool{"unprivileged": true}
	for _, k := range createExtras {
		extra[k] = true
	}
	for k := range c.params {
		if extra[k] {
			continue
		}
		if v, ok := c.params.str(k); ok {
			r.Options[k] = v
		}
	}
	if c.flag("restore") {
		// A restore (restore=1, the backup's volid as ostemplate) is
		// create_vm's other path: ops.Restore, the vzrestore task.
		return s.ops.Restore(c.caller(), ops.RestoreRequest{VMID: r.VMID, Archive: r.OSTemplate, Storage: r.Storage,
			Pool: r.Pool, Unprivileged: r.Unprivileged, Force: c.flag("force"), Unique: c.flag("unique"),
			Start: r.Start, Options: r.Options})
	}
	return s.ops.Create(c.caller(), r)
}

// destroyCT is DELETE /nodes/{node}/lxc/{vmid}.
func (s *Sim) destroyCT(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	return s.ops.Destroy(c.caller(), ops.DestroyRequest{VMID: vmid, Force: c.flag("force"), Purge: c.flag("purge"),
		DestroyUnreferencedDisks: c.flag("destroy-unreferenced-disks")})
}

// templateCT is POST .../template; it answers null.
func (s *Sim) templateCT(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	return nil, s.ops.Template(c.caller(), vmid)
}

// cloneCT is POST .../clone.
func (s *Sim) cloneCT(c *call) (any, error) {
	r := ops.CloneRequest{NewID: c.intParam("newid", 0)}
	r.VMID, _ = c.params.str("vmid")
	r.Hostname, _ = c.params.str("hostname")
	r.Description, _ = c.params.str("description")
	r.Pool, _ = c.params.str("pool")
	r.Snapname, _ = c.params.str("snapname")
	r.Storage, _ = c.params.str("storage")
	r.Target, _ = c.params.str("target")
	if v, ok := c.params.str("full"); ok {
		r.Full = "0"
		if perlTrue(v, true) {
			r.Full = "1"
		}
	}
	return s.ops.Clone(c.caller(), r)
}
