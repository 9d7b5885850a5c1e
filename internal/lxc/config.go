package lxc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Config is a container's configuration as GET .../config returns it:
// every key with its value as text (PVE sends numbers and 0/1 booleans as
// JSON numbers, cpulimit as a string; here all are text), and the digest
// that a later change must quote so that PVE refuses it when somebody else
// changed the configuration in between.
type Config struct {
	Values map[string]string
	Digest string
}

// Get returns the value of key, or "" when it is not set.
func (c Config) Get(key string) string { return c.Values[key] }

// Has reports whether key is set.
func (c Config) Has(key string) bool {
	_, ok := c.Values[key]
	return ok
}

// Int returns key as an integer, or def when it is not set or not a number.
func (c Config) Int(key string, def int64) int64 {
	v, ok := c.Values[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return def
	}
	return int64(n)
}

// Bool returns key as PVE's 0/1 boolean, or def when it is not set.
func (c Config) Bool(key string, def bool) bool {
	v, ok := c.Values[key]
	if !ok {
		return def
	}
	return v == "1" || v == "true" || v == "yes" || v == "on"
}

// NetKeys returns the network interface keys (net0, net1, ...) in numeric
// order.
func (c Config) NetKeys() []string {
	var keys []string
	for k := range c.Values {
		if _, ok := NetIndex(k); ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := NetIndex(keys[i])
		b, _ := NetIndex(keys[j])
		return a < b
	})
	return keys
}

// MaxNetIfs is how many network interfaces a container may have (net0 to
// net31 in PVE 8 and 9).
const MaxNetIfs = 32

// NetIndex returns N of a key "netN" (0 ≤ N < MaxNetIfs).
func NetIndex(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, "net")
	if !ok || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n >= MaxNetIfs {
		return 0, false
	}
	return n, true
}

// PropertyString is one of PVE's "key=value,key=value" values (net0,
// rootfs, features, startup). The first item may be a bare value for the
// property's default key (rootfs: the volume). Order is kept so that a value
// written back changes only what was edited.
type PropertyString struct {
	Default string // the bare first item, if any
	Keys    []string
	Vals    map[string]string
}

// ParsePropertyString splits s. Items without '=' other than the first are
// kept as keys with an empty value.
func ParsePropertyString(s string) PropertyString {
	p := PropertyString{Vals: map[string]string{}}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok && i == 0 {
			p.Default = item
			continue
		}
		if _, dup := p.Vals[k]; !dup {
			p.Keys = append(p.Keys, k)
		}
		p.Vals[k] = v
	}
	return p
}

// Get returns the value of k.
func (p PropertyString) Get(k string) string { return p.Vals[k] }

// Set sets k to v (appending it when new); an empty v removes k.
func (p *PropertyString) Set(k, v string) {
	if p.Vals == nil {
		p.Vals = map[string]string{}
	}
	if v == "" {
		if _, ok := p.Vals[k]; ok {
			delete(p.Vals, k)
			for i, key := range p.Keys {
				if key == k {
					p.Keys = append(p.Keys[:i:i], p.Keys[i+1:]...)
					break
				}
			}
		}
		return
	}
	if _, ok := p.Vals[k]; !ok {
		p.Keys = append(p.Keys, k)
	}
	p.Vals[k] = v
}

// String joins the items again in their order.
func (p PropertyString) String() string {
	var b strings.Builder
	if p.Default != "" {
		b.WriteString(p.Default)
	}
	for _, k := range p.Keys {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p.Vals[k])
	}
	return b.String()
}

// ParseSize reads one of PVE's disk sizes ("8G", "512M", "1.5T", "4096",
// plain numbers are bytes) into bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("lxc: empty size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1 << 10
	case 'M', 'm':
		mult = 1 << 20
	case 'G', 'g':
		mult = 1 << 30
	case 'T', 't':
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("lxc: %q is not a size", s)
	}
	return int64(f * float64(mult)), nil
}

// RootFS is the container's root disk (the rootfs key).
type RootFS struct {
	Volume  string // "local-lvm:vm-101-disk-0"
	Storage string // "local-lvm"
	Size    int64  // bytes; 0 when not given
}

