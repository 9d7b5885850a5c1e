package throttle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
	"github.com/lxc-manager/lxc-manager/internal/throttle"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLimiters(t *testing.T) {
	p := throttle.Policy{Max: 3, Window: 2 * time.Second}
	clk := &clock{t: time.Now()}
	srv := redistest.Start(t)
	limiters := map[string]struct {
		l       throttle.Limiter
		advance func(time.Duration)
	}{
		"memory": {throttle.NewMemory(p, clk.now), func(d time.Duration) { clk.t = clk.t.Add(d) }},
		"redis":  {throttle.NewRedis(srv.Client(t), p), func(d time.Duration) { time.Sleep(d) }},
	}
	for name, tc := range limiters {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			acct, addr := "acct:"+name+"@pve", "addr:192.0.2."+name
			for i := range 3 {
				if wait, err := tc.l.Blocked(ctx, acct, addr); err != nil || wait != 0 {
					t.Fatalf("after %d failures: blocked %v, %v", i, wait, err)
				}
				if err := tc.l.Fail(ctx, acct, addr); err != nil {
					t.Fatal(err)
				}
			}
			wait, err := tc.l.Blocked(ctx, acct, addr)
			if err != nil || wait <= 0 || wait > p.Window {
				t.Fatalf("after 3 failures: blocked %v, %v", wait, err)
			}
			// Another address for the same account is blocked too, and the
			// same address for another account.
			if w, _ := tc.l.Blocked(ctx, acct, "addr:other"); w == 0 {
				t.Error("account limit does not hold from another address")
			}
			if w, _ := tc.l.Blocked(ctx, "acct:other", addr); w == 0 {
				t.Error("address limit does not hold for another account")
			}
			if err := tc.l.Reset(ctx, acct); err != nil {
				t.Fatal(err)
			}
			if w, _ := tc.l.Blocked(ctx, acct); w != 0 {
				t.Error("Reset did not clear the account")
			}
			tc.advance(p.Window + 100*time.Millisecond)
			if w, _ := tc.l.Blocked(ctx, addr); w != 0 {
				t.Errorf("still blocked after the window: %v", w)
			}
		})
	}
}

func TestRedisLimiterUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := session.NewRedisClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	l := throttle.NewRedis(rdb, throttle.DefaultPolicy())
	srv.Stop(t)
	if _, err := l.Blocked(context.Background(), "k"); !errors.Is(err, throttle.ErrUnavailable) {
		t.Errorf("Blocked: %v", err)
	}
	if err := l.Fail(context.Background(), "k"); !errors.Is(err, throttle.ErrUnavailable) {
		t.Errorf("Fail: %v", err)
	}
}
