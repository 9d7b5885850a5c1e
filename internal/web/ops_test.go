package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

func TestHealthAndReadiness(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(t)
	ready := func() (int, map[string]any, string) {
		r := get(t, st, c, "/readyz")
		var body map[string]any
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("readyz is not JSON: %s", r.body)
		}
		return r.status, body, r.body
	}
	if r := get(t, st, c, "/healthz"); r.status != http.StatusOK || r.body != "ok\n" {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	if status, body, _ := ready(); status != http.StatusOK || body["status"] != "ok" {
		t.Errorf("readyz with everything up: %d %v", status, body)
	}
	st.Redis.Stop(t)
	status, body, raw := ready()
	if status != http.StatusServiceUnavailable || body["status"] != "unavailable" || !strings.Contains(raw, `"down":["redis"]`) {
		t.Errorf("readyz without Redis: %d %s", status, raw)
	}
	_ = st.SimServer.Close()
	status, _, raw = ready()
	if status != http.StatusServiceUnavailable || !strings.Contains(raw, `"pve"`) || !strings.Contains(raw, `"redis"`) {
		t.Errorf("readyz without Redis and PVE: %d %s", status, raw)
	}
	if strings.Contains(raw, "127.0.0.1") || strings.Contains(raw, "redis://") || strings.Contains(raw, "https://") {
		t.Errorf("readyz reveals configuration: %s", raw)
	}
	// Health needs no session and survives both outages.
	if r := get(t, st, c, "/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz during outages: %d", r.status)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	c, id := signIn(t, st)
	get(t, st, c, "/")
	login(t, st, st.Client(t), "root", "pam", "wrong")
	r := get(t, st, st.Client(t), "/metrics")
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{
		`lxcm_http_requests_total{route="GET /{$}",status="200"} 1`,
		`lxcm_http_requests_total{route="POST /login",status="303"} 1`,
		`lxcm_http_request_duration_seconds_bucket{route="GET /{$}",le=`,
		`lxcm_sign_ins_total{outcome="success"} 1`,
		`lxcm_sign_ins_total{outcome="credentials"} 1`,
		`lxcm_pve_requests_total{endpoint="GET /cluster/resources",outcome="ok"}`,
		`lxcm_pve_request_duration_seconds_count{endpoint="POST /access/ticket"}`,
		`lxcm_active_sessions 1`,
		"\nlxcm_redis_errors_total 0\n",
		`go_goroutines`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(r.body, id) || regexp.MustCompile(`PVE:|CSRF|/nodes/pve\d`).MatchString(r.body) {
		t.Error("metrics hold a secret or an unbounded label")
	}
	st.Redis.Stop(t)
	get(t, st, c, "/")
	m := get(t, st, st.Client(t), "/metrics")
	if !regexp.MustCompile(`\nlxcm_redis_errors_total [1-9]`).MatchString(m.body) {
		t.Error("Redis errors not counted")
	}
}
