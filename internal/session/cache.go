package session

import (
	"sync"
	"sync/atomic"
	"time"
)

// sessionCache keeps decoded sessions of this instance in memory, kept
// correct by the invalidations a tracker receives from Redis (see
// tracker). It serves a session only while every tracking connection is up
// and has nothing unread; otherwise Load asks Redis as without a cache.
//
// Every invalidation, every local write and every change of the tracking
// connections moves the epoch. A value read from Redis is kept only if the
// epoch did not move while it was being read: an invalidation that arrived
// meanwhile might be about it.
type sessionCache struct {
	maxEntries int
	maxAge     time.Duration
	// quiet reports that no invalidation is waiting to be applied (nil:
	// nothing to check).
	quiet func() bool

	mu      sync.RWMutex
	entries map[string]cacheEntry
	epoch   uint64
	live    bool

	hits, misses, flushes atomic.Uint64
}

// cacheEntry is one cached session and until when it may be served without
// asking Redis again.
type cacheEntry struct {
	s     Session
	until time.Time
}

func newSessionCache(maxEntries int, maxAge time.Duration) *sessionCache {
	return &sessionCache{maxEntries: maxEntries, maxAge: maxAge, entries: map[string]cacheEntry{}}
}

// get returns the cached session of id, if it may be served now.
func (c *sessionCache) get(id string, now time.Time) (Session, bool) {
	// Unread invalidations first, then the entry: an invalidation the
	// tracker has taken off the socket but not applied yet shows as busy.
	if c.quiet != nil && !c.quiet() {
		c.misses.Add(1)
		return Session{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[id]
	live := c.live
	c.mu.RUnlock()
	if !ok || !live || !now.Before(e.until) {
		c.misses.Add(1)
		return Session{}, false
	}
	c.hits.Add(1)
	return e.s, true
}

// mark is the state a read from Redis started in.
type mark struct {
	epoch uint64
	live  bool
}

// mark returns the current state, taken before reading from Redis.
func (c *sessionCache) mark() mark {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return mark{c.epoch, c.live}
}

// put keeps s, read from Redis since m, unless anything changed meanwhile.
func (c *sessionCache) put(s Session, m mark, now time.Time) {
	if !m.live {
		return
	}
	until := now.Add(c.maxAge)
	if !s.ExpiresAt.IsZero() && s.ExpiresAt.Before(until) {
		until = s.ExpiresAt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != m.epoch || !c.live {
		return
	}
	if len(c.entries) >= c.maxEntries {
		// Drop an eighth, in map order (random enough): a full cache is
		// a rare event, and a dropped session costs one read.
		n := max(1, c.maxEntries/8)
		for k := range c.entries {
			delete(c.entries, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.entries[s.ID] = cacheEntry{s: s, until: until}
}

// forget drops the sessions of ids (an invalidation, or a write of this
// instance) and moves the epoch.
func (c *sessionCache) forget(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.entries, id)
	}
	c.epoch++
}

// setLive empties the cache and says whether it may fill again: true once
// every tracking connection is up, false when one is lost (what changed
// meanwhile is unknown).
func (c *sessionCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.epoch++
	c.live = live
	c.flushes.Add(1)
}

// CacheStats describe the session cache of a RedisStore.
type CacheStats struct {
	// Hits and Misses count Loads served from memory and from Redis.
	Hits, Misses uint64
	// Flushes counts how often the cache was emptied as a whole: when the
	// tracking connections came up, were lost, or Redis was flushed.
	Flushes uint64
	// Entries is the number of sessions held now.
	Entries int
	// Live reports that the tracking connections are up, so the cache
	// serves sessions.
	Live bool
}

func (c *sessionCache) stats() CacheStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Flushes: c.flushes.Load(), Entries: len(c.entries), Live: c.live}
}
