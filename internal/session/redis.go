package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts NewRedisClient applies unless the URL sets its own, so that a lost
// Redis turns into ErrUnavailable quickly instead of hanging requests.
const (
	redisDialTimeout  = 2 * time.Second
	redisReadTimeout  = 1 * time.Second
	redisWriteTimeout = 1 * time.Second
	// redisDialAttempts is how often one command try dials before giving up;
	// go-redis's own command retries (max_retries, default 3) come on top.
	redisDialAttempts = 1
)

// NewRedisClient returns a go-redis client for url, which may use the
// redis://, rediss:// or unix:// scheme (see redis.ParseURL for the query
// options it understands). Maintenance notifications are disabled because
// open-source Redis rejects that handshake, dial/read/write timeouts default
// to 2 s / 1 s / 1 s unless the URL sets them, and each command try dials
// only once (go-redis would otherwise dial five times), so a command against
// a down server fails within tens of milliseconds when the connection is
// refused. The client connects lazily: a down server is reported by the
// first command, not here.
//
// An invalid URL yields an error wrapping the parse error; any URL text in it
// is redacted because the URL may carry a password.
func NewRedisClient(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("session: parse redis URL: %w", redactURLError(err))
	}
	return redis.NewClient(tuneOptions(opts)), nil
}

// redactURLError replaces the URL that net/url puts into its parse errors,
// which would otherwise leak a password into logs. Other errors pass through.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: "(redacted)", Err: ue.Err}
	}
	return err
}

// RedisStore is a Store that keeps each session as JSON under Key(id) with a
// Redis expiry. It works on one server, behind Sentinel and on a Redis
// Cluster: no command or transaction spans two keys (a cluster would refuse
// keys of different hash slots), so the indexes are written next to the
// session, not atomically with it. It is safe for concurrent use.
type RedisStore struct {
	client redis.UniversalClient
	cache  *sessionCache // nil: every Load asks Redis
	trk    *tracker
}

// NewRedisStore returns a RedisStore using c, without a cache. The caller
// keeps ownership of c and closes it.
func NewRedisStore(c redis.UniversalClient) *RedisStore {
	return &RedisStore{client: c}
}

// CacheOptions tune the session cache of NewCachedRedisStore.
type CacheOptions struct {
	// MaxEntries bounds the sessions held (default 50,000, a few tens of
	// MB at most).
	MaxEntries int
	// MaxAge is how long a cached session is served without asking Redis
	// again even when no invalidation came (default 30 s): a backstop, not
	// what keeps the cache correct.
	MaxAge time.Duration
	// Logger receives the loss and return of the invalidation connections.
	Logger *slog.Logger
}

// Defaults of CacheOptions.
const (
	DefaultCacheEntries = 50_000
	DefaultCacheMaxAge  = 30 * time.Second
)

