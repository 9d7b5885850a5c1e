package session

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tracking connection timings.
const (
	// trackHeartbeat is how often each tracking connection asks its server
	// whether it is still the primary (HELLO 3, which also shows that the
	// connection is alive).
	trackHeartbeat = time.Second
	// trackIdle is how long a tracking connection may stay silent: three
	// heartbeats without an answer and it is taken as lost.
	trackIdle = 3 * time.Second
	// trackDialTimeout bounds connecting and setting up one connection.
	trackDialTimeout = 2 * time.Second
	// trackRetryMin and trackRetryMax bound the pause between attempts to
	// bring the connections back.
	trackRetryMin = 50 * time.Millisecond
	trackRetryMax = 2 * time.Second
	// trackClientName names the connections in CLIENT LIST.
	trackClientName = "lxcm-session-tracking"
)

// errNotPrimary means a tracked server is no longer a primary (a failover
// demoted it): its connection is replaced by one to the new primary.
var errNotPrimary = errors.New("session: tracking: the server is no longer a primary")

// trackTarget is one primary whose session keys are tracked.
type trackTarget struct {
	addr           string // for comparison and logs
	dial           func(ctx context.Context) (net.Conn, error)
	user, password string
}

// targetsOf returns how to list the primaries of c: the one server (or the
// primary Sentinel names, through the failover client's own dialer), or
// every master of a cluster.
func targetsOf(c redis.UniversalClient) (func(ctx context.Context) ([]trackTarget, error), error) {
	target := func(o *redis.Options) trackTarget {
		return trackTarget{
			addr:     o.Addr,
			dial:     func(ctx context.Context) (net.Conn, error) { return o.Dialer(ctx, o.Network, o.Addr) },
			user:     o.Username,
			password: o.Password,
		}
	}
	switch c := c.(type) {
	case *redis.Client:
		return func(context.Context) ([]trackTarget, error) { return []trackTarget{target(c.Options())}, nil }, nil
	case *redis.ClusterClient:
		return func(ctx context.Context) ([]trackTarget, error) {
			var mu sync.Mutex
			var out []trackTarget
			err := c.ForEachMaster(ctx, func(_ context.Context, n *redis.Client) error {
				mu.Lock()
				defer mu.Unlock()
				out = append(out, target(n.Options()))
				return nil
			})
			slices.SortFunc(out, func(a, b trackTarget) int { return strings.Compare(a.addr, b.addr) })
			return out, err
		}, nil
	}
	return nil, fmt.Errorf("%w: client-side caching needs a redis.Client or redis.ClusterClient, not %T", ErrInvalid, c)
}

// tracker keeps one RESP3 connection per primary with
// CLIENT TRACKING ON BCAST PREFIX session:, so that every change of a
// session key anywhere — a write, a deletion, an expiry, a flush —
// reaches the cache. While any connection is down the cache is empty and
// serves nothing; it fills again once all are back.
type tracker struct {
	cache   *sessionCache
	targets func(ctx context.Context) ([]trackTarget, error)
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}

	conns atomic.Pointer[[]*trackConn] // the current connections, for quiet
}

// startTracker starts tracking for cache; stop it with close.
func startTracker(targets func(ctx context.Context) ([]trackTarget, error), cache *sessionCache, log *slog.Logger) *tracker {
	ctx, cancel := context.WithCancel(context.Background())
	t := &tracker{cache: cache, targets: targets, log: log, cancel: cancel, done: make(chan struct{})}
	cache.quiet = t.quiet
	go t.run(ctx)
	return t
}

// close stops tracking and waits for it; the cache stays empty.
func (t *tracker) close() {
	t.cancel()
	<-t.done
}

// quiet reports that no tracking connection has an invalidation waiting:
// nothing unread on its socket and nothing read but not yet applied.
func (t *tracker) quiet() bool {
	p := t.conns.Load()
	if p == nil {
		return false
	}
	for _, tc := range *p {
		if tc.busy.Load() || tc.pending() {
			return false
		}
	}
	return true
}

// run connects, serves until a connection is lost or the primaries change,
// and starts over, until ctx ends.
func (t *tracker) run(ctx context.Context) {
	defer close(t.done)
	pause := trackRetryMin
	wasLive := false
	for ctx.Err() == nil {
		err := t.session(ctx, &wasLive)
		if ctx.Err() != nil {
			break
		}
		if wasLive {
			t.log.Warn("session cache: invalidation connection lost; sessions are read from Redis until it is back", "err", err)
			wasLive = false
			pause = trackRetryMin
		} else {
			t.log.Debug("session cache: tracking not set up yet", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, trackRetryMax)
	}
	t.conns.Store(nil)
}

// session sets up a connection to every primary and keeps them until one
// fails, a primary is demoted or the set of primaries changes.
func (t *tracker) session(ctx context.Context, wasLive *bool) error {
	targets, err := t.targets(ctx)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("session: tracking: no primary known")
	}
	var conns []*trackConn
	var readers sync.WaitGroup
	live := false
	defer func() {
		t.conns.Store(nil)
		if live {
			t.cache.setLive(false)
		}
		for _, tc := range conns {
			_ = tc.conn.Close()
		}
		readers.Wait()
	}()
	for _, tg := range targets {
		tc, err := openTrackConn(ctx, tg)
		if err != nil {
			return fmt.Errorf("%s: %w", tg.addr, err)
		}
		conns = append(conns, tc)
	}
	failed := make(chan error, len(conns))
	for _, tc := range conns {
		readers.Go(func() { failed <- tc.read(t.cache) })
	}
	t.conns.Store(&conns)
	t.cache.setLive(true)
	live, *wasLive = true, true
	tick := time.NewTicker(trackHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return err
		case <-tick.C:
		}
		for _, tc := range conns {
			if err := tc.send("HELLO", "3"); err != nil {
				return err
			}
		}
		now, err := t.targets(ctx)
		if err != nil {
			return err
		}
		if !sameTargets(now, targets) {
			return errors.New("session: tracking: the primaries changed")
		}
	}
}

