package web_test

import (
	"encoding/json"
	"io"
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
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(st.MetricsURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("metrics: %d", resp.StatusCode)
		}
		return string(b)
	}
	body := scrape()
	for _, want := range []string{
		`lxcm_http_requests_total{route="GET /{$}",status="200"} 1`,
		`lxcm_http_requests_total{route="POST /login",status="303"} 1`,
		`lxcm_http_request_duration_seconds_bucket{route="GET /{$}",le=`,
		`lxcm_sign_ins_total{outcome="success"} 1`,
		`lxcm_sign_ins_total{outcome="credentials"} 1`,
		`lxcm_pve_requests_total{endpoint="GET /cluster/resources",outcome="ok"}`,
		`lxcm_pve_request_duration_seconds_count{endpoint="POST /access/ticket"}`,
		"\nlxcm_active_sessions 1\n",
		"\nlxcm_redis_errors_total 0\n",
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, id) || regexp.MustCompile(`PVE:|CSRF|/nodes/pve\d`).MatchString(body) {
		t.Error("metrics hold a secret or an unbounded label")
	}
	// Not on the dashboard's address, signed in or not.
	for _, client := range []*http.Client{c, st.Client(t)} {
		if r := get(t, st, client, "/metrics"); r.status == http.StatusOK || strings.Contains(r.body, "lxcm_") {
			t.Errorf("the dashboard serves /metrics: %d", r.status)
		}
	}
	// A second session counts; a signed-out one does not.
	c2, _ := signIn(t, st)
	if body := scrape(); !strings.Contains(body, "\nlxcm_active_sessions 2\n") {
		t.Error("a second session is not counted")
	}
	if r := postForm(t, st, c2, "/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if body := scrape(); !strings.Contains(body, "\nlxcm_active_sessions 1\n") {
		t.Error("a signed-out session is still counted")
	}
	st.Redis.Stop(t)
	get(t, st, c, "/")
	if m := scrape(); !regexp.MustCompile(`\nlxcm_redis_errors_total [1-9]`).MatchString(m) {
		t.Error("Redis errors not counted")
	}
}
