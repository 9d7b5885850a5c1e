// Package config loads and validates LXC Manager's settings from the
// environment. It is read once at start-up and passed down; nothing here is
// global.
package config

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// MinSecretLength is the shortest SESSION_SECRET accepted.
const MinSecretLength = 32

// Config holds every setting of the dashboard. Field comments name the
// environment variable and its default; docs/config.md lists them for admins.
type Config struct {
	// ProxmoxHost is the PVE host name or address (PROXMOX_HOST, required).
	ProxmoxHost string
	// ProxmoxPort is PVE's API port (PROXMOX_PORT, default 8006).
	ProxmoxPort int
	// TLSFingerprint pins PVE's certificate by its SHA-256 fingerprint
	// (PROXMOX_TLS_FINGERPRINT), normalised to upper-case colon-separated hex.
	TLSFingerprint string
	// CAFile is a PEM bundle trusted for PVE's certificate (PROXMOX_CA_FILE).
	CAFile string
	// TLSInsecure turns off certificate verification (PROXMOX_TLS_INSECURE).
	TLSInsecure bool

	// SessionSecret keys the cookie seal and the sealing of tickets in the
	// session store (SESSION_SECRET, required, 32+ chars).
	SessionSecret string
	// SessionSecretPrevious is the secret before a rotation; values sealed
	// with it are still read (SESSION_SECRET_PREVIOUS, optional, 32+ chars).
	SessionSecretPrevious string
	// RedisURL is where sessions live (REDIS_URL, default
	// redis://127.0.0.1:6379/0 when neither Sentinel nor Cluster is set).
	// With Sentinel or Cluster it is optional and only gives the scheme
	// (rediss:// for TLS), user and password. In demo mode an empty value
	// means sessions in memory.
	RedisURL string
	// RedisSentinelAddrs are the Redis Sentinels' host:port addresses
	// (REDIS_SENTINEL_ADDRS, comma-separated).
	RedisSentinelAddrs []string
	// RedisSentinelMaster is the name the sentinels know the primary by
	// (REDIS_SENTINEL_MASTER; required with REDIS_SENTINEL_ADDRS).
	RedisSentinelMaster string
	// RedisSentinelPassword is the sentinels' own password
	// (REDIS_SENTINEL_PASSWORD, optional).
	RedisSentinelPassword string
	// RedisClusterAddrs are host:port addresses of some Redis Cluster nodes
	// (REDIS_CLUSTER_ADDRS, comma-separated); the rest are discovered.
	RedisClusterAddrs []string
	// ListenAddr is the dashboard's address (LISTEN_ADDR, default 127.0.0.1:3001).
	ListenAddr string
	// CookieSecure sets the Secure flag on the session cookie (COOKIE_SECURE, default true).
	CookieSecure bool
	// MetricsAddr is where GET /metrics is served, on a listener of its own
	// and never on the dashboard's (METRICS_ADDR, default 127.0.0.1:9101;
	// "off" turns it off, which Load gives as "").
	MetricsAddr string
	// SessionMaxAge ends even an active session this long after sign-in
	// (SESSION_MAX_AGE, default 12h).
	SessionMaxAge time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (TRUSTED_PROXIES: comma-separated addresses or CIDRs).
	TrustedProxies []netip.Prefix
	// LiveInterval is how often open pages are refreshed from PVE
	// (LIVE_INTERVAL, default 3s, 1s to 60s).
	LiveInterval time.Duration
	// ConsoleIdleTimeout closes a container console after this long
	// without input (CONSOLE_IDLE_TIMEOUT, default 30m, 1m to 24h).
	ConsoleIdleTimeout time.Duration
	// PublicURL is the dashboard's address as browsers reach it
	// (PUBLIC_URL, e.g. https://lxc.example.com; no default). Sign-ins
	// through OpenID realms need it: the provider sends the browser back
	// to PublicURL + "/login/openid", never to an address taken from a
	// request. Load gives it without a trailing slash.
	PublicURL string
}

// Default values of optional settings.
const (
	DefaultProxmoxPort = 8006
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultListenAddr  = "127.0.0.1:3001"
	// DefaultMetricsAddr is where /metrics is served unless METRICS_ADDR
	// says otherwise: loopback only. (Not Prometheus' own 9090.)
	DefaultMetricsAddr = "127.0.0.1:9101"
	// MetricsOff, as METRICS_ADDR, serves no metrics at all.
	MetricsOff = "off"
	// DefaultSessionMaxAge is the longest a session lives, renewals included.
	DefaultSessionMaxAge = 12 * time.Hour
	// DefaultLiveInterval is how often open pages are refreshed.
	DefaultLiveInterval = 3 * time.Second
	// DefaultConsoleIdleTimeout closes a console nobody types in.
	DefaultConsoleIdleTimeout = 30 * time.Minute
	// SessionTTL is how long a session lives: a PVE ticket's lifetime.
	SessionTTL = 2 * time.Hour
	// LoginTimeout bounds the sign-in call to PVE.
	LoginTimeout = 10 * time.Second
)

