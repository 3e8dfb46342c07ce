package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/assets"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/internal/errreport"
	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
)

// Main is the running server: every long-lived dependency, wired by hand
// in Run and released in Close. Tests build one with NewMain, Run it on
// port 0 and Close it.
type Main struct {
	Config     Config
	Logger     *slog.Logger
	DB         *store.DB
	Redis      redis.UniversalClient // nil without MB_REDIS_URL
	Reporter   errreport.Reporter
	Metrics    *prometheus.Registry
	Lifecycle  *lifecycle.Group
	HTTP       *http.Server
	InstanceID string

	ln        net.Listener
	serveDone chan error // receives Serve's result once

	// extraRoutes, when set (tests), mounts more routes behind the
	// middleware.
	extraRoutes func(mux *http.ServeMux)

	closeOnce sync.Once
	closeErr  error
}

// NewMain returns an unstarted server for cfg.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger, Lifecycle: lifecycle.New(), Reporter: errreport.Nop{}}
}

// Run opens the database (migrating it when configured), connects to
// Redis when configured, and starts serving HTTP in the background. It
// returns once the listener is open; Done reports if serving stops by
// itself. On error, call Close to release what was opened.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	if err := cfg.checkNodeURL(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}

	db, err := store.Open(ctx, cfg.Database())
	if err != nil {
		return err
	}
	m.DB = db
	if cfg.Migrate {
		if _, err := db.Migrate(ctx, store.MigrateOptions{Logger: m.Logger}); err != nil {
			return err
		}
	}
	if m.InstanceID, err = db.InstanceID(ctx); err != nil {
		return err
	}

	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("redis: %w", err) // validated already; kept for safety
		}
		m.Redis = redis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = m.Redis.Ping(pctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis at %s: %w", opts.Addr, err)
		}
	}

	if cfg.SentryDSN != "" {
		rep, err := errreport.NewSentry(errreport.SentryOptions{
			DSN:         cfg.SentryDSN,
			Environment: cfg.SentryEnvironment,
			Release:     version,
			ServerName:  m.InstanceID,
		})
		if err != nil {
			return err
		}
		m.Reporter = rep
	}

	m.Metrics = prometheus.NewRegistry()
	m.Metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)

	assetCfg, err := m.assetsConfig(ctx)
	if err != nil {
		return err
	}

	secretKeys, from, err := cfg.SecretKeys()
	if err != nil {
		return err
	}
	if secretKeys == nil {
		m.Logger.WarnContext(ctx, "no secrets key: room-token signing keys are stored unencrypted; set MB_SECRETS_KEY (the same on every node)")
	} else {
		m.Logger.InfoContext(ctx, "secrets at rest sealed", slog.String("key_from", from), slog.String("key_id", secretKeys.CurrentID()))
	}

	handler, err := api.NewHandler(api.Deps{
		Logger:         m.Logger,
		DB:             m.DB,
		Redis:          m.Redis,
		RedisPrefix:    cfg.RedisPrefix,
		Metrics:        m.Metrics,
		MetricsToken:   cfg.MetricsToken,
		Reporter:       m.Reporter,
		Lifecycle:      m.Lifecycle,
		PublicURL:      cfg.Public(),
		SecureCookies:  cfg.Secure(),
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Version:        version,
		ExtraRoutes:    m.extraRoutes,
		Mail:           mail.Config{SMTPURL: cfg.SMTPURL, SendGridAPIKey: cfg.SendGridAPIKey, From: cfg.MailFrom},
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		RTC:            rtc.Config{UDP: cfg.RTCUDP, TCP: cfg.RTCTCP, PublicIPs: cfg.RTCPublicIPs},
		RTCNodeURL:     cfg.NodeURL,
		Payments:       cfg.Payments(),
		Assets:         assetCfg,
		SecretKeys:     secretKeys,
	})
	if err != nil {
		return err
	}

	m.HTTP = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	m.ln = ln
	m.serveDone = make(chan error, 1)
	go func() { // owned by Main; returns when Close shuts the server down
		m.serveDone <- m.HTTP.Serve(ln)
	}()

	m.Logger.LogAttrs(ctx, slog.LevelInfo, "Max Booster is running",
		slog.String("url", m.URL()),
		slog.String("listen", ln.Addr().String()),
		slog.String("database", m.DB.String()),
		slog.Bool("redis", m.Redis != nil),
		slog.Bool("sentry", cfg.SentryDSN != ""),
		slog.String("instance", m.InstanceID),
		slog.String("version", version),
	)
	return nil
}

// Addr returns the address the server listens on (useful with port 0).
func (m *Main) Addr() net.Addr { return m.ln.Addr() }

