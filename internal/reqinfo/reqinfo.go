// Package reqinfo carries per-request facts that several layers share:
// the request id (set by the server's middleware), the user id (set by
// session middleware once it knows who is calling) and the error a handler
// answered with (set by api/respond, read by the request log and the error
// reporter).
//
// The Info lives in the request context as a pointer, so a value set deep
// in a handler is visible to the middleware that created it. It is safe for
// concurrent use.
//
// Attaching the user, from any middleware or handler below the server's
// stack:
//
//	reqinfo.SetUser(r.Context(), user.ID)
package reqinfo

import (
	"context"
	"sync"
)

type ctxKey struct{}

// Info is the mutable per-request record. Use the package functions on a
// context rather than the fields.
type Info struct {
	mu      sync.Mutex
	id      string
	userID  string
	err     error
	problem string // the machine code of the problem response, if any
}

// New returns a context carrying a fresh Info with the given request id,
// and the Info.
func New(ctx context.Context, requestID string) (context.Context, *Info) {
	info := &Info{id: requestID}
	return context.WithValue(ctx, ctxKey{}, info), info
}

// From returns the Info in ctx, or nil.
func From(ctx context.Context) *Info {
	info, _ := ctx.Value(ctxKey{}).(*Info)
	return info
}

// ID returns the request id in ctx, or "".
func ID(ctx context.Context) string {
	if info := From(ctx); info != nil {
		return info.ID()
	}
	return ""
}

// SetUser records the authenticated user's id for logs and error reports.
// It does nothing when ctx carries no Info (e.g. outside an HTTP request).
func SetUser(ctx context.Context, userID string) {
	if info := From(ctx); info != nil {
		info.mu.Lock()
		info.userID = userID
		info.mu.Unlock()
	}
}

// User returns the user id recorded with SetUser, or "".
func User(ctx context.Context) string {
	if info := From(ctx); info != nil {
		return info.User()
	}
	return ""
}

// SetError records the error a handler answered with and the problem code
// sent to the client. api/respond calls it; the request log prints the
// error and the reporter sends 5xx errors to Sentry.
func SetError(ctx context.Context, err error, code string) {
	if info := From(ctx); info != nil {
		info.mu.Lock()
		info.err = err
		info.problem = code
		info.mu.Unlock()
	}
}

// ID returns the request id.
func (i *Info) ID() string { return i.id } // immutable after New

// User returns the user id, or "".
func (i *Info) User() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.userID
}

// Err returns the error recorded with SetError, or nil.
func (i *Info) Err() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.err
}

// ProblemCode returns the problem code recorded with SetError, or "".
func (i *Info) ProblemCode() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.problem
}
