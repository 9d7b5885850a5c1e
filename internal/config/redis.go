package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// RedisMode is how the dashboard reaches Redis.
type RedisMode string

// The three ways to reach Redis.
const (
	// RedisServer is one server at REDIS_URL.
	RedisServer RedisMode = "server"
	// RedisSentinel is a primary found through Redis Sentinel
	// (REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_MASTER).
	RedisSentinel RedisMode = "sentinel"
	// RedisCluster is a Redis Cluster (REDIS_CLUSTER_ADDRS).
	RedisCluster RedisMode = "cluster"
)

// RedisMode reports which of the three ways the settings choose.
func (c *Config) RedisMode() RedisMode {
	switch {
	case len(c.RedisClusterAddrs) > 0:
		return RedisCluster
	case len(c.RedisSentinelAddrs) > 0:
		return RedisSentinel
	}
	return RedisServer
}

// UsesRedis reports whether any Redis setting is given (the demo keeps
// sessions in memory otherwise).
func (c *Config) UsesRedis() bool {
	return c.RedisURL != "" || len(c.RedisSentinelAddrs) > 0 || len(c.RedisClusterAddrs) > 0
}

// loadRedis reads the Redis settings into c. REDIS_URL defaults to
// DefaultRedisURL only when neither Sentinel nor Cluster is chosen: with
// them it is optional and only carries the scheme, user and password.
func loadRedis(getenv func(string) string, c *Config) []error {
	var errs []error
	var err error
	if c.RedisSentinelAddrs, err = parseAddrList("REDIS_SENTINEL_ADDRS", getenv("REDIS_SENTINEL_ADDRS")); err != nil {
		errs = append(errs, err)
	}
	if c.RedisClusterAddrs, err = parseAddrList("REDIS_CLUSTER_ADDRS", getenv("REDIS_CLUSTER_ADDRS")); err != nil {
		errs = append(errs, err)
	}
	c.RedisSentinelMaster = strings.TrimSpace(getenv("REDIS_SENTINEL_MASTER"))
	c.RedisSentinelPassword = getenv("REDIS_SENTINEL_PASSWORD")
	c.RedisURL = strings.TrimSpace(getenv("REDIS_URL"))
	if c.RedisURL == "" && getenv("REDIS_SENTINEL_ADDRS") == "" && getenv("REDIS_CLUSTER_ADDRS") == "" {
		c.RedisURL = DefaultRedisURL
	}
	return errs
}

// parseAddrList reads a comma-separated list of host:port addresses. On
// an error it still returns the entries it found, so that the mode they
// choose is known and no second error follows from the first.
func parseAddrList(name, v string) ([]string, error) {
	var out []string
	var bad error
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		out = append(out, part)
		host, port, err := net.SplitHostPort(part)
		if n, perr := strconv.Atoi(port); bad == nil && (err != nil || host == "" || perr != nil || n < 1 || n > 65535) {
			bad = &Error{name, fmt.Sprintf("must be comma-separated host:port addresses, got %q", part)}
		}
	}
	if strings.TrimSpace(v) != "" && len(out) == 0 {
		return []string{""}, &Error{name, "names no address"}
	}
	return out, bad
}

// validateRedis checks the Redis settings and their combination.
func (c *Config) validateRedis() error {
	var errs []error
	sentinel, cluster := len(c.RedisSentinelAddrs) > 0, len(c.RedisClusterAddrs) > 0
	if sentinel && cluster {
		errs = append(errs, &Error{"REDIS_CLUSTER_ADDRS", "cannot be combined with REDIS_SENTINEL_ADDRS: set one of them (Cluster or Sentinel), not both"})
	}
	if sentinel && c.RedisSentinelMaster == "" {
		errs = append(errs, &Error{"REDIS_SENTINEL_MASTER", "is required with REDIS_SENTINEL_ADDRS (the name the sentinels monitor the primary by, e.g. mymaster)"})
	}
	if !sentinel && c.RedisSentinelMaster != "" {
		errs = append(errs, &Error{"REDIS_SENTINEL_MASTER", "is set but REDIS_SENTINEL_ADDRS is not: give the sentinels' addresses too"})
	}
	if !sentinel && c.RedisSentinelPassword != "" {
		errs = append(errs, &Error{"REDIS_SENTINEL_PASSWORD", "is set but REDIS_SENTINEL_ADDRS is not: give the sentinels' addresses too"})
	}
	if c.RedisURL == "" {
		return errors.Join(errs...)
	}
	u, err := url.Parse(c.RedisURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		// Never echo the URL: it may hold a password.
		return errors.Join(append(errs, &Error{"REDIS_URL", "must be a redis://, rediss:// or unix:// URL"})...)
	}
	if !sentinel && !cluster {
		if _, err := redisDB(u); err != nil {
			errs = append(errs, &Error{"REDIS_URL", err.Error()})
		}
		return errors.Join(errs...)
	}
	other := "REDIS_SENTINEL_ADDRS"
	if cluster {
		other = "REDIS_CLUSTER_ADDRS"
	}
	switch {
	case u.Scheme == "unix":
		errs = append(errs, &Error{"REDIS_URL", fmt.Sprintf("cannot be a unix:// socket together with %s; use redis:// or rediss://", other)})
	case u.Host != "":
		errs = append(errs, &Error{"REDIS_URL", fmt.Sprintf("names a server (host:port) while %s chooses the servers: with %s, REDIS_URL may only give the scheme, user and password, e.g. rediss://USER:PASSWORD@ (or /DB for Sentinel)", other, other)})
	}
	db, err := redisDB(u)
	switch {
	case err != nil:
		errs = append(errs, &Error{"REDIS_URL", err.Error()})
	case cluster && db != 0:
		errs = append(errs, &Error{"REDIS_URL", fmt.Sprintf("names database %d, but a Redis Cluster has only database 0", db)})
	}
	return errors.Join(errs...)
}

// redisDB is the database number in a redis:// URL's path ("/2"), 0 when
// there is none.
func redisDB(u *url.URL) (int, error) {
	if u.Scheme == "unix" {
		return 0, nil
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 {
		return 0, errors.New("must end in a database number (/0, /1, ...) or nothing after the address")
	}
	return n, nil
}