// URL returns the URL to reach this server: the public URL if configured,
// else http://ADDR of the listener.
func (m *Main) URL() string {
	if m.Config.PublicURL != "" {
		return m.Config.Public().String()
	}
	host, port, _ := net.SplitHostPort(m.ln.Addr().String())
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Done receives the error that stopped serving on its own (e.g. the
// listener failed). It never receives after a normal Close.
func (m *Main) Done() <-chan error { return m.serveDone }

// Close shuts down gracefully within ctx's deadline: it stops accepting
// connections and marks /readyz as draining, lets in-flight requests
// finish while closing long-lived connections (WebSockets) properly, then
// runs flush hooks so buffered state reaches storage, flushes the error
// reporter, and closes Redis and the database. If the deadline passes,
// remaining connections are cut. Close is safe to call more than once and
// on a Main whose Run failed.
func (m *Main) Close(ctx context.Context) error {
	m.closeOnce.Do(func() { m.closeErr = m.close(ctx) })
	return m.closeErr
}

func (m *Main) close(ctx context.Context) error {
	var errs []error
	if m.HTTP != nil {
		m.Logger.LogAttrs(ctx, slog.LevelInfo, "shutting down", slog.Int("long_lived_connections", m.Lifecycle.Active()))
		var wg sync.WaitGroup
		wg.Go(func() {
			// A connection that fails to say goodbye is logged, not fatal.
			if err := m.Lifecycle.Shutdown(ctx); err != nil {
				m.Logger.LogAttrs(ctx, slog.LevelWarn, "closing long-lived connections", slog.String("error", err.Error()))
			}
		})
		err := m.HTTP.Shutdown(ctx)
		wg.Wait()
		if err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			_ = m.HTTP.Close() // deadline passed: cut what is left
		}
		if serveErr := <-m.serveDone; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http serve: %w", serveErr))
		}
	} else {
		_ = m.Lifecycle.Shutdown(ctx)
	}
	if m.DB != nil {
		if err := m.Lifecycle.Flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if !m.Reporter.Flush(ctx) {
		m.Logger.LogAttrs(ctx, slog.LevelWarn, "error reports not all sent before shutdown deadline")
	}
	if m.Redis != nil {
		if err := m.Redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("redis close: %w", err))
		}
	}
	if m.DB != nil {
		if err := m.DB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("database close: %w", err))
		}
	}
	err := errors.Join(errs...)
	if err == nil {
		m.Logger.LogAttrs(ctx, slog.LevelInfo, "stopped cleanly")
	}
	return err
}

// runServe is the serve command: run until SIGINT/SIGTERM, then shut
// down gracefully and exit 0.
func runServe(ctx context.Context, c *cli, args []string) int {
	cfg, rest, code, ok := c.configOrExit("serve", args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(c.stderr, "maxbooster: serve takes no arguments, got %q\n", rest)
		return exitUsage
	}
	logger := newLogger(c.stderr, cfg)
	slog.SetDefault(logger)
	redis.SetLogger(redisLogger{logger}) // go-redis logs through a global; route it to ours

	m := NewMain(cfg, logger)
	if err := m.Run(ctx); err != nil {
		logger.LogAttrs(ctx, slog.LevelError, "start failed", slog.String("error", err.Error()))
		cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = m.Close(cctx)
		return exitFailed
	}
	var serveErr error
	select {
	case <-ctx.Done():
		logger.LogAttrs(context.Background(), slog.LevelInfo, "signal received; a second one exits at once",
			slog.Duration("deadline", cfg.ShutdownTimeout))
		c.stopSignals() // a second Ctrl-C now kills the process
	case serveErr = <-m.Done():
		logger.LogAttrs(context.Background(), slog.LevelError, "server stopped", slog.Any("error", serveErr))
		m.serveDone <- serveErr // Close reads it again
	}
	cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := m.Close(cctx); err != nil {
		logger.LogAttrs(cctx, slog.LevelError, "shutdown incomplete", slog.String("error", err.Error()))
		return exitFailed
	}
	if serveErr != nil {
		return exitFailed
	}
	return exitOK
}

// redisLogger routes go-redis's internal messages (pool dial failures) to
// slog at warn level.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.LogAttrs(ctx, slog.LevelWarn, "redis", slog.String("detail", fmt.Sprintf(format, v...)))
}

// assetsConfig opens the blob store (S3-compatible when MB_S3_ENDPOINT is
// set, else DATA-DIR/blobs) and the asset limits.
func (m *Main) assetsConfig(ctx context.Context) (assets.Config, error) {
	cfg := m.Config
	tmp := filepath.Join(cfg.DataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return assets.Config{}, fmt.Errorf("create temp directory: %w", err)
	}
	var blobs blob.Store
	if cfg.S3Endpoint != "" {
		if cfg.S3Bucket == "" {
			return assets.Config{}, fmt.Errorf("%w: MB_S3_BUCKET (--s3-bucket) is required with MB_S3_ENDPOINT", ErrConfig)
		}
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		s3, err := blob.NewS3(sctx, blob.S3Options{
			Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle, TempDir: tmp,
		})
		cancel()
		if err != nil {
			return assets.Config{}, err
		}
		blobs = s3
	} else {
		local, err := blob.NewLocal(filepath.Join(cfg.DataDir, "blobs"))
		if err != nil {
			return assets.Config{}, err
		}
		if _, err := local.CleanTemp(time.Hour); err != nil {
			m.Logger.Warn("blob: clean temporary files", "err", err)
		}
		blobs = local
	}
	return assets.Config{
		Blobs:               blobs,
		UploadDir:           filepath.Join(cfg.DataDir, "uploads"),
		TempDir:             tmp,
		MaxUploadBytes:      cfg.MaxUploadBytes,
		MaxSeconds:          cfg.MaxAudioDuration.Seconds(),
		QuotaBytes:          cfg.StorageQuota,
		AbandonUploadsAfter: cfg.UploadAbandon,
		Workers:             cfg.JobWorkers,
		JobTimeout:          cfg.JobTimeout,
	}, nil
}
