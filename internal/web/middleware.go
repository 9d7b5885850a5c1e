package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

type ctxKey struct{}

// reqInfo is what the middleware learns about a request, kept in one
// context value that each layer fills in (one allocation, not one per
// layer).
type reqInfo struct {
	id      string // request id
	client  string // client address
	nonce   string // CSP nonce
	route   string // the mux pattern that served it
	session session.Session
	signed  bool // session is set
	// taken is the status of a response written on a connection taken
	// over from net/http (an event stream), for the access line.
	taken int
	// hdr backs the one-value header slices of X-Request-Id and the CSP,
	// so that they need no allocation of their own.
	hdr [2]string
}

func info(ctx context.Context) *reqInfo {
	v, _ := ctx.Value(ctxKey{}).(*reqInfo)
	if v == nil {
		return &reqInfo{}
	}
	return v
}

func requestID(ctx context.Context) string { return info(ctx).id }

// detached is a context for work that outlives its request (a console):
// it carries the request's id and client address, and nothing else of it
// (the request's own context holds its response writer and, through it,
// the request and its buffers).
func detached(ctx context.Context) context.Context {
	ri := info(ctx)
	return context.WithValue(context.Background(), ctxKey{}, &reqInfo{id: ri.id, client: ri.client})
}

func cspNonce(ctx context.Context) string { return info(ctx).nonce }

// currentSession returns the session requireSession found.
func currentSession(ctx context.Context) (session.Session, bool) {
	ri := info(ctx)
	return ri.session, ri.signed
}

func randomString(n int, enc func([]byte) string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return enc(b)
}

// statusWriter records the status for the access log, and carries the
// request's reqInfo so that both come in one allocation.
type statusWriter struct {
	http.ResponseWriter
	status int
	info   reqInfo
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID returns 16 hex digits. A request id names a request in logs
// and on error pages; it is no secret, so it comes from the runtime's fast
// generator, not crypto/rand.
func newRequestID() string {
	var raw [8]byte
	binary.LittleEndian.PutUint64(raw[:], mrand.Uint64())
	var out [16]byte
	hex.Encode(out[:], raw[:])
	return string(out[:])
}

// requestLog gives every request an id (returned in X-Request-Id and shown on
// error pages) and writes one access line. Query strings are not logged.
func (s *Server) requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		ri := &sw.info
		ri.id = newRequestID()
		ri.client = realClientIP(r, s.cfg.TrustedProxies)
		ri.hdr[0] = ri.id
		w.Header()["X-Request-Id"] = ri.hdr[0:1:1]
		ctx := context.WithValue(r.Context(), ctxKey{}, ri)
		next.ServeHTTP(sw, r.WithContext(ctx))
		took := time.Since(start)
		if sw.status == 0 {
			sw.status = ri.taken
		}
		s.cfg.Metrics.ObserveRequest(ri.route, sw.status, took, ri.route == "GET /events")
		if s.log.Enabled(ctx, slog.LevelInfo) {
			s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("request_id", ri.id), slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.String("route", ri.route), slog.Int("status", sw.status),
				slog.Int64("duration_ms", took.Milliseconds()), slog.String("client", ri.client))
		}
	})
}

// routed serves the mux and notes the pattern that matched (the mux sets
// r.Pattern on the request it serves) for the access line and metrics,
// without routing twice.
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		info(r.Context()).route = r.Pattern
	})
}

// recoverPanics turns a panic into a 500 page instead of a dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.serveError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// The Content-Security-Policy around the nonce, and the values of the
// other hardening headers, shared by every response (never modified:
// Header.Set replaces a slice, Header.Add appends beyond its capacity).
const (
	cspBefore = "default-src 'none'; script-src 'self' 'nonce-"
	cspMiddle = "'; style-src 'self' 'nonce-"
	cspAfter  = "'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

var (
	hdrNosniff        = []string{"nosniff"}
	hdrSameOrigin     = []string{"same-origin"}
	hdrDeny           = []string{"DENY"}
	hdrStrictTranport = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets a strict, nonce-based Content-Security-Policy and the
// other browser hardening headers on every response.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		csp, nonce := newCSP()
		ri.hdr[1], ri.nonce = csp, nonce
		h := w.Header()
		h["Content-Security-Policy"] = ri.hdr[1:2:2]
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrSameOrigin
		h["X-Frame-Options"] = hdrDeny
		if s.cfg.CookieSecure {
			h["Strict-Transport-Security"] = hdrStrictTranport
		}
		next.ServeHTTP(w, r)
	})
}

// nonceLen is the length of a CSP nonce: 16 random bytes in unpadded
// base64 (base64.RawStdEncoding.EncodedLen(16)).
const nonceLen = 22

