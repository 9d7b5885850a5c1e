package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// newRedisStore starts (or reuses, with REDIS_URL) a Redis server and returns
// a store on it with its own client, plus the server.
func newRedisStore(t *testing.T) (*session.RedisStore, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	c, err := session.NewRedisClient(srv.URL)
	if err != nil {
		t.Fatalf("NewRedisClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return session.NewRedisStore(c), srv
}

func TestRedisStoreContract(t *testing.T) {
	st, _ := newRedisStore(t)
	testStoreContract(t, func(*testing.T) storeEnv {
		return storeEnv{store: st, pass: time.Sleep}
	})
}

func TestRedisStoreStoredJSON(t *testing.T) {
	st, srv := newRedisStore(t)
	raw := srv.Client(t)
	ctx := context.Background()
	s := newSession(t)
	mustSave(t, st, s, 2*time.Hour)

	val, err := raw.Get(ctx, "session:"+s.ID).Bytes()
	if err != nil {
		t.Fatalf("GET session:{id}: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(val, &fields); err != nil {
		t.Fatalf("stored value is not a JSON object: %v", err)
	}
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if got, want := strings.Join(names, ","), "csrfToken,expiresAt,realm,ticket,username"; got != want {
		t.Fatalf("stored fields = %s, want %s", got, want)
	}
	tests := []struct {
		field string
		want  string
	}{
		{field: "ticket", want: s.Ticket},
		{field: "csrfToken", want: s.CSRFToken},
		{field: "username", want: "root@pam"},
		{field: "realm", want: "pam"},
		{field: "expiresAt", want: "2026-03-01T14:30:15.123456789Z"},
	}
	for _, tt := range tests {
		got, ok := fields[tt.field].(string)
		if !ok {
			t.Errorf("field %s is %T, want string", tt.field, fields[tt.field])
			continue
		}
		if got != tt.want {
			if tt.field == "ticket" || tt.field == "csrfToken" {
				t.Errorf("field %s does not hold the saved secret", tt.field)
			} else {
				t.Errorf("field %s = %q, want %q", tt.field, got, tt.want)
			}
		}
	}
	exp, _ := fields["expiresAt"].(string)
	if !strings.HasSuffix(exp, "Z") {
		t.Errorf("expiresAt %q is not UTC", exp)
	}
	if parsed, err := time.Parse(time.RFC3339, exp); err != nil || !parsed.Equal(s.ExpiresAt) {
		t.Errorf("expiresAt %q parses as %v, %v; want %v", exp, parsed, err, s.ExpiresAt)
	}
}

func TestRedisStoreTTL(t *testing.T) {
	st, srv := newRedisStore(t)
	raw := srv.Client(t)
	ctx := context.Background()
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration // whole seconds, as sent with EX
	}{
		{name: "2h", ttl: 2 * time.Hour, want: 7200 * time.Second},
		{name: "whole seconds", ttl: 90 * time.Second, want: 90 * time.Second},
		{name: "rounds 1.5s up", ttl: 1500 * time.Millisecond, want: 2 * time.Second},
		{name: "rounds 1ns up", ttl: time.Nanosecond, want: time.Second},
		{name: "rounds 59.001s up", ttl: 59*time.Second + time.Millisecond, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t)
			mustSave(t, st, s, tt.ttl)
			secs, err := raw.TTL(ctx, session.Key(s.ID)).Result()
			if err != nil {
				t.Fatalf("TTL: %v", err)
			}
			if secs != tt.want {
				t.Errorf("TTL = %v, want %v", secs, tt.want)
			}
			// PTTL shows the expiry was set in whole seconds, not milliseconds.
			ms, err := raw.PTTL(ctx, session.Key(s.ID)).Result()
			if err != nil {
				t.Fatalf("PTTL: %v", err)
			}
			if ms > tt.want || ms < tt.want-250*time.Millisecond {
				t.Errorf("PTTL = %v, want just under %v", ms, tt.want)
			}
		})
	}
}

