package reqinfo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/maxbooster/maxbooster/internal/reqinfo"
)

func TestInfoIsSharedDownTheChain(t *testing.T) {
	ctx, info := reqinfo.New(context.Background(), "req-1")
	type k struct{}
	child := context.WithValue(ctx, k{}, "x") // as a handler deeper down would see it
	reqinfo.SetUser(child, "user-42")
	boom := errors.New("boom")
	reqinfo.SetError(child, boom, "internal")

	if got := reqinfo.ID(child); got != "req-1" {
		t.Errorf("ID = %q, want req-1", got)
	}
	if got := info.User(); got != "user-42" {
		t.Errorf("User = %q, want user-42", got)
	}
	if err, code := info.Err(), info.ProblemCode(); !errors.Is(err, boom) || code != "internal" {
		t.Errorf("Err = %v, %q; want boom, internal", err, code)
	}
}

func TestWithoutInfo(t *testing.T) {
	ctx := context.Background()
	reqinfo.SetUser(ctx, "u") // must not panic
	reqinfo.SetError(ctx, errors.New("x"), "c")
	if got := reqinfo.ID(ctx); got != "" {
		t.Errorf("ID = %q, want empty", got)
	}
	if got := reqinfo.User(ctx); got != "" {
		t.Errorf("User = %q, want empty", got)
	}
	if reqinfo.From(ctx) != nil {
		t.Error("From = non-nil, want nil")
	}
}
