package pvesim

import (
	"fmt"
	"net/http"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
)

// Backups: POST /nodes/{node}/vzdump (pve-manager API2/VZDump.pm), and
// deleting a backup or changing its notes and protection: DELETE and PUT
// /nodes/{node}/storage/{storage}/content/{volume} (pve-storage
// API2/Storage/Content.pm). The archives are listed with the storage's
// other content (api_storage.go) and restored by create_vm with
// restore=1 (api_create.go). The work is in package ops.

// backupFormats are the formats of the backup parameters of their own
// (pve-guest-common's backup-fleecing, backup-performance and
// prune-backups property strings; pve-common's email-or-username);
// storage IDs, content types and pool names are storageFormats'.
func backupFormats() js.Registry {
	propString := func(keys map[string]string) func(string) string {
		return func(v string) string {
			for _, part := range strings.Split(v, ",") {
				k, val, ok := strings.Cut(part, "=")
				typ, known := keys[k]
				switch {
				case !ok || !known:
					return fmt.Sprintf("invalid format - unknown key '%s'\n", k)
				case typ == "int" && !js.IsInteger(val):
					return fmt.Sprintf("%s: type check ('integer') failed - got '%s'\n", k, val)
				case typ == "bool" && val != "0" && val != "1":
					return fmt.Sprintf("%s: type check ('boolean') failed - got '%s'\n", k, val)
				}
			}
			return ""
		}
	}
	return js.Registry{
		"email-or-username": func(v string) string {
			if v == "" || strings.ContainsAny(v, " \t") {
				return fmt.Sprintf("value '%s' does not look like a valid email address or user name\n", v)
			}
			return ""
		},
		"backup-fleecing":    propString(map[string]string{"enabled": "bool", "storage": "string"}),
		"backup-performance": propString(map[string]string{"max-workers": "int", "pbs-entries-max": "int"}),
		"prune-backups": propString(map[string]string{"keep-all": "bool", "keep-last": "int", "keep-hourly": "int",
			"keep-daily": "int", "keep-weekly": "int", "keep-monthly": "int", "keep-yearly": "int"}),
	}
}

// vzdumpSchema is vzdump's parameters in the simulated version.
func (s *Sim) vzdumpSchema() schema {
	b := prop{Type: "boolean", Optional: true}
	str := prop{Type: "string", Optional: true}
	integer := func(min *float64, max *float64) prop {
		return prop{Type: "integer", Optional: true, Minimum: min, Maximum: max}
	}
	sc := schema{"node": {Type: "string", Optional: true, Format: "pve-node"},
		"all": b, "bwlimit": integer(fptr(0), nil),
		"compress":         {Type: "string", Optional: true, Enum: []string{"0", "1", "gzip", "lzo", "zstd"}},
		"dumpdir":          str,
		"exclude":          {Type: "string", Optional: true, Format: "pve-vmid-list"},
		"exclude-path":     {Type: "array", Optional: true},
		"fleecing":         {Type: "string", Optional: true, Format: "backup-fleecing"},
		"ionice":           integer(fptr(0), fptr(8)),
		"job-id":           {Type: "string", Optional: true, MaxLength: 50, Pattern: `\S+`},
		"lockwait":         integer(fptr(0), nil),
		"mailnotification": {Type: "string", Optional: true, Enum: []string{"always", "failure"}},
		"mailto":           {Type: "string", Optional: true, Format: "email-or-username-list"},
		"maxfiles":         integer(fptr(1), nil),
		"mode":             {Type: "string", Optional: true, Enum: []string{"snapshot", "suspend", "stop"}},
		"notes-template":   {Type: "string", Optional: true, MaxLength: 1024, Requires: "storage"},
		"notification-mode": {Type: "string", Optional: true,
			Enum: []string{"auto", "legacy-sendmail", "notification-system"}},
		"pbs-change-detection-mode": {Type: "string", Optional: true, Enum: []string{"legacy", "data", "metadata"}},
		"performance":               {Type: "string", Optional: true, Format: "backup-performance"},
		"pigz":                      integer(nil, nil),
		"pool":                      str,
		"protected":                 {Type: "boolean", Optional: true, Requires: "storage"},
		"prune-backups":             {Type: "string", Optional: true, Format: "prune-backups"},
		"quiet":                     b, "remove": b, "script": str, "stdexcludes": b, "stdout": b, "stop": b,
		"stopwait": integer(fptr(0), nil),
		"storage":  {Type: "string", Optional: true, Format: "pve-storage-id"},
		"tmpdir":   str,
		"vmid":     {Type: "string", Optional: true, Format: "pve-vmid-list"},
		"zstd":     integer(nil, nil),
	}
	if !s.versionAtLeast(9, 0, 0) {
		sc["notification-policy"] = prop{Type: "string", Optional: true, Enum: []string{"always", "failure", "never"}}
		sc["notification-target"] = prop{Type: "string", Optional: true, Format: "pve-configid"}
	}
	return sc
}

