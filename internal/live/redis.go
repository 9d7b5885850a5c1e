package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisShared is Shared on Redis: the lead is a SET NX key
// live-lead:{user}, the snapshot lives at live-snapshot:{user}. Every
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

// TryLead implements Shared. The instance that holds the lead keeps it by
// taking it again when it expires; another takes over when it is gone.
func (r *RedisShared) TryLead(ctx context.Context, username string, ttl time.Duration) (bool, error) {
	key := "live-lead:" + username
	ok, err := r.rdb.SetNX(ctx, key, r.instance, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("live: take lead: %w", err)
	}
	return ok, nil
}

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
