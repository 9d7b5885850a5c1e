package pvesim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Storages of a node and their content (pve-storage API2/Storage/Status.pm
// index, API2/Storage/Content.pm index).

// storageFormats are the formats of storage and pool parameters
// (pve-common parse_storage_id, pve-storage verify_content,
// pve-access-control verify_poolname).
func storageFormats() js.Registry {
	contents := map[string]bool{"images": true, "rootdir": true, "vztmpl": true, "iso": true, "backup": true,
		"snippets": true, "import": true, "none": true}
	return js.Registry{
		"pve-storage-id": func(v string) string {
			if len(v) < 2 {
				return fmt.Sprintf("storage ID '%s' cannot be shorter than 2 characters\n", v)
			}
			if !state.StorageIDRe.MatchString(v) {
				return fmt.Sprintf("storage ID '%s' contains illegal characters\n", v)
			}
			return ""
		},
		"pve-storage-content": func(v string) string {
			if !contents[v] {
				return fmt.Sprintf("invalid content type '%s'\n", v)
			}
			return ""
		},
		"pve-poolid": func(v string) string {
			if strings.Count(v, "/") > 2 {
				return fmt.Sprintf("pool name '%s' nested too deeply (max levels = 3)\n", v)
			}
			if !poolNameRe.MatchString(v) {
				return fmt.Sprintf("pool name '%s' contains invalid characters\n", v)
			}
			return ""
		},
	}
}

var (
	storageParam = prop{Type: "string", Format: "pve-storage-id"}
	poolNameRe   = regexp.MustCompile(`^[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}$`)
)

func (s *Sim) storageRoutes(rr *router) {
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/nodes/{node}/storage",
		allowToken: true, protected: true, proxyTo: "node",
		params: schema{"node": nodeParam,
			"content": {Type: "string", Optional: true, Format: "pve-storage-content-list"},
			"enabled": {Type: "boolean", Optional: true},
			"format":  {Type: "boolean", Optional: true},
			"storage": {Type: "string", Optional: true, Format: "pve-storage-id"},
			"target":  {Type: "string", Optional: true, Format: "pve-node"}},
		fn: s.listStorages,
	})
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/nodes/{node}/storage/{storage}/content",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/storage/{storage}", checkPrivs: []string{"Datastore.Audit", "Datastore.AllocateSpace"}, checkAny: true,
		params: schema{"node": nodeParam, "storage": storageParam,
			"content": {Type: "string", Optional: true, Format: "pve-storage-content"},
			"vmid":    {Type: "integer", Optional: true, Format: "pve-vmid", Minimum: fptr(100), Maximum: fptr(999999999)}},
		fn: s.storageContent,
	})
}

// listStorages is GET /nodes/{node}/storage: the storages the user may
// audit or allocate on, with their status as this node sees it.
func (s *Sim) listStorages(c *call) (any, error) {
	content, hasContent := c.params.str("content")
	only, _ := c.params.str("storage")
	target, _ := c.params.str("target")
	if target == "localhost" || target == c.node.Name {
		target = ""
	}
	if only != "" && s.cluster.StorageByID(only) == nil {
		return nil, paramError(map[string]string{"storage": "No such storage."})
	}
	usage := s.cluster.StorageUsage()
	out := []map[string]any{}
	for i := range s.cluster.Storages {
		st := &s.cluster.Storages[i]
		if hasContent {
			want := false
			for _, ct := range perl.SplitList(content) {
				want = want || st.Supports(ct)
			}
			if !want {
				continue
			}
		}
		if s.acl.CheckAny(c.user, "/storage/"+st.ID, "Datastore.Audit", "Datastore.AllocateSpace") != nil {
			continue
		}
		if only != "" && only != st.ID {
			continue
		}
		if target != "" && (!st.Shared || s.cluster.NodeByName(target) == nil) {
			continue
		}
		total, used := s.cluster.StorageTotal(st, c.node), s.cluster.StorageUsed(usage, st, c.node)
		e := map[string]any{"storage": st.ID, "type": st.Type, "content": st.Content, "shared": boolInt(st.Shared),
			"enabled": 1, "active": 1, "total": total, "used": used, "avail": total - used}
		if total > 0 {
			e["used_fraction"] = float64(used) / float64(total)
		}
		if c.flag("format") {
			def, supported := "raw", []string{"raw"}
			if st.Type == "dir" || st.Type == "nfs" {
				supported = []string{"qcow2", "raw", "vmdk"}
				def = "qcow2"
			}
			valid := map[string]int{}
			for _, f := range supported {
				valid[f] = 1
			}
			e["format"] = []any{valid, def} // deprecated, still sent
			if s.versionAtLeast(9, 0, 0) {
				e["formats"] = map[string]any{"supported": supported, "default": def}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// storageContent is GET .../storage/{storage}/content: the volumes, each
// passed through check_volume_access (the ones the user may not use are
// left out without a word).
func (s *Sim) storageContent(c *call) (any, error) {
	sid, _ := c.params.str("storage")
	if s.cluster.StorageByID(sid) == nil {
		return nil, state.Dief("storage '%s' does not exist\n", sid)
	}
	content, _ := c.params.str("content")
	vmid := c.intParam("vmid", 0)
	out := []map[string]any{}
	for _, v := range s.cluster.ListVolumes(sid, c.node, content, vmid) {
		if s.ops.CheckVolumeAccess(c.user, 0, v.VolID, "") != nil {
			continue
		}
		out = append(out, volumeEntry(v))
	}
	return out, nil
}

// volumeEntry is a volume as the content list shows it.
func volumeEntry(v state.Volume) map[string]any {
	e := map[string]any{"volid": v.VolID, "content": v.Content, "format": v.Format, "size": v.Size}
	if v.CTime != 0 {
		e["ctime"] = v.CTime
	}
	if v.VMID != 0 {
		e["vmid"] = v.VMID
	}
	if v.Notes != "" {
		first, _, _ := strings.Cut(v.Notes, "\n")
		e["notes"] = first
	}
	if v.Protected {
		e["protected"] = 1
	}
	if v.Parent != "" {
		e["parent"] = v.Parent
	}
	if v.Subtype != "" {
		e["subtype"] = v.Subtype
	}
	return e
}
