package lxc

import (
	"errors"
)

// Code classifies an error for every layer: the web layer turns it into a
// status and a curated message, the logs keep the cause.
type Code string

// Error codes shared by the project.
const (
	// EInvalid: the input was rejected before anything was called.
	EInvalid Code = "invalid"
	// ECredentials: PVE refused the user name, realm or password.
	ECredentials Code = "credentials"
	// EUnauthorized: PVE no longer accepts the session's ticket.
	EUnauthorized Code = "unauthorized"
	// EForbidden: PVE's permission check failed.
	EForbidden Code = "forbidden"
	// ENotFound: the thing asked for does not exist.
	ENotFound Code = "not_found"
	// EUnreachable: PVE could not be reached (refused, DNS, timeout).
	EUnreachable Code = "unreachable"
	// ENodeOffline: PVE could not reach the cluster node that owns the
	// resource (HTTP 595/596 from pveproxy).
	ENodeOffline Code = "node_offline"
	// ETLS: PVE's certificate is not trusted.
	ETLS Code = "tls"
	// EUnavailable: the session store cannot be reached.
	EUnavailable Code = "unavailable"
	// ERefused: PVE refused the request for a reason of its own (HTTP 500:
	// a precondition such as "already running", a lock, ...).
	ERefused Code = "refused"
	// EInternal: anything else; a bug or an unexpected answer.
	EInternal Code = "internal"
)

// Coder is implemented by errors that know their Code. Adapters (the PVE
// client, the session store) return errors implementing it so that callers
// classify by type, never by message text.
type Coder interface {
	ErrorCode() Code
}

// Error is a domain error with a code and an optional message that is safe
// to show to a person. Err keeps the cause for the logs.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns e.Code.
func (e *Error) ErrorCode() Code { return e.Code }

// Errorf is a shorthand for an *Error without cause.
func Errorf(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// ErrorCode returns the code of the first error in err's chain that has one,
// or EInternal. A nil error has no code ("").
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return EInternal
}

// ErrSecondFactor means the password was right but PVE asks for a second
// factor (NeedTFA) before it issues a ticket.
var ErrSecondFactor = errors.New("the account requires a second factor")
