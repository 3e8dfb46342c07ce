// Package errreport sends server errors (panics and 5xx responses) to an
// error tracker. Reporter is the narrow interface the HTTP layer uses;
// Sentry implements it with getsentry/sentry-go. Events carry the request
// id and user id but never passwords, tokens, cookies, Authorization
// headers or request bodies: Sentry builds the request part of each event
// from an allowlist of headers and scrubs again just before sending.
package errreport

import (
	"context"
	"net/http"
)

// Event is one error to report.
type Event struct {
	Err       error         // the error; for a panic, one describing the panic value
	Panic     any           // the recovered panic value, or nil
	Status    int           // the HTTP status answered, if any
	RequestID string        // reqinfo id
	UserID    string        // reqinfo user, "" when anonymous
	Route     string        // the mux pattern, e.g. "GET /api/tracks/{id}"
	Request   *http.Request // may be nil; only allowlisted parts are sent
}

// Reporter sends events to an error tracker. Implementations must be safe
// for concurrent use and must not block the caller on the network.
type Reporter interface {
	Report(ctx context.Context, ev Event)
	// Flush waits until buffered events are sent or ctx is done, and
	// reports whether everything was sent.
	Flush(ctx context.Context) bool
}

// Nop is a Reporter that drops everything; used when no DSN is configured.
type Nop struct{}

var _ Reporter = Nop{}

// Report drops ev.
func (Nop) Report(context.Context, Event) {}

// Flush returns true at once.
func (Nop) Flush(context.Context) bool { return true }
