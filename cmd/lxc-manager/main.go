// Command lxc-manager is a web dashboard for the LXC containers of a Proxmox
// VE cluster. See README.md; everything lives in internal/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/lxc-manager/lxc-manager/internal/app"
)

// redisLog sends go-redis's own messages (connection pool dial failures,
// mostly) through slog at debug level. The dashboard reports a lost Redis
// itself, once per failed request, with a request id.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// version is the release, set at build time with
// -ldflags "-X main.version=1.2.3"; "dev" otherwise.
var version = "dev"

func main() {
	// go-redis keeps its logger in a package variable; set it once, here.
	redis.SetLogger(redisLog{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.Run(ctx, app.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Version: version})
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "lxc-manager:", err)
	var ue *app.UsageError
	if errors.As(err, &ue) {
		fmt.Fprint(os.Stderr, app.Usage)
		os.Exit(2)
	}
	os.Exit(1)
}
