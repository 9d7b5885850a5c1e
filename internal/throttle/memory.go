package throttle

import (
	"context"
	"sync"
	"time"
)

// MemoryLimiter keeps counters in this process (the demo without Redis),
// with RedisLimiter's semantics. It is safe for concurrent use.
type MemoryLimiter struct {
	now    func() time.Time
	mu     sync.Mutex
	counts map[string]memCount
	// sweepAt is the map size at which Reserve next drops expired
	// counters (amortised: it doubles with the live ones).
	sweepAt int
}

type memCount struct {
	n     int
	until time.Time // end of the counter's window
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewMemory returns an in-process Limiter; now is the clock (time.Now if nil).
func NewMemory(now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, counts: map[string]memCount{}, sweepAt: sweepAbove}
}

// live returns key's counter at now, dropping it when its window is over.
func (l *MemoryLimiter) live(key string, now time.Time) (memCount, bool) {
	c, ok := l.counts[key]
	if ok && !now.Before(c.until) {
		delete(l.counts, key)
		return memCount{}, false
	}
	return c, ok
}

// sweepAbove is the smallest map size at which Reserve drops expired
// counters, so guesses at many names do not grow the map for ever.
const sweepAbove = 4096

func (l *MemoryLimiter) sweep(now time.Time) {
	if len(l.counts) < l.sweepAt {
		return
	}
	for k, c := range l.counts {
		if !now.Before(c.until) {
			delete(l.counts, k)
		}
	}
	l.sweepAt = max(sweepAbove, 2*len(l.counts))
}

// Reserve implements Limiter.
func (l *MemoryLimiter) Reserve(_ context.Context, limits ...Limit) (time.Duration, error) {
	if err := check(limits); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	var wait time.Duration
	for _, lim := range limits {
		if c, _ := l.live(lim.Key, now); c.n >= lim.Policy.Max {
			until := c.until
			if c.n == 0 { // Max 0: refused for a whole window
				until = now.Add(lim.Policy.Window)
			}
			wait = max(wait, until.Sub(now))
		}
	}
	if wait > 0 {
		return wait, nil
	}
	for _, lim := range limits {
		c, ok := l.live(lim.Key, now)
		if !ok {
			c = memCount{until: now.Add(lim.Policy.Window)}
		}
		c.n++
		l.counts[lim.Key] = c
	}
	return 0, nil
}

// Release implements Limiter.
func (l *MemoryLimiter) Release(_ context.Context, limits ...Limit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, lim := range limits {
		c, ok := l.live(lim.Key, now)
		switch {
		case !ok:
		case c.n > 1:
			c.n--
			l.counts[lim.Key] = c
		default:
			delete(l.counts, lim.Key)
		}
	}
	return nil
}

// Reset implements Limiter.
func (l *MemoryLimiter) Reset(_ context.Context, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.counts, k)
	}
	return nil
}
