package state

import (
	"time"
)

// Statistics history, as GET .../rrddata reads it from the RRD files
// (pve-cluster RRD.pm create_rrd_data, pmxcfs status.c, pvestatd).
//
// pvestatd records every guest every 10 s: running guests with all
// values, stopped ones with only maxcpu, maxmem, maxdisk and disk (0); a
// node that is down records nothing. A consolidated row is a field's
// AVERAGE or MAX over its interval, or absent when more than half of the
// interval has no value (the RRAs' xff 0.5). The simulator samples each
// interval at up to rrdSamples points of the guest's state history.

// RRDSetup is one timeframe: the row interval and the number of rows.
type RRDSetup struct {
	Resolution time.Duration
	Count      int
}

// RRDSetups returns the timeframes: PVE 9's pve-vm-9.0 files, or before
// 9.0 the pve2-vm ones.
func RRDSetups(v9 bool) map[string]RRDSetup {
	m := time.Minute
	if v9 {
		return map[string]RRDSetup{
			"hour": {m, 60}, "day": {m, 1440}, "week": {30 * m, 336},
			"month": {30 * m, 1440}, "year": {6 * time.Hour, 1440},
		}
	}
	return map[string]RRDSetup{
		"hour": {m, 70}, "day": {30 * m, 70}, "week": {3 * time.Hour, 70},
		"month": {12 * time.Hour, 70}, "year": {7 * 24 * time.Hour, 70},
	}
}

const rrdSamples = 6

// sampleRRD is what pvestatd recorded of g at t: the fields with a
// value (none at all when the node did not record the guest).
func (g *Guest) sampleRRD(t time.Time, v9 bool) map[string]float64 {
	if t.Before(g.Created) || (!g.Node.Online && !t.Before(g.Node.OfflineAt)) {
		return nil
	}
	st := g.StateAt(t)
	m := g.StatsAt(st, t)
	vals := map[string]float64{
		"maxcpu": g.CPUs(), "maxmem": float64(int64(g.MemMiB) << 20),
		"maxdisk": float64(m.MaxDisk), "disk": float64(m.Disk),
	}
	if st.Running {
		wander := func(k uint64) float64 { return 0.4 + 1.2*Unit(g.Seed^uint64(st.Starts), k^uint64(t.Unix()/60)) }
		in, out := g.netRates()
		read, write := g.diskRates()
		vals["cpu"] = m.CPU
		vals["mem"] = float64(m.Mem)
		vals["netin"] = in * wander(31)
		vals["netout"] = out * wander(32)
		vals["diskread"] = read * wander(33)
		vals["diskwrite"] = write * wander(34)
		if v9 {
			names := [6]string{"pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull",
				"pressurememorysome", "pressurememoryfull"}
			for i, n := range names {
				vals[n] = m.Pressure[i]
			}
		}
	}
	return vals
}

// RRDData is create_rrd_data for guest g: the rows of timeframe ending at
// now, each {"time": ...} plus the fields with a value. cf is "AVERAGE"
// or "MAX". v9 selects PVE 9's resolutions and fields.
func (g *Guest) RRDData(timeframe, cf string, now time.Time, v9 bool) []map[string]any {
	setup, ok := RRDSetups(v9)[timeframe]
	if !ok {
		return nil
	}
	reso := int64(setup.Resolution / time.Second)
	ctime := reso * (now.Unix() / reso)
	start := ctime - reso*int64(setup.Count)
	samples := int(min(reso/60, rrdSamples))
	if samples < 1 {
		samples = 1
	}
	out := make([]map[string]any, 0, setup.Count)
	for i := 1; i <= setup.Count; i++ {
		end := start + int64(i)*reso
		row := map[string]any{"time": end}
		sum := map[string]float64{}
		peak := map[string]float64{}
		count := map[string]int{}
		for k := 0; k < samples; k++ {
			at := time.Unix(end-reso, 0).Add(time.Duration((2*k+1)*int(reso)) * time.Second / time.Duration(2*samples))
			for name, v := range g.sampleRRD(at, v9) {
				sum[name] += v
				if count[name] == 0 || v > peak[name] {
					peak[name] = v
				}
				count[name]++
			}
		}
		for name, n := range count {
			if 2*n < samples {
				continue // more unknown than the xff allows
			}
			if cf == "MAX" {
				row[name] = peak[name]
			} else {
				row[name] = sum[name] / float64(n)
			}
		}
		out = append(out, row)
	}
	// The newest bucket can still be empty right after a boundary.
	if len(out) > 0 && len(out[len(out)-1]) == 1 {
		out = out[:len(out)-1]
	}
	return out
}
