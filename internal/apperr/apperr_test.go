package apperr_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want apperr.Kind
	}{
		{"plain", errors.New("boom"), apperr.Internal},
		{"direct", apperr.E("op", apperr.NotFound, sql.ErrNoRows), apperr.NotFound},
		{"wrapped", fmt.Errorf("outer: %w", apperr.E("op", apperr.Conflict, nil)), apperr.Conflict},
		{"outermost wins", apperr.E("outer", apperr.Forbidden, apperr.E("inner", apperr.NotFound, nil)), apperr.Forbidden},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), apperr.Canceled},
		{"deadline", context.DeadlineExceeded, apperr.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessageNeverLeaksCause(t *testing.T) {
	secret := errors.New("pq: password authentication failed for user admin")
	tests := []struct {
		name string
		err  error
		msg  string
		code string
	}{
		{"internal cause hidden", apperr.E("store.Open", apperr.Internal, secret), "An internal error occurred.", "internal"},
		{"internal msg hidden too", apperr.E("x", apperr.Internal, secret).WithMsg("db password wrong"), "An internal error occurred.", "internal"},
		{"plain error", secret, "An internal error occurred.", "internal"},
		{"generic for kind", apperr.E("x", apperr.NotFound, secret), "Not found.", "not_found"},
		{"custom msg and code", apperr.E("user.Create", apperr.Conflict, secret).WithMsg("That email is taken.").WithCode("email_taken"), "That email is taken.", "email_taken"},
		{"wrapped custom", fmt.Errorf("ctx: %w", apperr.Msgf("x", apperr.Invalid, "name must be at most %d characters", 80)), "name must be at most 80 characters", "invalid"},
		{"inner msg of same kind", apperr.E("outer", apperr.Invalid, apperr.Msgf("inner", apperr.Invalid, "bad tempo")), "bad tempo", "invalid"},
		{"inner msg of other kind ignored", apperr.E("outer", apperr.NotFound, apperr.Msgf("inner", apperr.Invalid, "bad tempo")), "Not found.", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.Message(tt.err); got != tt.msg {
				t.Errorf("Message = %q, want %q", got, tt.msg)
			}
			if got := apperr.Code(tt.err); got != tt.code {
				t.Errorf("Code = %q, want %q", got, tt.code)
			}
		})
	}
}

func TestErrorKeepsCauseForLogs(t *testing.T) {
	cause := sql.ErrNoRows
	err := apperr.E("track.Get", apperr.NotFound, cause).WithMsg("No such track.")
	if !errors.Is(err, sql.ErrNoRows) {
		t.Error("errors.Is(err, sql.ErrNoRows) = false, want true")
	}
	if got, want := err.Error(), "track.Get: not_found: No such track.: sql: no rows in result set"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFields(t *testing.T) {
	err := fmt.Errorf("wrap: %w", apperr.E("x", apperr.Invalid, nil).WithField("email", "must contain @").WithField("name", "required"))
	want := map[string]string{"email": "must contain @", "name": "required"}
	if diff := cmp.Diff(want, apperr.Fields(err)); diff != "" {
		t.Errorf("Fields mismatch (-want +got):\n%s", diff)
	}
	if got := apperr.Fields(errors.New("x")); got != nil {
		t.Errorf("Fields(plain) = %v, want nil", got)
	}
}

func TestKindString(t *testing.T) {
	for k := apperr.Internal; k <= apperr.Canceled; k++ {
		if s := k.String(); s == "" || s[0] == 'k' {
			t.Errorf("Kind(%d) has no name: %q", k, s)
		}
	}
	if got := apperr.Kind(200).String(); got != "kind(200)" {
		t.Errorf("unknown kind = %q", got)
	}
}
