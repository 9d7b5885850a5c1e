// Package proxmox is the Proxmox VE API client. It is stateless: the signed-in
// user's identity (ticket and CSRF token) is passed with every call, so one
// Client serves every user and PVE's own permissions decide what each sees.
//
// The client never retries: a repeated non-idempotent call (start a
// container, say) could do the work twice.
package proxmox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// maxBody caps how much of a PVE answer is read. The largest expected answer
// (/cluster/resources of a 10,000-guest cluster) is a few MiB.
const maxBody = 32 << 20

// Default timeouts.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultLoginTimeout = 10 * time.Second
)

// Options configure a Client.
type Options struct {
	// BaseURL is PVE's address, e.g. "https://pve.example.com:8006".
	BaseURL string
	// Fingerprint pins PVE's certificate: the SHA-256 of its DER encoding
	// as colon-separated hex. When set, only that certificate is accepted.
	Fingerprint string
	// CAPEM is a PEM bundle of trusted roots for PVE's certificate. When
	// empty (and no Fingerprint), the system roots are used.
	CAPEM []byte
	// Insecure turns certificate verification off. It is logged as a warning.
	Insecure bool
	// Timeout bounds every call but sign-in (default DefaultTimeout).
	Timeout time.Duration
	// LoginTimeout bounds the sign-in call (default DefaultLoginTimeout).
	LoginTimeout time.Duration
	// Logger receives the warning about Insecure. Default: discard.
	Logger *slog.Logger
	// Observe, when set, is told about every call: the endpoint as the
	// schema names it ("GET /cluster/resources"), the outcome ("ok" or an
	// lxc.Code) and how long it took.
	Observe func(endpoint, outcome string, d time.Duration)
}

// Client calls the PVE API. It is safe for concurrent use.
type Client struct {
	base         *url.URL
	http         *http.Client
	ws           *http.Client // consoles' websockets (console.go)
	timeout      time.Duration
	loginTimeout time.Duration
	observe      func(endpoint, outcome string, d time.Duration)
	// bodies are buffers answers are read into, kept for the next call:
	// a poll of thousands of containers reads megabytes, and growing a
	// fresh buffer to that size each time cost it a tenth of its CPU.
	bodies sync.Pool
}

// keptBody bounds the buffers kept for reuse; a larger one is let go.
const keptBody = 8 << 20

// New returns a Client for opts. It fails when BaseURL is not an https URL or
// the TLS settings cannot be used.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("proxmox: base URL must be https://host:port, got %q", opts.BaseURL)
	}
	tlsConf, err := tlsConfig(opts)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 5 * time.Second,
		// Bound the connections to PVE: a burst of pages must queue for a
		// connection, not open a TLS handshake each (pveproxy allows 800
		// in all, for everyone).
		MaxConnsPerHost:     64,
		MaxIdleConnsPerHost: 64,
		// PVE closes idle keep-alive connections after 5 s; stay below it.
		IdleConnTimeout:   4 * time.Second,
		ForceAttemptHTTP2: false,
	}
	c := &Client{
		base:         base,
		http:         &http.Client{Transport: tr, CheckRedirect: noRedirect},
		timeout:      orDuration(opts.Timeout, DefaultTimeout),
		loginTimeout: orDuration(opts.LoginTimeout, DefaultLoginTimeout),
		observe:      opts.Observe,
	}
	c.ws = websocketClient(tlsConf)
	if opts.Insecure {
		logger := opts.Logger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		logger.Warn("TLS certificate verification towards Proxmox VE is OFF (PROXMOX_TLS_INSECURE); anyone on the network path can read tickets and passwords", "pve", base.Host)
	}
	return c, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// FingerprintMismatchError is returned when PVE's certificate does not match
// the pinned fingerprint.
type FingerprintMismatchError struct {
	Want, Got string
}

