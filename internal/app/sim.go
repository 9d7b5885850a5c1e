package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// userFlags collects repeated --user NAME@REALM:PASSWORD flags.
type userFlags []pvesim.User

func (u *userFlags) String() string { return fmt.Sprintf("%d users", len(*u)) }

func (u *userFlags) Set(v string) error {
	user, err := pvesim.ParseUserFlag(v)
	if err != nil {
		return err
	}
	*u = append(*u, user)
	return nil
}

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// simFlags are the simulator flags shared by `pvesim` and `demo`.
type simFlags struct {
	users    userFlags
	scenario string
	offline  listFlag
}

func (f *simFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.users, "user", "NAME@REALM:PASSWORD; adds or overrides a user (repeatable)")
	fs.StringVar(&f.scenario, "scenario", "demo", "cluster to simulate: "+strings.Join(pvesim.Scenarios(), ", "))
	fs.Var(&f.offline, "offline-node", "start with this node offline (repeatable)")
}

// newSim builds the simulator the flags describe.
func (f *simFlags) newSim(delay time.Duration, logger *slog.Logger) (*pvesim.Sim, error) {
	if !slices.Contains(pvesim.Scenarios(), f.scenario) {
		return nil, &UsageError{Msg: fmt.Sprintf("unknown --scenario %q (choose %s)", f.scenario, strings.Join(pvesim.Scenarios(), ", "))}
	}
	sim, err := pvesim.New(pvesim.Options{
		Scenario:         f.scenario,
		Users:            f.users,
		OfflineNodes:     f.offline,
		AuthFailureDelay: delay,
		Logger:           logger,
	})
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	return sim, nil
}

// runSim runs the simulator alone until ctx ends.
func runSim(ctx context.Context, env Env, logger *slog.Logger) error {
	fs := flag.NewFlagSet("pvesim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:8006", "address to serve HTTPS on")
	delay := fs.Duration("auth-failure-delay", 3*time.Second, "how long refused sign-ins and 401s are held (PVE: 3s)")
	var redirects listFlag
	fs.Var(&redirects, "openid-redirect", "a redirect URI to register at the simulated OpenID provider, e.g. https://lxc.example.com/login/openid (repeatable)")
	var sf simFlags
	sf.register(fs)
	if err := fs.Parse(env.Args[1:]); err != nil {
		return &UsageError{Msg: "pvesim: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "pvesim: unexpected argument " + strconv.Quote(fs.Arg(0))}
	}
	sim, err := sf.newSim(*delay, logger)
	if err != nil {
		return err
	}
	srv, err := pvesim.Start(*listen, sim)
	if err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(env.Stdout, "pvesim listening on %s\nfingerprint: %s\n", srv.URL, srv.Fingerprint)
	if srv.OpenID != nil {
		for _, uri := range redirects {
			srv.RegisterRedirectURI(uri)
		}
		fmt.Fprintf(env.Stdout, "openid provider: %s (redirect URIs: %s)\n", srv.OpenID.URL, strings.Join(redirects, ", "))
	}
	<-ctx.Done()
	return nil
}

// splitAddr splits "host:port" into its parts; the port is 0 when absent.
func splitAddr(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return strings.TrimSpace(addr), 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}