// Error reports an invalid or missing setting; Var names the variable.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return e.Var + ": " + e.Reason }

// Load reads the settings through getenv (os.Getenv in production) and
// validates them. Every problem found is reported, each naming its variable.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		ProxmoxHost:           strings.TrimSpace(getenv("PROXMOX_HOST")),
		ProxmoxPort:           DefaultProxmoxPort,
		TLSFingerprint:        getenv("PROXMOX_TLS_FINGERPRINT"),
		CAFile:                getenv("PROXMOX_CA_FILE"),
		SessionSecret:         getenv("SESSION_SECRET"),
		SessionSecretPrevious: getenv("SESSION_SECRET_PREVIOUS"),
		ListenAddr:            orDefault(getenv("LISTEN_ADDR"), DefaultListenAddr),
		CookieSecure:          true,
		LiveInterval:          DefaultLiveInterval,
		ConsoleIdleTimeout:    DefaultConsoleIdleTimeout,
		SessionMaxAge:         DefaultSessionMaxAge,
		MetricsAddr:           orDefault(getenv("METRICS_ADDR"), DefaultMetricsAddr),
		PublicURL:             strings.TrimSpace(getenv("PUBLIC_URL")),
	}
	if strings.EqualFold(c.MetricsAddr, MetricsOff) {
		c.MetricsAddr = ""
	}
	errs := loadRedis(getenv, &c)
	if v := strings.TrimSpace(getenv("SESSION_MAX_AGE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Minute || d > 30*24*time.Hour {
			errs = append(errs, &Error{"SESSION_MAX_AGE", fmt.Sprintf("must be a duration from 10m to 720h, got %q", v)})
		}
		c.SessionMaxAge = d
	}
	if v := strings.TrimSpace(getenv("LIVE_INTERVAL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Minute {
			errs = append(errs, &Error{"LIVE_INTERVAL", fmt.Sprintf("must be a duration from 1s to 60s, got %q", v)})
		}
		c.LiveInterval = d
	}
	if v := strings.TrimSpace(getenv("CONSOLE_IDLE_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			errs = append(errs, &Error{"CONSOLE_IDLE_TIMEOUT", fmt.Sprintf("must be a duration from 1m to 24h, got %q", v)})
		}
		c.ConsoleIdleTimeout = d
	}
	if v := getenv("PROXMOX_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			errs = append(errs, &Error{"PROXMOX_PORT", fmt.Sprintf("must be a port number (1-65535), got %q", v)})
		}
		c.ProxmoxPort = p
	}
	if v := strings.TrimSpace(getenv("TRUSTED_PROXIES")); v != "" {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := netip.ParsePrefix(part)
			if err != nil {
				a, aerr := netip.ParseAddr(part)
				if aerr != nil {
					errs = append(errs, &Error{"TRUSTED_PROXIES", fmt.Sprintf("%q is not an address or CIDR", part)})
					continue
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
	}
	if err := parseBool(getenv, "PROXMOX_TLS_INSECURE", &c.TLSInsecure); err != nil {
		errs = append(errs, err)
	}
	if err := parseBool(getenv, "COOKIE_SECURE", &c.CookieSecure); err != nil {
		errs = append(errs, err)
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Validate checks the settings that do not come from parsing alone.
func (c *Config) Validate() error {
	var errs []error
	if c.ProxmoxHost == "" {
		errs = append(errs, &Error{"PROXMOX_HOST", "is required (the Proxmox VE host name or address)"})
	} else if strings.ContainsAny(c.ProxmoxHost, "/ ") {
		errs = append(errs, &Error{"PROXMOX_HOST", "must be a host name or address, not a URL"})
	}
	if c.SessionSecret == "" {
		errs = append(errs, &Error{"SESSION_SECRET", "is required (at least 32 random characters)"})
	} else if len(c.SessionSecret) < MinSecretLength {
		errs = append(errs, &Error{"SESSION_SECRET", fmt.Sprintf("must be at least %d characters, got %d", MinSecretLength, len(c.SessionSecret))})
	}
	if c.SessionSecretPrevious != "" && len(c.SessionSecretPrevious) < MinSecretLength {
		errs = append(errs, &Error{"SESSION_SECRET_PREVIOUS", fmt.Sprintf("must be at least %d characters, got %d", MinSecretLength, len(c.SessionSecretPrevious))})
	}
	if c.TLSFingerprint != "" {
		fp, err := NormalizeFingerprint(c.TLSFingerprint)
		if err != nil {
			errs = append(errs, &Error{"PROXMOX_TLS_FINGERPRINT", err.Error()})
		}
		c.TLSFingerprint = fp
	}
	if c.CAFile != "" {
		if err := checkCAFile(c.CAFile); err != nil {
			errs = append(errs, &Error{"PROXMOX_CA_FILE", err.Error()})
		}
	}
	if err := c.validateRedis(); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, &Error{"METRICS_ADDR", fmt.Sprintf("must be host:port or %q, got %q", MetricsOff, c.MetricsAddr)})
		}
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		errs = append(errs, &Error{"LISTEN_ADDR", fmt.Sprintf("must be host:port, got %q", c.ListenAddr)})
	}
	if c.PublicURL != "" {
		u, err := checkPublicURL(c.PublicURL, c.CookieSecure)
		if err != nil {
			errs = append(errs, &Error{"PUBLIC_URL", err.Error()})
		}
		c.PublicURL = u
	}
	return errors.Join(errs...)
}

