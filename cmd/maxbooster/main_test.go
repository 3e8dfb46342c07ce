package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/errreport/sentrytest"
	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestMain lets the test binary stand in for the real one: with
// MB_TEST_RUN_MAIN=1 it runs main() with the remaining arguments.
func TestMain(m *testing.M) {
	if os.Getenv("MB_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"maxbooster"}, strings.Fields(os.Getenv("MB_TEST_MAIN_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string // substring of the one error line
		notWant string
	}{
		{name: "bad listen flag", args: []string{"serve", "--listen", "nope"}, want: `--listen="nope" (MB_LISTEN)`},
		{name: "bad listen env", env: map[string]string{"MB_LISTEN": "1.2.3.4:99999"}, want: `MB_LISTEN="1.2.3.4:99999" (--listen)`},
		{name: "log level", env: map[string]string{"MB_LOG_LEVEL": "loud"}, want: "MB_LOG_LEVEL"},
		{name: "log format", args: []string{"--log-format", "xml"}, want: "--log-format"},
		{name: "database scheme hides password", env: map[string]string{"MB_DATABASE_URL": "mysql://root:hunter2@db/x"}, want: "MB_DATABASE_URL (--database-url)", notWant: "hunter2"},
		{name: "redis url", args: []string{"--redis-url", "http://x:pw@h"}, want: "--redis-url (MB_REDIS_URL)", notWant: "pw@"},
		{name: "redis prefix space", env: map[string]string{"MB_REDIS_PREFIX": "mb staging:"}, want: "MB_REDIS_PREFIX"},
		{name: "redis prefix empty", args: []string{"--redis-prefix", ""}, want: "--redis-prefix"},
		{name: "public url relative", env: map[string]string{"MB_PUBLIC_URL": "example.com/app"}, want: "MB_PUBLIC_URL"},
		{name: "sentry dsn", env: map[string]string{"MB_SENTRY_DSN": "not-a-dsn"}, want: "MB_SENTRY_DSN"},
		{name: "secure cookies", args: []string{"--secure-cookies", "maybe"}, want: "--secure-cookies"},
		{name: "timeout", env: map[string]string{"MB_SHUTDOWN_TIMEOUT": "-5s"}, want: "MB_SHUTDOWN_TIMEOUT"},
		{name: "body size", args: []string{"--max-body-bytes", "12 parsecs"}, want: "--max-body-bytes"},
		{name: "migrate bool", env: map[string]string{"MB_MIGRATE": "perhaps"}, want: "MB_MIGRATE"},
		{name: "unknown flag", args: []string{"--colour"}, want: "-colour"},
		{name: "stray argument", args: []string{"serve", "now"}, want: "serve takes no arguments"},
		{name: "migrate bad config", args: []string{"migrate", "--data-dir", ""}, want: "--data-dir"},
		{name: "upload size", env: map[string]string{"MB_MAX_UPLOAD_BYTES": "0"}, want: "MB_MAX_UPLOAD_BYTES"},
		{name: "audio duration", args: []string{"--max-audio-duration", "forever"}, want: "--max-audio-duration"},
		{name: "quota", env: map[string]string{"MB_STORAGE_QUOTA": "lots"}, want: "MB_STORAGE_QUOTA"},
		{name: "job workers", env: map[string]string{"MB_JOB_WORKERS": "0"}, want: "MB_JOB_WORKERS"},
		{name: "job timeout", args: []string{"--job-timeout", "0s"}, want: "--job-timeout"},
		{name: "s3 endpoint hides credentials", env: map[string]string{"MB_S3_ENDPOINT": "https://key:hunter2@s3.example.com"}, want: "MB_S3_ENDPOINT (--s3-endpoint)", notWant: "hunter2"},
		{name: "s3 endpoint scheme", args: []string{"--s3-endpoint", "s3.example.com"}, want: "--s3-endpoint"},
		{name: "s3 path style", env: map[string]string{"MB_S3_PATH_STYLE": "sometimes"}, want: "MB_S3_PATH_STYLE"},
		{name: "stripe key", env: map[string]string{"MB_STRIPE_SECRET_KEY": "pk_test_123"}, want: "MB_STRIPE_SECRET_KEY"},
		{name: "stripe webhook secret", args: []string{"--stripe-webhook-secret", "secret"}, want: "--stripe-webhook-secret"},
		{name: "stripe api base", env: map[string]string{"MB_STRIPE_API_BASE": "127.0.0.1:12111"}, want: "MB_STRIPE_API_BASE"},
		{name: "payments fee", env: map[string]string{"MB_PAYMENTS_FEE_BPS": "10000"}, want: "MB_PAYMENTS_FEE_BPS"},
		{name: "payments admins", env: map[string]string{"MB_PAYMENTS_ADMINS": "ops@example.com,Bob <bob@example.com>"}, want: "MB_PAYMENTS_ADMINS"},
		{name: "rtc udp", env: map[string]string{"MB_RTC_UDP": "localhost:3478"}, want: "MB_RTC_UDP"},
		{name: "rtc tcp", args: []string{"--rtc-tcp", "0.0.0.0:99999"}, want: "--rtc-tcp"},
		{name: "rtc public ip", env: map[string]string{"MB_RTC_PUBLIC_IP": "203.0.113.7,nope"}, want: "MB_RTC_PUBLIC_IP"},
		{name: "node url not a url", args: []string{"--node-url", "10.0.0.5:8080"}, want: "--node-url (MB_NODE_URL)"},
		{name: "node url with credentials", env: map[string]string{"MB_NODE_URL": "http://u:hunter2@10.0.0.5:8080"}, want: "MB_NODE_URL (--node-url)", notWant: "hunter2"},
		{name: "node url required with redis", env: map[string]string{"MB_REDIS_URL": "redis://127.0.0.1:6379/0"}, want: "MB_NODE_URL (--node-url) is required with MB_REDIS_URL"},
		{name: "secrets key hidden", env: map[string]string{"MB_SECRETS_KEY": "c2hvcnQta2V5LWh1bnRlcjI="}, want: "MB_SECRETS_KEY (--secrets-key): secrets key 1 is 17 bytes, want 32", notWant: "c2hvcnQta2V5LWh1bnRlcjI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), func() {}, tt.args, &stdout, &stderr, envFunc(tt.env))
			if code != exitUsage {
				t.Errorf("exit = %d, want %d", code, exitUsage)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr = %q, want one line containing %q", stderr.String(), tt.want)
			}
			if tt.notWant != "" && strings.Contains(stderr.String(), tt.notWant) {
				t.Errorf("stderr echoes a secret: %q", stderr.String())
			}
		})
	}
}