// ParseRootFS reads a rootfs value.
func ParseRootFS(v string) RootFS {
	p := ParsePropertyString(v)
	vol := p.Default
	if vol == "" {
		vol = p.Get("volume")
	}
	r := RootFS{Volume: vol}
	if sid, _, ok := strings.Cut(vol, ":"); ok {
		r.Storage = sid
	}
	if s := p.Get("size"); s != "" {
		r.Size, _ = ParseSize(s)
	}
	return r
}

// ConfigChange is one change of a container's configuration (PUT
// .../config): values to set, keys to delete, keys whose pending change to
// revert, and the digest of the configuration the change was made against.
type ConfigChange struct {
	Set    map[string]string
	Delete []string
	Revert []string
	Digest string
}

// Empty reports whether the change changes nothing.
func (c ConfigChange) Empty() bool {
	return len(c.Set) == 0 && len(c.Delete) == 0 && len(c.Revert) == 0
}

// PendingChange is one entry of GET .../pending: a key whose new value (or
// deletion) waits for the container's next start.
type PendingChange struct {
	Key     string
	Value   string // the value in effect now ("" when unset)
	Pending string // the value after the next start
	Delete  bool   // the key will be removed at the next start
	HasNew  bool   // Pending is set
}

// Interface is a running container's network interface
// (GET .../interfaces).
type Interface struct {
	Name   string
	HWAddr string
	Inet   string // IPv4 with prefix, e.g. "10.0.0.5/24"
	Inet6  string
}

// TaskEntry is one row of a node's task list (GET /nodes/{node}/tasks).
type TaskEntry struct {
	UPID      string
	Node      string
	Type      string
	ID        string
	User      string
	StartTime int64  // unix seconds
	EndTime   int64  // unix seconds; 0 while running
	Status    string // exit status, or "RUNNING"
}

// Running reports whether the task has not ended.
func (t TaskEntry) Running() bool { return t.EndTime == 0 || t.Status == "RUNNING" }

// TaskFilter narrows a node's task list.
type TaskFilter struct {
	VMID  int // 0: all guests
	Limit int // 0: PVE's default (50)
	Start int
	// Source is "archive" (finished tasks, PVE's default), "active" or
	// "all".
	Source string
}

// RRDPoint is one sample of a container's statistics (GET .../rrddata).
// A field PVE left out (no value then, e.g. while the container was stopped)
// is nil, and stays out of the JSON the dashboard serves.
type RRDPoint struct {
	Time      int64    `json:"time"`
	CPU       *float64 `json:"cpu,omitempty"`
	MaxCPU    *float64 `json:"maxcpu,omitempty"`
	Mem       *float64 `json:"mem,omitempty"`
	MaxMem    *float64 `json:"maxmem,omitempty"`
	MemHost   *float64 `json:"memhost,omitempty"`
	Disk      *float64 `json:"disk,omitempty"`
	MaxDisk   *float64 `json:"maxdisk,omitempty"`
	NetIn     *float64 `json:"netin,omitempty"`
	NetOut    *float64 `json:"netout,omitempty"`
	DiskRead  *float64 `json:"diskread,omitempty"`
	DiskWrite *float64 `json:"diskwrite,omitempty"`

	PressureCPUSome    *float64 `json:"pressurecpusome,omitempty"`
	PressureCPUFull    *float64 `json:"pressurecpufull,omitempty"`
	PressureIOSome     *float64 `json:"pressureiosome,omitempty"`
	PressureIOFull     *float64 `json:"pressureiofull,omitempty"`
	PressureMemorySome *float64 `json:"pressurememorysome,omitempty"`
	PressureMemoryFull *float64 `json:"pressurememoryfull,omitempty"`
}

// Timeframes are the RRD time frames PVE offers, shortest first.
func Timeframes() []string { return []string{"hour", "day", "week", "month", "year"} }

// ConsolidationFunctions are the RRD consolidation functions PVE offers.
func ConsolidationFunctions() []string { return []string{"AVERAGE", "MAX"} }
