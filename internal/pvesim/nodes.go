package pvesim

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Nodes, GET /nodes and GET /version (pve-manager API2/Nodes.pm index,
// API2Tools.pm extract_node_stats, API2.pm version).

const (
	gib = int64(1) << 30
)

// node is one cluster member.
type node struct {
	name        string
	online      bool
	level       string // subscription level, "" for none
	maxcpu      int
	cpu         float64 // fraction of maxcpu
	maxmem, mem int64
	maxdisk     int64 // root file system
	disk        int64
	boot        time.Time // for uptime, on the simulated clock
	fingerprint string    // SHA-256 of the node certificate, "AB:CD:..."
}

// newNodes creates the members with plausible, stable statistics.
func newNodes(names []string, now time.Time) ([]*node, error) {
	seen := map[string]bool{}
	out := make([]*node, 0, len(names))
	for i, name := range names {
		if !nodeNameRe.MatchString(name) {
			return nil, fmt.Errorf("pvesim: invalid node name %q", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("pvesim: duplicate node name %q", name)
		}
		seen[name] = true
		maxcpu := []int{16, 12, 8}[i%3]
		maxmem := []int64{64, 48, 32}[i%3] * gib
		maxdisk := []int64{94, 94, 58}[i%3] * gib
		out = append(out, &node{
			name:        name,
			online:      true,
			maxcpu:      maxcpu,
			cpu:         math.Round((0.021+0.0137*float64(i%5))*1e4) / 1e4,
			maxmem:      maxmem,
			mem:         maxmem/4 + int64(i%4)*1536*(1<<20),
			maxdisk:     maxdisk,
			disk:        maxdisk/8 + int64(i%3)*2*gib,
			boot:        now.Add(-(72*time.Hour + time.Duration(i)*17*time.Hour + 1234*time.Second)),
			fingerprint: randomFingerprint(),
		})
	}
	return out, nil
}

// randomFingerprint stands in for the certificate of a node the simulator
// does not serve.
func randomFingerprint() string {
	b := make([]byte, sha256.Size)
	_, _ = rand.Read(b)
	return formatFingerprint(b)
}

// formatFingerprint prints bytes as upper-case hex pairs joined by ':'.
func formatFingerprint(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// setLocalFingerprint records the certificate actually served (by Start)
// as the first node's, which is the node answering the API.
func (s *Sim) setLocalFingerprint(fp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes[0].fingerprint = fp
}

func (s *Sim) nodeRoutes(rr *router) {
	rr.add(&route{
		name: "version", method: http.MethodGet, path: "/version",
		allowToken: true,
		fn: func(*call) (any, *apiError) {
			return map[string]any{"version": s.version, "release": s.release, "repoid": s.repoid}, nil
		},
	})
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/nodes",
		allowToken: true,
		fn:         s.listNodes,
	})
}

// nodeEntry is extract_node_stats (+ ssl_fingerprint): statistics only
// with Sys.Audit on /nodes/<node>; live values only while online.
func (s *Sim) nodeEntry(n *node, audit bool) map[string]any {
	e := map[string]any{
		"id":     "node/" + n.name,
		"node":   n.name,
		"type":   "node",
		"status": "online",
		"level":  n.level,
	}
	if !n.online {
		e["status"] = "offline"
	}
	if audit {
		if n.online {
			up := int64(s.now().Sub(n.boot) / time.Second)
			if up < 0 {
				up = 0
			}
			e["uptime"] = up
			e["cpu"] = n.cpu
			e["mem"] = n.mem
			e["disk"] = n.disk
		}
		e["maxcpu"] = n.maxcpu
		e["maxmem"] = n.maxmem
		e["maxdisk"] = n.maxdisk
	}
	return e
}

// listNodes is GET /nodes.
func (s *Sim) listNodes(c *call) (any, *apiError) {
	out := make([]map[string]any, 0, len(s.nodes))
	for _, n := range s.sortedNodes() {
		e := s.nodeEntry(n, s.perms.can(c.user, "/nodes/"+n.name, "Sys.Audit"))
		e["ssl_fingerprint"] = n.fingerprint
		out = append(out, e)
	}
	return out, nil
}

// sortedNodes returns the members by name (get_nodelist order).
func (s *Sim) sortedNodes() []*node {
	out := append([]*node(nil), s.nodes...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].name < out[j-1].name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
