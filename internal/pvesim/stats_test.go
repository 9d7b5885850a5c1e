package pvesim

import (
	"testing"
	"time"
)

// GET .../rrddata and GET .../interfaces.

// rrd reads rrddata as root.
func (ce *clusterEnv) rrd(node string, vmid int, query string) []map[string]any {
	ce.t.Helper()
	return ce.get("root@pam", ctPath(node, vmid, "/rrddata"+query)).list(ce.t)
}

var rrdValueFields = []string{"cpu", "mem", "netin", "netout", "diskread", "diskwrite",
	"pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome", "pressurememoryfull"}

func TestRRDDataTimeframes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, timeframe string
		rows               int
		step               int64
	}{
		{"9.1.4", "hour", 60, 60}, {"9.1.4", "day", 1440, 60}, {"9.1.4", "week", 336, 1800},
		{"9.1.4", "month", 1440, 1800}, {"9.1.4", "year", 1440, 21600},
		{"8.4.1", "hour", 70, 60}, {"8.4.1", "day", 70, 1800}, {"8.4.1", "week", 70, 10800},
		{"8.4.1", "month", 70, 43200}, {"8.4.1", "year", 70, 604800},
	} {
		t.Run(tc.version+"/"+tc.timeframe, func(t *testing.T) {
			t.Parallel()
			e := startCluster(t, Options{Version: tc.version})
			e.clock.Advance(17 * time.Second)
			rows := e.rrd("pve1", 101, "?timeframe="+tc.timeframe)
			if len(rows) != tc.rows {
				t.Fatalf("%d rows, want %d", len(rows), tc.rows)
			}
			last := int64(rows[len(rows)-1]["time"].(float64))
			if want := tc.step * (e.clock.Now().Unix() / tc.step); last != want {
				t.Errorf("last row at %d, want %d", last, want)
			}
			for i, r := range rows {
				if want := last - int64(len(rows)-1-i)*tc.step; int64(r["time"].(float64)) != want {
					t.Fatalf("row %d at %v, want %d", i, r["time"], want)
				}
			}
			// 101 ran for the whole time: every row has every field.
			r := rows[len(rows)/2]
			for _, f := range append([]string{"maxcpu", "maxmem", "maxdisk", "disk"}, rrdValueFields...) {
				_, ok := r[f]
				v9only := len(f) > 8 && f[:8] == "pressure"
				if ok != (!v9only || tc.version == "9.1.4") {
					t.Errorf("row %v: field %s present %v", r, f, ok)
				}
			}
			if r["maxcpu"] != float64(2) || r["maxmem"] != float64(2048<<20) {
				t.Errorf("row %v", r)
			}
			if _, ok := r["memhost"]; ok {
				t.Error("containers have no memhost")
			}
		})
	}
}

func TestRRDDataGapsAndMovingValues(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.01})
	// 106 runs; stop it, let 10 minutes pass, start it again.
	e.waitTask(e.action("root@pam", "pve3", 106, "stop", nil))
	e.clock.Advance(10 * time.Minute)
	e.waitTask(e.action("root@pam", "pve3", 106, "start", nil))
	e.clock.Advance(5 * time.Minute)
	rows := e.rrd("pve3", 106, "?timeframe=hour")
	gaps := 0
	for _, r := range rows[len(rows)-20:] {
		_, hasCPU := r["cpu"]
		if !hasCPU {
			gaps++
			// a stopped container still records its limits
			if r["maxmem"] != float64(4096<<20) || r["disk"] != float64(0) {
				t.Errorf("gap row %v", r)
			}
			for _, f := range rrdValueFields {
				if _, ok := r[f]; ok {
					t.Errorf("gap row has %s: %v", f, r)
				}
			}
		}
	}
	if gaps < 9 || gaps > 11 {
		t.Errorf("%d rows without values, want about 10", gaps)
	}
	// The values move: two hours later the same container shows other
	// numbers, and MAX is never below AVERAGE.
	cpus := map[float64]bool{}
	for _, r := range rows[:30] {
		cpus[r["cpu"].(float64)] = true
	}
	if len(cpus) < 10 {
		t.Errorf("cpu takes only %d values in 30 minutes", len(cpus))
	}
	avg := e.rrd("pve3", 106, "?timeframe=week")
	peak := e.rrd("pve3", 106, "?timeframe=week&cf=MAX")
	for i := range avg {
		if a, ok := avg[i]["cpu"].(float64); ok && peak[i]["cpu"].(float64) < a {
			t.Fatalf("row %d: MAX %v < AVERAGE %v", i, peak[i]["cpu"], a)
		}
	}
	// A guest that never ran has limits only; one created now has
	// nothing before its creation.
	for _, r := range e.rrd("pve3", 107, "?timeframe=hour") {
		if _, ok := r["cpu"]; ok || r["maxcpu"] != float64(4) {
			t.Fatalf("107 never ran: %v", r)
		}
	}
	mustDo(t, e.sim.AddGuest(Guest{VMID: 300, Node: "pve2", Status: "running"}))
	e.clock.Advance(3 * time.Minute)
	fresh := e.rrd("pve2", 300, "?timeframe=hour")
	if len(fresh[0]) != 1 || len(fresh[len(fresh)-1]) == 1 {
		t.Errorf("new guest: first row %v, last row %v", fresh[0], fresh[len(fresh)-1])
	}
}