func (e *FingerprintMismatchError) Error() string {
	return fmt.Sprintf("certificate fingerprint %s does not match the pinned %s", e.Got, e.Want)
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate in PVE's
// form: upper-case hex pairs joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func tlsConfig(opts Options) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case opts.Fingerprint != "":
		want := strings.ToUpper(strings.TrimSpace(opts.Fingerprint))
		// Pinning replaces chain verification: PVE's certificates are
		// usually self-signed, and the pin is the stronger check.
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return &FingerprintMismatchError{Want: want, Got: "(none)"}
			}
			got := Fingerprint(cs.PeerCertificates[0].Raw)
			if got != want {
				return &FingerprintMismatchError{Want: want, Got: got}
			}
			return nil
		}
	case len(opts.CAPEM) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(opts.CAPEM) {
			return nil, errors.New("proxmox: the CA bundle holds no PEM certificate")
		}
		conf.RootCAs = pool
	case opts.Insecure:
		conf.InsecureSkipVerify = true
	}
	return conf, nil
}

// envelope is the error part of PVE's answer body:
// {"data": null, "message": "...", "errors": {...}}.
type envelope struct {
	Message string            `json:"message"`
	Errors  map[string]string `json:"errors"`
}

// request describes one API call.
type request struct {
	method  string
	path    string // below /api2/json, e.g. "/version"; segments escaped
	route   string // the schema's path, e.g. "/nodes/{node}/lxc" (default: path)
	query   url.Values
	form    url.Values
	id      *lxc.Identity // nil for calls that need no sign-in
	timeout time.Duration
	total   *Num // receives the envelope's "total" (task lists), if set
}

// do performs r and decodes the answer's data into out (which may be nil),
// reporting the call to Observe.
func (c *Client) do(ctx context.Context, r request, out any) error {
	if c.observe == nil {
		return c.call(ctx, r, out)
	}
	start := time.Now()
	err := c.call(ctx, r, out)
	outcome := "ok"
	if err != nil {
		outcome = string(lxc.ErrorCode(err))
	}
	route := r.route
	if route == "" {
		route = r.path
	}
	c.observe(r.method+" "+route, outcome, time.Since(start))
	return err
}

func (c *Client) call(ctx context.Context, r request, out any) error {
	op := r.method + " " + r.path
	timeout := r.timeout
	if timeout == 0 {
		timeout = c.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// r.path is already escaped segment by segment (url.PathEscape).
	u := *c.base
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + "/api2/json" + r.path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return &Error{Op: op, Kind: lxc.EInternal, Err: err}
	}
	u.Path = p
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return &Error{Op: op, Kind: lxc.EInternal, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.id != nil {
		req.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: url.QueryEscape(r.id.Ticket)})
		if r.method != http.MethodGet {
			req.Header.Set("CSRFPreventionToken", r.id.CSRFToken)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(op, err)
	}
	defer resp.Body.Close()
	buf, _ := c.bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= keptBody {
			buf.Reset()
			c.bodies.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1)); err != nil {
		return transportError(op, err)
	}
	// raw is only decoded from (encoding/json copies what it keeps).
	raw := buf.Bytes()
	if len(raw) > maxBody {
		return &Error{Op: op, Kind: lxc.EInternal, Status: resp.StatusCode, Err: errors.New("answer larger than the client's limit")}
	}
	if resp.StatusCode != http.StatusOK {
		// Error bodies are small JSON, or empty for PVE's pre-handler
		// refusals (the reason is then in the status line only).
		var env envelope
		if len(bytes.TrimSpace(raw)) > 0 {
			_ = json.Unmarshal(raw, &env)
		}
		return statusError(op, resp, env)
	}
	if out == nil {
		return nil
	}
	// One pass: decode "data" straight into out.
	wrapper := struct {
		Data  any  `json:"data"`
		Total *Num `json:"total,omitempty"`
	}{Data: out, Total: r.total}
	if err := json.Unmarshal(raw, &wrapper); err != nil {
		return &Error{Op: op, Kind: lxc.EInternal, Status: resp.StatusCode, Err: fmt.Errorf("decode answer: %w", err)}
	}
	return nil
}
