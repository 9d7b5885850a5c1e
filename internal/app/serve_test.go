package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// jsonLines collects the JSON log lines of a running command.
type jsonLines struct {
	mu    sync.Mutex
	lines []map[string]any
	bad   []string
	urls  chan string
}

func (j *jsonLines) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			j.mu.Lock()
			j.bad = append(j.bad, sc.Text())
			j.mu.Unlock()
			continue
		}
		j.mu.Lock()
		j.lines = append(j.lines, m)
		j.mu.Unlock()
		if u, ok := m["url"].(string); ok {
			j.urls <- u
		}
	}
}

func TestServeLogsMetricsAndGracefulShutdown(t *testing.T) {
	sim, err := pvesim.New(pvesim.Options{Scenario: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	simSrv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simSrv.Close() })
	rd := redistest.Start(t)
	host, port, _ := strings.Cut(simSrv.Addr, ":")
	env := map[string]string{
		"PROXMOX_HOST": host, "PROXMOX_PORT": port, "PROXMOX_TLS_FINGERPRINT": simSrv.Fingerprint,
		"SESSION_SECRET": strings.Repeat("k", 40), "REDIS_URL": rd.URL, "LISTEN_ADDR": "127.0.0.1:0",
		"METRICS_ADDR": "127.0.0.1:0", "COOKIE_SECURE": "false", "LOG_FORMAT": "json", "LOG_LEVEL": "info",
	}
	pr, pw := io.Pipe()
	logs := &jsonLines{urls: make(chan string, 4)}
	go logs.read(pr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: envOf(env), Stdout: io.Discard, Stderr: pw})
		_ = pw.Close()
	}()
	var dash, metricsURL string
	for range 2 {
		select {
		case u := <-logs.urls:
			if strings.HasSuffix(u, "/metrics") {
				metricsURL = u
			} else {
				dash = u
			}
		case err := <-done:
			t.Fatalf("serve ended early: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not start")
		}
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(dash+"/login", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {"proxmox"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("sign-in: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}

	// Metrics live on their own address only.
	if r, err := http.Get(metricsURL); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("metrics listener: %v", err)
	} else {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(b), `lxcm_sign_ins_total{outcome="success"} 1`) {
			t.Error("sign-in not counted")
		}
	}
	if r, err := c.Get(dash + "/metrics"); err == nil {
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			t.Error("/metrics is exposed on the dashboard's address although METRICS_ADDR is set")
		}
	}

	// An open live-update stream.
	req, _ := http.NewRequest(http.MethodGet, dash+"/events", nil)
	stream, err := c.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("events: %v", err)
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				events <- strings.TrimPrefix(sc.Text(), "event: ")
			}
		}
		close(events)
	}()
	if ev := <-events; ev != "update" {
		t.Fatalf("first event %q", ev)
	}

	// SIGTERM: the stream is closed cleanly and serve returns nil.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s")
	}
	sawBye := false
	for ev := range events {
		if ev == "bye" {
			sawBye = true
		}
	}
	if !sawBye {
		t.Error("the live stream was cut instead of closed")
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.bad) > 0 {
		t.Errorf("non-JSON log lines: %q", logs.bad)
	}
	access := 0
	for _, l := range logs.lines {
		if l["msg"] == "request" {
			access++
			if id, _ := l["request_id"].(string); len(id) != 16 {
				t.Errorf("access line without request id: %v", l)
			}
			if _, err := strconv.Atoi(jsonNumber(l["status"])); err != nil {
				t.Errorf("access line without status: %v", l)
			}
		}
	}
	if access < 2 {
		t.Errorf("%d access lines", access)
	}
}

func jsonNumber(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.Itoa(int(f))
	}
	return ""
}

func TestVersionAndLogSettings(t *testing.T) {
	var out strings.Builder
	if err := app.Run(context.Background(), app.Env{Args: []string{"version"}, Getenv: envOf(nil), Stdout: &out, Stderr: io.Discard, Version: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "lxc-manager 1.2.3") {
		t.Errorf("version printed %q", out.String())
	}
	err := app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: envOf(map[string]string{"LOG_FORMAT": "xml"}), Stdout: io.Discard, Stderr: io.Discard})
	if vars := configVars(err); !slices.Equal(vars, []string{"LOG_FORMAT"}) {
		t.Errorf("bad LOG_FORMAT: %v (variables %q), want a config error naming LOG_FORMAT", err, vars)
	}
}

// serveEnv is a valid serve environment against a fresh simulator and Redis.
func serveEnv(t *testing.T) map[string]string {
	t.Helper()
	sim, err := pvesim.New(pvesim.Options{Scenario: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	simSrv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simSrv.Close() })
	host, port, _ := strings.Cut(simSrv.Addr, ":")
	return map[string]string{
		"PROXMOX_HOST": host, "PROXMOX_PORT": port, "PROXMOX_TLS_FINGERPRINT": simSrv.Fingerprint,
		"SESSION_SECRET": strings.Repeat("k", 40), "REDIS_URL": redistest.Start(t).URL, "LISTEN_ADDR": "127.0.0.1:0",
		"LOG_FORMAT": "json",
	}
}

func TestServeMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := serveEnv(t)
	env["METRICS_ADDR"] = ln.Addr().String()
	err = app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: envOf(env), Stdout: io.Discard, Stderr: io.Discard})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Fatalf("serve with METRICS_ADDR in use = %v; want the address in use, in an error naming METRICS_ADDR", err)
	}
}

func TestServeMetricsOff(t *testing.T) {
	env := serveEnv(t)
	env["METRICS_ADDR"] = "off"
	pr, pw := io.Pipe()
	logs := &jsonLines{urls: make(chan string, 4)}
	go logs.read(pr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: envOf(env), Stdout: io.Discard, Stderr: pw})
		_ = pw.Close()
	}()
	var dash string
	select {
	case dash = <-logs.urls:
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	if strings.HasSuffix(dash, "/metrics") {
		t.Fatalf("a metrics listener started although METRICS_ADDR=off: %s", dash)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r, err := noFollow.Get(dash + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == http.StatusOK || strings.Contains(string(b), "lxcm_") {
			t.Errorf("/metrics is served on the dashboard's address: %d", r.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	close(logs.urls)
	for u := range logs.urls {
		t.Errorf("another listener started: %s", u)
	}
}
