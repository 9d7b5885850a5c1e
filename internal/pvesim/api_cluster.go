package pvesim

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// /cluster/resources and /cluster/status (pve-manager API2/Cluster.pm,
// API2Tools.pm extract_*_stats), and GET /nodes/{node}/status.
//
// Statistics in /cluster/resources (and /nodes) come from pmxcfs, which
// holds what each node's pvestatd broadcast last: every 10 s, each node in
// its own phase. So a container stopped by a task still shows "running"
// there for up to 10 s, while status/current is live. pmxcfs drops data
// older than 5 minutes: a node that goes offline keeps its last values for
// 5 minutes, then its guests show only id, vmid, node, type and status
// "unknown".

func (s *Sim) clusterRoutes(rr *router) {
	rr.add(&route{
		name: "resources", method: http.MethodGet, path: "/cluster/resources",
		allowToken: true,
		params:     schema{"type": {Type: "string", Optional: true, Enum: []string{"vm", "storage", "node", "sdn"}}},
		fn:         s.clusterResources,
	})
	rr.add(&route{
		name: "get_status", method: http.MethodGet, path: "/cluster/status",
		allowToken: true, protected: true,
		checkPath: "/", checkPrivs: []string{"Sys.Audit"},
		fn: s.clusterStatus,
	})
	rr.add(&route{
		name: "status", method: http.MethodGet, path: "/nodes/{node}/status",
		allowToken: true, proxyTo: "node",
		checkPath: "/nodes/{node}", checkPrivs: []string{"Sys.Audit"},
		params: schema{"node": {Type: "string", Format: "pve-node"}},
		fn:     s.nodeStatus,
	})
}

// resGuest is a guest entry of /cluster/resources. The embedded stats are
// absent (nil) when pmxcfs has no fresh data on the guest.
type resGuest struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	VMID   int    `json:"vmid"`
	Node   string `json:"node"`
	Status string `json:"status"`
	*resGuestStats
	Tags string `json:"tags,omitempty"`
	Lock string `json:"lock,omitempty"`
	Pool string `json:"pool,omitempty"`
}

type resGuestStats struct {
	Name      string  `json:"name"`
	Uptime    int64   `json:"uptime"`
	Template  int     `json:"template"`
	MaxCPU    float64 `json:"maxcpu"`
	CPU       float64 `json:"cpu"`
	MaxMem    int64   `json:"maxmem"`
	Mem       int64   `json:"mem"`
	MaxDisk   int64   `json:"maxdisk"`
	Disk      int64   `json:"disk"`
	NetIn     int64   `json:"netin"`
	NetOut    int64   `json:"netout"`
	DiskRead  int64   `json:"diskread"`
	DiskWrite int64   `json:"diskwrite"`
	MemHost   *int64  `json:"memhost,omitempty"`
}

// guestRRD is what pmxcfs holds on g at now (nil if nothing fresh).
func (s *Sim) guestRRD(g *state.Guest, now time.Time) *resGuestStats {
	bt, fresh := g.Node.Broadcast(now)
	if !fresh || bt.Before(g.Created) {
		return nil
	}
	st := g.StateAt(bt)
	m := g.StatsAt(st, bt)
	r := &resGuestStats{
		Name: g.DisplayName(), MaxCPU: g.CPUs(), MaxMem: int64(g.MemMiB) << 20, MaxDisk: m.MaxDisk,
		Disk: m.Disk,
	}
	if g.Template {
		r.Template = 1
	}
	if st.Running {
		r.Uptime, r.CPU, r.Mem = m.Uptime, m.CPU, m.Mem
		r.NetIn, r.NetOut, r.DiskRead, r.DiskWrite = m.NetIn, m.NetOut, m.DiskRead, m.DiskWrite
	}
	if s.versionAtLeast(9, 0, 0) {
		// pve-vm-9.0 rows carry memhost; containers leave it undefined (0).
		var mh int64
		if g.Type == "qemu" && st.Running {
			mh = m.Mem + m.Mem/16
		}
		r.MemHost = &mh
	}
	return r
}

// statusOf is the guest's status as pmxcfs reports it.
func statusOf(r *resGuestStats, st state.GuestState) string {
	if r == nil {
		return "unknown"
	}
	if st.Running {
		return "running"
	}
	return "stopped"
}

