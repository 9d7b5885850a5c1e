package throttle_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
	"github.com/lxc-manager/lxc-manager/internal/throttle"
)

// clock is a manual clock for the memory implementations.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limiterCase is one implementation under test; advance moves its time
// (the memory clock, or real time for Redis's TTLs).
type limiterCase struct {
	name    string
	l       throttle.Limiter
	advance func(time.Duration)
}

func limiters(t *testing.T) []limiterCase {
	t.Helper()
	clk := &clock{t: time.Now()}
	srv := redistest.Start(t)
	// On a cluster the counters of one Reserve must share a hash slot, or
	// its script is refused (CROSSSLOT).
	cl := redistest.StartCluster(t, 3)
	cc, err := session.NewUniversalClient(cl.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return []limiterCase{
		{"memory", throttle.NewMemory(clk.now), clk.advance},
		{"redis", throttle.NewRedis(srv.Client(t)), func(d time.Duration) { time.Sleep(d) }},
		{"cluster", throttle.NewRedis(cc), func(d time.Duration) { time.Sleep(d) }},
	}
}

func TestLimiterReserve(t *testing.T) {
	strict := throttle.Policy{Max: 3, Window: time.Minute}
	loose := throttle.Policy{Max: 10, Window: 2 * time.Minute}
	for _, tc := range limiters(t) {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			pair := throttle.Limit{Key: tc.name + ":pair", Policy: strict}
			addr := throttle.Limit{Key: tc.name + ":addr", Policy: loose}
			other := throttle.Limit{Key: tc.name + ":other", Policy: throttle.Policy{Max: 100, Window: time.Minute}}
			for i := range 3 {
				if wait, err := tc.l.Reserve(ctx, pair, addr); err != nil || wait != 0 {
					t.Fatalf("attempt %d: wait %v, %v", i+1, wait, err)
				}
			}
			// pair is full: refused, with the wait of pair's window, and
			// nothing counted on addr.
			wait, err := tc.l.Reserve(ctx, pair, addr)
			if err != nil || wait <= 50*time.Second || wait > time.Minute {
				t.Fatalf("4th attempt: wait %v, %v; want most of a minute", wait, err)
			}
			for i := range 7 {
				if wait, err := tc.l.Reserve(ctx, other, addr); err != nil || wait != 0 {
					t.Fatalf("addr attempt %d: wait %v, %v (the refused attempt was counted?)", 4+i, wait, err)
				}
			}
			// addr is at 10: its window decides, the longest of the two.
			if wait, _ := tc.l.Reserve(ctx, pair, addr); wait <= time.Minute+50*time.Second {
				t.Errorf("both full: wait %v, want addr's longer window", wait)
			}
			// A released attempt is given back; releasing never goes below
			// zero.
			if err := tc.l.Release(ctx, addr); err != nil {
				t.Fatal(err)
			}
			if wait, _ := tc.l.Reserve(ctx, addr); wait != 0 {
				t.Errorf("after a release: wait %v", wait)
			}
			fresh := throttle.Limit{Key: tc.name + ":fresh", Policy: strict}
			if err := tc.l.Release(ctx, fresh, fresh); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if wait, _ := tc.l.Reserve(ctx, fresh); wait != 0 {
					t.Fatalf("fresh attempt %d after releases of nothing: wait %v", i+1, wait)
				}
			}
			if wait, _ := tc.l.Reserve(ctx, fresh); wait == 0 {
				t.Error("releases of nothing made room beyond Max")
			}
			// Reset forgets.
			if err := tc.l.Reset(ctx, pair.Key); err != nil {
				t.Fatal(err)
			}
			if wait, _ := tc.l.Reserve(ctx, pair); wait != 0 {
				t.Errorf("after Reset: wait %v", wait)
			}
			// A policy of Max 0 refuses everything.
			if wait, _ := tc.l.Reserve(ctx, throttle.Limit{Key: tc.name + ":closed", Policy: throttle.Policy{Max: 0, Window: time.Minute}}); wait <= 0 {
				t.Error("Max 0 let an attempt through")
			}
			if _, err := tc.l.Reserve(ctx, throttle.Limit{Key: "", Policy: strict}); !errors.Is(err, throttle.ErrInvalid) {
				t.Errorf("empty key: %v", err)
			}
		})
	}
}

