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

	"github.com/redis/go-redis/v9"
)

// Env names the variable holding the test Redis's host:port.
const Env = "MB_TEST_REDIS_ADDR"

// Addr returns the test Redis's address, skipping tb when there is none
// (failing it when CI=true).
func Addr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv(Env)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set, and CI=true requires the Redis suites", Env)
		}
		tb.Skipf("set %s (e.g. 127.0.0.1:6379) to run against Redis (make test does when it finds one)", Env)
	}
	return addr
}

// Client returns a client of the test Redis, closed when tb ends.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: Addr(tb)})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Prefix returns a key prefix private to tb ("mbtest:<random>:"); the keys
// under it are deleted when tb ends, through a client of its own.
func Prefix(tb testing.TB) string {
	tb.Helper()
	addr := Addr(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "mbtest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}
