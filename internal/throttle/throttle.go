// Package throttle counts failed sign-ins per key (an account, a client
// address) and says when a key has failed too often. Counts live in Redis so
// the limit holds across dashboard instances; MemoryLimiter serves the demo.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is the limit: at most Max failures per key within Window, counted
// from the key's first failure.
type Policy struct {
	Max    int
	Window time.Duration
}

// DefaultPolicy is 5 failures in 15 minutes.
func DefaultPolicy() Policy { return Policy{Max: 5, Window: 15 * time.Minute} }

// Limiter counts failures. Contract: Blocked returns how long until any of
// keys may try again (0: all may), Fail records one failure for each key,
// Reset forgets a key. Errors mean the counter store is unreachable.
type Limiter interface {
	Blocked(ctx context.Context, keys ...string) (time.Duration, error)
	Fail(ctx context.Context, keys ...string) error
	Reset(ctx context.Context, key string) error
}

// keyPrefix namespaces the counters in Redis.
const keyPrefix = "throttle:"

// RedisLimiter keeps counters at throttle:{key} with the window as TTL.
type RedisLimiter struct {
	rdb    *redis.Client
	policy Policy
}

// NewRedis returns a Limiter on rdb.
func NewRedis(rdb *redis.Client, p Policy) *RedisLimiter { return &RedisLimiter{rdb: rdb, policy: p} }

// ErrUnavailable wraps Redis errors.
var ErrUnavailable = errors.New("throttle: counter store unavailable")

// Blocked implements Limiter.
func (l *RedisLimiter) Blocked(ctx context.Context, keys ...string) (time.Duration, error) {
	var wait time.Duration
	for _, k := range keys {
		pipe := l.rdb.Pipeline()
		get := pipe.Get(ctx, keyPrefix+k)
		ttl := pipe.PTTL(ctx, keyPrefix+k)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		n, err := get.Int()
		if err != nil || n < l.policy.Max {
			continue
		}
		wait = max(wait, ttl.Val())
	}
	return wait, nil
}

// Fail implements Limiter: INCR, and the window starts with the first
// failure (EXPIRE NX).
func (l *RedisLimiter) Fail(ctx context.Context, keys ...string) error {
	pipe := l.rdb.TxPipeline()
	for _, k := range keys {
		pipe.Incr(ctx, keyPrefix+k)
		pipe.ExpireNX(ctx, keyPrefix+k, l.policy.Window)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Reset implements Limiter.
func (l *RedisLimiter) Reset(ctx context.Context, key string) error {
	if err := l.rdb.Del(ctx, keyPrefix+key).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// MemoryLimiter keeps counters in this process (demo without Redis).
type MemoryLimiter struct {
	policy Policy
	now    func() time.Time
	mu     sync.Mutex
	counts map[string]memCount
}

type memCount struct {
	n     int
	until time.Time
}

// NewMemory returns an in-process Limiter; now is the clock (time.Now if nil).
func NewMemory(p Policy, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{policy: p, now: now, counts: map[string]memCount{}}
}

// Blocked implements Limiter.
func (l *MemoryLimiter) Blocked(_ context.Context, keys ...string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		c, ok := l.counts[k]
		if !ok || !now.Before(c.until) {
			delete(l.counts, k)
			continue
		}
		if c.n >= l.policy.Max {
			wait = max(wait, c.until.Sub(now))
		}
	}
	return wait, nil
}

// Fail implements Limiter.
func (l *MemoryLimiter) Fail(_ context.Context, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		c, ok := l.counts[k]
		if !ok || !now.Before(c.until) {
			c = memCount{until: now.Add(l.policy.Window)}
		}
		c.n++
		l.counts[k] = c
	}
	return nil
}

// Reset implements Limiter.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
	return nil
}
