package web

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// yearOfPoints is PVE 9's year frame: 1440 samples of 6 h, every field set.
func yearOfPoints() []lxc.RRDPoint {
	pts := make([]lxc.RRDPoint, 1440)
	for i := range pts {
		f := func(x float64) *float64 { return &x }
		v := float64(i)
		pts[i] = lxc.RRDPoint{Time: 1700000000 + int64(i)*21600, CPU: f(0.0123 * v), MaxCPU: f(2), Mem: f(3.2e8 + v), MaxMem: f(1 << 30),
			Disk: f(1.5e9), MaxDisk: f(8 << 30), NetIn: f(1234.5 + v), NetOut: f(987.25), DiskRead: f(4096), DiskWrite: f(8192.5)}
	}
	return pts
}

// BenchmarkRRDDataJSON is the dashboard's own cost of serving a year of
// statistics as JSON (PVE's call excluded; see BenchmarkDecodeRRD in the
// client for the decoding half).
func BenchmarkRRDDataJSON(b *testing.B) {
	pts := yearOfPoints()
	b.ReportAllocs()
	for b.Loop() {
		if err := writeRRD(io.Discard, pts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteRRDMatchesEncodingJSON: the hand-written encoder says what
// encoding/json says, and a field a sample lacks stays out.
func TestWriteRRDMatchesEncodingJSON(t *testing.T) {
	pts := yearOfPoints()[:50]
	pts[3].CPU, pts[3].Mem, pts[3].NetIn = nil, nil, nil // a gap
	tiny, huge := 1e-9, 3e22
	pts[4].DiskRead, pts[4].DiskWrite = &tiny, &huge
	var ours strings.Builder
	if err := writeRRD(&ours, pts); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(pts)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []map[string]any
	if err := json.Unmarshal([]byte(ours.String()), &a); err != nil {
		t.Fatalf("our JSON does not parse: %v", err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("ours differs from encoding/json:\n%s\n%s", ours.String()[:400], want[:400])
	}
	if _, ok := a[3]["cpu"]; ok {
		t.Error("a missing cpu value was written")
	}
	if _, ok := a[3]["maxcpu"]; !ok {
		t.Error("maxcpu of the gap sample is missing")
	}
}
