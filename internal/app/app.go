// Package app is the one wiring point of LXC Manager: it turns settings into
// a PVE client, a session store and the web server, and runs the three modes
// of the binary (serve, demo, pvesim) until their context ends.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/jobs"
	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/metrics"
	"github.com/lxc-manager/lxc-manager/internal/proxmox"
	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/throttle"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// Usage is printed for a missing or unknown command.
const Usage = `usage: lxc-manager <command> [flags]

commands:
  serve    run the dashboard (configured by environment variables, see docs/config.md)
  demo     run the dashboard against a built-in Proxmox VE simulator, no setup needed
  pvesim   run the Proxmox VE simulator alone (flags: --listen, --scenario, --user, --offline-node, --auth-failure-delay)
  version  print the version
`

// UsageError reports a command line that could not be understood.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Env is what a run of the binary gets from its surroundings.
type Env struct {
	Args   []string // without the program name
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// Version is the release, set at build time (-ldflags -X main.version=...).
	Version string
}

// Run runs the command named by env.Args[0] until ctx ends (a signal) or it
// fails.
func Run(ctx context.Context, env Env) error {
	if len(env.Args) == 0 {
		return &UsageError{Msg: "no command given"}
	}
	if env.Args[0] == "version" {
		fmt.Fprintln(env.Stdout, versionString(env.Version))
		return nil
	}
	logging, err := config.LoadLogging(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := logging.NewLogger(env.Stderr)
	switch env.Args[0] {
	case "serve":
		return runServe(ctx, env, logger)
	case "demo":
		return runDemo(ctx, env, logger)
	case "pvesim":
		return runSim(ctx, env, logger)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, Usage)
		return nil
	default:
		return &UsageError{Msg: fmt.Sprintf("unknown command %q", env.Args[0])}
	}
}

// Dashboard is a built web server with what it owns.
type Dashboard struct {
	Server  *web.Server
	Metrics *metrics.Metrics
	redis   redis.UniversalClient
	store   *session.RedisStore // nil without Redis
	pve     *proxmox.Client
}

// Close stops the session cache's tracking and releases the Redis
// connections, if any.
func (d *Dashboard) Close() error {
	if d.store != nil {
		d.store.Close()
	}
	if d.redis != nil {
		return d.redis.Close()
	}
	return nil
}

// Deps are what a dashboard takes besides its configuration.
type Deps struct {
	Logger *slog.Logger // default: discard
	// MemorySessions keeps sessions and sign-in counters in this process
	// (demo only) instead of Redis.
	MemorySessions bool
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time

	// failStep, in tests, is asked after each step that follows the
	// connection to Redis and fails that step when it returns an error.
	failStep func(step string, d *Dashboard) error
}

// step reports whether the test hook wants the named step to fail.
func (deps Deps) step(name string, d *Dashboard) error {
	if deps.failStep == nil {
		return nil
	}
	return deps.failStep(name, d)
}

