package session

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

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/api/openapi/openapitest"
	"github.com/maxbooster/maxbooster/internal/errreport"
	"github.com/maxbooster/maxbooster/internal/errreport/sentrytest"
	"github.com/maxbooster/maxbooster/internal/middleware"
	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/session/ratelimit"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a running session module behind the foundation's middleware, as
// api.NewHandler mounts it.
type env struct {
	t      *testing.T
	svc    *Service
	srv    *httptest.Server
	logs   *syncBuffer
	sentry *sentrytest.Server
}

// generous limits keep tests that are not about limits clear of them.
var testLimits = Limits{
	LoginPerIP:     ratelimit.Limit{Rate: 10000, Burst: 10000, Period: time.Minute},
	RegisterPerIP:  ratelimit.Limit{Rate: 10000, Burst: 10000, Period: time.Minute},
	ResetPerIP:     ratelimit.Limit{Rate: 10000, Burst: 10000, Period: time.Minute},
	MailPerAccount: ratelimit.Limit{Rate: 100, Burst: 100, Period: time.Minute},
	APIPerUser:     ratelimit.Limit{Rate: 10000, Burst: 10000, Period: time.Minute},
	APIPerIP:       ratelimit.Limit{Rate: 10000, Burst: 10000, Period: time.Minute},
}

// forEachBackend runs fn on SQLite and PostgreSQL, each with sessions and
// limits in the database/process and in Redis.
func forEachBackend(t *testing.T, mod func(*Options), fn func(t *testing.T, e *env)) {
	dialects := []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.OpenSQLite}, {"postgres", storetest.OpenPostgres}}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Run("local", func(t *testing.T) { fn(t, newEnv(t, d.open(t), nil, "", mod)) })
			t.Run("redis", func(t *testing.T) {
				db := d.open(t)
				rdb, prefix := redistest.Client(t), redistest.Prefix(t)
				fn(t, newEnv(t, db, rdb, prefix, mod))
			})
		})
	}
}

func newEnv(t *testing.T, db *store.DB, rdb redis.UniversalClient, prefix string, mod func(*Options)) *env {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := Options{DB: db, Logger: logger, Redis: rdb, RedisPrefix: prefix, Argon2: fastParams, Limits: testLimits}
	if mod != nil {
		mod(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	st := sentrytest.NewServer(t)
	rep, err := errreport.NewSentry(errreport.SentryOptions{DSN: st.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Routes(mux)
	mux.Handle("GET /api/v1/test/panic", RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom in a handler")
	})))
	h, err := middleware.Wrap(svc.Middleware(mux), middleware.Options{Logger: logger, Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	// Every response the tests see is checked against the OpenAPI document.
	h = openapitest.Wrap(t, h, &openapitest.Options{Skip: func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, "/api/v1/test/")
	}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, svc: svc, srv: srv, logs: logs, sentry: st}
}

// client is one user agent with its own cookie jar.
type client struct {
	e      *env
	hc     *http.Client
	header http.Header
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}, header: http.Header{}}
}

// response is a finished request.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

func (r response) code(t *testing.T) string {
	t.Helper()
	c, _ := r.json(t)["code"].(string)
	return c
}

// do sends body (a string is sent as is, anything else as JSON).
func (c *client) do(method, path string, body any, hdr ...string) response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (c *client) want(status int, method, path string, body any, hdr ...string) response {
	c.e.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.Status != status {
		c.e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, status)
	}
	return r
}

// cookie returns the session cookie the client holds.
func (c *client) cookie() string {
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL, nil)
	for _, ck := range c.hc.Jar.Cookies(req.URL) {
		if ck.Name == c.e.svc.CookieName() {
			return ck.Value
		}
	}
	return ""
}

// register makes an account and returns its logged-in client.
func (e *env) register(email, password string) *client {
	e.t.Helper()
	c := e.client()
	c.want(http.StatusCreated, "POST", "/api/v1/auth/register", map[string]any{"email": email, "password": password, "displayName": "Test User"})
	return c
}

// waitMail waits for the background worker to put a mail for to in the
// outbox and returns the secret in its link.
func (e *env) waitMail(to, prefix string) string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := e.svc.store.Outbox(context.Background(), to, 10)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, m := range msgs { // newest first
			if i := strings.Index(m.Text, "#token="+prefix); i >= 0 {
				rest := m.Text[i+len("#token="):]
				if j := strings.IndexAny(rest, " \n"); j >= 0 {
					rest = rest[:j]
				}
				return rest
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("no %s mail for %s", prefix, to)
	return ""
}
