package errreport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/errreport"
	"github.com/maxbooster/maxbooster/internal/errreport/sentrytest"
)

func TestSentryReportsScrubbedEvent(t *testing.T) {
	srv := sentrytest.NewServer(t)
	rep, err := errreport.NewSentry(errreport.SentryOptions{DSN: srv.DSN(), Release: "test", ServerName: "inst-1"})
	if err != nil {
		t.Fatal(err)
	}

	r := httptest.NewRequest(http.MethodPost, "/api/login?token=abc123&page=2", strings.NewReader(`{"password":"hunter2"}`))
	r.Header.Set("Authorization", "Bearer sekrit-bearer")
	r.Header.Set("Cookie", "mb_session=sess-cookie-value")
	r.Header.Set("X-CSRF-Token", "csrf-value")
	r.Header.Set("User-Agent", "test-agent")
	rep.Report(context.Background(), errreport.Event{
		Err:       errors.New("login: db said password=hunter2 for postgres://admin:dbpass@db/mb"),
		Status:    500,
		RequestID: "rid-123",
		UserID:    "user-9",
		Route:     "POST /api/login",
		Request:   r,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !rep.Flush(ctx) {
		t.Fatal("Flush timed out")
	}

	ev := srv.WaitEvent(t)
	raw := ev.Raw
	for _, secret := range []string{"hunter2", "abc123", "sekrit-bearer", "sess-cookie-value", "csrf-value", "dbpass"} {
		if strings.Contains(raw, secret) {
			t.Errorf("event leaks %q:\n%s", secret, raw)
		}
	}
	if got := ev.Tags["request_id"]; got != "rid-123" {
		t.Errorf("request_id tag = %q, want rid-123", got)
	}
	if got := ev.User.ID; got != "user-9" {
		t.Errorf("user id = %q, want user-9", got)
	}
	if got := ev.Tags["route"]; got != "POST /api/login" {
		t.Errorf("route tag = %q", got)
	}
	if ev.Request.Headers["User-Agent"] != "test-agent" {
		t.Errorf("allowlisted header missing: %v", ev.Request.Headers)
	}
	if !strings.Contains(ev.Request.QueryString, "page=2") {
		t.Errorf("query = %q, want page=2 kept", ev.Request.QueryString)
	}
	if len(ev.Exception) == 0 || !strings.Contains(ev.Exception[0].Value, "login: db said") {
		t.Errorf("exception = %+v, want the error message", ev.Exception)
	}
	if ev.ServerName != "inst-1" || ev.Release != "test" {
		t.Errorf("server_name, release = %q, %q", ev.ServerName, ev.Release)
	}
}

func TestSentryReportsPanicWithStack(t *testing.T) {
	srv := sentrytest.NewServer(t)
	rep, err := errreport.NewSentry(errreport.SentryOptions{DSN: srv.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			p := recover()
			rep.Report(context.Background(), errreport.Event{Panic: p, RequestID: "rid-p", Status: 500})
		}()
		panic("nil map write in mixer")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep.Flush(ctx)

	ev := srv.WaitEvent(t)
	if ev.Level != "fatal" {
		t.Errorf("level = %q, want fatal", ev.Level)
	}
	if ev.Tags["request_id"] != "rid-p" {
		t.Errorf("request_id = %q", ev.Tags["request_id"])
	}
	if len(ev.Exception) == 0 || !strings.Contains(ev.Exception[0].Value, "nil map write in mixer") {
		t.Fatalf("exception = %+v", ev.Exception)
	}
	if st := ev.Exception[len(ev.Exception)-1].Stacktrace; st == nil || len(st.Frames) == 0 {
		t.Errorf("panic event has no stack trace")
	}
}

func TestNewSentryRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "not a dsn", "http://127.0.0.1/"} {
		if _, err := errreport.NewSentry(errreport.SentryOptions{DSN: dsn}); err == nil {
			t.Errorf("NewSentry(%q) = nil error", dsn)
		}
	}
}

func TestScrubText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"password=hunter2 ok", "password=[Filtered] ok"},
		{`{"token": "abc"}`, `{"token": [Filtered]}`},
		{"Authorization: Bearer xyz.abc", "Authorization: [Filtered] [Filtered]"},
		{"got bearer abc.def from client", "got bearer [Filtered] from client"},
		{"dial postgres://u:pw@h/db failed", "dial postgres://u:[Filtered]@h/db failed"},
		{"nothing secret here", "nothing secret here"},
	}
	for _, tt := range tests {
		if got := errreport.ScrubText(tt.in); got != tt.want {
			t.Errorf("ScrubText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
