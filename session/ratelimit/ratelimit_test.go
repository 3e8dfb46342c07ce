package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/session/ratelimit"
)

type impl interface {
	ratelimit.Limiter
	ratelimit.Backoff
}

// forEachImpl runs fn on the in-process and the Redis implementation.
func forEachImpl(t *testing.T, fn func(t *testing.T, l impl)) {
	t.Run("memory", func(t *testing.T) { fn(t, ratelimit.NewMemory(nil)) })
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := redistest.Client(t), redistest.Prefix(t)
		fn(t, ratelimit.NewRedis(rdb, prefix))
	})
}

func TestAllowBurstThenDeny(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		ctx := context.Background()
		lim := ratelimit.Limit{Rate: 3, Burst: 3, Period: time.Hour}
		for i, want := range []int{2, 1, 0} {
			r, err := l.Allow(ctx, "ip:1", lim)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Allowed || r.Remaining != want {
				t.Fatalf("call %d = %+v, want allowed with %d remaining", i, r, want)
			}
		}
		r, err := l.Allow(ctx, "ip:1", lim)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed || r.RetryAfter < 19*time.Minute || r.RetryAfter > 20*time.Minute {
			t.Fatalf("4th call = %+v, want denied with RetryAfter ~20m", r)
		}
		if r, _ := l.Allow(ctx, "ip:2", lim); !r.Allowed {
			t.Fatalf("another key was limited: %+v", r)
		}
	})
}

func TestBurstLargerThanRate(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		ctx := context.Background()
		lim := ratelimit.Limit{Rate: 1, Burst: 5, Period: time.Hour}
		for i := range 5 {
			if r, err := l.Allow(ctx, "u", lim); err != nil || !r.Allowed {
				t.Fatalf("call %d = %+v, %v", i, r, err)
			}
		}
		r, _ := l.Allow(ctx, "u", lim)
		if r.Allowed || r.RetryAfter < 59*time.Minute || r.RetryAfter > time.Hour {
			t.Fatalf("6th = %+v, want RetryAfter ~1h", r)
		}
	})
}

func TestRefill(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		ctx := context.Background()
		lim := ratelimit.Limit{Rate: 20, Burst: 1, Period: time.Second}
		if r, _ := l.Allow(ctx, "k", lim); !r.Allowed {
			t.Fatal("first call denied")
		}
		r, _ := l.Allow(ctx, "k", lim)
		if r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > 50*time.Millisecond {
			t.Fatalf("second = %+v, want denied, RetryAfter <= 50ms", r)
		}
		time.Sleep(r.RetryAfter + 20*time.Millisecond)
		if r, _ := l.Allow(ctx, "k", lim); !r.Allowed {
			t.Fatalf("after RetryAfter = %+v, want allowed", r)
		}
	})
}

func TestConcurrentAllowIsExact(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		ctx := context.Background()
		lim := ratelimit.Limit{Rate: 10, Burst: 10, Period: time.Hour}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				r, err := l.Allow(ctx, "hot", lim)
				if err != nil {
					t.Error(err)
				}
				if r.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 10 {
			t.Fatalf("%d of 40 concurrent calls allowed, want 10", n)
		}
	})
}

func TestBadLimit(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		for _, lim := range []ratelimit.Limit{{}, {Rate: 1, Burst: 0, Period: time.Second}, {Rate: 1, Burst: 1}} {
			if _, err := l.Allow(context.Background(), "k", lim); !errors.Is(err, ratelimit.ErrBadLimit) {
				t.Errorf("Allow(%+v) err = %v", lim, err)
			}
		}
	})
}

func TestBackoffGrows(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		ctx := context.Background()
		p := ratelimit.Penalty{Free: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}
		want := []time.Duration{0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
		for i, w := range want {
			got, err := l.Fail(ctx, "acct:a", p)
			if err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Fatalf("failure %d: wait %v, want %v", i+1, got, w)
			}
		}
		w, err := l.Wait(ctx, "acct:a", p)
		if err != nil || w < 7*time.Second || w > 8*time.Second {
			t.Fatalf("Wait = %v, %v; want ~8s", w, err)
		}
		if w, _ := l.Wait(ctx, "acct:b", p); w != 0 {
			t.Fatalf("untouched key waits %v", w)
		}
		if err := l.Reset(ctx, "acct:a"); err != nil {
			t.Fatal(err)
		}
		if w, _ := l.Wait(ctx, "acct:a", p); w != 0 {
			t.Fatalf("after Reset wait %v", w)
		}
		if got, _ := l.Fail(ctx, "acct:a", p); got != 0 {
			t.Fatalf("first failure after Reset costs %v", got)
		}
	})
}

func TestBackoffForgets(t *testing.T) {
	forEachImpl(t, func(t *testing.T, l impl) {
		ctx := context.Background()
		p := ratelimit.Penalty{Free: 1, Base: 50 * time.Millisecond, Max: time.Second, Forget: 600 * time.Millisecond}
		_, _ = l.Fail(ctx, "k", p)
		if w, _ := l.Fail(ctx, "k", p); w != 50*time.Millisecond {
			t.Fatalf("second failure wait %v", w)
		}
		time.Sleep(900 * time.Millisecond)
		if w, _ := l.Wait(ctx, "k", p); w != 0 {
			t.Fatalf("wait after Forget = %v", w)
		}
		if w, _ := l.Fail(ctx, "k", p); w != 0 {
			t.Fatalf("count was not forgotten: wait %v", w)
		}
	})
}
