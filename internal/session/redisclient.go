package session

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisOptions say how to reach Redis: one server (URL alone), a primary
// found through Redis Sentinel (SentinelAddrs and SentinelMaster) or a Redis
// Cluster (ClusterAddrs).
type RedisOptions struct {
	// URL is the one server (redis://, rediss:// or unix://). With Sentinel
	// or Cluster it may be empty or carry only the scheme (rediss:// for
	// TLS), user, password and, for Sentinel, the database: its host must
	// then be empty, e.g. "rediss://app:secret@/0".
	URL string
	// SentinelAddrs are the sentinels' host:port addresses.
	SentinelAddrs []string
	// SentinelMaster is the name the sentinels know the primary by.
	SentinelMaster string
	// SentinelPassword is the sentinels' own password, if any.
	SentinelPassword string
	// ClusterAddrs are host:port addresses of some cluster nodes.
	ClusterAddrs []string
	// TLS, when not nil, is the TLS configuration for rediss:// (its
	// ServerName is filled in per server). Tests give their own CA here;
	// in production the system's roots are used.
	TLS *tls.Config
}

// ErrRedisOptions means RedisOptions that name no usable Redis or a bad
// combination (both Sentinel and Cluster, a server URL with either).
var ErrRedisOptions = errors.New("session: invalid Redis options")

// NewUniversalClient returns a go-redis client for o: a *redis.Client for
// one server, a failover client (also a *redis.Client) for Sentinel, a
// *redis.ClusterClient for a cluster. Every kind gets the options
// NewRedisClient describes (timeouts, one dial per try, no maintenance
// notifications, no CLIENT SETINFO). It connects lazily.
func NewUniversalClient(o RedisOptions) (redis.UniversalClient, error) {
	sentinel, cluster := len(o.SentinelAddrs) > 0, len(o.ClusterAddrs) > 0
	switch {
	case sentinel && cluster:
		return nil, fmt.Errorf("%w: both Sentinel and Cluster addresses", ErrRedisOptions)
	case !sentinel && !cluster:
		if o.URL == "" {
			return nil, fmt.Errorf("%w: no Redis URL", ErrRedisOptions)
		}
		opts, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("session: parse redis URL: %w", redactURLError(err))
		}
		if opts.TLSConfig != nil && o.TLS != nil {
			tc := o.TLS.Clone()
			tc.ServerName = opts.TLSConfig.ServerName
			opts.TLSConfig = tc
		}
		return redis.NewClient(tuneOptions(opts)), nil
	}
	cred, err := parseCredentials(o.URL)
	if err != nil {
		return nil, err
	}
	var tc *tls.Config
	if cred.tls {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.TLS != nil {
			tc = o.TLS.Clone()
			tc.ServerName = "" // each server's own name (tls.DialWithDialer)
		}
	}
	if cluster {
		if cred.db != 0 {
			return nil, fmt.Errorf("%w: a Redis Cluster has only database 0", ErrRedisOptions)
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                    o.ClusterAddrs,
			Username:                 cred.user,
			Password:                 cred.password,
			TLSConfig:                tc,
			DialTimeout:              redisDialTimeout,
			ReadTimeout:              redisReadTimeout,
			WriteTimeout:             redisWriteTimeout,
			DialerRetries:            redisDialAttempts,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}), nil
	}
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:       o.SentinelMaster,
		SentinelAddrs:    o.SentinelAddrs,
		SentinelPassword: o.SentinelPassword,
		Username:         cred.user,
		Password:         cred.password,
		DB:               cred.db,
		TLSConfig:        tc,
		DialTimeout:      redisDialTimeout,
		ReadTimeout:      redisReadTimeout,
		WriteTimeout:     redisWriteTimeout,
		DialerRetries:    redisDialAttempts,
		DisableIdentity:  true,
	}), nil
}

// tuneOptions applies the dashboard's client options to one server's
// options (see NewRedisClient).
func tuneOptions(opts *redis.Options) *redis.Options {
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// CLIENT SETINFO needs Redis 7.2; older servers answer an error that
	// go-redis ignores but that would show up as a failed command.
	opts.DisableIdentity = true
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisReadTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = redisWriteTimeout
	}
	opts.DialerRetries = redisDialAttempts
	return opts
}

// credentials are what a host-less URL gives Sentinel and Cluster.
type credentials struct {
	tls            bool
	user, password string
	db             int
}

// parseCredentials reads "rediss://user:password@/db" (everything
// optional; an empty string is plain redis:// without a password).
func parseCredentials(raw string) (credentials, error) {
	var c credentials
	if raw == "" {
		return c, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return c, fmt.Errorf("session: parse redis URL: %w", redactURLError(err))
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return c, fmt.Errorf("%w: with Sentinel or Cluster the URL must be redis:// or rediss://", ErrRedisOptions)
	case u.Host != "":
		return c, fmt.Errorf("%w: with Sentinel or Cluster the URL gives no host", ErrRedisOptions)
	}
	c.tls = u.Scheme == "rediss"
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if c.db, err = strconv.Atoi(p); err != nil || c.db < 0 {
			return c, fmt.Errorf("%w: the URL's path is not a database number", ErrRedisOptions)
		}
	}
	return c, nil
}
