package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil"
)

// SentinelMaster is the name the sentinels of StartSentinel monitor the
// primary by.
const SentinelMaster = "lxcm-primary"

// Sentinel is a Redis primary, one replica and three sentinels, all of the
// test's own (REDIS_URL does not apply). The sentinels consider a primary
// down after one second without an answer, so a failover takes a few
// seconds.
type Sentinel struct {
	// Primary and Replica are the data servers as started; after a
	// failover Replica is the primary.
	Primary, Replica *Server
	// Addrs are the sentinels' host:port addresses.
	Addrs []string

	sentinels []*Server
}

// StartSentinel starts the set-up and returns once the replica has synced
// and every sentinel knows the replica and the two other sentinels (a
// failover needs them). Everything stops when the test ends.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	sbin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		testutil.Missing(t, "redis-sentinel is not on PATH (apt-get install redis-sentinel)")
		return nil
	}
	s := &Sentinel{Primary: startOwn(t, nil)}
	s.Replica = startOwn(t, []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Primary.port)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc := s.Replica.Client(t)
	waitFor(ctx, t, "the replica's first sync", func() (bool, error) {
		info, err := rc.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up"), err
	})
	for range 3 {
		sen := startSentinelProc(t, sbin, s.Primary.port)
		s.sentinels = append(s.sentinels, sen)
		s.Addrs = append(s.Addrs, sen.Addr())
	}
	for _, sen := range s.sentinels {
		c := sen.Client(t)
		waitFor(ctx, t, "the sentinels to find each other and the replica", func() (bool, error) {
			others, err := c.Do(ctx, "SENTINEL", "SENTINELS", SentinelMaster).Slice()
			if err != nil {
				return false, err
			}
			replicas, err := c.Do(ctx, "SENTINEL", "REPLICAS", SentinelMaster).Slice()
			return len(others) == 2 && len(replicas) == 1, err
		})
	}
	return s
}

// startSentinelProc starts one redis-sentinel watching the primary at
// primaryPort. Its configuration file is its own (a sentinel rewrites it).
func startSentinelProc(t testing.TB, bin string, primaryPort int) *Server {
	t.Helper()
	s := &Server{bin: bin, dir: t.TempDir()}
	t.Cleanup(s.stop)
	var lastErr error
	for range launchAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: pick a free port: %v", err)
		}
		conf := filepath.Join(s.dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\n"+
			"sentinel failover-timeout %s 4000\n"+
			"sentinel parallel-syncs %s 1\n",
			port, s.dir, SentinelMaster, primaryPort, SentinelMaster, SentinelMaster, SentinelMaster)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s.port = port
		s.URL = fmt.Sprintf("redis://127.0.0.1:%d", port)
		s.sentinelConf = conf
		if lastErr = s.launch(); lastErr == nil {
			return s
		}
		if !errors.Is(lastErr, errExited) {
			break
		}
	}
	t.Fatalf("redistest: start redis-sentinel: %v", lastErr)
	return nil
}

// Options are the session package's options for this set-up.
func (s *Sentinel) Options() session.RedisOptions {
	return session.RedisOptions{SentinelAddrs: s.Addrs, SentinelMaster: SentinelMaster}
}

// PrimaryAddr asks the first sentinel that answers where the primary is.
func (s *Sentinel) PrimaryAddr(ctx context.Context, t testing.TB) (string, error) {
	t.Helper()
	var lastErr error
	for _, sen := range s.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sen.Addr(), DisableIdentity: true})
		addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		_ = c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("no sentinel names the primary: %w", lastErr)
}

// WaitReplicated waits until the replica has everything the primary has
// written so far (WAIT), so that killing the primary loses nothing.
func (s *Sentinel) WaitReplicated(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := s.Primary.Client(t).Do(ctx, "WAIT", 1, 5000).Int()
	if err != nil || n < 1 {
		t.Fatalf("redistest: WAIT for the replica: %d, %v", n, err)
	}
}

// waitFor polls cond until it reports true, failing the test when ctx ends.
func waitFor(ctx context.Context, t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: waiting for %s: %v (last error: %v)", what, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
