package session

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/session/ratelimit"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// BenchmarkLogin measures a failed login for a known account and for an
// unknown one with the production argon2id parameters: the two should take
// about the same time (the unknown case verifies against a dummy hash).
// Compare the ns/op of the sub-benchmarks.
func BenchmarkLogin(b *testing.B) {
	db := storetest.OpenSQLite(b)
	limits := testLimits
	limits.LoginPenalty = ratelimit.Penalty{Free: 1 << 30, Base: time.Second, Max: time.Second, Forget: time.Second}
	svc, err := New(Options{DB: db, Logger: slog.New(slog.DiscardHandler), Limits: limits})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := svc.Register(ctx, "known@example.com", goodPassword, "K", Meta{IP: "127.0.0.1"}); err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		b.Run(email[:len(email)-len("@example.com")], func(b *testing.B) {
			for b.Loop() {
				if _, _, err := svc.Login(ctx, email, "wrong-password-1", Meta{IP: "127.0.0.1"}); err == nil {
					b.Fatal("login succeeded")
				}
			}
		})
	}
}
