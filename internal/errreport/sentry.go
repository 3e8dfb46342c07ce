package errreport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/getsentry/sentry-go"
)

// SentryOptions configures NewSentry.
type SentryOptions struct {
	DSN         string // required
	Environment string // e.g. "production"; optional
	Release     string // build version; optional
	ServerName  string // instance id or host; optional
	// HTTPTransport overrides the RoundTripper used to send events (tests).
	HTTPTransport http.RoundTripper
}

// Sentry reports to a Sentry project.
type Sentry struct {
	client *sentry.Client
}

var _ Reporter = (*Sentry)(nil)

// NewSentry returns a Reporter sending to the Sentry project named by
// opts.DSN. It does no network I/O until the first event.
func NewSentry(opts SentryOptions) (*Sentry, error) {
	if opts.DSN == "" {
		return nil, errors.New("errreport: sentry DSN is empty")
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:              opts.DSN,
		Environment:      opts.Environment,
		Release:          opts.Release,
		ServerName:       opts.ServerName,
		AttachStacktrace: true,
		HTTPTransport:    opts.HTTPTransport,
		BeforeSend:       func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event { return Scrub(ev) },
	})
	if err != nil {
		return nil, fmt.Errorf("errreport: sentry: %w", err)
	}
	return &Sentry{client: client}, nil
}

// Report sends ev asynchronously.
func (s *Sentry) Report(ctx context.Context, ev Event) {
	scope := sentry.NewScope()
	if ev.RequestID != "" {
		scope.SetTag("request_id", ev.RequestID)
	}
	if ev.Route != "" {
		scope.SetTag("route", ev.Route)
	}
	if ev.Status != 0 {
		scope.SetTag("status", fmt.Sprint(ev.Status))
	}
	if ev.UserID != "" {
		scope.SetUser(sentry.User{ID: ev.UserID})
	}
	if ev.Request != nil {
		req := safeRequest(ev.Request)
		scope.AddEventProcessor(func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event {
			e.Request = req
			return e
		})
	}
	err := ev.Err
	if err == nil && ev.Panic != nil {
		err = fmt.Errorf("panic: %v", ev.Panic)
	}
	if err == nil {
		err = errors.New("errreport: unknown error")
	}
	if ev.Panic != nil {
		scope.SetLevel(sentry.LevelFatal)
		scope.SetTag("panic", "true")
	}
	// AttachStacktrace adds the stack of this goroutine. For a panic,
	// Report runs in the recovering defer, so the panicking frames are in
	// it.
	sentry.NewHub(s.client, scope).CaptureException(err)
}

// Flush waits for queued events to be sent, until ctx is done.
func (s *Sentry) Flush(ctx context.Context) bool { return s.client.FlushWithContext(ctx) }

// safeHeaders are the only request headers sent to Sentry.
var safeHeaders = []string{"Accept", "Accept-Language", "Content-Length", "Content-Type", "Origin", "Referer", "User-Agent", "X-Request-Id"}

func safeRequest(r *http.Request) *sentry.Request {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := make(map[string]string, len(safeHeaders))
	for _, k := range safeHeaders {
		if v := r.Header.Get(k); v != "" {
			h[k] = v
		}
	}
	return &sentry.Request{
		URL:         scheme + "://" + r.Host + r.URL.Path,
		Method:      r.Method,
		QueryString: scrubQuery(r.URL.RawQuery),
		Headers:     h,
	}
}

const filtered = "[Filtered]"

// sensitiveKey matches names of fields, headers and parameters whose values
// must never leave the server.
var sensitiveKey = regexp.MustCompile(`(?i)pass|secret|token|auth|cookie|session|csrf|api[-_]?key|signature|credential|private|otp|code`)

// inlineSecret matches key=value and key: value pairs with a sensitive key
// inside free text such as error messages.
var inlineSecret = regexp.MustCompile(`(?i)((?:pass(?:word)?|secret|token|authorization|cookie|session|api[-_]?key)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;]+)`)

// bearer matches bearer credentials in free text.
var bearer = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+`)

// urlUserinfo matches passwords in URLs such as postgres://u:pw@host.
var urlUserinfo = regexp.MustCompile(`(://[^:/@\s]+):[^@/\s]+@`)

// ScrubText removes credentials from free text.
func ScrubText(s string) string {
	s = urlUserinfo.ReplaceAllString(s, "$1:"+filtered+"@")
	s = bearer.ReplaceAllString(s, "$1 "+filtered)
	return inlineSecret.ReplaceAllString(s, "${1}"+filtered)
}

func scrubQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return filtered
	}
	for k := range q {
		if sensitiveKey.MatchString(k) {
			q[k] = []string{filtered}
		}
	}
	return q.Encode()
}

// Scrub removes credentials from an event about to be sent: sensitive
// headers, cookies, bodies, attachments and query values, sensitive keys in
// tags, contexts and breadcrumbs, and credentials written inside messages. It is
// the last line of defense; events are built from allowlists first.
func Scrub(ev *sentry.Event) *sentry.Event {
	if ev == nil {
		return nil
	}
	if r := ev.Request; r != nil {
		r.Cookies = ""
		r.Data = ""
		r.Env = nil
		r.QueryString = scrubQuery(r.QueryString)
		for k := range r.Headers {
			if sensitiveKey.MatchString(k) || strings.EqualFold(k, "Set-Cookie") {
				r.Headers[k] = filtered
			}
		}
		r.URL = ScrubText(r.URL)
	}
	ev.Message = ScrubText(ev.Message)
	for i := range ev.Exception {
		ev.Exception[i].Value = ScrubText(ev.Exception[i].Value)
	}
	for k, v := range ev.Tags {
		if sensitiveKey.MatchString(k) && k != "request_id" {
			ev.Tags[k] = filtered
		} else {
			ev.Tags[k] = ScrubText(v)
		}
	}
	ev.Attachments = nil
	for _, c := range ev.Contexts {
		scrubMap(c)
	}
	for _, b := range ev.Breadcrumbs {
		b.Message = ScrubText(b.Message)
		scrubMap(b.Data)
	}
	ev.User.Email = ""
	ev.User.IPAddress = ""
	ev.User.Username = ""
	return ev
}

func scrubMap(m map[string]any) {
	for k, v := range m {
		if sensitiveKey.MatchString(k) {
			m[k] = filtered
			continue
		}
		switch v := v.(type) {
		case string:
			m[k] = ScrubText(v)
		case map[string]any:
			scrubMap(v)
		}
	}
}
