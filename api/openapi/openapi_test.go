package openapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/api/openapi"
	"github.com/maxbooster/maxbooster/api/openapi/openapitest"
)

const user = `{"user":{"id":"u1","email":"a@example.com","displayName":"A","emailVerified":false,"createdAt":"2026-01-02T03:04:05Z"}}`

func TestCheckResponse(t *testing.T) {
	v := openapitest.Validator(t)
	problem := `{"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthenticated"}`
	tests := []struct {
		name, method, path string
		status             int
		ct, body           string
		ok                 bool
	}{
		{"valid", "GET", "/api/v1/me", 200, "application/json", user, true},
		{"missing field", "GET", "/api/v1/me", 200, "application/json", strings.Replace(user, `"emailVerified":false,`, "", 1), false},
		{"extra field", "GET", "/api/v1/me", 200, "application/json", strings.Replace(user, `"id":"u1"`, `"id":"u1","passwordHash":"x"`, 1), false},
		{"wrong type", "GET", "/api/v1/me", 200, "application/json", strings.Replace(user, `false`, `"no"`, 1), false},
		{"not json", "GET", "/api/v1/me", 200, "application/json", `<html>`, false},
		{"problem as default", "GET", "/api/v1/me", 401, "application/problem+json", problem, true},
		{"bad problem", "GET", "/api/v1/me", 401, "application/problem+json", `{"status":401}`, false},
		{"undocumented status with JSON body", "GET", "/api/v1/me", 201, "application/json", user, false},
		{"wrong media type", "GET", "/api/v1/me", 200, "text/html", user, false},
		{"no body documented", "DELETE", "/api/v1/tokens/abc", 204, "", "", true},
		{"body where none documented", "DELETE", "/api/v1/tokens/abc", 204, "application/json", `{}`, false},
		{"path parameters", "DELETE", "/api/v1/teams/t1/members/u2", 204, "", "", true},
		{"token with null lastUsedAt", "GET", "/api/v1/tokens", 200, "application/json",
			`{"tokens":[{"id":"t","name":"n","scopes":["read"],"createdAt":"2026-01-02T03:04:05Z","expiresAt":"2026-01-02T03:04:05Z","lastUsedAt":null}]}`, true},
		{"unknown scope", "GET", "/api/v1/tokens", 200, "application/json",
			`{"tokens":[{"id":"t","name":"n","scopes":["root"],"createdAt":"2026-01-02T03:04:05Z","expiresAt":"2026-01-02T03:04:05Z","lastUsedAt":null}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.CheckResponse(tt.method, tt.path, tt.status, tt.ct, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("CheckResponse = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if err := v.CheckResponse("GET", "/api/v1/nothing", 200, "application/json", []byte(`{}`)); !errors.Is(err, openapi.ErrUndocumented) {
		t.Errorf("undocumented path: %v", err)
	}
	if err := v.CheckResponse("PUT", "/api/v1/me", 200, "application/json", []byte(user)); !errors.Is(err, openapi.ErrUndocumented) {
		t.Errorf("undocumented method: %v", err)
	}
}

func TestOperationsAreMuxPatterns(t *testing.T) {
	ops := openapitest.Validator(t).Operations()
	for _, want := range []string{
		"POST /api/v1/auth/register", "POST /api/v1/auth/login", "POST /api/v1/auth/logout", "GET /api/v1/me",
		"POST /api/v1/tokens", "DELETE /api/v1/tokens/{id}", "GET /api/v1/openapi.json",
	} {
		if !slices.Contains(ops, want) {
			t.Errorf("document lacks %s", want)
		}
	}
	// Each one registers on a ServeMux: the syntax is the same.
	mux := http.NewServeMux()
	for _, op := range ops {
		mux.Handle(op, http.NotFoundHandler())
	}
	if diff := cmp.Diff(ops, openapitest.RegisteredPatterns(mux)); diff != "" {
		t.Errorf("RegisteredPatterns (-documented +read back):\n%s", diff)
	}
}

func TestWrapReportsMismatch(t *testing.T) {
	bad := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user":{"id":"x"}}`))
	})
	ft := &fakeTB{TB: t}
	srv := httptest.NewServer(openapitest.Wrap(ft, bad, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], "does not match") {
		t.Errorf("Wrap reported %q, want one mismatch", ft.errors)
	}
}

func TestHandlerServesDocument(t *testing.T) {
	w := httptest.NewRecorder()
	openapi.Handler().ServeHTTP(w, httptest.NewRequest("GET", openapi.Path, nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || !strings.Contains(w.Body.String(), `"openapi": "3.1.0"`) {
		t.Errorf("%d %s %.80s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

// fakeTB records Errorf calls instead of failing.
type fakeTB struct {
	testing.TB
	errors []string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, strings.TrimSpace(strings.ReplaceAll(format, "%v", "")+" "+strings.TrimSpace(strings.Join(strSlice(args), " "))))
}

func (f *fakeTB) Helper() {}

func strSlice(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if e, ok := a.(error); ok {
			out[i] = e.Error()
		} else if s, ok := a.(string); ok {
			out[i] = s
		}
	}
	return out
}