func TestRedisStoreUndecodableValue(t *testing.T) {
	st, srv := newRedisStore(t)
	raw := srv.Client(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		value string
	}{
		{name: "not JSON", value: "not json"},
		{name: "wrong field type", value: `{"ticket":5}`},
		{name: "bad time", value: `{"expiresAt":"yesterday"}`},
		{name: "JSON array", value: `[1,2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newSession(t).ID
			if err := raw.Set(ctx, session.Key(id), tt.value, time.Minute).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			t.Cleanup(func() { raw.Del(context.Background(), session.Key(id)) })
			_, err := st.Load(ctx, id)
			if !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("Load = %v, want ErrNotFound", err)
			}
			if errors.Is(err, session.ErrUnavailable) {
				t.Errorf("Load error %v matches ErrUnavailable", err)
			}
			if err == session.ErrNotFound { // bare sentinel: no cause attached
				t.Errorf("Load error does not carry the decoding cause")
			}
		})
	}
}

func TestRedisStoreUnavailableAndRecovery(t *testing.T) {
	st, srv := newRedisStore(t)
	ctx := context.Background()
	before := newSession(t)
	mustSave(t, st, before, time.Hour)

	srv.Stop(t)

	s := newSession(t)
	ops := []struct {
		op  string
		run func() error
	}{
		{op: "load", run: func() error { _, err := st.Load(ctx, before.ID); return err }},
		{op: "save", run: func() error { return st.Save(ctx, s, time.Hour) }},
		{op: "delete", run: func() error { return st.Delete(ctx, before.ID) }},
	}
	for _, tt := range ops {
		t.Run(tt.op+" while down", func(t *testing.T) {
			start := time.Now()
			err := tt.run()
			elapsed := time.Since(start)
			if !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("%s = %v, want ErrUnavailable", tt.op, err)
			}
			if errors.Is(err, session.ErrNotFound) {
				t.Errorf("%s error %v also matches ErrNotFound", tt.op, err)
			}
			var ue *session.UnavailableError
			if !errors.As(err, &ue) || ue.Op != tt.op || ue.Err == nil {
				t.Fatalf("%s error %v: want *UnavailableError{Op: %q} with a cause", tt.op, err, tt.op)
			}
			if strings.Contains(err.Error(), s.Ticket) || strings.Contains(err.Error(), s.ID) {
				t.Errorf("%s error reveals session data: %v", tt.op, err)
			}
			if elapsed > 3*time.Second {
				t.Errorf("%s took %v to fail; want fast failure", tt.op, elapsed)
			}
			t.Logf("%s failed after %v", tt.op, elapsed)
		})
	}

	srv.Restart(t)

	// Same store, same client, no reconnect call: it works again at once.
	assertNotFound(t, st, before.ID) // the server keeps nothing across restarts
	after := newSession(t)
	mustSave(t, st, after, time.Hour)
	assertLoads(t, st, after)
	if err := st.Delete(ctx, after.ID); err != nil {
		t.Fatalf("Delete after restart: %v", err)
	}
	assertNotFound(t, st, after.ID)
}

func TestNewRedisClient(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		wantNetwork string
		wantAddr    string
		wantDB      int
		wantTLS     bool
		wantRead    time.Duration
	}{
		{name: "redis", url: "redis://127.0.0.1:6379/0", wantNetwork: "tcp", wantAddr: "127.0.0.1:6379", wantRead: time.Second},
		{name: "redis with db and password", url: "redis://:pw@redis.internal:6380/3", wantNetwork: "tcp", wantAddr: "redis.internal:6380", wantDB: 3, wantRead: time.Second},
		{name: "rediss", url: "rediss://redis.internal:6380/1", wantNetwork: "tcp", wantAddr: "redis.internal:6380", wantDB: 1, wantTLS: true, wantRead: time.Second},
		{name: "unix", url: "unix:///run/redis/redis.sock?db=2", wantNetwork: "unix", wantAddr: "/run/redis/redis.sock", wantDB: 2, wantRead: time.Second},
		{name: "URL timeout wins", url: "redis://127.0.0.1:6379/0?read_timeout=5s", wantNetwork: "tcp", wantAddr: "127.0.0.1:6379", wantRead: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := session.NewRedisClient(tt.url)
			if err != nil {
				t.Fatalf("NewRedisClient: %v", err)
			}
			defer c.Close()
			o := c.Options()
			if o.Network != tt.wantNetwork || o.Addr != tt.wantAddr || o.DB != tt.wantDB {
				t.Errorf("network/addr/db = %s %s %d, want %s %s %d", o.Network, o.Addr, o.DB, tt.wantNetwork, tt.wantAddr, tt.wantDB)
			}
			if (o.TLSConfig != nil) != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", o.TLSConfig != nil, tt.wantTLS)
			}
			if o.DialTimeout != 2*time.Second || o.ReadTimeout != tt.wantRead || o.WriteTimeout != time.Second {
				t.Errorf("timeouts dial/read/write = %v/%v/%v, want 2s/%v/1s", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, tt.wantRead)
			}
			if o.DialerRetries != 1 {
				t.Errorf("DialerRetries = %d, want 1", o.DialerRetries)
			}
			if o.MaintNotificationsConfig == nil || o.MaintNotificationsConfig.Mode != maintnotifications.ModeDisabled {
				t.Errorf("maintenance notifications not disabled: %+v", o.MaintNotificationsConfig)
			}
		})
	}
}

func TestNewRedisClientInvalidURL(t *testing.T) {
	const password = "hunter2-secret-pw"
	tests := []struct {
		name string
		url  string
	}{
		{name: "empty", url: ""},
		{name: "wrong scheme", url: "http://127.0.0.1:6379"},
		{name: "bad database", url: "redis://127.0.0.1:6379/notanumber"},
		{name: "unknown option", url: "redis://127.0.0.1:6379/0?bogus=1"},
		{name: "unparsable with password", url: "redis://:" + password + "@127.0.0.1:6379/0\x7f"},
		{name: "bad host with password", url: "redis://user:" + password + "@[::1/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := session.NewRedisClient(tt.url)
			if err == nil {
				c.Close()
				t.Fatalf("NewRedisClient(%q) succeeded", tt.name)
			}
			if errors.Unwrap(err) == nil {
				t.Errorf("error %v does not wrap the parse error", err)
			}
			t.Logf("error: %v", err)
			if strings.Contains(err.Error(), password) {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestRedisStoreUpdateTTLAndIndexes(t *testing.T) {
	st, srv := newRedisStore(t)
	raw := srv.Client(t)
	ctx := context.Background()
	s := newSession(t)
	s.Username = "update-" + s.ID[:8] + "@pve"
	mustSave(t, st, s, time.Hour)
	userKey := session.UserKey(s.Username)

	// A touch keeps the TTLs where they are.
	if err := st.Update(ctx, s, session.KeepTTL); err != nil {
		t.Fatal(err)
	}
	if ttl := raw.TTL(ctx, session.Key(s.ID)).Val(); ttl > time.Hour || ttl < time.Hour-5*time.Second {
		t.Errorf("after a touch the session's TTL is %v, want about 1h", ttl)
	}
	// A renewal moves the session's TTL and the user index's with it.
	if err := st.Update(ctx, s, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{session.Key(s.ID), userKey} {
		if ttl := raw.TTL(ctx, key).Val(); ttl > 2*time.Hour || ttl < 2*time.Hour-5*time.Second {
			t.Errorf("after a renewal %s has TTL %v, want about 2h", key, ttl)
		}
	}
	if ok := raw.SIsMember(ctx, userKey, s.ID).Val(); !ok {
		t.Error("the user index lost the session")
	}

	// Deleted between a load and an update: nothing comes back, in no key.
	if err := st.Delete(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	raw.SRem(ctx, userKey, s.ID) // as ListUser's clean-up would
	for _, ttl := range []time.Duration{session.KeepTTL, 2 * time.Hour} {
		if err := st.Update(ctx, s, ttl); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Update(ttl %v) after Delete = %v, want ErrNotFound", ttl, err)
		}
		if n := raw.Exists(ctx, session.Key(s.ID)).Val(); n != 0 {
			t.Errorf("Update(ttl %v) recreated the deleted session", ttl)
		}
		if raw.SIsMember(ctx, userKey, s.ID).Val() {
			t.Errorf("Update(ttl %v) put the deleted session back into the user index", ttl)
		}
		if n, err := st.Count(ctx); err != nil || n != 0 {
			t.Errorf("Count after Update(ttl %v) of a deleted session = %d, %v; want 0", ttl, n, err)
		}
	}
}

func TestRedisStoreCountWithoutScan(t *testing.T) {
	if os.Getenv("REDIS_URL") != "" {
		t.Skip("counts every session in the database: needs a Redis of its own, not REDIS_URL")
	}
	st, srv := newRedisStore(t)
	raw := srv.Client(t)
	ctx := context.Background()
	// Keys that are not sessions do not count.
	raw.Set(ctx, "throttle:x", "1", time.Hour)
	raw.SAdd(ctx, session.UserKey("root@pam"), "x")
	var ids []string
	for _, ttl := range []time.Duration{time.Hour, time.Hour, time.Hour, time.Second} {
		s := newSession(t)
		mustSave(t, st, s, ttl)
		ids = append(ids, s.ID)
	}
	count := func() int {
		t.Helper()
		n, err := st.Count(ctx)
		if err != nil {
			t.Fatalf("Count: %v", err)
		}
		return n
	}
	if err := raw.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
	if stats := raw.Info(ctx, "commandstats").Val(); strings.Contains(stats, "cmdstat_scan") || strings.Contains(stats, "cmdstat_keys") {
		t.Errorf("Count walked the key space:\n%s", stats)
	}
	if err := st.Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("after Delete: Count = %d, want 3", n)
	}
	// The one-second session expires in Redis and leaves the count.
	time.Sleep(2 * time.Second)
	if raw.Exists(ctx, session.Key(ids[3])).Val() != 0 {
		t.Fatal("the one-second session is still stored")
	}
	if n := count(); n != 2 {
		t.Errorf("after an expiry: Count = %d, want 2", n)
	}
}
