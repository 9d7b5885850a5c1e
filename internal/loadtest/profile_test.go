package loadtest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// TestProfileSignedIn takes the CPU profile of docs/benchmarks.md ("Speed"):
// the dashboard as `serve` builds it (LOG_LEVEL=error, a private
// redis-server, the simulator in this process but idle), signed in as
// root, under wrk at the settings of ../shared/bench/compare.sh
// (-t2 -c64) for the signed-in 404, /healthz and a bare net/http handler
// in the same process, twice in turn; the first round of the first two is
// profiled.
//
// Opt-in: LOADTEST_PROFILE=/tmp/prof go test -count=1 -run TestProfileSignedIn -v ./internal/loadtest
// writes /tmp/prof-signedin.pprof and /tmp/prof-healthz.pprof (go tool
// pprof -top FILE). Needs wrk (apt-get install wrk).
func TestProfileSignedIn(t *testing.T) {
	prefix := os.Getenv("LOADTEST_PROFILE")
	if prefix == "" {
		t.Skip("opt-in: LOADTEST_PROFILE=/tmp/prof go test -count=1 -run TestProfileSignedIn -v ./internal/loadtest")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	sim, err := pvesim.New(pvesim.Options{Scenario: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	simSrv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatal(err)
	}
	defer simSrv.Close()
	host, port, _ := net.SplitHostPort(simSrv.Addr)
	rds := redistest.Start(t)
	env := map[string]string{
		"PROXMOX_HOST": host, "PROXMOX_PORT": port, "PROXMOX_TLS_FINGERPRINT": simSrv.Fingerprint,
		"SESSION_SECRET": "bench-secret-0123456789abcdefghijklmnopqrstuv", "REDIS_URL": rds.URL,
		"LISTEN_ADDR": "127.0.0.1:0", "COOKIE_SECURE": "false", "METRICS_ADDR": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	d, err := app.NewDashboard(context.Background(), cfg, app.Deps{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: d.Server}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookie := signIn(t, c, base, "root", "pam", "proxmox")
	// A bare net/http handler in the same process, for /healthz to be
	// held against.
	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})}
	go func() { _ = bare.Serve(bareLn) }()
	defer bare.Close()

	rates := map[string][]float64{}
	for round := range 2 {
		for _, run := range []struct{ name, url, cookie string }{
			{"signedin", base + "/bench-missing-page", cookie},
			{"healthz", base + "/healthz", ""},
			{"bare", "http://" + bareLn.Addr().String() + "/", ""},
		} {
			args := []string{"-t2", "-c64", "-d10s", "--latency"}
			if run.cookie != "" {
				args = append(args, "-H", "Cookie: "+run.cookie)
			}
			var f *os.File
			if round == 0 && run.name != "bare" {
				if f, err = os.Create(prefix + "-" + run.name + ".pprof"); err != nil {
					t.Fatal(err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					t.Fatal(err)
				}
			}
			out, err := exec.Command(wrk, append(args, run.url)...).CombinedOutput()
			if f != nil {
				pprof.StopCPUProfile()
				f.Close()
			}
			if err != nil {
				t.Fatalf("wrk: %v\n%s", err, out)
			}
			if strings.Contains(string(out), "Non-2xx") && run.cookie == "" {
				t.Errorf("%s: %s", run.name, out)
			}
			rates[run.name] = append(rates[run.name], requestsPerSecond(string(out)))
			t.Logf("%s, round %d:\n%s", run.name, round+1, summary(string(out)))
		}
	}
	sum := func(xs []float64) float64 { return xs[0] + xs[1] }
	t.Logf("signed-in %.0f req/s, /healthz %.0f req/s, bare net/http %.0f req/s: /healthz is %.0f%% of bare",
		sum(rates["signedin"])/2, sum(rates["healthz"])/2, sum(rates["bare"])/2, 100*sum(rates["healthz"])/sum(rates["bare"]))
}

// requestsPerSecond reads wrk's throughput.
func requestsPerSecond(out string) float64 {
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Requests/sec:" {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

// summary keeps wrk's throughput and median lines.
func summary(out string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "Requests/sec:" || f[0] == "50%" || f[0] == "99%" || strings.HasPrefix(line, "  Non-2xx")) {
			fmt.Fprintln(&b, line)
		}
	}
	return b.String()
}
