package app_test

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app"
)

// serveStderr runs serve with env and returns a reader of what it logs.
func serveStderr(t *testing.T, env map[string]string) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Run(ctx, app.Env{Args: []string{"serve"}, Getenv: envOf(env), Stdout: io.Discard, Stderr: pw})
		_ = pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return bufio.NewReader(pr)
}

// Start-up says when PVE has OpenID realms and PUBLIC_URL is missing (and
// serves anyway); with PUBLIC_URL it names the redirect URI to register.
func TestServeChecksOpenIDSetup(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		out := serveStderr(t, serveEnv(t))
		// Both, in either order: the error, and serving anyway.
		listening := regexp.MustCompile(`"msg":"LXC Manager listening"`)
		either := regexp.MustCompile(listening.String() + `|"level":"ERROR".*"msg":"PUBLIC_URL is not set: sign-ins through the OpenID realms.*"realms":"sso"`)
		first, second := readUntil(t, out, either)[0], readUntil(t, out, either)[0]
		if listening.MatchString(first) == listening.MatchString(second) {
			t.Errorf("lines %q and %q, want the error and the listening line", first, second)
		}
	})
	t.Run("set", func(t *testing.T) {
		env := serveEnv(t)
		env["PUBLIC_URL"] = "https://lxc.example.com/"
		out := serveStderr(t, env)
		readUntil(t, out, regexp.MustCompile(`"level":"INFO".*"redirect_uri":"https://lxc.example.com/login/openid","realms":"sso"`))
	})
}
