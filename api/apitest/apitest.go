// Package apitest runs the whole API (api.NewHandler, middleware
// included) on an httptest server over a real database, and gives tests a
// client that speaks JSON and problem+json.
//
//	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
//		srv := apitest.New(t, db, nil)
//		c := srv.Client()
//		res := c.Do(t, "POST", "/api/things", map[string]any{"name": "x"})
//		res.WantStatus(t, http.StatusCreated)
//		var got Thing
//		res.JSON(t, &got)
//	})
//
// The client keeps cookies (a session logged in through the API stays
// logged in) and sends Client.Header with every request, for bearer
// tokens and CSRF headers.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/store"
)

// Server is a running API.
type Server struct {
	URL  string
	Deps api.Deps // as passed to api.NewHandler
	Logs *LogBuffer
	srv  *httptest.Server
}

// New starts the API over db, closed when the test ends: the lifecycle is
// shut down and flushed (hub, workers, update log), then the server is
// closed. configure, if not nil, may change the Deps (add Redis, a
// Reporter, ExtraRoutes...) before the handler is built. Logs go to
// Server.Logs as JSON lines, and to the test log on failure.
func New(tb testing.TB, db *store.DB, configure func(d *api.Deps)) *Server {
	tb.Helper()
	logs := &LogBuffer{}
	d := api.Deps{
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DB:        db,
		Metrics:   prometheus.NewRegistry(),
		Lifecycle: lifecycle.New(),
		Version:   "test",
	}
	if configure != nil {
		configure(&d)
	}
	h, err := api.NewHandler(d)
	if err != nil {
		tb.Fatalf("apitest: api.NewHandler: %v", err)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(func() {
		if lc := d.Lifecycle; lc != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			if err := lc.Shutdown(ctx); err != nil {
				tb.Errorf("apitest: lifecycle shutdown: %v", err)
			}
			if err := lc.Flush(ctx); err != nil {
				tb.Errorf("apitest: lifecycle flush: %v", err)
			}
			cancel()
		}
		srv.Close()
		if tb.Failed() {
			tb.Logf("apitest: server log:\n%s", logs.String())
		}
	})
	return &Server{URL: srv.URL, Deps: d, Logs: logs, srv: srv}
}

// Client returns a new client with its own cookie jar.
func (s *Server) Client() *Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	// A copy: httptest.Server.Client returns one shared *http.Client, and
	// setting its Jar would hand every earlier Client this one's cookies.
	shared := s.srv.Client()
	hc := &http.Client{
		Transport:     shared.Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{base: s.URL, hc: hc, Header: http.Header{}}
}

// Client sends requests to a Server.
type Client struct {
	base string
	hc   *http.Client
	// Header is sent with every request (e.g. Authorization, X-CSRF-Token).
	Header http.Header
}

// HTTP returns the underlying client (cookie jar included), for requests
// Do does not cover, such as WebSocket dials or streaming uploads.
func (c *Client) HTTP() *http.Client { return c.hc }

// Do sends a request. A body that is a []byte, string or io.Reader is sent
// as is (set Content-Type through Header or hdr); anything else is encoded
// as JSON with Content-Type application/json. hdr entries, if any, apply to
// this request only.
func (c *Client) Do(tb testing.TB, method, path string, body any, hdr ...http.Header) *Response {
	tb.Helper()
	var (
		rd          io.Reader
		contentType string
	)
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("apitest: encode request body: %v", err)
		}
		rd = bytes.NewReader(data)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		tb.Fatalf("apitest: %s %s: %v", method, path, err)
	}
	for k, v := range c.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range hdr {
		for k, v := range h {
			req.Header[k] = append([]string(nil), v...)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		tb.Fatalf("apitest: %s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("apitest: %s %s: read body: %v", method, path, err)
	}
	return &Response{Method: method, Path: path, Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Response is a response read in full.
type Response struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

// WantStatus fails the test unless the status is want, showing the body.
func (r *Response) WantStatus(tb testing.TB, want int) {
	tb.Helper()
	if r.Status != want {
		tb.Fatalf("%s %s: status %d, want %d; body: %s", r.Method, r.Path, r.Status, want, r.Body)
	}
}

// JSON decodes the body into v, rejecting unknown fields, so a test
// notices fields it does not expect.
func (r *Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("%s %s: decode %s: %v", r.Method, r.Path, r.Body, err)
	}
}

// Problem decodes a problem+json body, failing the test if the body is not
// one.
func (r *Response) Problem(tb testing.TB) respond.Problem {
	tb.Helper()
	if ct := r.Header.Get("Content-Type"); ct != respond.ProblemContentType {
		tb.Fatalf("%s %s: Content-Type %q, want %s; body: %s", r.Method, r.Path, ct, respond.ProblemContentType, r.Body)
	}
	var p respond.Problem
	r.JSON(tb, &p)
	if p.Status != r.Status || p.Code == "" || p.RequestID == "" {
		tb.Fatalf("%s %s: malformed problem (status %d, code %q, request id %q): %s", r.Method, r.Path, p.Status, p.Code, p.RequestID, r.Body)
	}
	return p
}

// WantProblem fails the test unless the response is a problem with the
// given status and machine code, and returns it.
func (r *Response) WantProblem(tb testing.TB, status int, code string) respond.Problem {
	tb.Helper()
	r.WantStatus(tb, status)
	p := r.Problem(tb)
	if p.Code != code {
		tb.Fatalf("%s %s: problem code %q, want %q; body: %s", r.Method, r.Path, p.Code, code, r.Body)
	}
	return p
}

// LogBuffer collects the server's JSON log lines; safe for concurrent use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Records returns the log lines decoded, skipping any that are not JSON.
func (l *LogBuffer) Records() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
