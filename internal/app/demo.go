package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// runDemo starts the simulator in-process and the dashboard against it.
// Sessions live in memory unless REDIS_URL is set. Nothing needs setting up.
func runDemo(ctx context.Context, env Env, logger *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", orEnv(env.Getenv, "LISTEN_ADDR", config.DefaultListenAddr), "dashboard address")
	delay := fs.Duration("auth-failure-delay", 3*time.Second, "how long the simulator holds a refused sign-in, as PVE does")
	var sf simFlags
	sf.register(fs)
	if err := fs.Parse(env.Args[1:]); err != nil {
		return &UsageError{Msg: "demo: " + err.Error()}
	}
	sim, err := sf.newSim(*delay, logger.With("component", "pvesim"))
	if err != nil {
		return err
	}
	simSrv, err := pvesim.Start("127.0.0.1:0", sim)
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	defer simSrv.Close()

	// The dashboard's listener opens first: the OpenID callback names its
	// address.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: listen on %s: %w", *listen, err)
	}
	defer ln.Close() // closed already once served; this covers early returns

	secret := env.Getenv("SESSION_SECRET")
	if secret == "" {
		secret = randomSecret()
	}
	host, port := splitAddr(simSrv.Addr)
	cfg := config.Config{
		ProxmoxHost:    host,
		ProxmoxPort:    port,
		TLSFingerprint: simSrv.Fingerprint,
		SessionSecret:  secret,
		RedisURL:       env.Getenv("REDIS_URL"),
		ListenAddr:     ln.Addr().String(),
		// The demo serves plain HTTP on localhost, where a Secure cookie
		// would never be sent back.
		CookieSecure: false,
		// No metrics listener unless METRICS_ADDR asks for one.
		MetricsAddr: demoMetricsAddr(env.Getenv),
		PublicURL:   orEnv(env.Getenv, "PUBLIC_URL", demoPublicURL(ln.Addr())),
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	// Registered at the simulator's provider, as an administrator would.
	simSrv.RegisterRedirectURI(cfg.PublicURL + web.OpenIDCallbackPath)
	d, err := NewDashboard(ctx, cfg, Deps{Logger: logger, MemorySessions: !cfg.UsesRedis()})
	if err != nil {
		return err
	}
	defer d.Close()
	eps := d.endpoints(cfg, logger, func(addr string) {
		sessions := "in memory"
		if cfg.UsesRedis() {
			sessions = "in Redis"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\nLXC Manager demo\n  dashboard:  http://%s\n  simulator:  %s (fingerprint %s)\n", addr, simSrv.URL, simSrv.Fingerprint)
		if simSrv.OpenID != nil {
			fmt.Fprintf(&b, "  OpenID provider: %s (redirect URI %s)\n", simSrv.OpenID.URL, cfg.PublicURL+web.OpenIDCallbackPath)
		}
		fmt.Fprintf(&b, "  sessions:   %s\n  sign in as:\n", sessions)
		writeDemoUsers(&b, sf.scenario)
		b.WriteString("  realms:\n")
		for _, r := range pvesim.DefaultRealms() {
			fmt.Fprintf(&b, "    %-12s %s", r.Name, r.Comment)
			switch {
			case r.Default:
				b.WriteString(" (preselected)")
			case r.Type == "openid":
				b.WriteString(" (signs in at the simulator's OpenID provider)")
			}
			b.WriteByte('\n')
		}
		fmt.Fprintln(&b, "  Stop with Ctrl-C.")
		fmt.Fprint(env.Stdout, b.String())
	})
	eps[0].ln = ln
	return serveAll(ctx, logger, eps...)
}

// writeDemoUsers lists the scenario's users with how they sign in.
func writeDemoUsers(b *strings.Builder, scenario string) {
	provider := map[string]pvesim.ProviderUser{}
	for _, u := range pvesim.DefaultProviderUsers() {
		provider[u.Username] = u
	}
	for _, u := range pvesim.ScenarioUsers(scenario) {
		name, realm, _ := strings.Cut(u.ID, "@")
		if pu, ok := provider[name]; ok && realm == "sso" {
			fmt.Fprintf(b, "    %-12s OpenID: choose Single sign-on, then sign in at the provider as %s / %s\n", u.ID, pu.Username, pu.Password)
			continue
		}
		fmt.Fprintf(b, "    %-12s password %s", u.ID, u.Password)
		switch {
		case u.TOTPSecret != "":
			fmt.Fprintf(b, ", TOTP secret %s", u.TOTPSecret)
			if len(u.RecoveryKeys) > 0 {
				fmt.Fprintf(b, ", recovery key %s", u.RecoveryKeys[0])
			}
		case u.WebAuthn:
			b.WriteString(" (WebAuthn only: cannot finish signing in here)")
		}
		b.WriteByte('\n')
	}
	if u, ok := provider["frank"]; ok {
		fmt.Fprintf(b, "    %-12s OpenID only: %s / %s at the provider; created at the first sign-in, with no privileges\n", "frank@sso", u.Username, u.Password)
	}
}

// demoPublicURL is the dashboard's own address as a browser on this
// machine reaches it.
func demoPublicURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// demoMetricsAddr is METRICS_ADDR for the demo: unlike serve's, unset (or
// "off") means no metrics listener.
func demoMetricsAddr(getenv func(string) string) string {
	v := strings.TrimSpace(getenv("METRICS_ADDR"))
	if strings.EqualFold(v, config.MetricsOff) {
		return ""
	}
	return v
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return base64.RawURLEncoding.EncodeToString(b)
}

func orEnv(getenv func(string) string, name, def string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v
	}
	return def
}