func TestRRDDataAnyNodeAndErrors(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	// No proxyto: every node has the RRD files of the whole cluster.
	if rows := e.rrd("pve1", 106, "?timeframe=hour"); len(rows) != 60 || rows[10]["cpu"] == nil {
		t.Errorf("106 (on pve3) read via pve1: %d rows", len(rows))
	}
	e.get("root@pam", ctPath("pve1", 4242, "/rrddata?timeframe=hour")).wantError(t, 500,
		"RRD error: opening '/var/lib/rrdcached/db/pve-vm-9.0/4242': No such file or directory")
	e.get("alice@pve", ctPath("pve1", 101, "/rrddata?timeframe=hour")).wantError(t, 403,
		"Permission check failed (/vms/101, VM.Audit)")
	e.get("root@pam", ctPath("pve1", 101, "/rrddata?timeframe=decade")).wantParamErrors(t, map[string]string{
		"timeframe": "value 'decade' does not have a value in the enumeration 'hour, day, week, month, year'"})
	e.get("root@pam", ctPath("pve1", 101, "/rrddata")).wantParamErrors(t, map[string]string{
		"timeframe": "property is missing and it is not optional"})
}

func TestInterfaces(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	list := e.get("alice@pve", ctPath("pve3", 106, "/interfaces")).list(t)
	if len(list) != 2 || list[0]["name"] != "lo" || list[1]["name"] != "eth0" {
		t.Fatalf("interfaces %v", list)
	}
	cc, _ := e.sim.Config(106)
	eth0 := list[1]
	if mac := eth0["hwaddr"].(string); !regexpMatch(`^bc:24:11:`, mac) || eth0["hardware-address"] != mac ||
		!regexpMatch("(?i)hwaddr="+mac, cc.Values["net0"]) {
		t.Errorf("eth0 %v, net0 %s", eth0, cc.Values["net0"])
	}
	if !regexpMatch(`^192\.168\.100\.\d+/24$`, eth0["inet"].(string)) || !regexpMatch(`^fe80::.*/64$`, eth0["inet6"].(string)) {
		t.Errorf("eth0 addresses %v", eth0)
	}
	if addrs := eth0["ip-addresses"].([]any); len(addrs) != 2 || addrs[0].(map[string]any)["prefix"] != float64(24) {
		t.Errorf("ip-addresses %v", addrs)
	}
	// A static address shows as configured.
	if db := e.get("root@pam", ctPath("pve1", 103, "/interfaces")).list(t); db[1]["inet"] != "192.168.100.103/24" {
		t.Errorf("103 %v", db[1])
	}
	// Not running here: PVE swallows lxc-info's error and answers null.
	for _, path := range []string{ctPath("pve3", 107, "/interfaces"), ctPath("pve1", 106, "/interfaces"), ctPath("pve1", 4242, "/interfaces")} {
		if res := e.get("root@pam", path); res.code != 200 || res.body != `{"data":null}` {
			t.Errorf("%s: %d %s", path, res.code, res.body)
		}
	}
	e.get("alice@pve", ctPath("pve1", 101, "/interfaces")).wantError(t, 403, "Permission check failed (/vms/101, VM.Audit)")
}
