package testenv

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records how it was ended.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skip(args ...any)               { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

func TestUnavailable(t *testing.T) {
	t.Setenv("CI", "")
	var r recorder
	Unavailable(&r, "set %s", "MB_TEST_X")
	if r.skipped != "set MB_TEST_X" || r.failed != "" {
		t.Errorf("without CI: skipped %q, failed %q; want a skip", r.skipped, r.failed)
	}

	t.Setenv("CI", "true")
	r = recorder{}
	Unavailable(&r, "set %s", "MB_TEST_X")
	if r.failed != "set MB_TEST_X (CI=true requires this suite)" || r.skipped != "" {
		t.Errorf("with CI=true: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}
}