// newCSP returns the Content-Security-Policy with a new nonce, and the
// nonce, in one allocation (the nonce is part of the policy's string).
func newCSP() (csp, nonce string) {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails on supported platforms.
	var enc [nonceLen]byte
	base64.RawStdEncoding.Encode(enc[:], raw[:])
	var b strings.Builder
	b.Grow(len(cspBefore) + len(cspMiddle) + len(cspAfter) + 2*nonceLen)
	b.WriteString(cspBefore)
	b.Write(enc[:])
	b.WriteString(cspMiddle)
	b.Write(enc[:])
	b.WriteString(cspAfter)
	csp = b.String()
	return csp, csp[len(cspBefore) : len(cspBefore)+nonceLen]
}

// loadSession returns the session the request's cookie names. It returns an
// error matching session.ErrNotFound when there is no usable session
// (no cookie, a cookie that does not open, an unknown or expired id) and one
// matching session.ErrUnavailable when the store is down.
func (s *Server) loadSession(r *http.Request) (session.Session, error) {
	value, ok := sessionCookieValue(r, s.cookieName(sessionCookie))
	if !ok {
		return session.Session{}, fmt.Errorf("no cookie: %w", session.ErrNotFound)
	}
	id, err := s.cfg.Codec.Decode(value)
	if err != nil {
		return session.Session{}, fmt.Errorf("%w: %w", session.ErrNotFound, err)
	}
	sess, err := s.cfg.Store.Load(r.Context(), id)
	if err != nil {
		return session.Session{}, err
	}
	if !s.cfg.Now().Before(sess.ExpiresAt) {
		_ = s.cfg.Store.Delete(r.Context(), id)
		return session.Session{}, fmt.Errorf("session expired at %s: %w: %w", sess.ExpiresAt.Format(time.RFC3339), session.ErrNotFound, errSessionEnded)
	}
	return sess, nil
}

// sessionCookieValue finds the cookie called name (the session cookie's
// name, from cookieName) without parsing every cookie of the request
// (r.Cookie builds them all), on the hot path of every page.
func sessionCookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && n == name {
				return strings.Trim(value, `"`), value != ""
			}
		}
	}
	return "", false
}

// requireSession lets a request through only with a valid session. Without
// one, a browser is sent to /login (with the page it asked for) and scripts
// get 401; the stale cookie is cleared so nobody is stuck in a loop.
func (s *Server) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.loadSession(r)
		if err == nil {
			sess, err = s.keepAlive(r.Context(), sess)
		}
		switch {
		case err == nil:
			ri := info(r.Context())
			ri.session, ri.signed = sess, true
			next.ServeHTTP(w, r)
		case errors.Is(err, errSessionEnded):
			s.log.Info("session ended", "request_id", requestID(r.Context()), "reason", err)
			s.toLogin(w, r, "expired")
		case errors.Is(err, session.ErrNotFound):
			if _, sent := sessionCookieValue(r, s.cookieName(sessionCookie)); sent {
				s.log.Info("session rejected", "request_id", requestID(r.Context()), "reason", err)
			}
			s.toLogin(w, r, "")
		default:
			s.serveError(w, r, err)
		}
	})
}

// toLogin clears the session cookie and sends a browser to the login page,
// remembering where it wanted to go; scripts get 401.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, reason string) {
	s.clearCookie(w)
	if !wantsHTML(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		msg := "Sign in required"
		if reason != "" {
			msg = msgSessionExpired
		}
		http.Error(w, msg, http.StatusUnauthorized)
		return
	}
	q := url.Values{}
	if next := r.URL.RequestURI(); next != "/" && safeNext(next) != "/" {
		q.Set("next", next)
	}
	if reason != "" {
		q.Set("reason", reason)
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext returns next when it is a path on this site, else "/". It refuses
// other hosts ("//host", "/\host"), schemes and anything odd.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}

func containsToken(header, token string) bool {
	for part := range strings.SplitSeq(header, ",") {
		if strings.HasPrefix(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// clientAddr is the client's address for logs and the Sessions page.
func clientAddr(r *http.Request) string {
	if c := info(r.Context()).client; c != "" {
		return c
	}
	return peerIP(r.RemoteAddr)
}

// clientIP is the client's address: the key for per-address limits.
func clientIP(r *http.Request) string { return clientAddr(r) }

func peerIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// realClientIP is the client's address: the peer's, or, when the peer is a
// trusted proxy, the rightmost address in X-Forwarded-For that is not a
// trusted proxy (addresses further left can be forged by the client).
func realClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := peerIP(r.RemoteAddr)
	if len(trusted) == 0 || !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			return peer
		}
		if !isTrusted(a.Unmap().String(), trusted) {
			return a.Unmap().String()
		}
	}
	return peer
}

func isTrusted(ip string, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
