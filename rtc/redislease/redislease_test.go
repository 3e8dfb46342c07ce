package redislease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/rtc/redislease"
)

func mustNew(t *testing.T, rdb *redis.Client, nodeURL, prefix string, ttl time.Duration) *redislease.Leases {
	t.Helper()
	l, err := redislease.New(rdb, redislease.Options{NodeURL: nodeURL, Prefix: prefix, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLeases: one holder at a time; renew and release only touch one's
// own lease; an unrenewed lease expires and the next node takes it.
func TestLeases(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	a := mustNew(t, rdb, "http://10.0.0.1:8080", prefix, ttl)
	b := mustNew(t, rdb, "http://10.0.0.2:8080", prefix, ttl)

	if got, err := a.Acquire(ctx, "p1"); err != nil || got != "" {
		t.Fatalf("a.Acquire = %q, %v; want it held by a", got, err)
	}
	if got, err := a.Acquire(ctx, "p1"); err != nil || got != "" {
		t.Fatalf("a.Acquire again = %q, %v; want still a's", got, err)
	}
	if got, err := b.Acquire(ctx, "p1"); err != nil || got != "http://10.0.0.1:8080" {
		t.Fatalf("b.Acquire = %q, %v; want a's URL", got, err)
	}
	if got, err := b.Acquire(ctx, "p2"); err != nil || got != "" {
		t.Fatalf("b.Acquire(p2) = %q, %v; want b's", got, err)
	}
	if ok, err := b.Renew(ctx, "p1"); err != nil || ok {
		t.Errorf("b.Renew(a's lease) = %v, %v; want false", ok, err)
	}
	if err := b.Release(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if h, _ := a.Holder(ctx, "p1"); h != "http://10.0.0.1:8080" {
		t.Errorf("b released a's lease: holder %q", h)
	}

	// Renewed, it outlives the TTL.
	for range 4 {
		time.Sleep(ttl / 3)
		if ok, err := a.Renew(ctx, "p1"); err != nil || !ok {
			t.Fatalf("a.Renew = %v, %v; want true", ok, err)
		}
	}
	// Not renewed (a died), it expires and b takes it.
	start := time.Now()
	for {
		got, err := b.Acquire(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if got == "" {
			break
		}
		if time.Since(start) > 2*ttl {
			t.Fatalf("lease not expired %s after the last renewal", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("taken over %s after the holder stopped renewing (TTL %s)", time.Since(start).Round(time.Millisecond), ttl)
	if ok, err := a.Renew(ctx, "p1"); err != nil || ok {
		t.Errorf("a.Renew after takeover = %v, %v; want false", ok, err)
	}

	// Release frees it at once.
	if err := b.Release(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if h, err := a.Holder(ctx, "p1"); err != nil || h != "" {
		t.Errorf("holder after release = %q, %v; want none", h, err)
	}
	if got, err := a.Acquire(ctx, "p1"); err != nil || got != "" {
		t.Errorf("a.Acquire after release = %q, %v; want a's", got, err)
	}
}

func TestNewRefusesBadNodeURL(t *testing.T) {
	for _, u := range []string{"", "10.0.0.1:8080", "ftp://h", "http://", "http://h/?q=1"} {
		if _, err := redislease.New(nil, redislease.Options{NodeURL: u}); !errors.Is(err, redislease.ErrNodeURL) {
			t.Errorf("New(%q) = %v, want ErrNodeURL", u, err)
		}
	}
}

// TestRedisDown: calls fail with an error (the rtc server then refuses
// the connection with 4503) rather than hanging or claiming the room.
func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	l, err := redislease.New(rdb, redislease.Options{NodeURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.Acquire(context.Background(), "p1"); err == nil {
		t.Errorf("Acquire without Redis = %q, nil; want an error", got)
	}
}
