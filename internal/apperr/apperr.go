// Package apperr gives errors a Kind that the edge of the program (HTTP,
// CLI) turns into a status, and a client-safe message kept apart from the
// internal cause.
//
// Inside the code, wrap with E:
//
//	if errors.Is(err, sql.ErrNoRows) {
//		return apperr.E("track.Get", apperr.NotFound, err)
//	}
//
// At the edge, ask KindOf(err) and Message(err). The cause (err.Error())
// goes to the log only; the message is what a client may see.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for the edge. The zero value is Internal.
type Kind uint8

// The kinds. Their HTTP mapping lives in api/respond and nowhere else.
const (
	Internal           Kind = iota // an unexpected failure; details never reach the client
	Invalid                        // the request is malformed or fails validation
	NotFound                       // the thing asked for does not exist (or is hidden)
	Conflict                       // the request clashes with the current state (duplicate, stale version)
	Unauthenticated                // no or bad credentials
	Forbidden                      // credentials are fine but not allowed to do this
	TooManyRequests                // a rate limit was hit
	TooLarge                       // the request body or a field is over its size limit
	Unavailable                    // a dependency is down or the server is shutting down; retry later
	PreconditionFailed             // an If-Match style precondition does not hold
	Unsupported                    // the media type or operation is not supported
	Canceled                       // the client went away or the request was canceled
)

var kindNames = [...]string{
	Internal:           "internal",
	Invalid:            "invalid",
	NotFound:           "not_found",
	Conflict:           "conflict",
	Unauthenticated:    "unauthenticated",
	Forbidden:          "forbidden",
	TooManyRequests:    "too_many_requests",
	TooLarge:           "too_large",
	Unavailable:        "unavailable",
	PreconditionFailed: "precondition_failed",
	Unsupported:        "unsupported",
	Canceled:           "canceled",
}

// String returns the kind's stable snake_case name; it is also the default
// machine code of a problem response.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// defaultMessages are shown to clients when an error carries no message.
var defaultMessages = [...]string{
	Internal:           "An internal error occurred.",
	Invalid:            "The request is invalid.",
	NotFound:           "Not found.",
	Conflict:           "The request conflicts with the current state.",
	Unauthenticated:    "Authentication is required.",
	Forbidden:          "You are not allowed to do this.",
	TooManyRequests:    "Too many requests; slow down.",
	TooLarge:           "The request is too large.",
	Unavailable:        "The service is temporarily unavailable.",
	PreconditionFailed: "A precondition failed.",
	Unsupported:        "Unsupported request.",
	Canceled:           "The request was canceled.",
}

// Error is an error with a kind, the operation that failed, an optional
// client-safe message and machine code, and the wrapped cause.
type Error struct {
	Op   string // the operation, e.g. "store.Open" or "session.Login"; for logs
	Kind Kind
	// Code is a stable machine-readable code such as "email_taken". Empty
	// means the kind's name.
	Code string
	// Msg is safe to show a client. Empty means a generic message for Kind.
	Msg string
	// Fields holds per-field validation messages (field → message), safe to
	// show a client. Optional.
	Fields map[string]string
	Err    error // the cause; for logs only
}

// E builds an *Error. err may be nil, in which case the error stands alone.
func E(op string, kind Kind, err error) *Error {
	return &Error{Op: op, Kind: kind, Err: err}
}

// Msgf builds an *Error whose client-safe message is formatted from format
// and args. It has no separate cause: the message is also the cause.
func Msgf(op string, kind Kind, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// WithMsg sets the client-safe message and returns e.
func (e *Error) WithMsg(msg string) *Error { e.Msg = msg; return e }

// WithCode sets the stable machine code and returns e.
func (e *Error) WithCode(code string) *Error { e.Code = code; return e }

// WithField adds a per-field validation message and returns e.
func (e *Error) WithField(field, msg string) *Error {
	if e.Fields == nil {
		e.Fields = make(map[string]string)
	}
	e.Fields[field] = msg
	return e
}

// Error returns the full internal description: op, kind, message and
// cause. It may contain internal details; never send it to a client.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the outermost *Error in err's chain. An error
// without one is Internal, except context cancellation (Canceled) and
// deadline expiry (Unavailable). KindOf(nil) is Internal; callers check nil
// first.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Unavailable
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Message returns the client-safe message for err: the message of the
// outermost *Error that has one and whose kind matches KindOf(err), else
// the kind's generic message. Internal errors always get the generic
// message, so a cause's text never leaks.
func Message(err error) string {
	k := KindOf(err)
	if k != Internal {
		for e := range chain(err) {
			if e.Kind == k && e.Msg != "" {
				return e.Msg
			}
		}
	}
	if int(k) < len(defaultMessages) {
		return defaultMessages[k]
	}
	return defaultMessages[Internal]
}

// Code returns the stable machine code for err: the Code of the first
// *Error in the chain that sets one (when not Internal), else the kind name.
func Code(err error) string {
	k := KindOf(err)
	if k != Internal {
		for e := range chain(err) {
			if e.Code != "" {
				return e.Code
			}
		}
	}
	return k.String()
}

// Fields returns the per-field validation messages of the outermost *Error
// that has them, or nil.
func Fields(err error) map[string]string {
	if KindOf(err) == Internal {
		return nil
	}
	for e := range chain(err) {
		if len(e.Fields) > 0 {
			return e.Fields
		}
	}
	return nil
}

// chain yields each *Error in err's chain, outermost first. It follows
// single-error Unwrap only, the way the edge reads errors.
func chain(err error) func(func(*Error) bool) {
	return func(yield func(*Error) bool) {
		for err != nil {
			if e, ok := err.(*Error); ok { //nolint:errorlint // walking the chain by hand on purpose
				if !yield(e) {
					return
				}
			}
			err = errors.Unwrap(err)
		}
	}
}
