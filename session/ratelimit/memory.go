package ratelimit

import (
	"context"
	"sync"
	"time"
)

// maxMemoryKeys bounds the in-process state; past it, expired entries are
// swept, and if none are, the oldest-expiring half is dropped (which only
// ever errs towards allowing).
const maxMemoryKeys = 100_000

// Memory is the in-process Limiter and Backoff.
type Memory struct {
	now func() time.Time

	mu    sync.Mutex
	tat   map[string]time.Time // GCRA theoretical arrival time
	fails map[string]failState
}

type failState struct {
	n     int
	until time.Time // no attempts before
	last  time.Time
	keep  time.Time // forget after
}

var (
	_ Limiter = (*Memory)(nil)
	_ Backoff = (*Memory)(nil)
)

// NewMemory returns an empty in-process limiter. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tat: make(map[string]time.Time), fails: make(map[string]failState)}
}

// Allow implements Limiter with GCRA.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if !l.valid() {
		return Result{}, ErrBadLimit
	}
	now := m.now()
	iv := l.interval()
	tolerance := iv * time.Duration(l.Burst)
	m.mu.Lock()
	defer m.mu.Unlock()
	tat, ok := m.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(iv)
	allowAt := newTAT.Add(-tolerance)
	if now.Before(allowAt) {
		return Result{RetryAfter: allowAt.Sub(now)}, nil
	}
	if len(m.tat) >= maxMemoryKeys {
		m.sweepLocked(now)
	}
	m.tat[key] = newTAT
	remaining := int((tolerance - newTAT.Sub(now)) / iv)
	return Result{Allowed: true, Remaining: max(remaining, 0)}, nil
}

func (m *Memory) sweepLocked(now time.Time) {
	for k, t := range m.tat {
		if !t.After(now) {
			delete(m.tat, k)
		}
	}
	if len(m.tat) >= maxMemoryKeys {
		i := 0
		for k := range m.tat { // random half
			if i%2 == 0 {
				delete(m.tat, k)
			}
			i++
		}
	}
	for k, f := range m.fails {
		if now.After(f.keep) {
			delete(m.fails, k)
		}
	}
}

// Wait implements Backoff.
func (m *Memory) Wait(_ context.Context, key string, _ Penalty) (time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.fails[key]
	if !ok || now.After(f.keep) {
		return 0, nil
	}
	return max(f.until.Sub(now), 0), nil
}

// Fail implements Backoff.
func (m *Memory) Fail(_ context.Context, key string, p Penalty) (time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fails[key]
	if now.After(f.keep) {
		f = failState{}
	}
	if len(m.fails) >= maxMemoryKeys {
		m.sweepLocked(now)
	}
	f.n++
	w := p.wait(f.n)
	f.until, f.last, f.keep = now.Add(w), now, now.Add(p.Forget)
	m.fails[key] = f
	return w, nil
}

// Reset implements Backoff.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.fails, key)
	return nil
}
