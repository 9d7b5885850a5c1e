package web

import (
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// chartQuery is the charts' time frame and consolidation function, kept in
// the page's URL (?timeframe=day&cf=MAX).
type chartQuery struct {
	Timeframe string
	CF        string
}

// parseChartQuery reads the chart settings; unknown values fall back to
// PVE's defaults (an hour, AVERAGE).
func parseChartQuery(q url.Values) chartQuery {
	c := chartQuery{Timeframe: "hour", CF: "AVERAGE"}
	if tf := q.Get("timeframe"); slices.Contains(lxc.Timeframes(), tf) {
		c.Timeframe = tf
	}
	if cf := q.Get("cf"); slices.Contains(lxc.ConsolidationFunctions(), cf) {
		c.CF = cf
	}
	return c
}

// Timeframes and CFs list the choices for the template.
func (chartQuery) Timeframes() []string { return lxc.Timeframes() }

// CFs lists the consolidation functions.
func (chartQuery) CFs() []string { return lxc.ConsolidationFunctions() }

// URL is the page's URL with tf and cf chosen.
func (c chartQuery) URL(base, tf, cf string) string {
	q := url.Values{}
	if tf != "hour" {
		q.Set("timeframe", tf)
	}
	if cf != "AVERAGE" {
		q.Set("cf", cf)
	}
	if len(q) == 0 {
		return base + "#charts"
	}
	return base + "?" + q.Encode() + "#charts"
}

// latestValue is one statistic of the newest RRD sample, for the table
// shown instead of the charts when the browser runs no script.
type latestValue struct {
	Label string
	Value string
}

// latestValues reads the newest sample that has values.
func latestValues(pts []lxc.RRDPoint) []latestValue {
	for i := len(pts) - 1; i >= 0; i-- {
		p := pts[i]
		if p.CPU == nil && p.Mem == nil {
			continue
		}
		var out []latestValue
		add := func(label string, v *float64, f func(float64) string) {
			if v != nil {
				out = append(out, latestValue{Label: label, Value: f(*v)})
			}
		}
		add("CPU", p.CPU, formatPercent)
		add("Memory", p.Mem, func(f float64) string { return formatBytes(int64(f)) })
		add("Network in", p.NetIn, rate)
		add("Network out", p.NetOut, rate)
		add("Disk read", p.DiskRead, rate)
		add("Disk write", p.DiskWrite, rate)
		return out
	}
	return nil
}

func rate(f float64) string { return formatBytes(int64(f)) + "/s" }

// rrddata serves a container's RRD statistics as JSON
// (GET /containers/{node}/{vmid}/rrddata?timeframe=…&cf=…): PVE's samples
// with PVE's field names; a field PVE left out stays out.
func (s *Server) rrddata(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return s.jsonFailure(w, r, err)
	}
	q := r.URL.Query()
	tf, cf := q.Get("timeframe"), q.Get("cf")
	if tf == "" {
		tf = "hour"
	}
	if cf == "" {
		cf = "AVERAGE"
	}
	if !slices.Contains(lxc.Timeframes(), tf) || !slices.Contains(lxc.ConsolidationFunctions(), cf) {
		return s.jsonFailure(w, r, lxc.Errorf(lxc.EInvalid, "timeframe must be hour, day, week, month or year, and cf AVERAGE or MAX."))
	}
	sess, _ := currentSession(r.Context())
	pts, err := s.cfg.PVE.RRDData(r.Context(), s.identity(sess), t.Node, t.VMID, tf, cf)
	if err != nil {
		return s.jsonFailure(w, r, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return writeRRD(w, pts)
}

// writeRRD encodes the samples as a JSON array with PVE's field names,
// leaving out the fields a sample lacks. It appends to one buffer by hand:
// a year is 1,440 samples of a dozen numbers, and reflection-based encoding
// took several times as long.
func writeRRD(w io.Writer, pts []lxc.RRDPoint) error {
	buf := make([]byte, 0, 64+len(pts)*200)
	buf = append(buf, '[')
	for i := range pts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendRRDPoint(buf, &pts[i])
	}
	buf = append(buf, ']', '\n')
	_, err := w.Write(buf)
	return err
}

func appendRRDPoint(b []byte, p *lxc.RRDPoint) []byte {
	b = append(b, `{"time":`...)
	b = strconv.AppendInt(b, p.Time, 10)
	for _, f := range [...]struct {
		name string
		v    *float64
	}{
		{"cpu", p.CPU}, {"maxcpu", p.MaxCPU}, {"mem", p.Mem}, {"maxmem", p.MaxMem}, {"memhost", p.MemHost},
		{"disk", p.Disk}, {"maxdisk", p.MaxDisk}, {"netin", p.NetIn}, {"netout", p.NetOut},
		{"diskread", p.DiskRead}, {"diskwrite", p.DiskWrite},
		{"pressurecpusome", p.PressureCPUSome}, {"pressurecpufull", p.PressureCPUFull},
		{"pressureiosome", p.PressureIOSome}, {"pressureiofull", p.PressureIOFull},
		{"pressurememorysome", p.PressureMemorySome}, {"pressurememoryfull", p.PressureMemoryFull},
	} {
		if f.v == nil || math.IsNaN(*f.v) || math.IsInf(*f.v, 0) {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = appendNumber(b, *f.v)
	}
	return append(b, '}')
}

// appendNumber writes v as encoding/json would: plain decimals, with an
// exponent only for very large or very small magnitudes.
func appendNumber(b []byte, v float64) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// jsonFailure answers a script's request with a curated JSON error.
func (s *Server) jsonFailure(w http.ResponseWriter, r *http.Request, err error) error {
	status, msg := userError(err)
	switch lxc.ErrorCode(err) {
	case lxc.EForbidden:
		msg = "You don't have permission to see this container."
	case lxc.ERefused:
		status, msg = http.StatusNotFound, "This container's statistics are not available."
	}
	s.log.Warn("request failed", "request_id", requestID(r.Context()), "path", r.URL.Path, "status", status, "err", err)
	writeJSON(w, status, jsonError{Error: msg})
	return nil
}
