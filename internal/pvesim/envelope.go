package pvesim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file renders answers the way pveproxy does (pve-http-server
// AnyEvent.pm "response" plus Formatter/Standard.pm for format json).
//
// Reason phrases: PVE puts the first line of the error message into the
// status line ("HTTP/1.1 401 No ticket"). Go's net/http always writes the
// standard phrase for a code, so every answer with status >= 400 is written
// by hand on the hijacked connection, which is then closed — PVE closes the
// connection after any status >= 400 anyway, so nothing is lost. When the
// ResponseWriter cannot be hijacked (httptest.ResponseRecorder, HTTP/2) the
// answer falls back to the standard reason phrase with the same headers and
// body; the message is then only visible in the JSON body (if any).
// Success answers (200) use the normal ResponseWriter and keep the
// connection alive, like pveproxy.

// maxPostSize is pveproxy's $limit_max_post.
const maxPostSize = 512 * 1024

// compressThreshold: pveproxy compresses bodies longer than this when the
// client accepts gzip or deflate.
const compressThreshold = 1024

// apiError is an error with an HTTP status, PVE style. msg is the full
// message (usually with a trailing "\n"); the reason phrase is its first line.
type apiError struct {
	status int
	msg    string
	errors map[string]string // per-parameter messages (400 only)
}

func (e *apiError) Error() string { return e.msg }

// errorf builds an apiError with a formatted message.
func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// internalError is a plain Perl die inside a handler: HTTP 500 with the text.
func internalError(format string, args ...any) *apiError {
	return errorf(http.StatusInternalServerError, format, args...)
}

// paramError is PVE::Exception::raise_param_exc.
func paramError(errs map[string]string) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: "Parameter verification failed.\n", errors: errs}
}

// permError is PVE::Exception::raise_perm_exc: "Permission check failed (<what>)".
func permError(what string) *apiError {
	msg := "Permission check failed"
	if what != "" {
		msg += " (" + what + ")"
	}
	return &apiError{status: http.StatusForbidden, msg: msg + "\n"}
}

// reply is a fully decided answer, before it is rendered.
type reply struct {
	status int
	// message is the PVE message; its first line is the reason phrase.
	// Empty means the standard phrase for status.
	message string
	// bare: no body at all (errors raised before a handler runs, transport
	// errors, proxy errors). Otherwise a JSON envelope is rendered.
	bare   bool
	data   any
	errors map[string]string
	total  *int // top-level "total" (task lists, logs); nil for none
	// holdUntil: the answer is not written before this (real) time.
	holdUntil time.Time
	// userid for the log line, "" if unauthenticated.
	userid string
	// download: a file streamed instead of the JSON envelope.
	download *download
}

// download is a handler answer that is a file, not data (PVE's
// download_allowed methods).
type download struct {
	body        []byte
	contentType string
	disposition string
}

// bareReply is an answer with an empty body and the message in the status line.
func bareReply(status int, message string) *reply {
	return &reply{status: status, message: message, bare: true}
}

// okReply is a success answer carrying data.
func okReply(data any) *reply {
	return &reply{status: http.StatusOK, data: data}
}

// errorReply renders an apiError as a JSON error envelope.
func errorReply(err *apiError) *reply {
	return &reply{status: err.status, message: err.msg, errors: err.errors}
}

// envelope is the JSON body of format "json".
type envelope struct {
	Data    any               `json:"data"`
	Message *string           `json:"message,omitempty"`
	Errors  map[string]string `json:"errors,omitempty"`
	Total   *int              `json:"total,omitempty"`
}

// encodeJSON encodes v like Perl's to_json: UTF-8, no HTML escaping, no
// trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// reasonPhrase turns a PVE message into a status-line phrase the way
// AnyEvent.pm does: first line only; a stray CR turns the answer into a
// plain 400.
func reasonPhrase(status int, message string) (int, string, bool) {
	msg := message
	if msg == "" {
		msg = statusText(status)
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if strings.ContainsAny(msg, "\r\n") {
		return http.StatusBadRequest, statusText(http.StatusBadRequest), true
	}
	return status, msg, false
}

// statusText is HTTP::Status::status_message, with Go's table as source.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Unknown code"
}

