package web

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// healthz answers 200 while the process serves (GET /healthz).
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = textContentType
	h["Cache-Control"] = noStore
	_, _ = w.Write(healthzBody)
}

var (
	textContentType = []string{"text/plain; charset=utf-8"}
	healthzBody     = []byte("ok\n")
)

// probes answers GET and HEAD /healthz ahead of the page middleware: a
// load balancer asks it every few seconds, it shows no page (so no CSP
// nonce or request id), and an access line per probe would only bury the
// people's requests. It is still counted in the request metrics. Every
// other request goes on to next.
func (s *Server) probes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		w.Header()["X-Content-Type-Options"] = hdrNosniff
		s.healthz(w, r)
		s.cfg.Metrics.ObserveRequest("GET /healthz", http.StatusOK, time.Since(start), false)
	})
}

// readiness is the JSON answer of /readyz. It names what is down, never
// addresses or errors (they are logged).
type readiness struct {
	Status string   `json:"status"`
	Down   []string `json:"down,omitempty"`
}

// readyz answers 200 only when every dependency answers (GET /readyz):
// Redis and PVE. Checks run in parallel, each bounded to two seconds.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	down := make([]bool, len(s.cfg.Checks))
	var wg sync.WaitGroup
	for i, c := range s.cfg.Checks {
		wg.Go(func() {
			if err := c.Ping(ctx); err != nil {
				down[i] = true
				s.log.Warn("readiness check failed", "check", c.Name, "err", err)
			}
		})
	}
	wg.Wait()
	res := readiness{Status: "ok"}
	for i, d := range down {
		if d {
			res.Down = append(res.Down, s.cfg.Checks[i].Name)
		}
	}
	if len(res.Down) > 0 {
		res.Status = "unavailable"
		writeJSON(w, http.StatusServiceUnavailable, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
