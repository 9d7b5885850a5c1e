package oidc

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// Server serves a Provider on a loopback listener of its own, over plain
// HTTP, like a development instance of Keycloak.
type Server struct {
	*Provider
	// URL is the issuer: "http://<host>:<port>".
	URL string
	srv *http.Server
}

// Start listens on addr ("127.0.0.1:0") and serves a provider built from
// opts in the background; opts.Issuer is set to http://host:port, where
// host is the listener's, or name when it is not empty ("localhost":
// a site of its own for the browser, apart from a dashboard on
// 127.0.0.1).
func Start(addr, name string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidc: listen %s: %w", addr, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if name != "" {
		host = name
	}
	opts.Issuer = "http://" + net.JoinHostPort(host, port)
	p, err := New(opts)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("oidc: server stopped", "err", err)
		}
	}()
	return &Server{Provider: p, URL: opts.Issuer, srv: srv}, nil
}

// Close stops the provider: later requests find nothing listening.
func (s *Server) Close() error {
	return s.srv.Close()
}
