// Package testenv is the gate every optional test suite shares: a test
// whose service or tool is missing skips, except under CI=true, where
// every suite must run and a missing one fails.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Unavailable ends tb because what it needs is missing: a skip with the
// message, or a failure when CI=true.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (CI=true requires this suite)", msg)
	} else {
		tb.Skip(msg)
	}
}
