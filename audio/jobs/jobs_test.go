package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// clock is a settable time for lease tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newQueue(db *store.DB) (*jobs.Queue, *clock) {
	q := jobs.NewQueue(db)
	c := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	q.Now = c.Now
	return q, c
}

func mustEnqueue(tb testing.TB, q *jobs.Queue, kind string, attempts int) *jobs.Job {
	tb.Helper()
	j, err := q.Enqueue(context.Background(), kind, `{"blob":"x"}`, attempts)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func TestQueue(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t.Run("lifecycle", func(t *testing.T) {
			q, c := newQueue(db)
			j := mustEnqueue(t, q, "analyze", 3)
			if j.Status != jobs.StatusQueued || j.Attempts != 0 {
				t.Fatalf("enqueued %+v", j)
			}
			got, err := q.Claim(ctx, "w1", time.Minute)
			if err != nil || got == nil || got.ID != j.ID || got.Status != jobs.StatusRunning || got.Attempts != 1 {
				t.Fatalf("claim %+v, %v", got, err)
			}
			if again, err := q.Claim(ctx, "w2", time.Minute); err != nil || again != nil {
				t.Fatalf("second claim %+v, %v", again, err)
			}
			c.Add(time.Second)
			if err := q.Progress(ctx, j.ID, "w1", 40, "decoding", time.Minute); err != nil {
				t.Fatal(err)
			}
			if p, _ := q.Get(ctx, j.ID); p.Progress != 40 || p.Stage != "decoding" {
				t.Errorf("progress %+v", p)
			}
			if err := q.Progress(ctx, j.ID, "w2", 50, "x", time.Minute); !errors.Is(err, jobs.ErrLost) {
				t.Errorf("progress by another worker: %v", err)
			}
			if err := q.Complete(ctx, j.ID, "w1", `{"ok":true}`); err != nil {
				t.Fatal(err)
			}
			done, _ := q.Get(ctx, j.ID)
			if done.Status != jobs.StatusDone || done.Progress != 100 || done.Result != `{"ok":true}` {
				t.Errorf("done %+v", done)
			}
			if _, err := q.Get(ctx, "missing"); !errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("get missing: %v", err)
			}
		})
		t.Run("crashed worker: lease expires, job is claimed again", func(t *testing.T) {
			q, c := newQueue(db)
			j := mustEnqueue(t, q, "process", 2)
			if got, _ := q.Claim(ctx, "crashed", 10*time.Second); got == nil || got.ID != j.ID {
				t.Fatalf("first claim %+v", got)
			}
			c.Add(5 * time.Second)
			if got, _ := q.Claim(ctx, "w2", 10*time.Second); got != nil {
				t.Fatalf("claimed before the lease expired: %+v", got)
			}
			c.Add(6 * time.Second)
			got, err := q.Claim(ctx, "w2", 10*time.Second)
			if err != nil || got == nil || got.ID != j.ID || got.Attempts != 2 {
				t.Fatalf("reclaim %+v, %v", got, err)
			}
			if err := q.Complete(ctx, j.ID, "crashed", "late"); !errors.Is(err, jobs.ErrLost) {
				t.Errorf("the old worker completed: %v", err)
			}
			// The last attempt's worker dies too: the job fails.
			c.Add(11 * time.Second)
			if got, err := q.Claim(ctx, "w3", 10*time.Second); err != nil || got != nil {
				t.Fatalf("claim after the last attempt: %+v, %v", got, err)
			}
			if f, _ := q.Get(ctx, j.ID); f.Status != jobs.StatusFailed || !strings.Contains(f.Error, "lease expired") {
				t.Errorf("after last attempt %+v", f)
			}
		})
		t.Run("fail with and without retry", func(t *testing.T) {
			q, _ := newQueue(db)
			j := mustEnqueue(t, q, "analyze", 2)
			_, _ = q.Claim(ctx, "w", time.Minute)
			if err := q.Fail(ctx, j.ID, "w", errors.New("disk hiccup"), true); err != nil {
				t.Fatal(err)
			}
			if r, _ := q.Get(ctx, j.ID); r.Status != jobs.StatusQueued || r.Error != "disk hiccup" {
				t.Errorf("after retryable failure %+v", r)
			}
			_, _ = q.Claim(ctx, "w", time.Minute)
			if err := q.Fail(ctx, j.ID, "w", errors.New("again"), true); err != nil {
				t.Fatal(err)
			}
			if r, _ := q.Get(ctx, j.ID); r.Status != jobs.StatusFailed {
				t.Errorf("retry beyond max attempts: %+v", r)
			}
		})
		t.Run("invalid", func(t *testing.T) {
			q, _ := newQueue(db)
			for _, tt := range []struct {
				kind, input string
				attempts    int
			}{{"", "{}", 1}, {"a", "{}", 0}, {"a", strings.Repeat("x", jobs.MaxInputBytes+1), 1}} {
				if _, err := q.Enqueue(ctx, tt.kind, tt.input, tt.attempts); !errors.Is(err, jobs.ErrInvalid) {
					t.Errorf("Enqueue(%q, %d bytes, %d): %v", tt.kind, len(tt.input), tt.attempts, err)
				}
			}
		})
	})
}

