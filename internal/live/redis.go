package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisShared is Shared on Redis: the lead is a key live-lead:{user}, the
// snapshot lives at live-snapshot:{user}, and followers keep
// live-follow:{user} alive while they read it. Every
// command touches one key, so it works on a Redis Cluster as on one server.
type RedisShared struct {
	rdb      redis.UniversalClient
	instance string
}

// NewRedisShared returns a Shared on rdb; instance names this process in
// the lead key (any unique string).
func NewRedisShared(rdb redis.UniversalClient, instance string) *RedisShared {
	return &RedisShared{rdb: rdb, instance: instance}
}

// TryLead implements Shared. The lead is taken when nobody holds it, and
// kept (its time renewed) by the instance that holds it, so that a leader
// polling again just as its lead runs out does not lose its turn; another
// instance takes over when it is gone.
func (r *RedisShared) TryLead(ctx context.Context, username string, ttl time.Duration) (bool, error) {
	got, err := takeLeadScript.Run(ctx, r.rdb, []string{"live-lead:" + username}, r.instance, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("live: take lead: %w", err)
	}
	return got == 1, nil
}

// takeLeadScript sets KEYS[1] to ARGV[1] for ARGV[2] ms unless another instance
// holds it; 1 when this instance holds it now. One key: Cluster-safe.
var takeLeadScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
if holder then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// Publish implements Shared.
func (r *RedisShared) Publish(ctx context.Context, username string, data []byte, ttl time.Duration) error {
	if err := r.rdb.Set(ctx, "live-snapshot:"+username, data, ttl).Err(); err != nil {
		return fmt.Errorf("live: publish: %w", err)
	}
	return nil
}

// Latest implements Shared.
func (r *RedisShared) Latest(ctx context.Context, username string) ([]byte, error) {
	b, err := r.rdb.Get(ctx, "live-snapshot:"+username).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("live: latest: %w", err)
	}
	return b, nil
}

// Follow implements Shared.
func (r *RedisShared) Follow(ctx context.Context, username string, ttl time.Duration) error {
	if err := r.rdb.Set(ctx, "live-follow:"+username, r.instance, ttl).Err(); err != nil {
		return fmt.Errorf("live: follow: %w", err)
	}
	return nil
}

// Followed implements Shared.
func (r *RedisShared) Followed(ctx context.Context, username string) (bool, error) {
	n, err := r.rdb.Exists(ctx, "live-follow:"+username).Result()
	if err != nil {
		return false, fmt.Errorf("live: followed: %w", err)
	}
	return n > 0, nil
}
