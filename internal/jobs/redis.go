package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSlots keeps each key's slots in a sorted set at
// bulk-slots:{key}: token -> end of its lease (ms, Redis' clock, so the
// instances' clocks do not matter).
type RedisSlots struct {
	rdb redis.UniversalClient
}

var _ Slots = (*RedisSlots)(nil)

// NewRedisSlots returns Slots on rdb.
func NewRedisSlots(rdb redis.UniversalClient) *RedisSlots { return &RedisSlots{rdb: rdb} }

// acquireScript: drop run-out leases, then take a slot if one is free.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
if redis.call('PTTL', KEYS[1]) < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
end
return 1`)

// renewScript: extend a lease that has not run out.
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local ends = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not ends or tonumber(ends) <= now then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
if redis.call('PTTL', KEYS[1]) < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
end
return 1`)

func slotsKey(key string) string { return "bulk-slots:" + key }

// TryAcquire implements Slots.
func (r *RedisSlots) TryAcquire(ctx context.Context, key string, limit int, lease time.Duration) (string, bool, error) {
	tok := newToken()
	n, err := acquireScript.Run(ctx, r.rdb, []string{slotsKey(key)}, limit, lease.Milliseconds(), tok).Int()
	if err != nil {
		return "", false, fmt.Errorf("%w: acquire slot: %w", ErrUnavailable, err)
	}
	if n == 0 {
		return "", false, nil
	}
	return tok, true, nil
}

// Renew implements Slots.
func (r *RedisSlots) Renew(ctx context.Context, key, token string, lease time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, r.rdb, []string{slotsKey(key)}, lease.Milliseconds(), token).Int()
	if err != nil {
		return false, fmt.Errorf("%w: renew slot: %w", ErrUnavailable, err)
	}
	return n == 1, nil
}

// Release implements Slots.
func (r *RedisSlots) Release(ctx context.Context, key, token string) error {
	if err := r.rdb.ZRem(ctx, slotsKey(key), token).Err(); err != nil {
		return fmt.Errorf("%w: release slot: %w", ErrUnavailable, err)
	}
	return nil
}

// RedisStore keeps a job in a hash at bulk-job:{id}: "job" holds the
// job's own fields (JSON), "n" the number of items, "i:<n>" each item
// (JSON), "done" 1 once finished.
type RedisStore struct {
	rdb redis.UniversalClient
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a Store on rdb.
func NewRedisStore(rdb redis.UniversalClient) *RedisStore { return &RedisStore{rdb: rdb} }

func jobKey(id string) string { return "bulk-job:" + id }

// Create implements Store.
func (r *RedisStore) Create(ctx context.Context, job Job, ttl time.Duration) error {
	meta, err := json.Marshal(job)
	if err != nil {
		return err
	}
	fields := []any{"job", meta, "n", len(job.Items), "ttl", ttl.Milliseconds()}
	for i, it := range job.Items {
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		fields = append(fields, "i:"+strconv.Itoa(i), b)
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, jobKey(job.ID))
		p.HSet(ctx, jobKey(job.ID), fields...)
		p.PExpire(ctx, jobKey(job.ID), ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: create job: %w", ErrUnavailable, err)
	}
	return nil
}

// setScript writes a field of an existing job and keeps the job for its
// time to live again.
var setScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], redis.call('HGET', KEYS[1], 'ttl'))
return 1`)

// set writes one field of an existing job.
func (r *RedisStore) set(ctx context.Context, id, field string, value any) error {
	n, err := setScript.Run(ctx, r.rdb, []string{jobKey(id)}, field, value).Int()
	if err != nil {
		return fmt.Errorf("%w: update job: %w", ErrUnavailable, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetItem implements Store.
func (r *RedisStore) SetItem(ctx context.Context, id string, i int, item Item) error {
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	return r.set(ctx, id, "i:"+strconv.Itoa(i), b)
}

// Finish implements Store.
func (r *RedisStore) Finish(ctx context.Context, id string) error {
	return r.set(ctx, id, "done", 1)
}

// Get implements Store.
func (r *RedisStore) Get(ctx context.Context, id string) (Job, error) {
	m, err := r.rdb.HGetAll(ctx, jobKey(id)).Result()
	if err != nil {
		return Job{}, fmt.Errorf("%w: read job: %w", ErrUnavailable, err)
	}
	if len(m) == 0 {
		return Job{}, ErrNotFound
	}
	var job Job
	if err := json.Unmarshal([]byte(m["job"]), &job); err != nil {
		return Job{}, fmt.Errorf("jobs: job %s: %w", id, errors.Join(ErrNotFound, err))
	}
	n, _ := strconv.Atoi(m["n"])
	job.Items = make([]Item, n)
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, "i:")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || i >= n {
			continue
		}
		_ = json.Unmarshal([]byte(v), &job.Items[i])
	}
	job.Done = m["done"] == "1"
	return job, nil
}
