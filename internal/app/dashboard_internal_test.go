package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// TestNewDashboardClosesRedisOnEveryError makes each step after the
// connection to Redis fail in turn: NewDashboard must close the client it
// opened every time.
func TestNewDashboardClosesRedisOnEveryError(t *testing.T) {
	rd := redistest.Start(t)
	cfg := config.Config{
		ProxmoxHost:   "127.0.0.1",
		ProxmoxPort:   8006,
		SessionSecret: strings.Repeat("k", 40),
		RedisURL:      rd.URL,
		ListenAddr:    "127.0.0.1:0",
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	errStep := errors.New("step failed on purpose")
	for _, failing := range []string{"redis", "instance id", "web server"} {
		t.Run(failing, func(t *testing.T) {
			var built *Dashboard
			seen := false
			d, err := NewDashboard(context.Background(), cfg, Deps{failStep: func(step string, d *Dashboard) error {
				built = d
				if step == failing {
					seen = true
					return errStep
				}
				return nil
			}})
			if !seen {
				t.Fatalf("step %q was never reached", failing)
			}
			if !errors.Is(err, errStep) || d != nil {
				t.Fatalf("NewDashboard = %v, %v; want nil and the step's error", d, err)
			}
			if built == nil || built.redis == nil {
				t.Fatal("no Redis client to check")
			}
			if err := built.redis.Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
				t.Errorf("after the failure the Redis client answers %v; want it closed", err)
			}
		})
	}
}