// clusterResources is GET /cluster/resources.
func (s *Sim) clusterResources(c *call) (any, error) {
	typ, _ := c.params.str("type")
	now := s.now()
	out := []any{}

	type poolAgg struct {
		entry  map[string]any
		uptime int64
		mem    int64
		maxmem int64
		cpu    float64
		maxcpu float64
		any    bool
	}
	pools := map[string]*poolAgg{}
	if typ == "" {
		for _, p := range sortedKeys(s.cluster.Pools) {
			if !s.acl.Can(c.user, "/pool/"+p, "Pool.Audit") {
				continue
			}
			e := map[string]any{"id": "/pool/" + p, "pool": p, "type": "pool"}
			pools[p] = &poolAgg{entry: e}
			out = append(out, e)
		}
	}

	if typ == "" || typ == "vm" {
		audit := s.acl.NewVMAuditor(c.user, "VM.Audit")
		poolAudit := map[string]bool{}
		for _, g := range s.cluster.Order {
			rrd := s.guestRRD(g, now)
			if pa := pools[g.Pool]; pa != nil && rrd != nil && rrd.Uptime > 0 {
				// only running members count, whether or not the user may
				// see them
				if !pa.any || rrd.Uptime > pa.uptime {
					pa.uptime = rrd.Uptime
				}
				pa.any = true
				pa.mem += rrd.Mem
				pa.maxmem += rrd.MaxMem
				if pa.maxcpu+rrd.MaxCPU > 0 {
					pa.cpu = (pa.cpu*pa.maxcpu + rrd.CPU*rrd.MaxCPU) / (pa.maxcpu + rrd.MaxCPU)
				}
				pa.maxcpu += rrd.MaxCPU
			}
			if !audit.Can(g.VMID) {
				continue
			}
			var st state.GuestState
			if rrd != nil {
				bt, _ := g.Node.Broadcast(now)
				st = g.StateAt(bt)
			}
			e := &resGuest{ID: g.Type + "/" + g.ID, Type: g.Type, VMID: g.VMID, Node: g.Node.Name,
				Status: statusOf(rrd, st), resGuestStats: rrd, Tags: g.Tags, Lock: g.Lock}
			if g.Pool != "" {
				ok, seen := poolAudit[g.Pool]
				if !seen {
					ok = s.acl.Can(c.user, "/pool/"+g.Pool, "Pool.Audit")
					poolAudit[g.Pool] = ok
				}
				if ok {
					e.Pool = g.Pool
				}
			}
			out = append(out, e)
		}
	}
	for _, pa := range pools {
		if pa.any {
			pa.entry["uptime"] = pa.uptime
			pa.entry["mem"] = pa.mem
			pa.entry["maxmem"] = pa.maxmem
			pa.entry["cpu"] = pa.cpu
			pa.entry["maxcpu"] = pa.maxcpu
		}
	}

	nodes := s.cluster.SortedNodes()
	if typ == "" || typ == "node" {
		for _, n := range nodes {
			e := s.nodeEntry(n, s.acl.Can(c.user, "/nodes/"+n.Name, "Sys.Audit"), now)
			e["cgroup-mode"] = 2
			out = append(out, e)
		}
	}

	if typ == "" || typ == "storage" {
		var usage map[string]int64
		for i := range s.cluster.Storages {
			sd := &s.cluster.Storages[i]
			if !s.acl.Can(c.user, "/storage/"+sd.ID, "Datastore.Audit") {
				continue
			}
			if usage == nil {
				usage = s.cluster.StorageUsage()
			}
			for _, n := range nodes {
				e := map[string]any{
					"id": "storage/" + n.Name + "/" + sd.ID, "storage": sd.ID, "node": n.Name,
					"type": "storage", "plugintype": sd.Type, "status": "unknown",
					"shared": boolInt(sd.Shared), "content": sd.Content,
				}
				if _, fresh := n.Broadcast(now); fresh {
					e["status"] = "available"
					e["maxdisk"] = s.cluster.StorageTotal(sd, n)
					e["disk"] = s.cluster.StorageUsed(usage, sd, n)
				}
				out = append(out, e)
			}
		}
	}

	// The "localnetwork" zone, for users with SDN.Audit on it: an "sdn"
	// entry from 8.0 (cdc140f0) to 9.0, a "network" entry (only without
	// type) since 9.1 (1804cdf1).
	network := s.versionAtLeast(9, 1, 0)
	sdn := !network && s.versionAtLeast(8, 0, 0)
	if (sdn && (typ == "" || typ == "sdn")) || (network && typ == "") {
		if s.acl.Can(c.user, "/sdn/zones/localnetwork", "SDN.Audit") {
			for _, n := range nodes {
				if network {
					out = append(out, map[string]any{"id": "network/" + n.Name + "/zone/localnetwork",
						"type": "network", "network-type": "zone", "network": "localnetwork",
						"node": n.Name, "status": "ok"})
				} else {
					out = append(out, map[string]any{"id": "sdn/" + n.Name + "/localnetwork",
						"sdn": "localnetwork", "node": n.Name, "type": "sdn", "status": "ok"})
				}
			}
		}
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// clusterStatus is GET /cluster/status.
func (s *Sim) clusterStatus(c *call) (any, error) {
	now := s.now()
	local := s.localNode()
	if s.clusterName == "" {
		// standalone node: a fake entry for the local node only
		return []map[string]any{{
			"type": "node", "id": "node/" + local.Name, "name": local.Name, "ip": local.IP,
			"local": 1, "nodeid": 0, "online": 1, "level": local.Level,
		}}, nil
	}
	nodes := s.cluster.Nodes
	out := []map[string]any{{
		"type": "cluster", "id": "cluster", "nodes": len(nodes), "version": len(nodes) + 2,
		"name": s.clusterName, "quorate": boolInt(s.cluster.Quorate()),
	}}
	for _, n := range s.cluster.SortedNodes() {
		level := ""
		if _, fresh := n.Broadcast(now); fresh {
			level = n.Level
		}
		out = append(out, map[string]any{
			"type": "node", "id": "node/" + n.Name, "name": n.Name, "nodeid": n.Index + 1,
			"local": boolInt(n == local), "online": boolInt(n.Online), "ip": n.IP, "level": level,
		})
	}
	return out, nil
}

// nodeStatus is GET /nodes/{node}/status, read live on the node.
func (s *Sim) nodeStatus(c *call) (any, error) {
	n := c.node
	now := s.now()
	up := int64(now.Sub(n.Boot) / time.Second)
	kernel, kbuild := "6.17.2-1-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"
	if !s.versionAtLeast(9, 0, 0) {
		kernel, kbuild = "6.8.12-9-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z)"
	}
	mem := n.MemAt(now)
	cpu := n.CPUAt(now)
	load := func(k uint64) string {
		return strconv.FormatFloat(float64(n.MaxCPU)*cpu*(0.8+0.4*state.Unit(n.Seed, k+uint64(now.Unix()/60))), 'f', 2, 64)
	}
	swapTotal := 8 * gib
	swapUsed := int64(float64(swapTotal) * 0.01 * state.Unit(n.Seed, 77))
	rootFree := n.MaxDisk - n.Disk
	return map[string]any{
		"uptime":   up,
		"idle":     0,
		"loadavg":  []string{load(1), load(2), load(3)},
		"kversion": "Linux " + kernel + " " + kbuild,
		"current-kernel": map[string]any{
			"sysname": "Linux", "release": kernel, "version": kbuild, "machine": "x86_64",
		},
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
		"cpuinfo": map[string]any{
			"user_hz": 100, "model": "AMD EPYC 7313P 16-Core Processor", "sockets": 1,
			"cpus": n.MaxCPU, "cores": n.MaxCPU / 2, "mhz": "3000.000", "hvm": "1",
			"flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 invpcid cqm rdt_a rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local user_shstk clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin brs arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip pku ospke vaes vpclmulqdq rdpid overflow_recov succor smca debug_swap",
		},
		"cpu":  cpu,
		"wait": state.Round4(cpu * 0.05),
		"memory": map[string]any{
			"total": n.MaxMem, "used": mem, "free": n.MaxMem - mem - n.MaxMem/10,
			"available": n.MaxMem - mem,
		},
		"ksm":        map[string]any{"shared": 0},
		"swap":       map[string]any{"total": swapTotal, "used": swapUsed, "free": swapTotal - swapUsed},
		"pveversion": "pve-manager/" + s.version + "/" + s.repoid,
		"rootfs": map[string]any{
			"total": n.MaxDisk, "used": n.Disk, "avail": rootFree - n.MaxDisk/20, "free": rootFree,
		},
	}, nil
}