// NewCachedRedisStore returns a RedisStore using c whose Load serves
// repeat requests of a session from memory, kept correct by Redis'
// server-assisted client-side caching: one connection per primary with
// CLIENT TRACKING ON BCAST PREFIX session: tells this instance about every
// change of a session key on any instance (a sign-out, a renewal, an
// expiry). While such a connection is down, or has an invalidation not yet
// applied, Load reads from Redis. c must be a *redis.Client (one server or
// Sentinel) or a *redis.ClusterClient. Close stops the tracking; the
// caller keeps ownership of c.
func NewCachedRedisStore(c redis.UniversalClient, o CacheOptions) (*RedisStore, error) {
	targets, err := targetsOf(c)
	if err != nil {
		return nil, err
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultCacheMaxAge
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cache := newSessionCache(o.MaxEntries, o.MaxAge)
	return &RedisStore{client: c, cache: cache, trk: startTracker(targets, cache, o.Logger)}, nil
}

// Close stops the cache's tracking connections (nothing for a store
// without a cache).
func (r *RedisStore) Close() {
	if r.trk != nil {
		r.trk.close()
	}
}

// CacheStats reports on the cache (zero for a store without one).
func (r *RedisStore) CacheStats() CacheStats {
	if r.cache == nil {
		return CacheStats{}
	}
	return r.cache.stats()
}

// forget drops id from this instance's cache (a write of this instance;
// other instances hear of it from Redis).
func (r *RedisStore) forget(id string) {
	if r.cache != nil {
		r.cache.forget(id)
	}
}

var _ Store = (*RedisStore)(nil)

// Load returns the session stored under id. A missing or expired key yields
// ErrNotFound; so does a stored value that is not valid session JSON (the
// error then also wraps the decoding error). Any other Redis failure yields
// an *UnavailableError.
func (r *RedisStore) Load(ctx context.Context, id string) (Session, error) {
	if id == "" {
		return Session{}, fmt.Errorf("%w: empty session id", ErrNotFound)
	}
	var m mark
	if r.cache != nil {
		if s, ok := r.cache.get(id, time.Now()); ok {
			return s, nil
		}
		m = r.cache.mark()
	}
	raw, err := r.client.Get(ctx, Key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, &UnavailableError{Op: "load", Err: err}
	}
	s, err := decodeSession(id, raw)
	if err == nil && r.cache != nil {
		r.cache.put(s, m, time.Now())
	}
	return s, err
}

// decodeSession reads a stored session value.
func decodeSession(id string, raw []byte) (Session, error) {
	var s Session
	if err := json.Unmarshal(raw, &s); err != nil {
		// A value we cannot read is as good as no session: the user signs in
		// again and Save overwrites it; its TTL removes it otherwise.
		return Session{}, fmt.Errorf("%w: stored value does not decode: %w", ErrNotFound, err)
	}
	s.ID = id
	s.ExpiresAt = s.ExpiresAt.UTC()
	return s, nil
}

// Save stores s under Key(s.ID) as JSON with SET ... EX, overwriting any
// previous value, adds it to its user's index and to the expiry index that
// Count reads, in one pipeline (one round trip per server involved). The
// TTL is rounded up to whole seconds. ExpiresAt is stored in UTC as RFC
// 3339.
func (r *RedisStore) Save(ctx context.Context, s Session, ttl time.Duration) error {
	if err := validateSave(s, ttl); err != nil {
		return err
	}
	s.ExpiresAt = s.ExpiresAt.UTC()
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: save: encode: %w", err)
	}
	ttl = roundUpToSecond(ttl)
	now := time.Now()
	r.forget(s.ID)
	defer r.forget(s.ID)
	pipe := r.client.Pipeline()
	pipe.Set(ctx, Key(s.ID), raw, ttl)
	addToIndexes(ctx, pipe, s, ttl, now)
	pipe.ZRemRangeByScore(ctx, expiryKey, "-inf", "("+strconv.FormatFloat(expiryScore(now), 'f', -1, 64))
	if _, err := pipe.Exec(ctx); err != nil {
		return &UnavailableError{Op: "save", Err: err}
	}
	return nil
}

// addToIndexes queues the index entries of s for a key living ttl from
// now: its user's index (which lives as long as the user's longest
// session) and the expiry index.
func addToIndexes(ctx context.Context, pipe redis.Pipeliner, s Session, ttl time.Duration, now time.Time) {
	if s.Username != "" {
		pipe.SAdd(ctx, UserKey(s.Username), s.ID)
		pipe.ExpireGT(ctx, UserKey(s.Username), ttl)
		pipe.ExpireNX(ctx, UserKey(s.Username), ttl)
	}
	pipe.ZAdd(ctx, expiryKey, redis.Z{Score: expiryScore(now.Add(ttl)), Member: s.ID})
}

