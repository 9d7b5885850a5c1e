package pvesim

import (
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// What the named scenarios keep on their storages: the pools' comments,
// a Debian 12 template in every node's local storage (downloaded a month
// ago) and an Ubuntu 24.04 one on the shared NFS export.

// DemoTemplate is the template every node of a named scenario has in its
// local storage.
const DemoTemplate = "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"

// SharedTemplate is the template on the shared NFS storage.
const SharedTemplate = "nfs:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"

func seedStorage(s *Sim) {
	s.cluster.PoolComments = map[string]string{"dev": "Development", "prod": "Production"}
	ctime := s.now().Add(-30 * 24 * time.Hour).Unix()
	put := func(volid string, n *state.Node) {
		sid, volname, _ := state.SplitVolID(volid)
		a, ok := ops.ApplianceByTemplate(volname[len("vztmpl/"):])
		if !ok {
			return
		}
		s.cluster.PutVolume(sid, n, state.Volume{VolID: volid, Content: "vztmpl",
			Format: state.FileFormat("vztmpl", a.Template), Size: a.Size, CTime: ctime})
	}
	for _, n := range s.cluster.Nodes {
		put(DemoTemplate, n)
	}
	put(SharedTemplate, nil)
}
