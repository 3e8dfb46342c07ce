// Package redistest connects tests to the Redis named by
// MB_TEST_REDIS_ADDR, with a key prefix of their own that is deleted when
// the test ends.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Env names the variable holding the Redis address (host:port).
const Env = "MB_TEST_REDIS_ADDR"

// Open returns a client and a fresh key prefix. It skips the test when
// MB_TEST_REDIS_ADDR is unset, and fails it instead when CI=true.
func Open(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	addr := os.Getenv(Env)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("redistest: %s is not set, and CI=true requires the Redis suite", Env)
		}
		tb.Skipf("redistest: set %s to run against Redis (make test does when it finds one)", Env)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redistest: ping %s: %v", addr, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "mbt:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		// redis_rate adds its own "rate:" in front of our prefix.
		iter = rdb.Scan(ctx, 0, "rate:"+prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("redistest: clean up %s: %v", prefix, err)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}
