// Package api assembles the HTTP surface: it mounts each module's routes
// and the operational endpoints on one net/http pattern mux and wraps the
// mux in the middleware stack. It holds no business logic.
//
// Adding a module: give it a constructor that takes what it needs from
// Deps and a Routes(mux *http.ServeMux) method, and call both in
// NewHandler under "Modules". Route patterns include the method
// ("POST /api/tracks"), so metrics and logs are per route.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/api/assets"
	"github.com/maxbooster/maxbooster/api/openapi"
	"github.com/maxbooster/maxbooster/api/payments"
	"github.com/maxbooster/maxbooster/api/projects"
	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/errreport"
	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/internal/middleware"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/webclient"
)

// Deps is everything the HTTP layer and its modules are built from. Main
// fills it; tests fill what they need.
type Deps struct {
	Logger *slog.Logger // required
	DB     *store.DB    // required
	// Redis is nil on a single node: modules then use their in-process
	// implementations (rate limits, fan-out, sessions).
	Redis redis.UniversalClient
	// RedisPrefix starts every key the modules write in Redis; "" means
	// "mb:".
	RedisPrefix string
	// Metrics is the Prometheus registry served at /metrics; modules may
	// register their own collectors on it. Nil disables /metrics.
	Metrics *prometheus.Registry
	// MetricsToken, if set, is the bearer token /metrics requires; empty
	// means /metrics answers only clients connecting from loopback.
	MetricsToken string
	// Reporter receives panics and 5xx errors. Nil means none.
	Reporter errreport.Reporter
	// Lifecycle tracks long-lived connections, workers and flush hooks for
	// graceful shutdown. Nil means a private one (tests).
	Lifecycle *lifecycle.Group
	// PublicURL is the base URL clients reach the server at, for links in
	// mail and absolute URLs.
	PublicURL *url.URL
	// SecureCookies sets the Secure flag on cookies (true behind HTTPS).
	SecureCookies bool
	// MaxBodyBytes caps request bodies; 0 means
	// middleware.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Version is the build version, reported by /healthz.
	Version string
	// Mail selects how account mail is sent (SMTP or SendGrid); the zero
	// value keeps it in the outbox table.
	Mail mail.Config
	// CORSOrigins may call the API from browsers; none means CORS is off.
	CORSOrigins []string
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the
	// client (rate limits, audit log); none means the peer address counts.
	TrustedProxies []netip.Prefix
	// Projects tunes the projects module (clock, purge interval, limits);
	// the zero value means its defaults.
	Projects projects.Settings
	// Assets configures uploaded audio (api/assets): the blob store, the
	// tus upload directory, limits and job workers. Without Assets.Blobs
	// the asset, job and upload routes are not mounted.
	Assets assets.Config
	// RTC configures WebRTC previews and live sessions (package rtc): the
	// UDP port all peers share, the ICE-TCP fallback, public IPs. The zero
	// value uses a free UDP port on 127.0.0.1.
	RTC rtc.Config
	// RTCNodeURL is the URL other nodes reach this one at. With Redis, it
	// makes the nodes share rtc rooms: each project's room is leased to
	// one node (rtc/redislease) and signalling arriving elsewhere is
	// relayed there. Empty keeps rtc rooms per node.
	RTCNodeURL string
	// Payments configures Stripe Connect payments (api/payments); without a
	// secret key the module is not mounted.
	Payments payments.Config
	// SecretKeys seal secrets the modules keep at rest (the room-token
	// signing keys); nil stores them plain.
	SecretKeys *session.SecretKeys
	// ExtraRoutes, if set, mounts more routes after the modules, behind the
	// same middleware. Tests use it for handlers that hang or panic.
	ExtraRoutes func(mux *http.ServeMux)
}

// redisPrefix returns d.RedisPrefix, "mb:" when it is empty.
func (d Deps) redisPrefix() string {
	if d.RedisPrefix == "" {
		return "mb:"
	}
	return d.RedisPrefix
}