func sameTargets(a, b []trackTarget) bool {
	return slices.EqualFunc(a, b, func(x, y trackTarget) bool { return x.addr == y.addr })
}

// trackConn is one tracking connection.
type trackConn struct {
	conn net.Conn
	br   *bufio.Reader
	// raw is the socket under conn (under TLS too), for looking at unread
	// bytes without taking them; nil where that is not possible.
	raw syscall.RawConn
	// fd is raw's descriptor number (-1: none), for pending.
	fd int
	// waitFirst: conn is not TLS, so the reader can wait until the socket
	// is readable, mark itself busy and only then take the bytes, leaving
	// no moment in which an invalidation is neither unread nor busy.
	waitFirst bool
	// busy is set while bytes taken off the socket are not yet applied.
	busy atomic.Bool
	wmu  sync.Mutex
}

// openTrackConn dials tg and sets tracking up: HELLO 3 (with AUTH and the
// connection's name), then CLIENT TRACKING ON BCAST PREFIX session:.
func openTrackConn(ctx context.Context, tg trackTarget) (*trackConn, error) {
	ctx, cancel := context.WithTimeout(ctx, trackDialTimeout)
	defer cancel()
	conn, err := tg.dial(ctx)
	if err != nil {
		return nil, err
	}
	tc := &trackConn{conn: conn}
	under := conn
	if tlsConn, ok := conn.(*tls.Conn); ok {
		under = tlsConn.NetConn()
	} else {
		tc.waitFirst = canPeek
	}
	if sc, ok := under.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			tc.raw = rc
		}
	}
	if tc.raw == nil {
		tc.waitFirst = false
	}
	tc.noteFD()
	tc.br = bufio.NewReader(busyReader{tc})
	if err := tc.setUp(tg); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// setUp runs the handshake with a deadline.
func (tc *trackConn) setUp(tg trackTarget) error {
	if err := tc.conn.SetDeadline(time.Now().Add(trackDialTimeout)); err != nil {
		return err
	}
	hello := []string{"HELLO", "3"}
	if tg.password != "" {
		user := tg.user
		if user == "" {
			user = "default"
		}
		hello = append(hello, "AUTH", user, tg.password)
	}
	hello = append(hello, "SETNAME", trackClientName)
	if err := tc.send(hello...); err != nil {
		return err
	}
	if _, err := tc.reply(); err != nil {
		return fmt.Errorf("HELLO 3: %w", err)
	}
	if err := tc.send("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", keyPrefix); err != nil {
		return err
	}
	if v, err := tc.reply(); err != nil || v.str != "OK" {
		return fmt.Errorf("CLIENT TRACKING: %q, %w", v.str, err)
	}
	// busy stays set: the reader clears it once nothing is buffered.
	return tc.conn.SetDeadline(time.Time{})
}

// reply reads the answer to a command of the handshake.
func (tc *trackConn) reply() (respValue, error) {
	v, err := readRESP(tc.br)
	if err != nil {
		return v, err
	}
	if v.kind == '-' || v.kind == '!' {
		// Server errors name no secret (AUTH failures say WRONGPASS).
		return v, fmt.Errorf("session: tracking: server error: %s", v.str)
	}
	return v, nil
}

// send writes one command.
func (tc *trackConn) send(args ...string) error {
	tc.wmu.Lock()
	defer tc.wmu.Unlock()
	if err := tc.conn.SetWriteDeadline(time.Now().Add(trackIdle)); err != nil {
		return err
	}
	_, err := tc.conn.Write(appendCommand(nil, args...))
	return err
}

// read applies what arrives until the connection fails: invalidations to
// the cache, heartbeat answers as a check that the server is a primary.
func (tc *trackConn) read(cache *sessionCache) error {
	for {
		if tc.br.Buffered() == 0 {
			tc.busy.Store(false)
			if err := tc.conn.SetReadDeadline(time.Now().Add(trackIdle)); err != nil {
				return err
			}
			if tc.waitFirst {
				if err := tc.waitReadable(); err != nil {
					return err
				}
				tc.busy.Store(true)
			}
		}
		v, err := readRESP(tc.br)
		if err != nil {
			return err
		}
		switch v.kind {
		case '>':
			if len(v.elems) == 2 && v.elems[0].str == "invalidate" {
				if v.elems[1].null {
					cache.setLive(true) // a flush: forget everything
					continue
				}
				ids := make([]string, 0, len(v.elems[1].elems))
				for _, k := range v.elems[1].elems {
					if id, ok := strings.CutPrefix(k.str, keyPrefix); ok {
						ids = append(ids, id)
					}
				}
				cache.forget(ids...)
			}
		case '%':
			if !isPrimary(v) {
				return errNotPrimary
			}
		case '-', '!':
			return fmt.Errorf("session: tracking: server error: %s", v.str)
		}
	}
}

// isPrimary reads the role from a HELLO answer.
func isPrimary(hello respValue) bool {
	for i := 0; i+1 < len(hello.elems); i += 2 {
		if hello.elems[i].str == "role" {
			return hello.elems[i+1].str == "master"
		}
	}
	return false
}

// busyReader marks the connection busy as soon as bytes are taken off it
// (for TLS, where the reader cannot wait for readability first).
type busyReader struct{ tc *trackConn }

func (b busyReader) Read(p []byte) (int, error) {
	n, err := b.tc.conn.Read(p)
	if n > 0 {
		b.tc.busy.Store(true)
	}
	return n, err
}
