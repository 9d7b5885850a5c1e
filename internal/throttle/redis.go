package throttle

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyPrefix namespaces the counters in Redis: throttle:{signin}:{key}. The
// braces are a Redis Cluster hash tag: every counter lives in the one hash
// slot of "signin", so the counters of one Reserve are always on one server
// and its script stays one atomic step on a cluster too. (Sign-ins are far
// too few for one slot's server to notice.)
const keyPrefix = "throttle:{signin}:"

// reserveScript checks every counter against its Max and, only when all
// have room, counts one attempt on each; the window starts with a
// counter's first attempt (PEXPIRE NX). It returns 0 when counted, else the
// longest remaining window of the counters at their limit, in
// milliseconds. ARGV holds Max and Window (ms) for each key in turn.
var reserveScript = redis.NewScript(`
local wait = 0
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[2*i-1])
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= max then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      -- a counter without expiry (written by hand): give it a window now
      ttl = tonumber(ARGV[2*i])
      redis.call('PEXPIRE', key, ttl)
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, ARGV[2*i], 'NX')
end
return 0
`)

// releaseScript takes one attempt back from each counter; a counter that
// reaches zero is deleted, so its next attempt starts a fresh window.
var releaseScript = redis.NewScript(`
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 1 then
    redis.call('DECR', key)
  elseif n == 1 then
    redis.call('DEL', key)
  end
end
return 0
`)

// RedisLimiter keeps each counter at throttle:{key} with its window as TTL.
// Its scripts go with every call (EVAL): at sign-in rates the few hundred
// bytes do not matter, and EVALSHA's first NOSCRIPT answer after each Redis
// start would count as a failed command in the metrics.
// Its keys share one hash slot (keyPrefix), so it works on one server,
// behind Sentinel and on a Redis Cluster alike.
type RedisLimiter struct {
	rdb redis.UniversalClient
}

var _ Limiter = (*RedisLimiter)(nil)

// NewRedis returns a Limiter on rdb.
func NewRedis(rdb redis.UniversalClient) *RedisLimiter { return &RedisLimiter{rdb: rdb} }

// Reserve implements Limiter with one script run.
func (l *RedisLimiter) Reserve(ctx context.Context, limits ...Limit) (time.Duration, error) {
	if err := check(limits); err != nil {
		return 0, err
	}
	if len(limits) == 0 {
		return 0, nil
	}
	keys := make([]string, len(limits))
	args := make([]any, 0, 2*len(limits))
	for i, lim := range limits {
		keys[i] = keyPrefix + lim.Key
		args = append(args, strconv.Itoa(lim.Policy.Max), strconv.FormatInt(max(lim.Policy.Window.Milliseconds(), 1), 10))
	}
	ms, err := reserveScript.Eval(ctx, l.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("%w: reserve: %w", ErrUnavailable, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Release implements Limiter.
func (l *RedisLimiter) Release(ctx context.Context, limits ...Limit) error {
	if len(limits) == 0 {
		return nil
	}
	keys := make([]string, len(limits))
	for i, lim := range limits {
		keys[i] = keyPrefix + lim.Key
	}
	if err := releaseScript.Eval(ctx, l.rdb, keys).Err(); err != nil {
		return fmt.Errorf("%w: release: %w", ErrUnavailable, err)
	}
	return nil
}

// Reset implements Limiter.
func (l *RedisLimiter) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = keyPrefix + k
	}
	if err := l.rdb.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("%w: reset: %w", ErrUnavailable, err)
	}
	return nil
}