// NewDashboard builds the dashboard from cfg. Unless deps.MemorySessions,
// Redis (one server at cfg.RedisURL, Sentinel or Cluster) must answer now,
// or NewDashboard fails with a message naming the setting. When it fails it has released what it opened.
func NewDashboard(ctx context.Context, cfg config.Config, deps Deps) (_ *Dashboard, err error) {
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	var caPEM []byte
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("PROXMOX_CA_FILE: %w", err)
		}
		caPEM = b
	}
	d := &Dashboard{}
	defer func() {
		if err != nil {
			// Every error path, present and future: no Redis client leaks.
			_ = d.Close()
		}
	}()
	// The session count is read from whichever store is built below.
	var counter interface {
		Count(ctx context.Context) (int, error)
	}
	d.Metrics = metrics.New(func(ctx context.Context) (int, error) { return counter.Count(ctx) })
	pve, err := proxmox.New(proxmox.Options{
		BaseURL:      cfg.ProxmoxURL(),
		Fingerprint:  cfg.TLSFingerprint,
		CAPEM:        caPEM,
		Insecure:     cfg.TLSInsecure,
		LoginTimeout: config.LoginTimeout,
		Logger:       logger,
		Observe:      d.Metrics.ObservePVE,
	})
	if err != nil {
		return nil, err
	}
	d.pve = pve
	codec, err := session.NewCodec(cfg.SessionSecret, cfg.SessionSecretPrevious)
	if err != nil {
		return nil, fmt.Errorf("SESSION_SECRET / SESSION_SECRET_PREVIOUS: %w", err)
	}
	var (
		store   session.Store
		shared  live.Shared
		limiter web.Limiter
		claims  web.StepClaims
		slots   jobs.Slots
		bulk    jobs.Store
		checks  = []web.Check{{Name: "pve", Ping: func(ctx context.Context) error {
			_, err := pve.Realms(ctx) // answers without a sign-in
			return err
		}}}
	)
	if deps.MemorySessions {
		ms := session.NewMemoryStore(now)
		store, counter = ms, ms
		limiter = throttle.NewMemory(now)
		claims = throttle.NewMemoryClaims(now)
		slots, bulk = jobs.NewMemorySlots(nil), jobs.NewMemoryStore(nil)
	} else {
		setting := redisSetting(cfg)
		rc, err := session.NewUniversalClient(redisOptions(cfg))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		d.redis = rc // closed by the deferred clean-up if a later step fails
		pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := pingRedis(pingCtx, rc); err != nil {
			return nil, fmt.Errorf("%s: cannot reach Redis (is it running, and is %s right?): %w", setting, setting, err)
		}
		if err := deps.step("redis", d); err != nil {
			return nil, err
		}
		rc.AddHook(d.Metrics.RedisHook())
		rs, err := session.NewCachedRedisStore(rc, session.CacheOptions{Logger: logger})
		if err != nil {
			return nil, err
		}
		d.store = rs
		store, counter = rs, rs
		limiter = throttle.NewRedis(rc)
		claims = throttle.NewRedisClaims(rc, "tfa-used:")
		slots, bulk = jobs.NewRedisSlots(rc), jobs.NewRedisStore(rc)
		instance, err := session.NewID()
		if err == nil {
			err = deps.step("instance id", d)
		}
		if err != nil {
			return nil, err
		}
		shared = live.NewRedisShared(rc, instance[:12])
		checks = append(checks, web.Check{Name: "redis", Ping: func(ctx context.Context) error { return pingRedis(ctx, rc) }})
	}
	d.Server, err = web.New(web.Config{
		PVE:                pve,
		Store:              session.Sealed(store, codec),
		Codec:              codec,
		Limiter:            limiter,
		StepClaims:         claims,
		Logger:             logger,
		CookieSecure:       cfg.CookieSecure,
		SessionTTL:         config.SessionTTL,
		SessionMaxAge:      cfg.SessionMaxAge,
		LoginTimeout:       config.LoginTimeout,
		LiveInterval:       cfg.LiveInterval,
		ConsoleIdleTimeout: cfg.ConsoleIdleTimeout,
		TrustedProxies:     cfg.TrustedProxies,
		Now:                now,
		Metrics:            d.Metrics,
		Checks:             checks,
		LiveShared:         shared,
		PublicURL:          cfg.PublicURL,
		BulkSlots:          slots,
		BulkJobs:           bulk,
	})
	if err == nil {
		err = deps.step("web server", d)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func runServe(ctx context.Context, env Env, logger *slog.Logger) error {
	if len(env.Args) > 1 {
		return &UsageError{Msg: "serve takes no arguments; it is configured by environment variables (docs/config.md)"}
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	d, err := NewDashboard(ctx, cfg, Deps{Logger: logger})
	if err != nil {
		return err
	}
	defer d.Close()
	var check sync.WaitGroup
	defer check.Wait() // ends soon after ctx does
	check.Go(func() { d.checkOpenIDSetup(ctx, cfg, logger) })
	return serveAll(ctx, logger, d.endpoints(cfg, logger, func(addr string) {
		logger.Info("LXC Manager listening", "url", "http://"+addr, "pve", cfg.ProxmoxURL())
	})...)
}

// endpoints are the dashboard's listener and, unless METRICS_ADDR is off,
// the metrics listener.
func (d *Dashboard) endpoints(cfg config.Config, logger *slog.Logger, ready func(addr string)) []endpoint {
	eps := []endpoint{{setting: "LISTEN_ADDR", addr: cfg.ListenAddr, handler: d.Server, ready: ready}}
	if cfg.MetricsAddr != "" {
		eps = append(eps, endpoint{setting: "METRICS_ADDR", addr: cfg.MetricsAddr, handler: d.MetricsHandler(), ready: func(addr string) {
			logger.Info("metrics listening", "url", "http://"+addr+"/metrics")
		}})
	}
	return eps
}

// MetricsHandler serves GET /metrics and nothing else, for the listener of
// its own that METRICS_ADDR names (never the dashboard's).
func (d *Dashboard) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.Metrics.Handler())
	return mux
}

// versionString describes the build: the release, the commit when the build
// recorded one, and the Go version.
func versionString(release string) string {
	if release == "" {
		release = "dev"
	}
	out := "lxc-manager " + release
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				out += " (commit " + s.Value[:12] + ")"
			}
		}
		out += " " + bi.GoVersion
	}
	return out
}
