package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/metrics"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// redisErrors scrapes lxcm_redis_errors_total.
func redisErrors(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	match := regexp.MustCompile(`(?m)^lxcm_redis_errors_total (\d+)$`).FindSubmatch(body)
	if match == nil {
		t.Fatalf("no lxcm_redis_errors_total in:\n%s", body)
	}
	return string(match[1])
}

// TestRedisHookCountsFailuresOnly: a missing key and the NOSCRIPT answer
// that makes go-redis send a script it has not cached are answers, not
// failures; a command Redis refuses is one.
func TestRedisHookCountsFailuresOnly(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	m := metrics.New(nil)
	rdb.AddHook(m.RedisHook())
	ctx := context.Background()

	if err := rdb.Get(ctx, "metrics-test:missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a missing key: %v", err)
	}
	// A script the server has never seen: EVALSHA answers NOSCRIPT, then
	// go-redis sends it with EVAL.
	script := redis.NewScript(`return 'metrics-test-' .. ARGV[1]`)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := script.Run(ctx, rdb, nil, "x").Text(); err != nil || v != "metrics-test-x" {
		t.Fatalf("script: %q, %v", v, err)
	}
	if got := redisErrors(t, m); got != "0" {
		t.Errorf("after a missing key and an uncached script: %s Redis errors, want 0", got)
	}

	rdb.Set(ctx, "metrics-test:text", "not a number", 0)
	if err := rdb.Incr(ctx, "metrics-test:text").Err(); err == nil {
		t.Fatal("INCR of a text value succeeded")
	}
	if got := redisErrors(t, m); got != "1" {
		t.Errorf("after a refused command: %s Redis errors, want 1", got)
	}
}