func TestConfigPrecedenceAndDefaults(t *testing.T) {
	env := envFunc(map[string]string{"MB_LISTEN": "127.0.0.1:9000", "MB_LOG_FORMAT": "json", "MB_PUBLIC_URL": "https://studio.example/"})
	cfg, _, err := parseConfig("serve", []string{"--listen", "0.0.0.0:9100", "--max-body-bytes", "10MiB"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:9100" {
		t.Errorf("Listen = %q, want the flag's value", cfg.Listen)
	}
	if cfg.LogFormat != "json" {
		t.Errorf("LogFormat = %q, want the env value", cfg.LogFormat)
	}
	if cfg.MaxBodyBytes != 10<<20 {
		t.Errorf("MaxBodyBytes = %d", cfg.MaxBodyBytes)
	}
	if !cfg.Secure() || cfg.Public().String() != "https://studio.example" {
		t.Errorf("Secure = %v, Public = %v; want true, https://studio.example", cfg.Secure(), cfg.Public())
	}

	def, _, err := parseConfig("serve", nil, envFunc(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if def.Listen != "127.0.0.1:8080" || def.Database() != "sqlite:"+filepath.Join("data", "maxbooster.db") || def.Secure() || def.Public().String() != "http://127.0.0.1:8080" {
		t.Errorf("defaults: listen %q db %q secure %v public %v", def.Listen, def.Database(), def.Secure(), def.Public())
	}
}

func TestServeHelpListsEverySetting(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), func() {}, []string{"serve", "--help"}, &stdout, &stderr, envFunc(nil)); code != exitOK {
		t.Fatalf("exit = %d, stderr %q", code, stderr.String())
	}
	for _, s := range settings {
		if !strings.Contains(stdout.String(), "--"+s.flag+" ") || !strings.Contains(stdout.String(), s.env) {
			t.Errorf("--help lacks --%s / %s", s.flag, s.env)
		}
	}
	// The README's configuration table lists them too.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !bytes.Contains(readme, []byte("`"+s.env+"`")) {
			t.Errorf("README.md does not document %s", s.env)
		}
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), func() {}, []string{"version"}, &stdout, &stderr, envFunc(nil)); code != exitOK || !strings.HasPrefix(stdout.String(), "maxbooster ") {
		t.Errorf("version: exit %d, out %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), func() {}, []string{"frobnicate"}, &stdout, &stderr, envFunc(nil)); code != exitUsage || !strings.Contains(stderr.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, err %q", code, stderr.String())
	}
}

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.ShutdownTimeout = 10 * time.Second
	return cfg
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startMain runs a Main and closes it when the test ends.
func startMain(t *testing.T, m *Main) {
	t.Helper()
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close(context.Background())
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func get(t *testing.T, url string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: body %q: %v", url, body, err)
	}
	return resp.StatusCode
}