// Update replaces the session stored under Key(s.ID) only if that key still
// exists (SET ... XX, with KEEPTTL or a new EX), so a sign-out between a
// request's Load and its write stays a sign-out: a deleted or expired
// session yields ErrNotFound and is not written. A new TTL (a renewal) is
// rounded up to whole seconds like Save's and also moves the session in
// the expiry index and keeps its user's index alive: those entries are
// written first and taken back when the session turns out to be gone, so
// a concurrent Delete (which removes the expiry entry after the key)
// leaves no entry behind in either order.
func (r *RedisStore) Update(ctx context.Context, s Session, ttl time.Duration) error {
	if err := validateUpdate(s, ttl); err != nil {
		return err
	}
	s.ExpiresAt = s.ExpiresAt.UTC()
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: update: encode: %w", err)
	}
	// Forgotten before and after the write: a Load of this instance that
	// read the old value meanwhile does not keep it.
	r.forget(s.ID)
	defer r.forget(s.ID)
	args := redis.SetArgs{Mode: "XX", KeepTTL: true}
	if ttl != KeepTTL {
		ttl = roundUpToSecond(ttl)
		args = redis.SetArgs{Mode: "XX", TTL: ttl}
		pipe := r.client.Pipeline()
		addToIndexes(ctx, pipe, s, ttl, time.Now())
		if _, err := pipe.Exec(ctx); err != nil {
			return &UnavailableError{Op: "update", Err: err}
		}
	}
	err = r.client.SetArgs(ctx, Key(s.ID), raw, args).Err()
	if errors.Is(err, redis.Nil) {
		if ttl != KeepTTL {
			pipe := r.client.Pipeline()
			pipe.ZRem(ctx, expiryKey, s.ID)
			if s.Username != "" {
				pipe.SRem(ctx, UserKey(s.Username), s.ID)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return &UnavailableError{Op: "update", Err: err}
			}
		}
		return fmt.Errorf("update: %w", ErrNotFound)
	}
	if err != nil {
		return &UnavailableError{Op: "update", Err: err}
	}
	return nil
}

// ListUser returns the user's live sessions and removes index entries whose
// session is gone. It costs two round trips whatever the number of sessions
// (SMEMBERS, then a pipeline of GETs: one per session, which a cluster
// sends to each session's own server).
func (r *RedisStore) ListUser(ctx context.Context, username string) ([]Session, error) {
	ids, err := r.client.SMembers(ctx, UserKey(username)).Result()
	if err != nil {
		return nil, &UnavailableError{Op: "list", Err: err}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := r.client.Pipeline()
	gets := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		gets[i] = pipe.Get(ctx, Key(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, &UnavailableError{Op: "list", Err: err}
	}
	var out []Session
	var gone []any
	for i, get := range gets {
		raw, err := get.Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, &UnavailableError{Op: "list", Err: err}
		}
		var s Session
		if err != nil || json.Unmarshal(raw, &s) != nil || s.Username != username {
			gone = append(gone, ids[i])
			continue
		}
		s.ID = ids[i]
		s.ExpiresAt = s.ExpiresAt.UTC()
		out = append(out, s)
	}
	if len(gone) > 0 {
		if err := r.client.SRem(ctx, UserKey(username), gone...).Err(); err != nil {
			return nil, &UnavailableError{Op: "list", Err: err}
		}
	}
	return out, nil
}

// TryLock takes lock:{name} with SET NX PX.
func (r *RedisStore) TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	ok, err := r.client.SetNX(ctx, "lock:"+name, "1", ttl).Result()
	if err != nil {
		return false, &UnavailableError{Op: "lock", Err: err}
	}
	return ok, nil
}

// Delete removes the session stored under id and then its entry in the
// expiry index: two commands in turn, because on a cluster the two keys may
// live on different servers and a pipeline would not keep their order,
// which Update relies on. Its user's index is cleaned by ListUser.
// Deleting a missing id is not an error.
func (r *RedisStore) Delete(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	r.forget(id)
	defer r.forget(id)
	if err := r.client.Del(ctx, Key(id)).Err(); err != nil {
		return &UnavailableError{Op: "delete", Err: err}
	}
	if err := r.client.ZRem(ctx, expiryKey, id).Err(); err != nil {
		return &UnavailableError{Op: "delete", Err: err}
	}
	return nil
}

// roundUpToSecond rounds a positive d up to a whole number of seconds, so
// go-redis sends SET ... EX rather than PX.
func roundUpToSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}