func TestPool(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		q := jobs.NewQueue(db)
		ctx := context.Background()
		var flakyCalls sync.Map
		handlers := map[string]jobs.Handler{
			"ok": func(ctx context.Context, j *jobs.Job, progress func(float64, string)) (string, error) {
				for i := range 5 {
					progress(float64(i*20), "working")
					time.Sleep(5 * time.Millisecond)
				}
				return `{"done":"` + j.ID + `"}`, nil
			},
			"flaky": func(ctx context.Context, j *jobs.Job, _ func(float64, string)) (string, error) {
				if _, seen := flakyCalls.LoadOrStore(j.ID, true); !seen {
					return "", errors.New("transient")
				}
				return "second time lucky", nil
			},
			"bad": func(context.Context, *jobs.Job, func(float64, string)) (string, error) {
				return "", jobs.Permanent(errors.New("unsupported codec"))
			},
			"slow": func(ctx context.Context, _ *jobs.Job, _ func(float64, string)) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			},
			"panic": func(context.Context, *jobs.Job, func(float64, string)) (string, error) {
				panic("boom")
			},
		}
		want := map[string]string{"ok": jobs.StatusDone, "flaky": jobs.StatusDone, "bad": jobs.StatusFailed,
			"slow": jobs.StatusFailed, "panic": jobs.StatusFailed, "unknown": jobs.StatusFailed}
		ids := map[string]string{}
		for kind := range want {
			ids[kind] = mustEnqueue(t, q, kind, 3).ID
		}
		runCtx, stop := context.WithCancel(ctx)
		pool := &jobs.Pool{Queue: q, Handlers: handlers, Workers: 2, Lease: 300 * time.Millisecond, Timeout: 200 * time.Millisecond, Poll: 10 * time.Millisecond}
		errc := make(chan error, 1)
		go func() { errc <- pool.Run(runCtx) }()
		deadline := time.Now().Add(20 * time.Second)
		for {
			pending := 0
			for _, id := range ids {
				j, err := q.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if j.Status == jobs.StatusQueued || j.Status == jobs.StatusRunning {
					pending++
				}
			}
			if pending == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
		for kind, id := range ids {
			j, _ := q.Get(ctx, id)
			if j.Status != want[kind] {
				t.Errorf("%s: status %s (error %q, attempts %d), want %s", kind, j.Status, j.Error, j.Attempts, want[kind])
			}
		}
		if j, _ := q.Get(ctx, ids["flaky"]); j.Attempts != 2 || j.Result != "second time lucky" {
			t.Errorf("flaky: %+v", j)
		}
		if j, _ := q.Get(ctx, ids["bad"]); j.Attempts != 1 {
			t.Errorf("a permanent failure was retried: %d attempts", j.Attempts)
		}
		for kind, sub := range map[string]string{"slow": "longer than", "panic": "panicked", "unknown": "no handler"} {
			if j, _ := q.Get(ctx, ids[kind]); !strings.Contains(j.Error, sub) {
				t.Errorf("%s: error %q", kind, j.Error)
			}
		}
	})
}
