package proxmox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Error is every error the client returns. Kind classifies it for callers
// (see lxc.ErrorCode); Status, Reason, Message and Params keep what PVE said,
// for logs and for callers that interpret a refusal. None of it is meant to
// be shown to a person as is.
type Error struct {
	Op      string // "GET /version"
	Kind    lxc.Code
	Status  int               // HTTP status, 0 when no answer came
	Reason  string            // the status line's reason phrase, e.g. "No ticket"
	Message string            // PVE's message, trailing newline removed
	Params  map[string]string // per-parameter errors of a 400
	Err     error             // transport or decoding cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("proxmox: ")
	b.WriteString(e.Op)
	if e.Status != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.Status))
		if e.Reason != "" {
			b.WriteString(" " + e.Reason)
		}
	}
	if e.Message != "" && e.Message != e.Reason {
		b.WriteString(": " + e.Message)
	}
	for k, v := range e.Params {
		fmt.Fprintf(&b, " [%s: %s]", k, v)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns e.Kind, so lxc.ErrorCode classifies client errors.
func (e *Error) ErrorCode() lxc.Code { return e.Kind }

// IsNodeOffline reports whether PVE's proxy could not reach the node that
// owns the resource (AnyEvent::HTTP's pseudo-statuses 595 and 596).
func (e *Error) IsNodeOffline() bool { return e.Status >= 595 && e.Status <= 599 }

// statusError classifies a non-200 answer.
func statusError(op string, resp *http.Response, env envelope) *Error {
	e := &Error{
		Op:      op,
		Status:  resp.StatusCode,
		Reason:  strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))),
		Message: strings.TrimRight(env.Message, "\n"),
		Params:  env.Errors,
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind = lxc.EUnauthorized
	case resp.StatusCode == http.StatusForbidden:
		e.Kind = lxc.EForbidden
	case resp.StatusCode == http.StatusBadRequest:
		e.Kind = lxc.EInvalid
	case e.IsNodeOffline():
		e.Kind = lxc.ENodeOffline
	case resp.StatusCode == http.StatusInternalServerError && env.Message != "":
		e.Kind = lxc.ERefused
	default:
		e.Kind = lxc.EInternal
	}
	return e
}

// transportError classifies a failure to get an answer at all.
func transportError(op string, err error) *Error {
	e := &Error{Op: op, Err: err, Kind: lxc.EUnreachable}
	var (
		pin       *FingerprintMismatchError
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &pin), errors.As(err, &verify), errors.As(err, &unknownCA),
		errors.As(err, &hostname), errors.As(err, &invalid):
		e.Kind = lxc.ETLS
	case errors.Is(err, context.Canceled):
		e.Kind = lxc.EInternal
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		e.Kind = lxc.EUnreachable
	}
	return e
}
