// Package apptest starts the whole dashboard for tests: the Proxmox VE
// simulator over HTTPS, a real Redis server, and the dashboard built by
// app.NewDashboard exactly as `serve` builds it, on a loopback port.
package apptest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// Secret is the SESSION_SECRET of every test stack.
const Secret = "test-secret-0123456789-abcdefghijklmnop"

// Options tune a Stack. The zero value is a normal stack.
type Options struct {
	// Sim options; AuthFailureDelay stays 0 unless set.
	Sim pvesim.Options
	// MemorySessions uses the in-process store instead of Redis.
	MemorySessions bool
	// LiveInterval is the live-update poll interval (default 3 s).
	LiveInterval time.Duration
	// Now is the dashboard's clock (time.Now when nil).
	Now func() time.Time
	// SessionMaxAge overrides the 12 h default.
	SessionMaxAge time.Duration
	// TrustedProxies is TRUSTED_PROXIES (none by default).
	TrustedProxies []netip.Prefix
	// NoPublicURL leaves PUBLIC_URL unset (by default it is the
	// dashboard's URL, registered at the simulator's OpenID provider).
	NoPublicURL bool
	// Sentinel, when set, is the Redis to use, through its sentinels
	// (REDIS_SENTINEL_ADDRS), instead of a server of the stack's own.
	Sentinel *redistest.Sentinel
	// Cluster, when set, is the Redis Cluster to use (REDIS_CLUSTER_ADDRS)
	// instead of a server of the stack's own.
	Cluster *redistest.Cluster
}

// Stack is a running dashboard with its simulator and Redis.
type Stack struct {
	Sim       *pvesim.Sim
	SimServer *pvesim.Server
	Redis     *redistest.Server     // nil with MemorySessions, Sentinel or Cluster
	RDB       redis.UniversalClient // for assertions; nil with MemorySessions
	Server    *httptest.Server
	URL       string // dashboard base URL
	// MetricsURL is the metrics listener's GET /metrics (a listener of its
	// own, as METRICS_ADDR gives it in serve).
	MetricsURL string
	Codec      *session.Codec
	Config     config.Config
	Logs       *SafeBuffer // everything the dashboard logged
}

// Start builds and starts a stack, stopped when the test ends.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	sim, err := pvesim.New(opts.Sim)
	if err != nil {
		t.Fatalf("pvesim.New: %v", err)
	}
	simSrv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		t.Fatalf("pvesim.Start: %v", err)
	}
	t.Cleanup(func() { _ = simSrv.Close() })

	st := &Stack{Sim: sim, SimServer: simSrv, Logs: &SafeBuffer{}}
	// The dashboard's listener opens first, so that PUBLIC_URL can name it.
	st.Server = httptest.NewUnstartedServer(nil)
	t.Cleanup(st.Server.Close)
	st.URL = "http://" + st.Server.Listener.Addr().String()
	host, portStr, _ := strings.Cut(simSrv.Addr, ":")
	port, _ := strconv.Atoi(portStr)
	st.Config = config.Config{
		ProxmoxHost:    host,
		ProxmoxPort:    port,
		TLSFingerprint: simSrv.Fingerprint,
		SessionSecret:  Secret,
		ListenAddr:     "127.0.0.1:0",
		CookieSecure:   false,
		LiveInterval:   opts.LiveInterval,
		SessionMaxAge:  opts.SessionMaxAge,
		TrustedProxies: opts.TrustedProxies,
	}
	if !opts.NoPublicURL {
		st.Config.PublicURL = st.URL
		simSrv.RegisterRedirectURI(st.URL + web.OpenIDCallbackPath)
	}
	switch {
	case opts.MemorySessions:
	case opts.Sentinel != nil:
		st.Config.RedisSentinelAddrs = opts.Sentinel.Addrs
		st.Config.RedisSentinelMaster = redistest.SentinelMaster
		st.RDB = universal(t, opts.Sentinel.Options())
	case opts.Cluster != nil:
		st.Config.RedisClusterAddrs = opts.Cluster.Addrs
		st.RDB = universal(t, opts.Cluster.Options())
	default:
		st.Redis = redistest.Start(t)
		st.Config.RedisURL = st.Redis.URL
		st.RDB = st.Redis.Client(t)
	}
	if err := st.Config.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(st.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := app.NewDashboard(context.Background(), st.Config, app.Deps{Logger: logger, MemorySessions: opts.MemorySessions, Now: opts.Now})
	if err != nil {
		t.Fatalf("NewDashboard: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	st.Codec, err = session.NewCodec(Secret)
	if err != nil {
		t.Fatal(err)
	}
	st.Server.Config.Handler = d.Server
	st.Server.Start()
	ms := httptest.NewServer(d.MetricsHandler())
	t.Cleanup(ms.Close)
	st.MetricsURL = ms.URL + "/metrics"
	return st
}

// universal is a client for assertions, closed when the test ends.
func universal(t testing.TB, o session.RedisOptions) redis.UniversalClient {
	t.Helper()
	c, err := session.NewUniversalClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Instance starts another dashboard on the stack's simulator, Redis and
// secret, as a second `serve` behind the same load balancer, and returns a
// copy of st that talks to it (with the same clock, unless now is set).
// Cookies are kept per host, not per port, so a client signed in on one
// instance is signed in on both.
func (st *Stack) Instance(t testing.TB, now func() time.Time) *Stack {
	t.Helper()
	d, err := app.NewDashboard(context.Background(), st.Config, app.Deps{Logger: slog.New(slog.NewTextHandler(st.Logs, nil)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Server)
	t.Cleanup(func() {
		srv.Close()
		d.Server.Close()
		_ = d.Close()
	})
	other := *st
	other.Server, other.URL = srv, srv.URL
	return &other
}

// Client returns an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each 303.
func (st *Stack) Client(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// SafeBuffer is a bytes.Buffer safe for concurrent writers (the logger).
type SafeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
