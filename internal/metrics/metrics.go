// Package metrics holds the dashboard's Prometheus metrics in a registry of
// its own (no global state) and serves them. A nil *Metrics records nothing,
// so packages can be used and tested without it.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// Metrics are the dashboard's instruments.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	signIns     *prometheus.CounterVec
	pveCalls    *prometheus.CounterVec
	pveDuration *prometheus.HistogramVec
	redisErrors prometheus.Counter

	// routeMu guards routes: the instruments of each route and status seen,
	// so that a request costs no label hashing.
	routeMu sync.RWMutex
	routes  map[routeKey]routeInstruments
}

type routeKey struct {
	route  string
	status int
}

type routeInstruments struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New returns the instruments. activeSessions, when not nil, is asked at
// each scrape for the number of live sessions.
func New(activeSessions func(ctx context.Context) (int, error)) *Metrics {
	m := &Metrics{
		routes:   map[routeKey]routeInstruments{},
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lxcm_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lxcm_http_request_duration_seconds", Help: "HTTP request latency by route pattern (live-update streams excluded).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}, []string{"route"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lxcm_sign_ins_total", Help: "Sign-in attempts by outcome.",
		}, []string{"outcome"}),
		pveCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lxcm_pve_requests_total", Help: "Proxmox VE API calls by endpoint and outcome.",
		}, []string{"endpoint", "outcome"}),
		pveDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lxcm_pve_request_duration_seconds", Help: "Proxmox VE API call latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"endpoint"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lxcm_redis_errors_total", Help: "Redis commands that failed (a missing key is not a failure).",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.signIns, m.pveCalls, m.pveDuration, m.redisErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if activeSessions != nil {
		m.registry.MustRegister(&sessionsCollector{count: activeSessions,
			desc: prometheus.NewDesc("lxcm_active_sessions", "Live sessions in the session store.", nil, nil)})
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	// A failed collector (the session count while Redis is down) must not
	// hide the other metrics.
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest records one HTTP request. Streams (long by design) are
// counted but not timed.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration, stream bool) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	k := routeKey{route, status}
	m.routeMu.RLock()
	in, ok := m.routes[k]
	m.routeMu.RUnlock()
	if !ok {
		// Routes are the mux's patterns and statuses few, so this stays small.
		in = routeInstruments{m.requests.WithLabelValues(route, strconv.Itoa(status)), m.duration.WithLabelValues(route)}
		m.routeMu.Lock()
		m.routes[k] = in
		m.routeMu.Unlock()
	}
	in.count.Inc()
	if !stream {
		in.duration.Observe(d.Seconds())
	}
}

// SignIn records a sign-in attempt's outcome (success, invalid_credentials,
// invalid_code, throttled, unreachable, ...).
func (m *Metrics) SignIn(outcome string) {
	if m == nil {
		return
	}
	m.signIns.WithLabelValues(outcome).Inc()
}

// ObservePVE records one PVE API call.
func (m *Metrics) ObservePVE(endpoint, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.pveCalls.WithLabelValues(endpoint, outcome).Inc()
	m.pveDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// RedisHook counts failed Redis commands; add it to a client with AddHook.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m: m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil && h.m != nil {
			h.m.redisErrors.Inc()
		}
		return c, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if failed(err) && h.m != nil {
			h.m.redisErrors.Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if failed(err) && h.m != nil {
			h.m.redisErrors.Inc()
		}
		return err
	}
}

// failed reports whether a command's error is a failure: a missing key
// (redis.Nil) is an answer, and NOSCRIPT is how EVALSHA asks for a script
// the server has not cached yet (go-redis then sends it with EVAL).
func failed(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !redis.HasErrorPrefix(err, "NOSCRIPT")
}

// sessionsCollector asks the store for the number of sessions at scrape time.
type sessionsCollector struct {
	count func(ctx context.Context) (int, error)
	desc  *prometheus.Desc
}

func (c *sessionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sessionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
