// Command lxc-manager is a web dashboard for the LXC containers of a Proxmox
// VE cluster. See README.md; everything lives in internal/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lxc-manager/lxc-manager/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.Run(ctx, app.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
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