func TestLimiterWindow(t *testing.T) {
	p := throttle.Policy{Max: 2, Window: 300 * time.Millisecond}
	for _, tc := range limiters(t) {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			k := throttle.Limit{Key: tc.name + ":window", Policy: p}
			for range 2 {
				if wait, err := tc.l.Reserve(ctx, k); err != nil || wait != 0 {
					t.Fatalf("wait %v, %v", wait, err)
				}
			}
			if wait, _ := tc.l.Reserve(ctx, k); wait <= 0 || wait > p.Window {
				t.Fatalf("full: wait %v", wait)
			}
			// The window runs from the first attempt; refused attempts do
			// not extend it.
			tc.advance(p.Window + 50*time.Millisecond)
			if wait, _ := tc.l.Reserve(ctx, k); wait != 0 {
				t.Errorf("after the window: wait %v", wait)
			}
		})
	}
}

// TestLimiterParallel: many goroutines reserve at once; exactly Max get
// through, on every key of the reservation.
func TestLimiterParallel(t *testing.T) {
	p := throttle.Policy{Max: 5, Window: time.Minute}
	for _, tc := range limiters(t) {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			a := throttle.Limit{Key: tc.name + ":par-a", Policy: p}
			b := throttle.Limit{Key: tc.name + ":par-b", Policy: throttle.Policy{Max: 100, Window: time.Minute}}
			var granted, refused atomic.Int32
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					wait, err := tc.l.Reserve(ctx, a, b)
					switch {
					case err != nil:
						t.Error(err)
					case wait == 0:
						granted.Add(1)
					default:
						refused.Add(1)
					}
				})
			}
			wg.Wait()
			if granted.Load() != int32(p.Max) || refused.Load() != 64-int32(p.Max) {
				t.Errorf("granted %d, refused %d; want %d and %d", granted.Load(), refused.Load(), p.Max, 64-p.Max)
			}
			// b counted only the granted ones: 95 more fit.
			for i := range 95 {
				if wait, _ := tc.l.Reserve(ctx, b); wait != 0 {
					t.Fatalf("b attempt %d refused: the refused reservations were counted", 6+i)
				}
			}
			if wait, _ := tc.l.Reserve(ctx, b); wait == 0 {
				t.Error("b beyond its Max")
			}
		})
	}
}

func TestRedisUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := session.NewRedisClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	l := throttle.NewRedis(rdb)
	c := throttle.NewRedisClaims(rdb, "tfa-used:")
	srv.Stop(t)
	ctx := context.Background()
	k := throttle.Limit{Key: "k", Policy: throttle.Policy{Max: 1, Window: time.Minute}}
	for name, err := range map[string]error{
		"Reserve": func() error { _, err := l.Reserve(ctx, k); return err }(),
		"Release": l.Release(ctx, k),
		"Reset":   l.Reset(ctx, "k"),
		"Claim":   func() error { _, err := c.Claim(ctx, "id", time.Minute); return err }(),
		"Unclaim": c.Unclaim(ctx, "id"),
	} {
		if !errors.Is(err, throttle.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
}

func TestClaims(t *testing.T) {
	clk := &clock{t: time.Now()}
	srv := redistest.Start(t)
	cases := []struct {
		name    string
		c       throttle.Claims
		advance func(time.Duration)
	}{
		{"memory", throttle.NewMemoryClaims(clk.now), clk.advance},
		{"redis", throttle.NewRedisClaims(srv.Client(t), "test-used:"), func(d time.Duration) { time.Sleep(d) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ttl := 300 * time.Millisecond
			if ok, err := tc.c.Claim(ctx, "a", ttl); !ok || err != nil {
				t.Fatalf("first claim: %v, %v", ok, err)
			}
			if ok, _ := tc.c.Claim(ctx, "a", ttl); ok {
				t.Error("claimed twice")
			}
			if ok, _ := tc.c.Claim(ctx, "b", ttl); !ok {
				t.Error("another id is held by a's claim")
			}
			if err := tc.c.Unclaim(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := tc.c.Claim(ctx, "b", ttl); !ok {
				t.Error("unclaimed id cannot be claimed again")
			}
			tc.advance(ttl + 50*time.Millisecond)
			if ok, _ := tc.c.Claim(ctx, "a", ttl); !ok {
				t.Error("claim outlived its ttl")
			}
			// Concurrent claims: exactly one wins.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 32 {
				wg.Go(func() {
					if ok, err := tc.c.Claim(ctx, "race", time.Minute); err != nil {
						t.Error(err)
					} else if ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d concurrent claims won", wins.Load())
			}
			if _, err := tc.c.Claim(ctx, "", time.Minute); !errors.Is(err, throttle.ErrInvalid) {
				t.Errorf("empty id: %v", err)
			}
		})
	}
}
