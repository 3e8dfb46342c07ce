package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/errreport"
	"github.com/maxbooster/maxbooster/internal/errreport/sentrytest"
	"github.com/maxbooster/maxbooster/internal/middleware"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log records written so far.
func (s *syncBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func setKey(m map[string]int, k string) { m[k] = 1 }

// result is a response read in full.
type result struct {
	StatusCode int
	Header     http.Header
	Body       *bytes.Reader
}

type fixture struct {
	srv    *httptest.Server
	logs   *syncBuffer
	reg    *prometheus.Registry
	sentry *sentrytest.Server
	rep    *errreport.Sentry
}

func newFixture(t *testing.T, maxBody int64) *fixture {
	t.Helper()
	f := &fixture{logs: &syncBuffer{}, reg: prometheus.NewRegistry(), sentry: sentrytest.NewServer(t)}
	rep, err := errreport.NewSentry(errreport.SentryOptions{DSN: f.sentry.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	f.rep = rep
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok/{id}", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "rid": reqinfo.ID(r.Context())})
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		reqinfo.SetUser(r.Context(), "user-7") // as session middleware would
		var m map[string]int
		setKey(m, "boom") // a real runtime panic: assignment to entry in nil map
	})
	mux.HandleFunc("GET /panic-after-write", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic("late")
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		respond.Error(w, r, apperr.E("test.Fail", apperr.Internal, errors.New("disk on fire")))
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) {
		respond.Error(w, r, apperr.E("test.Missing", apperr.NotFound, nil))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				respond.Error(w, r, apperr.E("echo", apperr.TooLarge, err))
				return
			}
			respond.Error(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, map[string]int64{"n": n})
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	h, err := middleware.Wrap(mux, middleware.Options{
		Logger:       slog.New(slog.NewJSONHandler(f.logs, nil)),
		Registerer:   f.reg,
		Reporter:     rep,
		MaxBodyBytes: maxBody,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr map[string]string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return result{StatusCode: resp.StatusCode, Header: resp.Header, Body: bytes.NewReader(b)}
}

func (f *fixture) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.rep.Flush(ctx)
}

func TestRequestID(t *testing.T) {
	f := newFixture(t, 0)
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"sane id kept", "abc-123_x.y:z", true},
		{"missing generated", "", false},
		{"log injection replaced", "a\"b c", false},
		{"too long replaced", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.sent != "" {
				hdr["X-Request-ID"] = tt.sent
			}
			resp := f.do(t, http.MethodGet, "/ok/1", "", hdr)
			got := resp.Header.Get("X-Request-ID")
			if tt.keep && got != tt.sent {
				t.Errorf("X-Request-ID = %q, want %q", got, tt.sent)
			}
			if !tt.keep && (got == "" || got == tt.sent) {
				t.Errorf("X-Request-ID = %q, want a fresh id", got)
			}
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body["rid"] != got {
				t.Errorf("handler saw request id %q, response header %q", body["rid"], got)
			}
		})
	}
}

func TestPanicRecovered(t *testing.T) {
	f := newFixture(t, 0)
	resp := f.do(t, http.MethodGet, "/panic", "", map[string]string{"X-Request-ID": "rid-panic"})
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != respond.ProblemContentType {
		t.Errorf("Content-Type = %q", ct)
	}
	var p respond.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.RequestID != "rid-panic" || p.Code != "internal" || p.Status != 500 {
		t.Errorf("problem = %+v, want request id rid-panic, code internal, status 500", p)
	}
	if strings.Contains(p.Detail, "nil map") {
		t.Errorf("problem leaks the panic: %q", p.Detail)
	}

	// The server is still alive.
	if resp := f.do(t, http.MethodGet, "/ok/2", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after panic: status %d", resp.StatusCode)
	}

	f.flush(t)
	ev := f.sentry.WaitEvent(t)
	if ev.Tags["request_id"] != "rid-panic" || ev.User.ID != "user-7" || ev.Level != "fatal" {
		t.Errorf("sentry event: request_id %q user %q level %q", ev.Tags["request_id"], ev.User.ID, ev.Level)
	}
	if ev.Tags["route"] != "GET /panic" {
		t.Errorf("route tag = %q", ev.Tags["route"])
	}
	if len(ev.Exception) == 0 || !strings.Contains(ev.Exception[0].Value, "assignment to entry in nil map") {
		t.Errorf("exception = %+v", ev.Exception)
	}

	var panicLog, reqLog map[string]any
	for _, l := range f.logs.lines(t) {
		switch l["msg"] {
		case "panic":
			panicLog = l
		case "request":
			if l["request_id"] == "rid-panic" {
				reqLog = l
			}
		}
	}
	if panicLog == nil || !strings.Contains(panicLog["stack"].(string), "middleware_test.go") {
		t.Errorf("panic log line missing or without stack: %v", panicLog)
	}
	if reqLog == nil || reqLog["status"] != float64(500) || reqLog["user_id"] != "user-7" || reqLog["level"] != "ERROR" {
		t.Errorf("request log = %v", reqLog)
	}
}

