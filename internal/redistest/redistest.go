// Package redistest gives tests the Redis that make test found: its
// address (MB_TEST_REDIS_ADDR; a test skips without one, and fails when
// CI=true requires every suite) and key prefixes private to a test.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/internal/testenv"
)

// Env names the variable holding the test Redis's host:port.
const Env = "MB_TEST_REDIS_ADDR"

// Addr returns the test Redis's address, skipping tb when there is none
// (failing it when CI=true).
func Addr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv(Env)
	if addr == "" {
		testenv.Unavailable(tb, "set %s (e.g. 127.0.0.1:6379) to run against Redis (make test does when it finds one)", Env)
	}
	return addr
}

// Client returns a client of the test Redis, closed when tb ends. It
// fails tb when the Redis does not answer a PING.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	addr := Addr(tb)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redistest: ping %s: %v", addr, err)
	}
	return rdb
}

// Prefix returns a key prefix private to tb ("mbtest:<random>:"); the keys
// under it, and the rate limiter's (redis_rate puts "rate:" in front of a
// prefix), are deleted when tb ends, through a client of its own.
func Prefix(tb testing.TB) string {
	tb.Helper()
	addr := Addr(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "mbtest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, match := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := rdb.Scan(ctx, 0, match, 500).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
			if err := iter.Err(); err != nil {
				tb.Errorf("redistest: clean up %s: %v", match, err)
			}
		}
	})
	return prefix
}
