package redistest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

func TestStartStopRestart(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()

	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	key := "redistest:" + t.Name()
	if err := c.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	t.Cleanup(func() { c.Del(context.Background(), key) })

	url := srv.URL
	srv.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING after Stop succeeded")
	}
	srv.Stop(t) // stopping twice is a no-op

	srv.Restart(t)
	if srv.URL != url {
		t.Errorf("URL changed across Restart: %q -> %q", url, srv.URL)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart with the same client: %v", err)
	}
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS after Restart = %d, %v; want 0 (no persistence)", n, err)
	}
}

func TestRestartWhileRunning(t *testing.T) {
	srv := redistest.Start(t)
	srv.Restart(t)
	if err := srv.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after Restart of a running server: %v", err)
	}
}

func TestNoPersistenceFiles(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	for _, arg := range []string{"save", "appendonly"} {
		got, err := c.ConfigGet(ctx, arg).Result()
		if err != nil {
			t.Fatalf("CONFIG GET %s: %v", arg, err)
		}
		want := map[string]string{"save": "", "appendonly": "no"}[arg]
		if os.Getenv("REDIS_URL") == "" && got[arg] != want {
			t.Errorf("CONFIG GET %s = %q, want %q", arg, got[arg], want)
		}
	}
	dir, err := c.ConfigGet(ctx, "dir").Result()
	if err != nil {
		t.Fatalf("CONFIG GET dir: %v", err)
	}
	if os.Getenv("REDIS_URL") == "" {
		if _, err := os.Stat(filepath.Join(dir["dir"], "dump.rdb")); !os.IsNotExist(err) {
			t.Errorf("dump.rdb exists in %s (stat err %v)", dir["dir"], err)
		}
	}
}

func TestServersAreIndependent(t *testing.T) {
	if os.Getenv("REDIS_URL") != "" {
		t.Skip("REDIS_URL points every Start at one shared server")
	}
	a, b := redistest.Start(t), redistest.Start(t)
	if a.URL == b.URL {
		t.Fatalf("two servers share URL %q", a.URL)
	}
	a.Stop(t)
	if err := b.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("stopping one server broke the other: %v", err)
	}
}
