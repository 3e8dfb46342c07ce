// Package ratelimit limits request rates with GCRA (the generic cell rate
// algorithm) and throttles repeated failures with growing delays. Each has
// an in-process implementation, the default, and a Redis one that shares
// the state between server nodes; both pass the same tests.
package ratelimit

import (
	"context"
	"errors"
	"time"
)

// ErrBadLimit is returned for a Limit with a non-positive field.
var ErrBadLimit = errors.New("ratelimit: rate, burst and period must be positive")

// Limit allows Rate events per Period on average, and up to Burst at once.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

func (l Limit) valid() bool { return l.Rate > 0 && l.Burst > 0 && l.Period > 0 }

// interval is the emission interval: the time one event "costs".
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// Result of one Allow call.
type Result struct {
	Allowed    bool
	Remaining  int           // events still allowed right now
	RetryAfter time.Duration // when !Allowed: wait this long before the next try
}

// Limiter decides whether one more event for key fits in the limit.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// Penalty is how long to wait after failures: the first Free failures in
// a row cost nothing, then each further one doubles the wait from Base up
// to Max. Failures are forgotten Forget after the last one.
type Penalty struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

func (p Penalty) wait(fails int) time.Duration {
	if fails <= p.Free {
		return 0
	}
	w := p.Base
	for i := p.Free + 1; i < fails && w < p.Max; i++ {
		w *= 2
	}
	return min(w, p.Max)
}

// Backoff throttles failures per key (such as failed logins per account)
// with growing delays.
type Backoff interface {
	// Wait reports how long key must still wait before its next attempt.
	Wait(ctx context.Context, key string, p Penalty) (time.Duration, error)
	// Fail records a failure and returns the wait it imposes.
	Fail(ctx context.Context, key string, p Penalty) (time.Duration, error)
	// Reset forgets key's failures (after a success).
	Reset(ctx context.Context, key string) error
}
