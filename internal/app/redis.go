package app

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// redisOptions are the session package's Redis options from the settings.
func redisOptions(cfg config.Config) session.RedisOptions {
	return session.RedisOptions{
		URL:              cfg.RedisURL,
		SentinelAddrs:    cfg.RedisSentinelAddrs,
		SentinelMaster:   cfg.RedisSentinelMaster,
		SentinelPassword: cfg.RedisSentinelPassword,
		ClusterAddrs:     cfg.RedisClusterAddrs,
	}
}

// redisSetting names the setting that chooses Redis, for messages.
func redisSetting(cfg config.Config) string {
	switch cfg.RedisMode() {
	case config.RedisSentinel:
		return "REDIS_SENTINEL_ADDRS"
	case config.RedisCluster:
		return "REDIS_CLUSTER_ADDRS"
	}
	return "REDIS_URL"
}

// pingRedis asks Redis whether it answers: the one server or the current
// primary, or, on a cluster, every primary (each holds part of the keys,
// so one that does not answer is an outage for some people).
func pingRedis(ctx context.Context, rc redis.UniversalClient) error {
	if cc, ok := rc.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.Ping(ctx).Err()
		})
	}
	return rc.Ping(ctx).Err()
}
