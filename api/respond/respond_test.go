package respond_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
)

func TestErrorProblemShape(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want respond.Problem
	}{
		{
			name: "internal hides cause",
			err:  errors.New("pq: connection refused to 10.0.0.5 as admin"),
			want: respond.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500,
				Detail: "An internal error occurred.", Instance: "/api/tracks/7", Code: "internal", RequestID: "rid-1"},
		},
		{
			name: "not found",
			err:  apperr.E("track.Get", apperr.NotFound, errors.New("sql: no rows")).WithMsg("No such track."),
			want: respond.Problem{Type: "about:blank", Title: "Not Found", Status: 404,
				Detail: "No such track.", Instance: "/api/tracks/7", Code: "not_found", RequestID: "rid-1"},
		},
		{
			name: "invalid with fields and code",
			err:  apperr.E("x", apperr.Invalid, nil).WithMsg("Check the form.").WithCode("validation").WithField("bpm", "must be 20-400"),
			want: respond.Problem{Type: "about:blank", Title: "Bad Request", Status: 400,
				Detail: "Check the form.", Instance: "/api/tracks/7", Code: "validation", RequestID: "rid-1",
				Errors: map[string]string{"bpm": "must be 20-400"}},
		},
		{
			name: "rate limited",
			err:  apperr.E("x", apperr.TooManyRequests, nil),
			want: respond.Problem{Type: "about:blank", Title: "Too Many Requests", Status: 429,
				Detail: "Too many requests; slow down.", Instance: "/api/tracks/7", Code: "too_many_requests", RequestID: "rid-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/tracks/7", nil)
			ctx, info := reqinfo.New(r.Context(), "rid-1")
			r = r.WithContext(ctx)
			w := httptest.NewRecorder()
			respond.Error(w, r, tt.err)

			if w.Code != tt.want.Status {
				t.Errorf("status = %d, want %d", w.Code, tt.want.Status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got respond.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problem mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(w.Body.String(), "10.0.0.5") || strings.Contains(w.Body.String(), "sql:") {
				t.Errorf("body leaks the cause: %s", w.Body)
			}
			if err, code := info.Err(), info.ProblemCode(); !errors.Is(err, tt.err) || code != tt.want.Code {
				t.Errorf("recorded error = %v %q, want %v %q", err, code, tt.err, tt.want.Code)
			}
		})
	}
}

func TestStatusCoversEveryKind(t *testing.T) {
	seen := map[int]apperr.Kind{}
	for k := apperr.Internal; k <= apperr.Canceled; k++ {
		s := respond.Status(k)
		if s < 400 || s > 599 {
			t.Errorf("Status(%v) = %d, not an error status", k, s)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("Status(%v) = Status(%v) = %d", k, prev, s)
		}
		seen[s] = k
	}
}

type payload struct {
	Name string `json:"name"`
	BPM  int    `json:"bpm"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		ct       string
		body     string
		limit    int64
		wantKind apperr.Kind
		wantCode string
		want     payload
	}{
		{name: "ok", ct: "application/json", body: `{"name":"Intro","bpm":120}`, want: payload{"Intro", 120}},
		{name: "ok charset and whitespace", ct: "application/json; charset=utf-8", body: " {\"name\":\"x\"}\n\n", want: payload{Name: "x"}},
		{name: "problem+json accepted", ct: "application/merge-patch+json", body: `{"bpm":90}`, want: payload{BPM: 90}},
		{name: "no content type", ct: "", body: `{}`, wantKind: apperr.Unsupported, wantCode: "unsupported_media_type"},
		{name: "form", ct: "application/x-www-form-urlencoded", body: `name=x`, wantKind: apperr.Unsupported, wantCode: "unsupported_media_type"},
		{name: "unknown field", ct: "application/json", body: `{"name":"x","admin":true}`, wantKind: apperr.Invalid, wantCode: "unknown_field"},
		{name: "wrong type", ct: "application/json", body: `{"bpm":"fast"}`, wantKind: apperr.Invalid, wantCode: "invalid_json"},
		{name: "syntax", ct: "application/json", body: `{"name":}`, wantKind: apperr.Invalid, wantCode: "invalid_json"},
		{name: "empty", ct: "application/json", body: ``, wantKind: apperr.Invalid, wantCode: "invalid_json"},
		{name: "truncated", ct: "application/json", body: `{"name":"x"`, wantKind: apperr.Invalid, wantCode: "invalid_json"},
		{name: "two values", ct: "application/json", body: `{}{}`, wantKind: apperr.Invalid, wantCode: "invalid_json"},
		{name: "trailing garbage", ct: "application/json", body: `{} x`, wantKind: apperr.Invalid, wantCode: "invalid_json"},
		{name: "too large", ct: "application/json", body: `{"name":"` + strings.Repeat("a", 100) + `"}`, limit: 64, wantKind: apperr.TooLarge, wantCode: "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			limit := tt.limit
			if limit == 0 {
				limit = respond.DefaultMaxJSONBytes
			}
			var got payload
			err := respond.DecodeLimit(httptest.NewRecorder(), r, &got, limit)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decoded mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode = nil, want %v error", tt.wantKind)
			}
			if k := apperr.KindOf(err); k != tt.wantKind {
				t.Errorf("kind = %v, want %v (%v)", k, tt.wantKind, err)
			}
			if c := apperr.Code(err); c != tt.wantCode {
				t.Errorf("code = %q, want %q", c, tt.wantCode)
			}
		})
	}
}

// A body sent without Content-Length (chunked) is still cut at the limit.
func TestDecodeLimitStreaming(t *testing.T) {
	body := strings.NewReader(`{"name":"` + strings.Repeat("a", 5000) + `"}`)
	r := httptest.NewRequest(http.MethodPost, "/", struct{ *strings.Reader }{body})
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	var got payload
	err := respond.DecodeLimit(httptest.NewRecorder(), r, &got, 1000)
	if k := apperr.KindOf(err); k != apperr.TooLarge {
		t.Fatalf("kind = %v (%v), want TooLarge", k, err)
	}
}

func TestJSON(t *testing.T) {
	w := httptest.NewRecorder()
	respond.JSON(w, http.StatusCreated, map[string]int{"id": 7})
	if w.Code != http.StatusCreated {
		t.Errorf("status = %d", w.Code)
	}
	if got, want := w.Body.String(), "{\"id\":7}\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	w = httptest.NewRecorder()
	respond.JSON(w, http.StatusOK, map[string]any{"bad": make(chan int)})
	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != respond.ProblemContentType {
		t.Errorf("unencodable value: status %d, type %q; want 500 problem", w.Code, w.Header().Get("Content-Type"))
	}
}