// NewHandler returns the server's root handler.
func NewHandler(d Deps) (http.Handler, error) {
	if d.Lifecycle == nil {
		d.Lifecycle = lifecycle.New()
	}
	mux := http.NewServeMux()

	// Operational endpoints.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok", "version": d.Version})
	})
	mux.Handle("GET /readyz", readyHandler(d))
	if d.Metrics != nil {
		mux.Handle("GET /metrics", metricsGuard(d.MetricsToken, promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{
			ErrorLog:          slog.NewLogLogger(d.Logger.Handler(), slog.LevelError),
			EnableOpenMetrics: true,
		})))
	}

	// Modules mount here, one block each.

	// Accounts, sessions, tokens, teams, audit log (package session). Its
	// Middleware wraps the whole mux below: modules read the caller with
	// session.UserFromContext; collab and rtc use auth.RoomTokens().
	mailer, err := mail.New(d.Mail)
	if err != nil {
		return nil, err
	}
	auth, err := session.New(session.Options{
		DB: d.DB, Logger: d.Logger, Redis: d.Redis, RedisPrefix: d.redisPrefix(), Mailer: mailer,
		PublicURL: d.PublicURL, SecureCookies: d.SecureCookies, CORSOrigins: d.CORSOrigins,
		TrustedProxies: d.TrustedProxies,
		Unthrottled:    unthrottled(d),
		SecretKeys:     d.SecretKeys,
	})
	if err != nil {
		return nil, err
	}
	if err := d.Lifecycle.Go(auth.Run); err != nil {
		return nil, err
	}
	auth.Routes(mux)
	mux.Handle("GET "+openapi.Path, openapi.Handler())

	// Real-time collaboration (package collab), see collab.go.
	// The collab authorizer asks projects for the caller's current role at
	// every join; the service is built below, before any request is served.
	var projectsSvc *projects.Service
	hub, docs, err := mountCollab(mux, d, auth.RoomTokens(), func(ctx context.Context, userID, projectID string) (string, error) {
		return projectsSvc.Access(ctx, userID, projectID)
	})
	if err != nil {
		return nil, err
	}

	// Projects: members, invitations, trash, checkpoints (package
	// api/projects). Its Run sends invitation mail and purges the trash.
	projectMail := mailer
	if projectMail == nil {
		projectMail = &mail.Outbox{Store: auth.Store(), Log: d.Logger}
	}
	projectsSvc, err = projects.New(projects.Options{
		DB: d.DB, Docs: docs, Hub: hub, Tokens: auth.RoomTokens(), Logger: d.Logger, Mailer: projectMail,
		PublicURL: d.PublicURL, Redis: d.Redis, RedisPrefix: d.redisPrefix(), Settings: d.Projects,
		Audit: func(ctx context.Context, userID, event, detail string) {
			if err := auth.Store().AddAudit(ctx, session.AuditEvent{UserID: userID, Event: event, Detail: detail}); err != nil {
				d.Logger.ErrorContext(ctx, "projects: audit log write failed", "event", event, "error", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if err := d.Lifecycle.Go(projectsSvc.Run); err != nil {
		return nil, err
	}
	projectsSvc.Routes(mux)

	var rtcAssets *assets.Service // set when assets are mounted, for rtc below
	// Assets: plain and tus uploads, analysis, preview, peaks, processing
	// jobs with progress events (package api/assets). Its Run works the
	// audio job queue.
	if d.Assets.Blobs != nil {
		ac := d.Assets
		ac.Projects = projectsSvc
		if ac.Logger == nil {
			ac.Logger = d.Logger
		}
		assetsSvc, err := assets.NewService(d.DB, ac)
		if err != nil {
			return nil, err
		}
		if err := d.Lifecycle.Go(assetsSvc.Run); err != nil {
			return nil, err
		}
		assets.NewHandler(assetsSvc).Routes(mux)
		rtcAssets = assetsSvc
	}

	// WebRTC previews and live sessions (package rtc), see rtc.go.
	if err := mountRTC(mux, d, newRTCDeps(auth.RoomTokens(), projectsSvc.Access, hub, rtcAssets, d.Assets.Blobs)); err != nil {
		return nil, err
	}

	// Payments: Stripe Connect, the ledger, webhooks, payouts, invoices
	// (package api/payments); mounted only with a Stripe secret key.
	if d.Payments.Enabled() {
		payMail := mailer
		if payMail == nil {
			payMail = &mail.Outbox{Store: auth.Store(), Log: d.Logger}
		}
		if _, err := payments.Mount(mux, d.Payments, payments.MountOptions{
			DB: d.DB, Logger: d.Logger, Mailer: payMail, PublicURL: d.PublicURL, Lifecycle: d.Lifecycle,
		}); err != nil {
			return nil, err
		}
	}

	if d.ExtraRoutes != nil {
		d.ExtraRoutes(mux)
	}

	// Anything unmatched is a problem+json 404 rather than net/http's text,
	// but for GETs outside the API and realtime paths: those load the
	// browser studio (package webclient), whose client-side routes they are.
	studio := webclient.Handler()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !webclient.IsServerPath(r.URL.Path) {
			studio.ServeHTTP(w, r)
			return
		}
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			methodNotAllowed(w, r, allow)
			return
		}
		respond.Error(w, r, apperr.E("api", apperr.NotFound, nil))
	})

	var reg prometheus.Registerer
	if d.Metrics != nil {
		reg = d.Metrics
	}
	return middleware.Wrap(assets.TusPreflight(d.CORSOrigins, auth.Middleware(mux)), middleware.Options{
		Logger:       d.Logger,
		Registerer:   reg,
		Reporter:     d.Reporter,
		MaxBodyBytes: d.MaxBodyBytes,
	})
}

// Check is the state of one dependency in a /readyz answer.
type Check struct {
	Status    string  `json:"status"` // "ok" or "fail"
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Readiness is the /readyz body.
type Readiness struct {
	Status string           `json:"status"` // "ok", "unavailable" or "draining"
	Checks map[string]Check `json:"checks"`
}

// readyHandler pings each configured dependency (database; redis when
// configured) and answers 200 when all answer, else 503. While shutting
// down it answers 503 "draining" so load balancers stop routing here.
func readyHandler(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		checks := map[string]func(context.Context) error{}
		if d.DB != nil {
			checks["database"] = d.DB.Ping
		}
		if d.Redis != nil {
			checks["redis"] = func(ctx context.Context) error { return d.Redis.Ping(ctx).Err() }
		}
		res := Readiness{Status: "ok", Checks: make(map[string]Check, len(checks))}
		type result struct {
			name string
			c    Check
		}
		results := make(chan result, len(checks))
		for name, ping := range checks {
			go func() { // bounded by ctx; the channel is buffered
				start := time.Now()
				err := ping(ctx)
				c := Check{Status: "ok", LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
				if err != nil {
					c.Status = "fail"
					d.Logger.LogAttrs(ctx, slog.LevelWarn, "readiness check failed", slog.String("dependency", name), slog.String("error", err.Error()))
					c.Error = "unreachable" // details stay in the log
				}
				results <- result{name, c}
			}()
		}
		for range checks {
			r := <-results
			res.Checks[r.name] = r.c
			if r.c.Status != "ok" {
				res.Status = "unavailable"
			}
		}
		if d.Lifecycle.Draining() {
			res.Status = "draining"
		}
		status := http.StatusOK
		if res.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		respond.JSON(w, status, res)
	})
}

// metricsGuard keeps /metrics private: with a token, only requests that
// bear it; without, only clients connecting from a loopback address (the
// TCP peer, not a forwarded header: a reverse proxy on the same host must
// not expose it).
func metricsGuard(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				respond.Error(w, r, apperr.E("api.metrics", apperr.Unauthenticated, nil).WithCode("metrics_token_required").
					WithMsg("GET /metrics needs the metrics bearer token."))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip, perr := netip.ParseAddr(host); err != nil || perr != nil || !ip.Unmap().IsLoopback() || r.Header.Get("X-Forwarded-For") != "" {
			respond.Error(w, r, apperr.E("api.metrics", apperr.Forbidden, nil).WithCode("metrics_forbidden").
				WithMsg("GET /metrics answers loopback clients only; set MB_METRICS_TOKEN to scrape it over the network."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unthrottled lists the paths whose anonymous requests skip the per-IP
// limit: the Stripe webhook, when payments are on (Stripe delivers in
// bursts from a few addresses; the signature is the check).
func unthrottled(d Deps) []string {
	if d.Payments.Enabled() {
		return []string{payments.WebhookPath}
	}
	return nil
}

// allowedMethods lists the methods some route other than the catch-all
// serves for r's path (this catch-all matches every method, so net/http's
// own 405 never happens).
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// methodNotAllowed answers 405 with an Allow header, as problem+json.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	p := respond.ProblemFor(r, apperr.E("api", apperr.Invalid, nil))
	p.Status, p.Title, p.Code = http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed), "method_not_allowed"
	p.Detail = r.Method + " is not served here; allowed: " + strings.Join(allow, ", ") + "."
	w.Header().Set("Allow", strings.Join(allow, ", "))
	w.Header().Set("Content-Type", respond.ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_ = json.NewEncoder(w).Encode(p)
}