func TestPanicAfterWriteKeepsStatus(t *testing.T) {
	f := newFixture(t, 0)
	resp := f.do(t, http.MethodGet, "/panic-after-write", "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status = %d, want the 202 already sent", resp.StatusCode)
	}
}

func TestAbortHandlerStillAborts(t *testing.T) {
	f := newFixture(t, 0)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, f.srv.URL+"/abort", nil)
	resp, err := f.srv.Client().Do(req)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("GET /abort = %d, want the connection aborted", resp.StatusCode)
	}
	f.flush(t)
	f.sentry.NoEvent(t, 200*time.Millisecond)
}

func TestErrorsReportedOnlyFor5xx(t *testing.T) {
	f := newFixture(t, 0)
	if resp := f.do(t, http.MethodGet, "/missing", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	f.flush(t)
	f.sentry.NoEvent(t, 200*time.Millisecond)

	resp := f.do(t, http.MethodGet, "/fail", "", map[string]string{"X-Request-ID": "rid-fail"})
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	f.flush(t)
	ev := f.sentry.WaitEvent(t)
	if ev.Tags["request_id"] != "rid-fail" || !strings.Contains(ev.Raw, "disk on fire") {
		t.Errorf("event = %s", ev.Raw)
	}
	var logged bool
	for _, l := range f.logs.lines(t) {
		if l["request_id"] == "rid-fail" {
			logged = true
			if !strings.Contains(l["error"].(string), "disk on fire") || l["code"] != "internal" {
				t.Errorf("log line = %v, want the cause and code", l)
			}
		}
	}
	if !logged {
		t.Error("no request log line for rid-fail")
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, 1024)
	if resp := f.do(t, http.MethodPost, "/echo", strings.Repeat("x", 1024), nil); resp.StatusCode != http.StatusOK {
		t.Errorf("at limit: status %d, want 200", resp.StatusCode)
	}
	resp := f.do(t, http.MethodPost, "/echo", strings.Repeat("x", 1025), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over limit: status %d, want 413", resp.StatusCode)
	}
}

func TestMetricsPerRoute(t *testing.T) {
	f := newFixture(t, 0)
	for _, p := range []string{"/ok/1", "/ok/2", "/ok/3", "/nowhere"} {
		f.do(t, http.MethodGet, p, "", nil)
	}
	f.do(t, "BREW", "/ok/1", "", nil)
	tests := []struct {
		method, route, code string
		want                float64
	}{
		{"GET", "GET /ok/{id}", "200", 3},
		{"GET", "unmatched", "404", 1},
		{"OTHER", "unmatched", "405", 1},
	}
	for _, tt := range tests {
		got := requestCount(t, f.reg, tt.method, tt.route, tt.code)
		if got != tt.want {
			t.Errorf("requests_total{%s,%s,%s} = %v, want %v", tt.method, tt.route, tt.code, got, tt.want)
		}
	}
	n, err := testutil.GatherAndCount(f.reg, "maxbooster_http_request_duration_seconds")
	if err != nil || n == 0 {
		t.Errorf("latency histogram series = %d, %v", n, err)
	}
}

// requestCount reads one series of maxbooster_http_requests_total.
func requestCount(t *testing.T, reg *prometheus.Registry, method, route, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != "maxbooster_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["method"] == method && labels["route"] == route && labels["code"] == code {
				v = m.GetCounter().GetValue()
			}
		}
	}
	return v
}

func TestOneLogLinePerRequest(t *testing.T) {
	f := newFixture(t, 0)
	for i := range 5 {
		f.do(t, http.MethodGet, "/ok/"+string(rune('a'+i)), "", nil)
	}
	var n int
	ids := map[string]bool{}
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "request" {
			n++
			ids[l["request_id"].(string)] = true
			if l["route"] != "GET /ok/{id}" || l["status"] != float64(200) {
				t.Errorf("log line = %v", l)
			}
		}
	}
	if n != 5 || len(ids) != 5 {
		t.Errorf("%d request lines with %d distinct ids, want 5 and 5", n, len(ids))
	}
}

func TestWrapNeedsLogger(t *testing.T) {
	if _, err := middleware.Wrap(http.NotFoundHandler(), middleware.Options{}); err == nil {
		t.Error("Wrap without a logger = nil error")
	}
}
