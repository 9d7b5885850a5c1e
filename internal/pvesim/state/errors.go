package state

import (
	"errors"
	"fmt"
)

// The errors of operations on the cluster, classified the way PVE's API
// classifies them (PVE::Exception). The HTTP layer turns each class into
// its status; nothing here knows about HTTP.

// Die is a plain Perl die inside a handler or a task: PVE answers it with
// status 500 and the text, or ends the task with it. Msg carries PVE's
// trailing newline when PVE's text has one.
type Die struct {
	Msg string
}

func (e *Die) Error() string { return e.Msg }

// Dief builds a Die with a formatted message.
func Dief(format string, args ...any) *Die {
	return &Die{Msg: fmt.Sprintf(format, args...)}
}

// ParamError is raise_param_exc: one message per parameter (status 400,
// "Parameter verification failed.").
type ParamError struct {
	Errors map[string]string
}

func (e *ParamError) Error() string { return "Parameter verification failed.\n" }

// ParamErr builds a ParamError for one parameter.
func ParamErr(param, msg string) *ParamError {
	return &ParamError{Errors: map[string]string{param: msg}}
}

// ErrNotFound is returned by the test controls for a guest, node or user
// the cluster does not have.
var ErrNotFound = errors.New("not found")

// ErrInvalid is returned by the test controls for a value PVE's schema
// would refuse.
var ErrInvalid = errors.New("invalid value")
