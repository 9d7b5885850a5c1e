package state

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// GiB is 2^30 bytes.
const GiB = int64(1) << 30

// StatInterval is pvestatd's update cycle ($updatetime); RRDExpiry is how
// long pmxcfs keeps a status entry that is no longer refreshed (seconds,
// compared like pmxcfs: age > 300 is gone).
const (
	StatInterval = 10 * time.Second
	RRDExpiry    = 300
)

// NodeNameRe is PVE's node name syntax (pve-node).
var NodeNameRe = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)

// Node is one cluster member.
type Node struct {
	Name        string
	Index       int // position in the node list (nodeid-1)
	Online      bool
	OfflineAt   time.Time // when it went offline (zero while online)
	Level       string    // subscription level, "" for none
	MaxCPU      int
	CPU         float64 // typical fraction of MaxCPU
	MaxMem, Mem int64
	MaxDisk     int64 // root file system
	Disk        int64
	Boot        time.Time // for uptime, on the simulated clock
	Fingerprint string    // SHA-256 of the node certificate, "AB:CD:..."
	IP          string
	Phase       time.Duration // offset of its pvestatd cycle
	Seed        uint64
	NextPID     int64 // next worker pid
}

// NewNodes creates the members with plausible, stable statistics.
func NewNodes(names []string, now time.Time) ([]*Node, error) {
	seen := map[string]bool{}
	out := make([]*Node, 0, len(names))
	for i, name := range names {
		if !NodeNameRe.MatchString(name) {
			return nil, fmt.Errorf("invalid node name %q", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate node name %q", name)
		}
		seen[name] = true
		maxcpu := []int{16, 12, 8}[i%3]
		maxmem := []int64{64, 48, 32}[i%3] * GiB
		maxdisk := []int64{94, 94, 58}[i%3] * GiB
		out = append(out, &Node{
			Name:        name,
			Index:       i,
			Online:      true,
			MaxCPU:      maxcpu,
			CPU:         math.Round((0.021+0.0137*float64(i%5))*1e4) / 1e4,
			MaxMem:      maxmem,
			Mem:         maxmem/4 + int64(i%4)*1536*(1<<20),
			MaxDisk:     maxdisk,
			Disk:        maxdisk/8 + int64(i%3)*2*GiB,
			Boot:        now.Add(-(72*time.Hour + time.Duration(i)*17*time.Hour + 1234*time.Second)),
			Fingerprint: randomFingerprint(),
			IP:          fmt.Sprintf("192.168.%d.%d", 100+(i+11)/250, (i+11)%250),
			Phase:       time.Duration((i*3)%10) * time.Second,
			Seed:        HashString(name),
			NextPID:     int64(98000 + (i*7919)%20000),
		})
	}
	return out, nil
}

// Broadcast returns when n last sent its status to pmxcfs (pvestatd runs
// every 10 s, each node in its own phase; an offline node stopped sending
// when it went down) and whether pmxcfs still holds that data at now.
func (n *Node) Broadcast(now time.Time) (time.Time, bool) {
	ref := now
	if !n.Online {
		ref = n.OfflineAt
	}
	bt := ref.Add(-n.Phase).Truncate(StatInterval).Add(n.Phase)
	return bt, now.Unix()-bt.Unix() <= RRDExpiry
}

// CPUAt is the node's CPU usage (fraction) sampled at t.
func (n *Node) CPUAt(t time.Time) float64 {
	return Round4(n.CPU * (0.7 + 0.6*Unit(n.Seed, uint64(t.Unix()/10))))
}

// MemAt is the node's used memory sampled at t.
func (n *Node) MemAt(t time.Time) int64 {
	return n.Mem + int64(float64(n.MaxMem)*0.02*Unit(n.Seed^0x5bd1e995, uint64(t.Unix()/10)))
}

// randomFingerprint stands in for the certificate of a node the simulator
// does not serve.
func randomFingerprint() string {
	b := make([]byte, sha256.Size)
	_, _ = rand.Read(b)
	return FormatFingerprint(b)
}

// FormatFingerprint prints bytes as upper-case hex pairs joined by ':'.
func FormatFingerprint(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}
