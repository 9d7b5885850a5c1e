package pvesim

import (
	"net/http"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// GET /nodes and GET /version (pve-manager API2/Nodes.pm index,
// API2Tools.pm extract_node_stats, API2.pm version).

const gib = state.GiB

// formatFingerprint prints bytes as upper-case hex pairs joined by ':'.
func formatFingerprint(b []byte) string { return state.FormatFingerprint(b) }

// setLocalFingerprint records the certificate actually served (by Start)
// as the first node's, which is the node answering the API.
func (s *Sim) setLocalFingerprint(fp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.localNode().Fingerprint = fp
}

func (s *Sim) nodeRoutes(rr *router) {
	rr.add(&route{
		name: "version", method: http.MethodGet, path: "/version",
		allowToken: true,
		fn: func(*call) (any, error) {
			return map[string]any{"version": s.version, "release": s.release, "repoid": s.repoid}, nil
		},
	})
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/nodes",
		allowToken: true,
		fn:         s.listNodes,
	})
}

// nodeEntry is extract_node_stats: the values come from the node's last
// pvestatd broadcast; without fresh data there is neither level nor any
// statistic; statistics only with Sys.Audit on /nodes/<node>; live values
// only while online.
func (s *Sim) nodeEntry(n *state.Node, audit bool, now time.Time) map[string]any {
	e := map[string]any{
		"id":     "node/" + n.Name,
		"node":   n.Name,
		"type":   "node",
		"status": "unknown",
	}
	if bt, fresh := n.Broadcast(now); fresh {
		if n.Online {
			if audit {
				up := int64(bt.Sub(n.Boot) / time.Second)
				if up < 0 {
					up = 0
				}
				e["uptime"] = up
				e["cpu"] = n.CPUAt(bt)
				e["mem"] = n.MemAt(bt)
				e["disk"] = n.Disk
			}
			e["status"] = "online"
		}
		e["level"] = n.Level
		if audit {
			e["maxcpu"] = n.MaxCPU
			e["maxmem"] = n.MaxMem
			e["maxdisk"] = n.MaxDisk
		}
	}
	if !n.Online {
		e["status"] = "offline"
	}
	return e
}

// listNodes is GET /nodes.
func (s *Sim) listNodes(c *call) (any, error) {
	out := make([]map[string]any, 0, len(s.cluster.Nodes))
	for _, n := range s.cluster.SortedNodes() {
		e := s.nodeEntry(n, s.acl.Can(c.user, "/nodes/"+n.Name, "Sys.Audit"), s.now())
		e["ssl_fingerprint"] = n.Fingerprint
		out = append(out, e)
	}
	return out, nil
}