func (s *Sim) backupRoutes(rr *router) {
	rr.add(&route{
		name: "vzdump", method: http.MethodPost, path: "/nodes/{node}/vzdump",
		allowToken: true, protected: true, proxyTo: "node",
		params: s.vzdumpSchema(),
		fn:     s.vzdump,
	})
	volume := schema{"node": nodeParam, "storage": {Type: "string", Optional: true, Format: "pve-storage-id"},
		"volume": {Type: "string"}}
	del := schema{"delay": {Type: "integer", Optional: true, Minimum: fptr(1), Maximum: fptr(30)}}
	put := schema{"notes": {Type: "string", Optional: true}, "protected": {Type: "boolean", Optional: true}}
	for k, v := range volume {
		del[k], put[k] = v, v
	}
	rr.add(&route{
		name: "delete", method: http.MethodDelete, path: "/nodes/{node}/storage/{storage}/content/{volume}",
		allowToken: true, protected: true, proxyTo: "node", greedy: true,
		params: del,
		fn:     s.deleteVolume,
	})
	rr.add(&route{
		name: "updateattributes", method: http.MethodPut, path: "/nodes/{node}/storage/{storage}/content/{volume}",
		allowToken: true, protected: true, proxyTo: "node", greedy: true,
		params: put,
		fn:     s.updateVolume,
	})
}

// vzdump is POST /nodes/{node}/vzdump.
func (s *Sim) vzdump(c *call) (any, error) {
	r := ops.VzdumpRequest{Params: map[string]string{}, ClusterName: s.clusterName}
	for k := range c.params {
		if v, ok := c.params.str(k); ok {
			r.Params[k] = v
		}
	}
	r.VMID, _ = c.params.str("vmid")
	r.All, r.Stop, r.Stdout, r.Protected = c.flag("all"), c.flag("stop"), c.flag("stdout"), c.flag("protected")
	r.Pool, _ = c.params.str("pool")
	r.Exclude, _ = c.params.str("exclude")
	r.Storage, _ = c.params.str("storage")
	r.NotesTemplate, _ = c.params.str("notes-template")
	r.Mode, _ = c.params.str("mode")
	if r.Mode == "" {
		r.Mode = "snapshot"
	}
	r.Compress, _ = c.params.str("compress")
	if r.Compress == "" {
		r.Compress = "0"
	}
	return s.ops.Vzdump(c.caller(), r)
}

// deleteVolume is DELETE .../content/{volume}: a UPID; with delay, null
// when the task ended well within it (the simulator never blocks: a task
// that has not ended yet answers its UPID).
func (s *Sim) deleteVolume(c *call) (any, error) {
	sid, _ := c.params.str("storage")
	volume, _ := c.params.str("volume")
	upid, err := s.ops.DeleteBackup(c.caller(), sid, volume)
	if err != nil {
		return nil, err
	}
	if c.params.has("delay") {
		s.tasks.Advance(s.now())
		if t := s.tasks.Get(upid); t != nil && t.Done {
			if t.Exit == "OK" {
				return nil, nil
			}
			return nil, internalError("%s\n", t.Exit)
		}
	}
	return upid, nil
}

// updateVolume is PUT .../content/{volume}; it answers null.
func (s *Sim) updateVolume(c *call) (any, error) {
	sid, _ := c.params.str("storage")
	volume, _ := c.params.str("volume")
	var notes *string
	if v, ok := c.params.str("notes"); ok {
		notes = &v
	} else if _, present := c.params["notes"]; present {
		empty := ""
		notes = &empty
	}
	var protected *bool
	if c.params.has("protected") {
		p := c.flag("protected")
		protected = &p
	}
	return nil, s.ops.UpdateBackup(c.caller(), sid, volume, notes, protected)
}
