// Package middleware is the HTTP stack every request passes through: a
// request id (X-Request-ID honoured when sane), per-request info for the
// layers below (internal/reqinfo), a request body limit, panic recovery
// into a problem+json 500, Prometheus metrics per route pattern, one log
// line per request, and error reports for panics and 5xx responses.
package middleware

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/errreport"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
)

// DefaultMaxBodyBytes is the request body limit when Options leaves it 0.
const DefaultMaxBodyBytes = 32 << 20

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-ID"

// Options configures Wrap. Logger is required; every other field has a
// documented zero value.
type Options struct {
	Logger *slog.Logger // required
	// Registerer receives the HTTP metrics. Nil means no metrics.
	Registerer prometheus.Registerer
	// Reporter receives panics and 5xx errors. Nil means none.
	Reporter errreport.Reporter
	// MaxBodyBytes caps every request body. 0 means DefaultMaxBodyBytes;
	// negative means no cap (handlers must then limit bodies themselves).
	// Handlers may apply a smaller limit; JSON endpoints use respond.Decode.
	MaxBodyBytes int64
}

type stack struct {
	next     http.Handler
	log      *slog.Logger
	reporter errreport.Reporter
	maxBody  int64
	metrics  *metrics
}

// Wrap returns next behind the stack. Wrap registers metrics with
// opts.Registerer, so call it once per registry.
func Wrap(next http.Handler, opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		return nil, errors.New("middleware: Options.Logger is nil")
	}
	s := &stack{next: next, log: opts.Logger, reporter: opts.Reporter, maxBody: opts.MaxBodyBytes}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.reporter == nil {
		s.reporter = errreport.Nop{}
	}
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	return s, nil
}

func (s *stack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get(RequestIDHeader)
	if !saneID(id) {
		id = newID()
	}
	ctx, info := reqinfo.New(r.Context(), id)
	r = r.WithContext(ctx)
	rec := &recorder{ResponseWriter: w}
	h := rec.Header()
	h.Set(RequestIDHeader, id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	if s.maxBody > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(rec, r.Body, s.maxBody)
	}

	var panicVal any
	defer func() {
		if p := recover(); p != nil {
			panicVal = p
			stackTrace := debug.Stack()
			err := fmt.Errorf("panic: %v", p)
			s.log.LogAttrs(ctx, slog.LevelError, "panic", slog.String("request_id", id),
				slog.Any("panic", p), slog.String("stack", string(stackTrace)))
			if !rec.wroteHeader && !rec.hijacked {
				respond.Error(rec, r, apperr.E("http", apperr.Internal, err))
			} else {
				reqinfo.SetError(ctx, err, "internal")
			}
		}
		s.finish(ctx, r, rec, info, start, panicVal)
		if panicVal == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, compared as net/http does
			panic(panicVal) // let net/http abort the connection, as the handler asked
		}
	}()
	s.next.ServeHTTP(rec, r)
}

func (s *stack) finish(ctx context.Context, r *http.Request, rec *recorder, info *reqinfo.Info, start time.Time, panicVal any) {
	status := rec.status
	switch {
	case rec.hijacked:
		status = http.StatusSwitchingProtocols
	case !rec.wroteHeader:
		status = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	dur := time.Since(start)
	if s.metrics != nil {
		s.metrics.observe(r.Method, route, status, dur)
	}

	err := info.Err()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("request_id", info.ID()),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", dur),
		slog.String("remote", r.RemoteAddr),
	}
	if u := info.User(); u != "" {
		attrs = append(attrs, slog.String("user_id", u))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()), slog.String("code", info.ProblemCode()))
	}
	s.log.LogAttrs(ctx, level, "request", attrs...)

	if status >= 500 && panicVal != http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
		if err == nil {
			err = fmt.Errorf("http: %s %s answered %d", r.Method, route, status)
		}
		s.reporter.Report(ctx, errreport.Event{
			Err:       err,
			Panic:     panicVal,
			Status:    status,
			RequestID: info.ID(),
			UserID:    info.User(),
			Route:     route,
			Request:   r,
		})
	}
}

// saneID accepts 1-128 characters of [A-Za-z0-9._:-], so a client's id
// cannot inject into logs or headers.
func saneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// recorder notes the status and size of a response. It passes Flush and
// Hijack through (WebSockets need them) and supports
// http.ResponseController via Unwrap.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader && code >= 200 { // 1xx informational headers are not final
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.status = http.StatusOK
		r.wroteHeader = true
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if !r.wroteHeader {
		r.status = http.StatusOK
		r.wroteHeader = true
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.hijacked = true
	}
	return c, rw, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "maxbooster",
			Subsystem: "http",
			Name:      "requests_total",
			Help:      "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "maxbooster",
			Subsystem: "http",
			Name:      "request_duration_seconds",
			Help:      "HTTP request latency by method and route pattern.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("middleware: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		method = "OTHER" // bound label cardinality
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}
