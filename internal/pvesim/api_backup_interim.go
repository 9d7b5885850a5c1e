package pvesim

import (
	"net/http"
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// INTERIM (snapshots and backups branch): GET
// /nodes/{node}/storage/{storage}/content, GET /cluster/nextid and POST
// /nodes/{node}/lxc, as far as backups need them, until the create
// branch's storage model is merged. Then this file goes:
//   - its storage content list must add ops.BackupContent's entries (or
//     keep the archives as its stored volumes with notes and protection);
//   - its create_vm must hand restore=1 to ops.Restore (RestoreRequest);
//   - its nextid replaces nextID below (same behaviour).
// Without restore, POST /nodes/{node}/lxc answers that creating is not
// simulated in this branch.

func (s *Sim) backupInterimRoutes(rr *router) {
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/nodes/{node}/storage/{storage}/content",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/storage/{storage}", checkPrivs: []string{"Datastore.Audit", "Datastore.AllocateSpace"}, checkAny: true,
		params: schema{"node": nodeParam, "storage": storageIDParam,
			"content": {Type: "string", Optional: true, Format: "pve-storage-content"},
			"vmid":    {Type: "integer", Optional: true, Format: "pve-vmid", Minimum: fptr(100), Maximum: fptr(999999999)}},
		fn: s.interimContent,
	})
	rr.add(&route{
		name: "nextid", method: http.MethodGet, path: "/cluster/nextid",
		allowToken: true,
		params:     schema{"vmid": {Type: "integer", Optional: true, Format: "pve-vmid", Minimum: fptr(100), Maximum: fptr(999999999)}},
		fn:         s.nextID,
	})
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
		fn:     s.interimCreate,
	})
}

// interimContent is GET .../storage/{storage}/content for backups.
func (s *Sim) interimContent(c *call) (any, error) {
	sid, _ := c.params.str("storage")
	content, _ := c.params.str("content")
	return s.ops.BackupContent(c.caller(), sid, content, c.intParam("vmid", 0))
}

// nextID is GET /cluster/nextid: the lowest free vmid from 100 as a
// string, or the given one if it is free.
func (s *Sim) nextID(c *call) (any, error) {
	if v, ok := c.params.str("vmid"); ok {
		n, _ := strconv.Atoi(v)
		if s.cluster.Guests[n] != nil {
			return nil, paramError(map[string]string{"vmid": "VM " + v + " already exists"})
		}
		return v, nil
	}
	for id := 100; id < 1000000; id++ {
		if s.cluster.Guests[id] == nil {
			return strconv.Itoa(id), nil
		}
	}
	return nil, internalError("unable to get any free VMID in range [100, 999999]\n")
}

// createExtras are create_vm's parameters that are no options.
var restoreExtras = map[string]bool{"node": true, "vmid": true, "ostemplate": true, "password": true,
	"storage": true, "force": true, "restore": true, "unique": true, "pool": true, "ignore-unpack-errors": true,
	"ssh-public-keys": true, "bwlimit": true, "start": true, "ha-managed": true, "unprivileged": true}

// interimCreate is POST /nodes/{node}/lxc for restore=1.
func (s *Sim) interimCreate(c *call) (any, error) {
	if !c.flag("restore") {
		return nil, state.Dief("creating containers from templates is not simulated in this version\n")
	}
	r := ops.RestoreRequest{Options: map[string]string{}, VMID: c.intParam("vmid", 0)}
	r.Archive, _ = c.params.str("ostemplate")
	r.Storage, _ = c.params.str("storage")
	r.Pool, _ = c.params.str("pool")
	r.Unprivileged, _ = c.params.str("unprivileged")
	r.Force, r.Unique, r.Start = c.flag("force"), c.flag("unique"), c.flag("start")
	for k := range c.params {
		if restoreExtras[k] {
			continue
		}
		if v, ok := c.params.str(k); ok {
			r.Options[k] = v
		}
	}
	return s.ops.Restore(c.caller(), r)
}
