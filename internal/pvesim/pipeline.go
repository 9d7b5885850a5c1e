package pvesim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// The request pipeline: pveproxy's request handling (AnyEvent.pm) and
// pve-manager's rest handler (HTTPServer.pm, RESTHandler.pm).

// call is one API request on its way through the pipeline.
type call struct {
	s      *Sim
	r      *http.Request
	method string
	relURI string
	user   string // authenticated userid; "" for calls exempt from auth
	token  bool   // authenticated with an API token
	params params
	vars   map[string]string
	route  *route
	node   *state.Node // the node handling the call (after proxying)
}

// caller is the call's user and node, for the operations.
func (c *call) caller() ops.Caller { return ops.Caller{User: c.user, Node: c.node} }

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodDelete: true,
}

var apiPathRe = regexp.MustCompile(`^/api2/+([a-z][a-z0-9]+)(/.*)?$`)

// ServeHTTP serves the whole API under /api2/json/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.requests.Add(1)
	rp, c := s.serve(r, start)
	if c != nil && c.params != nil && s.recording.Load() {
		s.record(c, rp.status)
	}
	if s.upgradeWebsocket(w, r, rp, c) {
		return
	}
	if rp.status >= 400 {
		// The connection is closed after the answer: read what is left of
		// the body first so that the close does not reset it under the
		// client before it has read the answer.
		drainBody(r)
	}
	if !rp.holdUntil.IsZero() {
		wait(r.Context(), time.Until(rp.holdUntil))
	}
	s.log.Debug("pvesim request", "method", r.Method, "uri", r.URL.RequestURI(),
		"status", rp.status, "user", rp.userid, "duration", time.Since(start))
	s.render(w, r, rp)
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// drainBody discards an unread request body (bounded).
func drainBody(r *http.Request) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4*maxPostSize))
	}
}

// serve is pveproxy's request handling up to a decided answer. The call
// is returned too (nil when the request never became an API call).
func (s *Sim) serve(r *http.Request, start time.Time) (*reply, *call) {
	if !knownMethods[r.Method] {
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("method '%s' not available", r.Method)), nil
	}
	if len(r.TransferEncoding) > 0 {
		drainBody(r)
		if strings.EqualFold(r.TransferEncoding[0], "chunked") {
			return bareReply(http.StatusNotImplemented, "chunked transfer encoding not supported"), nil
		}
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("Unknown transfer encoding '%s'", r.TransferEncoding[0])), nil
	}

	path := r.URL.Path
	c := &call{s: s, r: r, method: r.Method}
	format := ""
	isAPI := strings.HasPrefix(path, "/api2")
	if isAPI {
		m := apiPathRe.FindStringSubmatch(path)
		if m == nil {
			return bareReply(http.StatusNotImplemented, "no such uri"), c
		}
		format, c.relURI = m[1], m[2]
		if c.relURI == "" {
			c.relURI = "/"
		}
		if rt, _ := s.routes.find(r.Method, c.relURI); rt != nil {
			rt.calls.Add(1)
		}
		s.mu.Lock()
		rp := s.authenticate(c)
		s.mu.Unlock()
		if rp != nil {
			rp.holdUntil = time.Now().Add(s.authDelay)
			return rp, c
		}
	}

	// The body, as pveproxy reads it after authentication.
	var body []byte
	if r.ContentLength > 0 {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			return bareReply(http.StatusNotImplemented, fmt.Sprintf("Unexpected content for method '%s'", r.Method)), c
		}
		if r.ContentLength > maxPostSize {
			return bareReply(http.StatusNotImplemented, "for data too large"), c
		}
		ctype := r.Header.Get("Content-Type")
		if ct := contentType(ctype); ct != "" && ct != "application/x-www-form-urlencoded" && ct != "application/json" {
			return bareReply(506, fmt.Sprintf("upload 'Content-Type '%s' not implemented", ctype)), c
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxPostSize+1))
		if err != nil {
			return bareReply(http.StatusBadRequest, "bad request"), c
		}
		if len(b) > maxPostSize {
			return bareReply(http.StatusNotImplemented, "for data too large"), c
		}
		body = b
	}

	if !isAPI {
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("no such file '%s'", path)), c
	}
	if format != "json" {
		// Only the json formatter is simulated (PVE also has extjs,
		// htmljs, spiceconfig and png).
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("no formatter for uri %s, %s", c.relURI, format)), c
	}

	p, perr := extractParams(r, body)
	if perr != nil {
		return bareReply(perr.status, perr.msg), c
	}
	c.params = p

	s.mu.Lock()
	rp := s.restHandler(c)
	s.mu.Unlock()
	rp.userid = c.user
	if rp.status == http.StatusUnauthorized {
		// "always delay unauthorized calls by 3 seconds" - counted from
		// the start of the request.
		rp.holdUntil = start.Add(s.authDelay)
	}
	return rp, c
}

// restHandler is PVE::HTTPServer::rest_handler plus RESTHandler::handle:
// method lookup (501), path/body parameter conflicts (400), API-token
// allowance (403), permission check (403), parameter verification (400),
// the handler itself. Called with s.mu held.
func (s *Sim) restHandler(c *call) *reply {
	rt, vars := s.routes.find(c.method, c.relURI)
	c.route = rt
	if rt == nil {
		return errorReply(&apiError{status: http.StatusNotImplemented,
			msg: fmt.Sprintf("Method '%s %s' not implemented", c.method, c.relURI)})
	}
	merged := params{}
	for k, v := range vars {
		merged[k] = v
	}
	for _, k := range perl.SortedKeys(c.params) {
		v := c.params[k]
		if uv, ok := vars[k]; ok {
			if sv, isStr := v.(string); !isStr || sv != uv {
				return errorReply(paramError(map[string]string{
					k: "duplicate parameter (already defined in URI) with conflicting values!",
				}))
			}
		}
		merged[k] = v
	}
	c.params = merged
	c.vars = vars

	if c.token && !rt.allowToken {
		return errorReply(permError(fmt.Sprintf("URI '%s' not available with API token, need proper ticket.\n", c.relURI)))
	}
	if err := rt.checkPerm(c); err != nil {
		return errorReply(toAPIError(err))
	}
	c.node = s.localNode()
	if rt.proxyTo != "" {
		if rp := s.proxy(c, rt.proxyTo); rp != nil {
			return rp
		}
	}
	if err := rt.params.validate(c.params, s.formats); err != nil {
		return errorReply(err)
	}
	s.tasks.Advance(s.now())
	data, err := rt.fn(c)
	if err != nil {
		return errorReply(toAPIError(err))
	}
	switch d := data.(type) {
	case withTotal:
		rp := okReply(d.data)
		total := d.total
		rp.total = &total
		return rp
	case *download:
		rp := okReply(nil)
		rp.download = d
		return rp
	}
	return okReply(data)
}

// sortedKeys returns the keys of m in sorted order.
func sortedKeys[V any](m map[string]V) []string { return perl.SortedKeys(m) }

// toAPIError classifies an operation's error the way PVE's rest handler
// renders exceptions: parameter errors 400, permission errors 403,
// anything else (a plain die) 500 with its text.
func toAPIError(err error) *apiError {
	var ae *apiError
	var pe *state.ParamError
	var perm *access.PermError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe):
		return paramError(pe.Errors)
	case errors.As(err, &perm):
		return &apiError{status: http.StatusForbidden, msg: perm.Error()}
	}
	return internalError("%s", err.Error())
}

// clientIP is the peer address for log lines.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
