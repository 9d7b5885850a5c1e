package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds how long requests in flight may take to finish
// after the context ends.
const shutdownTimeout = 15 * time.Second

// endpoint is one HTTP listener of the process.
type endpoint struct {
	// setting names the variable that chose addr, for errors ("LISTEN_ADDR").
	setting string
	addr    string
	// ln, when set, is already listening on addr (the demo opens its
	// dashboard's listener early to know its address).
	ln      net.Listener
	handler http.Handler
	// ready is called with the bound address once the listener is open.
	ready func(addr string)
}

// serveAll opens every endpoint's listener first, so that an address in
// use stops start-up before anything is served, then serves them all until
// ctx ends or one of them fails, and shuts all of them down gracefully.
//
// Long-lived responses (live-update streams) must end when the server shuts
// down: a handler may implement Close, which is called as shutdown starts.
func serveAll(ctx context.Context, logger *slog.Logger, eps ...endpoint) error {
	lns := make([]net.Listener, 0, len(eps))
	for _, ep := range eps {
		ln, err := ep.ln, error(nil)
		if ln == nil {
			ln, err = net.Listen("tcp", ep.addr)
		}
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return fmt.Errorf("%s: listen on %s: %w", ep.setting, ep.addr, err)
		}
		lns = append(lns, ln)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(eps))
	for i, ep := range eps {
		if ep.ready != nil {
			ep.ready(lns[i].Addr().String())
		}
		go func() { errc <- serve(ctx, lns[i], ep.handler, logger) }()
	}
	var first error
	for range eps {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel() // one listener failed: stop the others too
		}
	}
	return first
}

// serve serves h on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	closer, _ := h.(interface{ Close() })
	if closer != nil {
		srv.RegisterOnShutdown(closer.Close)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "listener", ln.Addr().String(), "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if closer != nil {
		// Shutdown does not wait for the connections handlers took over
		// (event streams, consoles); Close, started by Shutdown, does.
		closer.Close()
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
