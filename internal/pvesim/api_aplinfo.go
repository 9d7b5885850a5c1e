package pvesim

import (
	"net/http"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
)

// The appliance index and template downloads (pve-manager API2/Nodes.pm
// aplinfo, apl_download); the index itself is in package ops.

func (s *Sim) aplinfoRoutes(rr *router) {
	rr.add(&route{
		name: "aplinfo", method: http.MethodGet, path: "/nodes/{node}/aplinfo",
		allowToken: true, proxyTo: "node",
		params: schema{"node": nodeParam},
		fn:     s.aplinfo,
	})
	rr.add(&route{
		name: "apl_download", method: http.MethodPost, path: "/nodes/{node}/aplinfo",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/storage/{storage}", checkPrivs: []string{"Datastore.AllocateTemplate"},
		params: schema{"node": nodeParam, "storage": storageParam,
			"template": {Type: "string", MaxLength: 255}},
		fn: s.aplDownload,
	})
}

// aplinfo is GET /nodes/{node}/aplinfo: the cached index, in hash order
// in PVE (by template name here).
func (s *Sim) aplinfo(c *call) (any, error) {
	out := []map[string]any{}
	for _, a := range ops.Appliances() {
		e := map[string]any{
			"template": a.Template, "package": a.Package, "version": a.Version, "os": a.OS,
			"section": a.Section, "headline": a.Headline, "description": a.Description, "type": a.Type,
			"architecture": a.Architecture, "source": a.Source, "location": a.Location(),
			"sha512sum": a.SHA512(), "infopage": a.InfoPage,
			"maintainer": "Proxmox Support Team <support@proxmox.com>",
		}
		if a.ManageURL != "" {
			e["manageurl"] = a.ManageURL
			e["maintainer"] = "Turnkey Linux <support@turnkeylinux.org>"
		}
		out = append(out, e)
	}
	return out, nil
}

// aplDownload is POST /nodes/{node}/aplinfo: the UPID of a download task.
func (s *Sim) aplDownload(c *call) (any, error) {
	sid, _ := c.params.str("storage")
	template, _ := c.params.str("template")
	return s.ops.Download(c.caller(), sid, template)
}
