// Package redistest gives tests a real Redis server.
//
// Start launches Debian's redis-server on a free loopback port, without
// persistence, in a per-test temporary directory, and stops it when the test
// ends. Tests can Stop and Restart it to exercise outages.
//
// When the environment variable REDIS_URL is set, Start uses that server
// instead (for CI service containers and the like). Its database may receive
// test keys, so tests must use unique keys (for example fresh session ids)
// and must not flush it; Stop and Restart skip the calling test there,
// because an external server cannot be controlled.
//
// When redis-server is not on PATH and REDIS_URL is unset, Start reports the
// dependency as missing (see testutil.Missing): a skip locally, a failure
// under CI=true.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil"
)

const (
	// readyTimeout bounds how long a fresh server may take to answer PING.
	readyTimeout = 5 * time.Second
	// stopTimeout bounds how long a server may take to exit after SIGTERM
	// before it is killed.
	stopTimeout = 10 * time.Second
	// pollInterval is the pause between PING attempts.
	pollInterval = 20 * time.Millisecond
	// launchAttempts is how many free ports Start tries, in case another
	// process grabs the port between choosing and binding it.
	launchAttempts = 5
)

// errExited means redis-server exited before it answered PING.
var errExited = errors.New("redis-server exited before answering PING")

// Server is a Redis server for one test.
type Server struct {
	// URL addresses the server, e.g. "redis://127.0.0.1:6390/0"; pass it to
	// session.NewRedisClient.
	URL string

	external bool     // URL came from REDIS_URL; the process is not ours
	bin      string   // path of redis-server
	dir      string   // working directory (empty dump/log location)
	port     int      // kept across Stop and Restart
	args     []string // extra command-line arguments (replica, cluster)
	// sentinelConf, for a sentinel, is its configuration file: it is run
	// as "redis-sentinel FILE" instead of with the server's arguments.
	sentinelConf string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one running redis-server.
type process struct {
	cmd    *exec.Cmd
	output *bytes.Buffer // stdout and stderr; read only after done is closed
	done   chan struct{} // closed once the process has exited
}

// Start returns a running Redis server for t, stopped automatically when the
// test ends. See the package documentation for REDIS_URL and for what
// happens when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		s := &Server{URL: u, external: true}
		if err := pingURL(u); err != nil {
			// Never print the URL: it may carry a password.
			t.Fatalf("redistest: REDIS_URL is set but its server does not answer PING: %v", err)
		}
		return s
	}
	return startOwn(t, nil)
}

// startOwn starts a redis-server of the test's own with extra arguments
// (args may use the placeholder "{port}" for the port chosen).
func startOwn(t testing.TB, args []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testutil.Missing(t, "redis-server is not on PATH (apt-get install redis-server) and REDIS_URL is unset")
		return nil
	}
	s := &Server{bin: bin, dir: t.TempDir()}
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(s.stop)

	var lastErr error
	for range launchAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: pick a free port: %v", err)
		}
		s.port = port
		s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		s.args = nil
		for _, a := range args {
			s.args = append(s.args, strings.ReplaceAll(a, "{port}", strconv.Itoa(port)))
		}
		lastErr = s.launch()
		if lastErr == nil {
			return s
		}
		if !errors.Is(lastErr, errExited) {
			break // it runs but does not answer: another port will not help
		}
	}
	t.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Kill ends the server at once (SIGKILL), as a crash would: nothing is
// flushed and clients see their connections reset. The port is kept for
// Restart. With REDIS_URL it skips the test.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.external {
		t.Skip("redistest: Kill is not supported with REDIS_URL (external server)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.done
	s.proc = nil
}

// Stop terminates the server (SIGTERM, then waits for it to exit). The port
// is kept for Restart. Stopping a stopped server does nothing. With REDIS_URL
// it skips the test.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.external {
		t.Skip("redistest: Stop is not supported with REDIS_URL (external server)")
	}
	s.stop()
}

// Restart starts the server again on the same port (stopping it first if it
// is still running) and waits until it answers PING. Data is not kept. With
// REDIS_URL it skips the test.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.external {
		t.Skip("redistest: Restart is not supported with REDIS_URL (external server)")
	}
	s.stop()
	if err := s.launch(); err != nil {
		t.Fatalf("redistest: restart redis-server on port %d: %v", s.port, err)
	}
}

// Client returns a go-redis client for the server, built with
// session.NewRedisClient and closed when the test ends. Use it for
// assertions on raw keys.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c, err := session.NewRedisClient(s.URL)
	if err != nil {
		t.Fatalf("redistest: new client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// launch starts redis-server on s.port and waits until it answers PING. On
// failure the process is gone and the error carries its output.
func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("redis-server is already running")
	}
	logFile := filepath.Join(s.dir, "redis.log")
	argv := append([]string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", logFile,
		"--daemonize", "no",
	}, s.args...)
	if s.sentinelConf != "" {
		argv = []string{s.sentinelConf, "--logfile", logFile, "--daemonize", "no"}
	}
	cmd := exec.Command(s.bin, argv...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = sysProcAttr()
	p := &process{cmd: cmd, output: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout = p.output
	cmd.Stderr = p.output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	if err := waitReady(addr, p.done); err != nil {
		terminate(p)
		return fmt.Errorf("%w\n%s", err, diagnostics(p, logFile))
	}
	s.proc = p
	return nil
}

// stop terminates the running process, if any, and waits for it to exit.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	terminate(s.proc)
	s.proc = nil
}

// terminate sends SIGTERM, waits up to stopTimeout, then kills.
func terminate(p *process) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitReady polls addr with PING until it answers +PONG, the process exits
// (errExited) or readyTimeout passes.
func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for {
		select {
		case <-exited:
			return errExited
		default:
		}
		if lastErr = ping(addr); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING answer within %v: %w", readyTimeout, lastErr)
		}
		time.Sleep(pollInterval)
	}
}

// ping sends one inline PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected PING reply %q", strings.TrimSpace(line))
	}
	return nil
}

// pingURL checks that the server at url answers PING.
func pingURL(url string) error {
	c, err := session.NewRedisClient(url)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	return c.Ping(ctx).Err()
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// diagnostics returns the output and log tail of an exited process.
func diagnostics(p *process, logFile string) string {
	<-p.done
	var b strings.Builder
	if out := strings.TrimSpace(p.output.String()); out != "" {
		fmt.Fprintf(&b, "redis-server output:\n%s\n", out)
	}
	if log, err := os.ReadFile(logFile); err == nil && len(log) > 0 {
		const tail = 2000
		if len(log) > tail {
			log = log[len(log)-tail:]
		}
		fmt.Fprintf(&b, "redis.log (tail):\n%s", log)
	}
	return b.String()
}
