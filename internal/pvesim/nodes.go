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
	index       int // position in Options.Nodes / the scenario (nodeid-1)
	online      bool
	offlineAt   time.Time // when it went offline (zero while online)
	level       string    // subscription level, "" for none
	maxcpu      int
	cpu         float64 // typical fraction of maxcpu
	maxmem, mem int64
	maxdisk     int64 // root file system
	disk        int64
	boot        time.Time // for uptime, on the simulated clock
	fingerprint string    // SHA-256 of the node certificate, "AB:CD:..."
	ip          string
	phase       time.Duration // offset of its pvestatd cycle
	seed        uint64
	nextPID     int64 // next worker pid
}

// statInterval is pvestatd's update cycle ($updatetime); rrdExpiry is how
// long pmxcfs keeps a status entry that is no longer refreshed.
const (
	statInterval = 10 * time.Second
	rrdExpiry    = 300 // seconds, compared like pmxcfs: age > 300 is gone
)

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
			index:       i,
			online:      true,
			maxcpu:      maxcpu,
			cpu:         math.Round((0.021+0.0137*float64(i%5))*1e4) / 1e4,
			maxmem:      maxmem,
			mem:         maxmem/4 + int64(i%4)*1536*(1<<20),
			maxdisk:     maxdisk,
			disk:        maxdisk/8 + int64(i%3)*2*gib,
			boot:        now.Add(-(72*time.Hour + time.Duration(i)*17*time.Hour + 1234*time.Second)),
			fingerprint: randomFingerprint(),
			ip:          fmt.Sprintf("192.168.%d.%d", 100+(i+11)/250, (i+11)%250),
			phase:       time.Duration((i*3)%10) * time.Second,
			seed:        hashString(name),
			nextPID:     int64(98000 + (i*7919)%20000),
		})
	}
	return out, nil
}

// nodeByName returns the member called name, or nil.
func (s *Sim) nodeByName(name string) *node {
	for _, n := range s.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// broadcast returns when n last sent its status to pmxcfs (pvestatd runs
// every 10 s, each node in its own phase; an offline node stopped sending
// when it went down) and whether pmxcfs still holds that data at now.
func (n *node) broadcast(now time.Time) (time.Time, bool) {
	ref := now
	if !n.online {
		ref = n.offlineAt
	}
	bt := ref.Add(-n.phase).Truncate(statInterval).Add(n.phase)
	return bt, now.Unix()-bt.Unix() <= rrdExpiry
}

// quorate reports whether a majority of the members is online.
func (s *Sim) quorate() bool {
	online := 0
	for _, n := range s.nodes {
		if n.online {
			online++
		}
	}
	return 2*online > len(s.nodes)
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

// nodeEntry is extract_node_stats: the values come from the node's last
// pvestatd broadcast; without fresh data there is neither level nor any
// statistic; statistics only with Sys.Audit on /nodes/<node>; live values
// only while online.
func (s *Sim) nodeEntry(n *node, audit bool, now time.Time) map[string]any {
	e := map[string]any{
		"id":     "node/" + n.name,
		"node":   n.name,
		"type":   "node",
		"status": "unknown",
	}
	if bt, fresh := n.broadcast(now); fresh {
		if n.online {
			if audit {
				up := int64(bt.Sub(n.boot) / time.Second)
				if up < 0 {
					up = 0
				}
				e["uptime"] = up
				e["cpu"] = n.cpuAt(bt)
				e["mem"] = n.memAt(bt)
				e["disk"] = n.disk
			}
			e["status"] = "online"
		}
		e["level"] = n.level
		if audit {
			e["maxcpu"] = n.maxcpu
			e["maxmem"] = n.maxmem
			e["maxdisk"] = n.maxdisk
		}
	}
	if !n.online {
		e["status"] = "offline"
	}
	return e
}

// cpuAt is the node's CPU usage (fraction) sampled at t.
func (n *node) cpuAt(t time.Time) float64 {
	return round4(n.cpu * (0.7 + 0.6*unit(n.seed, uint64(t.Unix()/10))))
}

// memAt is the node's used memory sampled at t.
func (n *node) memAt(t time.Time) int64 {
	return n.mem + int64(float64(n.maxmem)*0.02*unit(n.seed^0x5bd1e995, uint64(t.Unix()/10)))
}

// listNodes is GET /nodes.
func (s *Sim) listNodes(c *call) (any, *apiError) {
	out := make([]map[string]any, 0, len(s.nodes))
	for _, n := range s.sortedNodes() {
		e := s.nodeEntry(n, s.perms.can(c.user, "/nodes/"+n.name, "Sys.Audit"), s.now())
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