// MaxPublicURLLength keeps PUBLIC_URL + "/login/openid" within the 255
// characters PVE takes as an OpenID redirect URL.
const MaxPublicURLLength = 242

// checkPublicURL accepts the dashboard's origin (scheme, host, optional
// port; a trailing "/" is dropped) and returns it normalised.
func checkPublicURL(v string, cookieSecure bool) (string, error) {
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "":
		return v, fmt.Errorf("must be the dashboard's address as browsers reach it, like https://lxc.example.com, got %q", v)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return v, fmt.Errorf("must be only the scheme, host and port, without user, query or fragment, got %q", v)
	case u.Path != "" && u.Path != "/":
		return v, fmt.Errorf("must be the dashboard's address without a path (the dashboard is served at /), got %q", v)
	}
	v = u.Scheme + "://" + u.Host
	if len(v) > MaxPublicURLLength {
		return v, fmt.Errorf("must be at most %d characters", MaxPublicURLLength)
	}
	if cookieSecure && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return v, errors.New("must be an https:// address while COOKIE_SECURE is on: browsers send Secure cookies over HTTPS only")
	}
	return v, nil
}

// isLoopback reports whether host names this machine (where browsers
// treat plain HTTP as secure).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// ProxmoxURL is the base URL of PVE's API server.
func (c *Config) ProxmoxURL() string {
	return "https://" + net.JoinHostPort(c.ProxmoxHost, strconv.Itoa(c.ProxmoxPort))
}

// NormalizeFingerprint accepts a SHA-256 fingerprint as PVE shows it
// (colon-separated hex, any case) or as plain hex, and returns it in PVE's
// form: upper-case hex pairs joined by colons.
func NormalizeFingerprint(v string) (string, error) {
	raw := strings.ReplaceAll(strings.TrimSpace(v), ":", "")
	b, err := hex.DecodeString(raw)
	if err != nil || len(b) != 32 {
		return "", errors.New("must be a SHA-256 fingerprint: 32 bytes as colon-separated hex (AA:BB:...)")
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":"), nil
}

func checkCAFile(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read the file: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return errors.New("holds no PEM certificate")
	}
	return nil
}

func parseBool(getenv func(string) string, name string, dst *bool) error {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return &Error{name, fmt.Sprintf("must be true or false, got %q", v)}
	}
	*dst = b
	return nil
}

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}

// Logging is how the process logs: LOG_FORMAT (text or json, default text)
// and LOG_LEVEL (debug, info, warn, error; default info).
type Logging struct {
	JSON  bool
	Level slog.Level
}

// LoadLogging reads LOG_FORMAT and LOG_LEVEL. Every mode of the binary uses
// it, so it stands apart from the dashboard's Config.
func LoadLogging(getenv func(string) string) (Logging, error) {
	var l Logging
	var errs []error
	switch v := strings.ToLower(strings.TrimSpace(getenv("LOG_FORMAT"))); v {
	case "", "text":
	case "json":
		l.JSON = true
	default:
		errs = append(errs, &Error{"LOG_FORMAT", fmt.Sprintf("must be text or json, got %q", v)})
	}
	if v := strings.TrimSpace(getenv("LOG_LEVEL")); v != "" {
		if err := l.Level.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, &Error{"LOG_LEVEL", fmt.Sprintf("must be debug, info, warn or error, got %q", v)})
		}
	}
	return l, errors.Join(errs...)
}

// NewLogger returns a slog.Logger writing to w as configured.
func (l Logging) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.Level}
	if l.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
