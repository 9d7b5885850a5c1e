package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRedisModes(t *testing.T) {
	cases := []struct {
		name      string
		set       map[string]string
		mode      RedisMode
		url       string
		sentinels []string
		master    string
		cluster   []string
	}{
		{"default", nil, RedisServer, DefaultRedisURL, nil, "", nil},
		{"one server with TLS and an ACL user", map[string]string{"REDIS_URL": "rediss://app:s3cret@redis.example:6380/1"},
			RedisServer, "rediss://app:s3cret@redis.example:6380/1", nil, "", nil},
		{"sentinel", map[string]string{"REDIS_SENTINEL_ADDRS": "10.0.0.1:26379, 10.0.0.2:26379,10.0.0.3:26379", "REDIS_SENTINEL_MASTER": "mymaster", "REDIS_SENTINEL_PASSWORD": "sp"},
			RedisSentinel, "", []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"}, "mymaster", nil},
		{"sentinel with credentials and a database", map[string]string{"REDIS_SENTINEL_ADDRS": "s1:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "rediss://app:pw@/2"},
			RedisSentinel, "rediss://app:pw@/2", []string{"s1:26379"}, "m", nil},
		{"cluster", map[string]string{"REDIS_CLUSTER_ADDRS": "[fd00::1]:7000,node2:7001"},
			RedisCluster, "", nil, "", []string{"[fd00::1]:7000", "node2:7001"}},
		{"cluster with TLS credentials", map[string]string{"REDIS_CLUSTER_ADDRS": "n1:7000", "REDIS_URL": "rediss://app:pw@"},
			RedisCluster, "rediss://app:pw@", nil, "", []string{"n1:7000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			for k, v := range tc.set {
				m[k] = v
			}
			c, err := Load(env(m))
			if err != nil {
				t.Fatal(err)
			}
			if c.RedisMode() != tc.mode || c.RedisURL != tc.url || !slices.Equal(c.RedisSentinelAddrs, tc.sentinels) ||
				c.RedisSentinelMaster != tc.master || !slices.Equal(c.RedisClusterAddrs, tc.cluster) {
				t.Errorf("got mode %s url %q sentinels %v master %q cluster %v", c.RedisMode(), c.RedisURL, c.RedisSentinelAddrs, c.RedisSentinelMaster, c.RedisClusterAddrs)
			}
			if !c.UsesRedis() {
				t.Error("UsesRedis is false")
			}
		})
	}
}

// TestRedisBadCombinations: each wrong setting or combination is named at
// start-up, with what to do, and no password is echoed.
func TestRedisBadCombinations(t *testing.T) {
	cases := []struct {
		name    string
		set     map[string]string
		vars    []string // every variable named, in any order
		mention string   // a word the message must contain
	}{
		{"sentinel and cluster", map[string]string{"REDIS_SENTINEL_ADDRS": "s:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_CLUSTER_ADDRS": "c:7000"},
			[]string{"REDIS_CLUSTER_ADDRS"}, "not both"},
		{"sentinel without master", map[string]string{"REDIS_SENTINEL_ADDRS": "s:26379"}, []string{"REDIS_SENTINEL_MASTER"}, "required"},
		{"master without sentinels", map[string]string{"REDIS_SENTINEL_MASTER": "m"}, []string{"REDIS_SENTINEL_MASTER"}, "REDIS_SENTINEL_ADDRS"},
		{"sentinel password without sentinels", map[string]string{"REDIS_SENTINEL_PASSWORD": "hunter2"}, []string{"REDIS_SENTINEL_PASSWORD"}, "REDIS_SENTINEL_ADDRS"},
		{"sentinel address without port", map[string]string{"REDIS_SENTINEL_ADDRS": "s1", "REDIS_SENTINEL_MASTER": "m"}, []string{"REDIS_SENTINEL_ADDRS"}, "host:port"},
		{"cluster address with a bad port", map[string]string{"REDIS_CLUSTER_ADDRS": "c1:7000,c2:99999"}, []string{"REDIS_CLUSTER_ADDRS"}, "host:port"},
		{"cluster list of commas", map[string]string{"REDIS_CLUSTER_ADDRS": " , "}, []string{"REDIS_CLUSTER_ADDRS"}, "no address"},
		{"cluster and a server URL", map[string]string{"REDIS_CLUSTER_ADDRS": "c:7000", "REDIS_URL": "redis://:hunter2@redis:6379/0"},
			[]string{"REDIS_URL"}, "REDIS_CLUSTER_ADDRS"},
		{"sentinel and a server URL", map[string]string{"REDIS_SENTINEL_ADDRS": "s:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "redis://redis:6379"},
			[]string{"REDIS_URL"}, "REDIS_SENTINEL_ADDRS"},
		{"cluster and a database", map[string]string{"REDIS_CLUSTER_ADDRS": "c:7000", "REDIS_URL": "redis://:hunter2@/3"}, []string{"REDIS_URL"}, "database 0"},
		{"cluster and a unix socket", map[string]string{"REDIS_CLUSTER_ADDRS": "c:7000", "REDIS_URL": "unix:///run/redis.sock"}, []string{"REDIS_URL"}, "unix"},
		{"bad database", map[string]string{"REDIS_URL": "redis://:hunter2@redis:6379/zero"}, []string{"REDIS_URL"}, "database number"},
		{"bad scheme", map[string]string{"REDIS_URL": "https://:hunter2@redis"}, []string{"REDIS_URL"}, "redis://"},
		{"two problems at once", map[string]string{"REDIS_SENTINEL_ADDRS": "s:26379", "REDIS_URL": "redis://redis:6379"},
			[]string{"REDIS_SENTINEL_MASTER", "REDIS_URL"}, "REDIS_SENTINEL_ADDRS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			for k, v := range tc.set {
				m[k] = v
			}
			_, err := Load(env(m))
			if err == nil {
				t.Fatal("accepted")
			}
			var named []string
			for _, e := range flatten(err) {
				var ce *Error
				if errors.As(e, &ce) {
					named = append(named, ce.Var)
				}
			}
			slices.Sort(named)
			want := slices.Sorted(slices.Values(tc.vars))
			if !slices.Equal(named, want) {
				t.Errorf("named %v, want %v (%v)", named, want, err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("message %q does not mention %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message %q echoes a password", err)
			}
		})
	}
}

// flatten lists the leaves of joined errors.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