func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMainServesSQLite(t *testing.T) {
	m := NewMain(testConfig(t), testLogger(t))
	startMain(t, m)

	var health map[string]string
	if code := get(t, m.URL()+"/healthz", &health); code != http.StatusOK || health["status"] != "ok" {
		t.Errorf("/healthz = %d %v", code, health)
	}
	var ready api.Readiness
	if code := get(t, m.URL()+"/readyz", &ready); code != http.StatusOK || ready.Status != "ok" || ready.Checks["database"].Status != "ok" {
		t.Errorf("/readyz = %d %+v", code, ready)
	}
	if _, ok := ready.Checks["redis"]; ok {
		t.Errorf("/readyz reports redis, which is not configured: %+v", ready)
	}
	var p respond.Problem
	if code := get(t, m.URL()+"/api/v1/no/such/page", &p); code != http.StatusNotFound || p.Code != "not_found" || p.RequestID == "" {
		t.Errorf("unknown path = %d %+v", code, p)
	}
	code, metrics := getText(t, m.URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`maxbooster_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`maxbooster_http_request_duration_seconds_bucket{method="GET",route="GET /readyz"`,
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(m.Config.DataDir, "maxbooster.db")); err != nil {
		t.Errorf("SQLite file not in the data dir: %v", err)
	}
}

func TestMainWithPostgresAndRedis(t *testing.T) {
	cfg := testConfig(t)
	cfg.DatabaseURL = storetest.PostgresURL(t)
	addr := redistest.Addr(t)
	cfg.RedisURL = "redis://" + addr + "/0" // only PINGed here; no keys written
	cfg.NodeURL = "http://127.0.0.1:1"      // rtc leases are taken only when someone joins
	m := NewMain(cfg, testLogger(t))
	startMain(t, m)

	var ready api.Readiness
	code := get(t, m.URL()+"/readyz", &ready)
	if code != http.StatusOK || ready.Checks["database"].Status != "ok" || ready.Checks["redis"].Status != "ok" {
		t.Errorf("/readyz = %d %+v", code, ready)
	}
	if m.DB.Dialect().String() != "postgres" {
		t.Errorf("dialect = %v", m.DB.Dialect())
	}
}

func TestReadyzReportsBrokenDependency(t *testing.T) {
	m := NewMain(testConfig(t), testLogger(t))
	startMain(t, m)
	_ = m.DB.SQL().Close() // the database goes away under the server
	var ready api.Readiness
	code := get(t, m.URL()+"/readyz", &ready)
	if code != http.StatusServiceUnavailable || ready.Status != "unavailable" || ready.Checks["database"].Status != "fail" {
		t.Errorf("/readyz = %d %+v, want 503 with database failing", code, ready)
	}
	if code := get(t, m.URL()+"/healthz", &map[string]string{}); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200 (liveness does not depend on the database)", code)
	}
}

func TestRunFailsCleanlyWhenRedisIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	cfg := testConfig(t)
	cfg.RedisURL = "redis://" + addr
	cfg.NodeURL = "http://127.0.0.1:1"
	m := NewMain(cfg, testLogger(t))
	err = m.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redis at "+addr) {
		t.Errorf("Run = %v, want a redis connection error naming %s", err, addr)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("Close after failed Run: %v", err)
	}
}

// TestGracefulShutdown holds a request in flight and a long-lived
// connection open, then closes the server: the listener stops accepting,
// /readyz would say draining, the request completes, the long-lived
// connection gets its close, flush hooks run with the database still
// open, and Close returns nil.
func TestGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	cfg := testConfig(t)
	m := NewMain(cfg, testLogger(t))
	m.extraRoutes = func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			_, _ = io.WriteString(w, "finished")
		})
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	var wsClosed, flushed atomic.Bool
	done, ok := m.Lifecycle.Track("test websocket", func(ctx context.Context) error {
		wsClosed.Store(true)
		return nil
	})
	if !ok {
		t.Fatal("Track refused")
	}
	go func() { // the connection's own loop ends after its close
		for !wsClosed.Load() {
			time.Sleep(time.Millisecond)
		}
		done()
	}()
	m.Lifecycle.OnFlush("test buffer", func(ctx context.Context) error {
		// Storage is still open while flushing.
		_, err := m.DB.ExecContext(ctx, `INSERT INTO meta (key, value, updated_at) VALUES ('flushed', 'yes', ?)`, time.Now().UTC())
		flushed.Store(err == nil)
		return err
	})

	type result struct {
		code int
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, m.URL()+"/test/slow", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{code: resp.StatusCode, body: string(b), err: err}
	}()
	<-entered

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- m.Close(ctx)
	}()

	// New connections are refused once shutdown has begun.
	addr := m.Addr().String()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections 5s after Close began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !m.Lifecycle.Draining() {
		t.Error("not draining during shutdown")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	r := <-inflight
	if r.err != nil || r.code != http.StatusOK || r.body != "finished" {
		t.Errorf("in-flight request = %d %q %v, want 200 finished", r.code, r.body, r.err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if !wsClosed.Load() || !flushed.Load() {
		t.Errorf("long-lived close called %v, flush ran %v; want both", wsClosed.Load(), flushed.Load())
	}
	if err := m.DB.Ping(context.Background()); err == nil {
		t.Error("database still open after Close")
	}
}

func TestShutdownDeadlineCutsStuckRequest(t *testing.T) {
	entered := make(chan struct{})
	m := NewMain(testConfig(t), testLogger(t))
	m.extraRoutes = func(mux *http.ServeMux) {
		mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-r.Context().Done() // never finishes on its own
		})
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, m.URL()+"/stuck", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := m.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
}

func TestSentryReceivesPanicFromServer(t *testing.T) {
	sentry := sentrytest.NewServer(t)
	cfg := testConfig(t)
	cfg.SentryDSN = sentry.DSN()
	m := NewMain(cfg, testLogger(t))
	m.extraRoutes = func(mux *http.ServeMux) {
		mux.HandleFunc("POST /test/panic", func(w http.ResponseWriter, r *http.Request) {
			reqinfo.SetUser(r.Context(), "user-42") // as session middleware does
			panic("mixdown buffer overrun")
		})
	}
	startMain(t, m)

	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, m.URL()+"/test/panic", strings.NewReader(`{"password":"hunter2"}`))
	req.Header.Set("X-Request-ID", "rid-main-panic")
	req.Header.Set("Cookie", "mb_session=topsecret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p respond.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || p.RequestID != "rid-main-panic" || p.Code != "internal" {
		t.Errorf("panic answered %d %+v, want 500 problem with the request id", resp.StatusCode, p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.Reporter.Flush(ctx)
	ev := sentry.WaitEvent(t)
	if ev.Tags["request_id"] != "rid-main-panic" || ev.User.ID != "user-42" || ev.Tags["route"] != "POST /test/panic" {
		t.Errorf("event: tags %v user %q", ev.Tags, ev.User.ID)
	}
	if ev.ServerName != m.InstanceID {
		t.Errorf("server_name = %q, want instance id %q", ev.ServerName, m.InstanceID)
	}
	for _, secret := range []string{"hunter2", "topsecret"} {
		if strings.Contains(ev.Raw, secret) {
			t.Errorf("event leaks %q", secret)
		}
	}
}

// TestSignalShutdownExitsZero runs the real main (this test binary
// re-executed) on port 0, checks it answers, sends SIGTERM and expects a
// clean exit 0.
func TestSignalShutdownExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$") //nolint:gosec // our own test binary
			cmd.Env = append(os.Environ(),
				"MB_TEST_RUN_MAIN=1",
				"MB_TEST_MAIN_ARGS=serve --listen 127.0.0.1:0 --data-dir "+t.TempDir(),
				"MB_LOG_FORMAT=text",
			)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			urlRe := regexp.MustCompile(`msg="Max Booster is running" url=(\S+)`)
			sc := bufio.NewScanner(stderr)
			var url string
			var logs []string
			for sc.Scan() {
				logs = append(logs, sc.Text())
				if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
					url = m[1]
					break
				}
			}
			if url == "" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("server did not report its URL; output:\n%s", strings.Join(logs, "\n"))
			}
			if code, body := getText(t, url+"/healthz"); code != http.StatusOK {
				t.Errorf("/healthz = %d %s", code, body)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				logs = append(logs, sc.Text())
			}
			err = cmd.Wait()
			if err != nil {
				t.Errorf("exit: %v, want 0; output:\n%s", err, strings.Join(logs, "\n"))
			}
			if !strings.Contains(strings.Join(logs, "\n"), "stopped cleanly") {
				t.Errorf("no clean stop in output:\n%s", strings.Join(logs, "\n"))
			}
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	env := envFunc(map[string]string{"MB_DATA_DIR": t.TempDir(), "MB_LOG_LEVEL": "warn"})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), func() {}, []string{"migrate"}, &out, &errOut, env); code != exitOK {
		t.Fatalf("migrate: exit %d, %s", code, errOut.String())
	}
	if strings.Contains(out.String(), " 0 migration(s)") {
		t.Errorf("first migrate applied nothing: %s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), func() {}, []string{"migrate", "up"}, &out, &errOut, env); code != exitOK || !strings.Contains(out.String(), " 0 migration(s) applied") {
		t.Errorf("second migrate: exit %d, %q; want 0 applied", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), func() {}, []string{"migrate", "status"}, &out, &errOut, env); code != exitOK {
		t.Fatalf("status: exit %d", code)
	}
	if !regexp.MustCompile(`00001\s+applied\s+00001_meta.sql`).MatchString(out.String()) || strings.Contains(out.String(), "pending") {
		t.Errorf("status = %q", out.String())
	}
	if code := run(context.Background(), func() {}, []string{"migrate", "down"}, &out, &errOut, env); code != exitUsage {
		t.Errorf("migrate down: exit %d, want %d", code, exitUsage)
	}
}

func TestPaymentsConfig(t *testing.T) {
	def, _, err := parseConfig("serve", nil, envFunc(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if def.Payments().Enabled() || def.PaymentsFeeBps != 0 {
		t.Errorf("payments on by default: %+v", def.Payments())
	}
	env := envFunc(map[string]string{
		"MB_STRIPE_SECRET_KEY": "sk_test_123", "MB_STRIPE_WEBHOOK_SECRET": "whsec_abc",
		"MB_STRIPE_API_BASE": "http://127.0.0.1:12111/", "MB_PAYMENTS_FEE_BPS": "250",
		"MB_PAYMENTS_ADMINS": "ops@example.com, cfo@example.com",
	})
	cfg, _, err := parseConfig("serve", []string{"--payments-fee-bps", "0"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Payments()
	if !p.Enabled() || p.SecretKey != "sk_test_123" || p.WebhookSecret != "whsec_abc" || p.APIBase != "http://127.0.0.1:12111" ||
		p.FeeBps != 0 || len(p.AdminEmails) != 2 || p.AdminEmails[1] != "cfo@example.com" {
		t.Errorf("Payments() = %+v (the flag should win over MB_PAYMENTS_FEE_BPS)", p)
	}
}