// httpDate formats t like HTTP::Date::time2str.
func httpDate(t time.Time) string {
	return t.UTC().Format(http.TimeFormat)
}

// render writes rp to w.
func (s *Sim) render(w http.ResponseWriter, r *http.Request, rp *reply) {
	status, phrase, broken := reasonPhrase(rp.status, rp.message)

	var body []byte
	contentType := ""
	if rp.download != nil && !broken {
		body = rp.download.body
		contentType = rp.download.contentType
	} else if !rp.bare && !broken {
		env := envelope{Data: rp.data}
		if status >= 400 {
			msg := rp.message
			if msg == "" {
				msg = statusText(status)
			}
			env.Message = &msg
			if len(rp.errors) > 0 {
				env.Errors = rp.errors
			}
			env.Data = nil
		} else {
			env.Total = rp.total
		}
		b, err := encodeJSON(env)
		if err != nil {
			s.log.Error("pvesim: cannot encode answer", "err", err)
			status, phrase = http.StatusInternalServerError, "unable to encode result"
			b = nil
		} else {
			contentType = "application/json;charset=UTF-8"
		}
		body = b
	}

	hdr := http.Header{}
	now := httpDate(s.now())
	hdr.Set("Date", now)
	hdr.Set("Expires", now)
	hdr.Set("Cache-Control", "max-age=0")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Server", "pve-api-daemon/3.0")
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	}
	if rp.download != nil && rp.download.disposition != "" {
		hdr.Set("Content-Disposition", rp.download.disposition)
	}
	if len(body) > compressThreshold {
		if enc := acceptedEncoding(r); enc != "" {
			if cb, err := compressBody(enc, body); err == nil {
				body = cb
				hdr.Set("Content-Encoding", enc)
			}
		}
	}
	if len(body) > 0 {
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
	}

	if status < 400 {
		hdr.Set("Connection", "Keep-Alive")
		dst := w.Header()
		for k, v := range hdr {
			dst[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}

	hdr.Set("Connection", "close")
	if hj, ok := w.(http.Hijacker); ok {
		conn, bufrw, err := hj.Hijack()
		if err == nil {
			defer conn.Close()
			proto := "HTTP/1.1"
			if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
				proto = "HTTP/1.0"
			}
			writeRaw(bufrw.Writer, proto, status, phrase, hdr, body)
			_ = bufrw.Flush()
			return
		}
	}
	// Fallback: standard reason phrase, everything else identical.
	dst := w.Header()
	for k, v := range hdr {
		dst[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeRaw writes a complete HTTP/1.x answer.
func writeRaw(bw *bufio.Writer, proto string, status int, phrase string, hdr http.Header, body []byte) {
	fmt.Fprintf(bw, "%s %d %s\r\n", proto, status, phrase)
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range hdr[k] {
			fmt.Fprintf(bw, "%s: %s\r\n", k, v)
		}
	}
	bw.WriteString("\r\n")
	bw.Write(body)
}

// acceptedEncoding returns "gzip" or "deflate" if the client accepts it
// (pveproxy prefers gzip), else "".
func acceptedEncoding(r *http.Request) string {
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case strings.Contains(ae, "gzip"):
		return "gzip"
	case strings.Contains(ae, "deflate"):
		return "deflate"
	}
	return ""
}

// compressBody compresses body for enc at the fastest level: what a
// client sees is the same valid stream, and the simulator, which shares
// the machine with the dashboard in load tests, spends a fraction of the
// default level's time (a 10,000-container answer took it about 100 ms).
func compressBody(enc string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch enc {
	case "gzip":
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	default:
		zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
