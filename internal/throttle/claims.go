package throttle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Claims remembers single-use tokens (the second step of a sign-in) until
// they expire. The contract:
//
//   - Claim marks id as used for ttl and reports true, or reports false
//     when id is already claimed; of concurrent Claims of one id exactly one
//     gets true.
//   - Unclaim forgets a claim, for a use that did not go through, so the
//     token may be used again.
//
// Errors wrap ErrUnavailable: the store could not be asked.
type Claims interface {
	Claim(ctx context.Context, id string, ttl time.Duration) (bool, error)
	Unclaim(ctx context.Context, id string) error
}

// RedisClaims keeps claims at {prefix}{id} (SET NX with the token's
// remaining lifetime).
type RedisClaims struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Claims = (*RedisClaims)(nil)

// NewRedisClaims returns Claims on rdb under prefix (e.g. "tfa-used:").
func NewRedisClaims(rdb redis.UniversalClient, prefix string) *RedisClaims {
	return &RedisClaims{rdb: rdb, prefix: prefix}
}

// Claim implements Claims.
func (c *RedisClaims) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if id == "" || ttl <= 0 {
		return false, ErrInvalid
	}
	ok, err := c.rdb.SetNX(ctx, c.prefix+id, 1, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return false, fmt.Errorf("%w: claim: %w", ErrUnavailable, err)
	}
	return ok, nil
}

// Unclaim implements Claims.
func (c *RedisClaims) Unclaim(ctx context.Context, id string) error {
	if err := c.rdb.Del(ctx, c.prefix+id).Err(); err != nil {
		return fmt.Errorf("%w: unclaim: %w", ErrUnavailable, err)
	}
	return nil
}

// MemoryClaims keeps claims in this process (the demo without Redis). It
// is safe for concurrent use.
type MemoryClaims struct {
	now func() time.Time
	mu  sync.Mutex
	ids map[string]time.Time // id -> claimed until
}

var _ Claims = (*MemoryClaims)(nil)

// NewMemoryClaims returns in-process Claims; now is the clock (time.Now if
// nil).
func NewMemoryClaims(now func() time.Time) *MemoryClaims {
	if now == nil {
		now = time.Now
	}
	return &MemoryClaims{now: now, ids: map[string]time.Time{}}
}

// Claim implements Claims. Expired claims are dropped as it goes.
func (c *MemoryClaims) Claim(_ context.Context, id string, ttl time.Duration) (bool, error) {
	if id == "" || ttl <= 0 {
		return false, ErrInvalid
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if until, ok := c.ids[id]; ok && now.Before(until) {
		return false, nil
	}
	for k, until := range c.ids {
		if !now.Before(until) {
			delete(c.ids, k)
		}
	}
	c.ids[id] = now.Add(ttl)
	return true, nil
}

// Unclaim implements Claims.
func (c *MemoryClaims) Unclaim(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ids, id)
	return nil
}
