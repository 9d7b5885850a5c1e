package app_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// run starts app.Run in the background and returns a reader of its
// standard output and a function that stops it and returns its error.
func run(t *testing.T, args []string, env map[string]string) (*bufio.Reader, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := app.Run(ctx, app.Env{Args: args, Getenv: envOf(env), Stdout: pw, Stderr: io.Discard})
		_ = pw.Close()
		done <- err
	}()
	stopped := false
	var result error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			select {
			case result = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("command did not stop within 20 s of its context ending")
			}
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return bufio.NewReader(pr), stop
}

// readUntil reads lines until one matches re and returns its submatches.
func readUntil(t *testing.T, r *bufio.Reader, re *regexp.Regexp) []string {
	t.Helper()
	found := make(chan []string, 1)
	go func() {
		for {
			line, err := r.ReadString('\n')
			if m := re.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
				found <- m
				return
			}
			if err != nil {
				found <- nil
				return
			}
		}
	}()
	select {
	case m := <-found:
		if m == nil {
			t.Fatalf("output ended without a line matching %s", re)
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no line matching %s within 20 s", re)
	}
	return nil
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve", "extra"}, {"pvesim", "--nope"}} {
		err := app.Run(context.Background(), app.Env{Args: args, Getenv: envOf(nil), Stdout: io.Discard, Stderr: io.Discard})
		var ue *app.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("Run(%q) = %v, want a UsageError", args, err)
		}
	}
}

// configVars lists the variables named by the *config.Error values in
// err's tree (errors.Join keeps every problem).
func configVars(err error) []string {
	var out []string
	if ce, ok := err.(*config.Error); ok {
		out = append(out, ce.Var)
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, configVars(e)...)
		}
	case interface{ Unwrap() error }:
		out = append(out, configVars(u.Unwrap())...)
	}
	return out
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	err := app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: envOf(nil), Stdout: io.Discard, Stderr: io.Discard})
	vars := configVars(err)
	if !slices.Contains(vars, "PROXMOX_HOST") || !slices.Contains(vars, "SESSION_SECRET") {
		t.Fatalf("err = %v (variables %q); want config errors naming PROXMOX_HOST and SESSION_SECRET", err, vars)
	}
}

func TestServeExitsWhenRedisIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	env := map[string]string{
		"PROXMOX_HOST":   "127.0.0.1",
		"SESSION_SECRET": strings.Repeat("x", 40),
		"REDIS_URL":      "redis://" + addr + "/0",
		"LISTEN_ADDR":    "127.0.0.1:0",
	}
	err = app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: envOf(env), Stdout: io.Discard, Stderr: io.Discard})
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "REDIS_URL") || !strings.Contains(err.Error(), "cannot reach Redis") {
		t.Fatalf("err = %v; want the refused connection, with a clear message naming REDIS_URL", err)
	}
}

func TestPvesimCommand(t *testing.T) {
	out, stop := run(t, []string{"pvesim", "--listen", "127.0.0.1:0", "--auth-failure-delay", "0s", "--user", "dave@pve:dave-secret",
		"--openid-redirect", "https://lxc.example.com/login/openid"}, nil)
	u := readUntil(t, out, regexp.MustCompile(`listening on (https://\S+)`))[1]
	fp := readUntil(t, out, regexp.MustCompile(`^fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$`))[1]
	if fp == "" {
		t.Fatal("no fingerprint")
	}
	readUntil(t, out, regexp.MustCompile(`^openid provider: http://localhost:\d+ \(redirect URIs: https://lxc.example.com/login/openid\)$`))
	// The added user can sign in (verification is off here only because
	// this test checks the command, not TLS; the fingerprint is checked above).
	c := insecureClient()
	resp, err := c.PostForm(u+"/api2/json/access/ticket", url.Values{"username": {"dave@pve"}, "password": {"dave-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("sign-in as --user: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("pvesim stopped with %v", err)
	}
}

func TestDemoCommand(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		name := "memory sessions"
		env := map[string]string{}
		if withRedis {
			name = "redis sessions"
			env["REDIS_URL"] = redistest.Start(t).URL
		}
		t.Run(name, func(t *testing.T) {
			out, stop := run(t, []string{"demo", "--listen", "127.0.0.1:0", "--auth-failure-delay", "0s"}, env)
			base := readUntil(t, out, regexp.MustCompile(`dashboard:\s+(http://\S+)`))[1]
			readUntil(t, out, regexp.MustCompile(`root@pam\s+password proxmox`))
			// Every scenario user and realm is printed, the ones that
			// cannot sign in here with the reason.
			readUntil(t, out, regexp.MustCompile(`erin@pve\s+password erin-pass \(WebAuthn only`))
			readUntil(t, out, regexp.MustCompile(`dana@sso\s+OpenID: .* dana / dana-pass`))
			readUntil(t, out, regexp.MustCompile(`^\s+sso\s+.*OpenID.*provider`))
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.PostForm(base+"/login", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {"proxmox"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Fatalf("demo sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			// OpenID: PVE gives the provider's URL, with the demo's own
			// callback (PUBLIC_URL defaults to the dashboard's address).
			resp, err = c.PostForm(base+"/login", url.Values{"realm": {"sso"}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "redirect_uri=" + url.QueryEscape(base+"/login/openid")
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `content="0;url=http://localhost:`) ||
				!strings.Contains(strings.ReplaceAll(string(body), "&amp;", "&"), want) {
				t.Errorf("demo OpenID start: %d %s", resp.StatusCode, body)
			}
			if err := stop(); err != nil {
				t.Errorf("demo stopped with %v", err)
			}
		})
	}
}
