package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func valid() map[string]string {
	return map[string]string{
		"PROXMOX_HOST":   "pve.example.com",
		"SESSION_SECRET": strings.Repeat("s", 32),
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxmoxPort != 8006 || c.RedisURL != DefaultRedisURL || c.ListenAddr != "127.0.0.1:3001" ||
		!c.CookieSecure || c.TLSInsecure || c.TLSFingerprint != "" || c.CAFile != "" || c.LiveInterval != 3*time.Second || c.SessionMaxAge != 12*time.Hour ||
		c.MetricsAddr != "127.0.0.1:9101" || c.ConsoleIdleTimeout != 30*time.Minute {
		t.Errorf("defaults: %+v", c)
	}
	m := valid()
	m["CONSOLE_IDLE_TIMEOUT"] = "2h"
	if c, err := Load(env(m)); err != nil || c.ConsoleIdleTimeout != 2*time.Hour {
		t.Errorf("CONSOLE_IDLE_TIMEOUT=2h: %v, %v", c.ConsoleIdleTimeout, err)
	}
	if got := c.ProxmoxURL(); got != "https://pve.example.com:8006" {
		t.Errorf("ProxmoxURL = %q", got)
	}
}

func TestMetricsAddr(t *testing.T) {
	cases := []struct {
		set  string
		want string
	}{
		{"", "127.0.0.1:9101"}, // loopback only by default
		{"  ", "127.0.0.1:9101"},
		{"0.0.0.0:9200", "0.0.0.0:9200"},
		{"off", ""},
		{"OFF", ""},
	}
	for _, tc := range cases {
		m := valid()
		m["METRICS_ADDR"] = tc.set
		c, err := Load(env(m))
		if err != nil {
			t.Errorf("METRICS_ADDR=%q: %v", tc.set, err)
			continue
		}
		if c.MetricsAddr != tc.want {
			t.Errorf("METRICS_ADDR=%q gives %q, want %q", tc.set, c.MetricsAddr, tc.want)
		}
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"missing host", map[string]string{"PROXMOX_HOST": ""}, "PROXMOX_HOST"},
		{"host as URL", map[string]string{"PROXMOX_HOST": "https://pve/"}, "PROXMOX_HOST"},
		{"missing secret", map[string]string{"SESSION_SECRET": ""}, "SESSION_SECRET"},
		{"short secret", map[string]string{"SESSION_SECRET": "short"}, "SESSION_SECRET"},
		{"short previous secret", map[string]string{"SESSION_SECRET_PREVIOUS": "short"}, "SESSION_SECRET_PREVIOUS"},
		{"bad port", map[string]string{"PROXMOX_PORT": "80a"}, "PROXMOX_PORT"},
		{"port out of range", map[string]string{"PROXMOX_PORT": "70000"}, "PROXMOX_PORT"},
		{"bad bool", map[string]string{"COOKIE_SECURE": "maybe"}, "COOKIE_SECURE"},
		{"bad insecure", map[string]string{"PROXMOX_TLS_INSECURE": "yes please"}, "PROXMOX_TLS_INSECURE"},
		{"bad fingerprint", map[string]string{"PROXMOX_TLS_FINGERPRINT": "AB:CD"}, "PROXMOX_TLS_FINGERPRINT"},
		{"missing CA file", map[string]string{"PROXMOX_CA_FILE": filepath.Join(dir, "none.pem")}, "PROXMOX_CA_FILE"},
		{"CA file without PEM", map[string]string{"PROXMOX_CA_FILE": notPEM}, "PROXMOX_CA_FILE"},
		{"bad redis URL", map[string]string{"REDIS_URL": "http://redis"}, "REDIS_URL"},
		{"bad listen", map[string]string{"LISTEN_ADDR": "3001"}, "LISTEN_ADDR"},
		{"bad metrics address", map[string]string{"METRICS_ADDR": "9101"}, "METRICS_ADDR"},
		{"bad max age", map[string]string{"SESSION_MAX_AGE": "forever"}, "SESSION_MAX_AGE"},
		{"max age too short", map[string]string{"SESSION_MAX_AGE": "1m"}, "SESSION_MAX_AGE"},
		{"bad trusted proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.1, proxy.example"}, "TRUSTED_PROXIES"},
		{"bad live interval", map[string]string{"LIVE_INTERVAL": "fast"}, "LIVE_INTERVAL"},
		{"live interval too short", map[string]string{"LIVE_INTERVAL": "100ms"}, "LIVE_INTERVAL"},
		{"bad console idle timeout", map[string]string{"CONSOLE_IDLE_TIMEOUT": "soon"}, "CONSOLE_IDLE_TIMEOUT"},
		{"console idle timeout too short", map[string]string{"CONSOLE_IDLE_TIMEOUT": "30s"}, "CONSOLE_IDLE_TIMEOUT"},
		{"console idle timeout too long", map[string]string{"CONSOLE_IDLE_TIMEOUT": "25h"}, "CONSOLE_IDLE_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			for k, v := range tc.set {
				m[k] = v
			}
			_, err := Load(env(m))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tc.want {
				t.Errorf("error %v does not name %s", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q lacks %s", err, tc.want)
			}
		})
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	want := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	for _, in := range []string{want, strings.ToLower(want), strings.ReplaceAll(want, ":", ""), " " + want + " "} {
		got, err := NormalizeFingerprint(in)
		if err != nil || got != want {
			t.Errorf("NormalizeFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "AB", strings.Repeat("ZZ:", 32), want + ":AB"} {
		if _, err := NormalizeFingerprint(bad); err == nil {
			t.Errorf("NormalizeFingerprint(%q) accepted", bad)
		}
	}
}

func TestLoadParsesEverything(t *testing.T) {
	m := valid()
	m["PROXMOX_PORT"] = "443"
	m["COOKIE_SECURE"] = "false"
	m["PROXMOX_TLS_INSECURE"] = "true"
	m["PROXMOX_TLS_FINGERPRINT"] = strings.ToLower(strings.TrimSuffix(strings.Repeat("0a:", 32), ":"))
	m["REDIS_URL"] = "redis://:pw@10.0.0.1:6380/2"
	m["LISTEN_ADDR"] = "0.0.0.0:8080"
	m["TRUSTED_PROXIES"] = "10.0.0.1, 192.168.0.0/24,::1"
	c, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxmoxPort != 443 || c.CookieSecure || !c.TLSInsecure || !strings.HasPrefix(c.TLSFingerprint, "0A:0A") ||
		c.RedisURL != m["REDIS_URL"] || c.ListenAddr != "0.0.0.0:8080" || len(c.TrustedProxies) != 3 ||
		c.TrustedProxies[0].String() != "10.0.0.1/32" || c.TrustedProxies[2].String() != "::1/128" {
		t.Errorf("parsed: %+v", c)
	}
}

func TestLoadLogging(t *testing.T) {
	cases := []struct {
		env     map[string]string
		json    bool
		level   string
		wantErr string
	}{
		{map[string]string{}, false, "INFO", ""},
		{map[string]string{"LOG_FORMAT": "json", "LOG_LEVEL": "debug"}, true, "DEBUG", ""},
		{map[string]string{"LOG_FORMAT": "TEXT", "LOG_LEVEL": "warn"}, false, "WARN", ""},
		{map[string]string{"LOG_FORMAT": "xml"}, false, "", "LOG_FORMAT"},
		{map[string]string{"LOG_LEVEL": "loud"}, false, "", "LOG_LEVEL"},
	}
	for _, tc := range cases {
		l, err := LoadLogging(env(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err %v, want one naming %s", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || l.JSON != tc.json || l.Level.String() != tc.level {
			t.Errorf("%v: %+v, %v", tc.env, l, err)
		}
	}
}

func TestPublicURL(t *testing.T) {
	cases := []struct {
		set, want, err string
		insecure       bool // COOKIE_SECURE=false
	}{
		{set: "", want: ""},
		{set: "https://lxc.example.com", want: "https://lxc.example.com"},
		{set: " https://lxc.example.com/ ", want: "https://lxc.example.com"},
		{set: "https://lxc.example.com:8443", want: "https://lxc.example.com:8443"},
		{set: "http://127.0.0.1:3001", want: "http://127.0.0.1:3001"},
		{set: "http://localhost:3001", want: "http://localhost:3001"},
		{set: "http://[::1]:3001/", want: "http://[::1]:3001"},
		{set: "http://lxc.lan:3001", want: "http://lxc.lan:3001", insecure: true},
		{set: "http://lxc.lan:3001", err: "while COOKIE_SECURE is on"},
		{set: "lxc.example.com", err: "like https://lxc.example.com"},
		{set: "ftp://lxc.example.com", err: "like https://lxc.example.com"},
		{set: "https://", err: "like https://lxc.example.com"},
		{set: "https://lxc.example.com/dashboard", err: "without a path"},
		{set: "https://lxc.example.com/?x=1", err: "without user, query or fragment"},
		{set: "https://lxc.example.com/#top", err: "without user, query or fragment"},
		{set: "https://me:pw@lxc.example.com", err: "without user, query or fragment"},
		{set: "https://" + strings.Repeat("a", 240) + ".com", err: "at most 242 characters"},
	}
	for _, tc := range cases {
		m := valid()
		m["PUBLIC_URL"] = tc.set
		if tc.insecure {
			m["COOKIE_SECURE"] = "false"
		}
		c, err := Load(env(m))
		if tc.err != "" {
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != "PUBLIC_URL" || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("PUBLIC_URL=%q: %v, want an error with %q", tc.set, err, tc.err)
			}
			continue
		}
		if err != nil || c.PublicURL != tc.want {
			t.Errorf("PUBLIC_URL=%q gives %q, %v; want %q", tc.set, c.PublicURL, err, tc.want)
		}
	}
}
