package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/getsentry/sentry-go"
	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/api/payments"
	"github.com/maxbooster/maxbooster/session"
)

// Config is the server's whole configuration. DefaultConfig gives the
// defaults; flags and MB_* environment variables override them (a flag
// beats its variable). Every setting is listed by `maxbooster serve --help`
// and in README.md.
type Config struct {
	Listen            string         // address to listen on, host:port
	DataDir           string         // directory for the SQLite database and files
	DatabaseURL       string         // "" means sqlite:<DataDir>/maxbooster.db
	RedisURL          string         // "" means single node, in-process
	RedisPrefix       string         // the start of every key this server writes in Redis
	NodeURL           string         // URL other nodes reach this node at; required with RedisURL (rtc rooms)
	PublicURL         string         // "" means http://<Listen>
	LogLevel          slog.Level     // debug, info, warn, error
	LogFormat         string         // text or json
	SentryDSN         string         // "" disables error reporting
	SentryEnvironment string         // e.g. production, staging
	SecureCookies     string         // auto (from PublicURL), true or false
	MailFrom          string         // sender of account mail
	SMTPURL           string         // "" and no SendGrid key: mail goes to the outbox table
	SendGridAPIKey    string         // send account mail with the SendGrid Web API
	MetricsToken      string         // bearer token for /metrics; "" means loopback clients only
	CORSOrigins       []string       // origins allowed to call the API from browsers; none: CORS off
	TrustedProxies    []netip.Prefix // reverse proxies whose X-Forwarded-For is believed
	Migrate           bool           // apply pending migrations at start
	ShutdownTimeout   time.Duration  // how long shutdown waits for requests and connections
	MaxBodyBytes      int64          // cap on every request body
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// Assets (api/assets): limits, job workers and the blob store.
	MaxUploadBytes   int64         // largest upload (plain or tus)
	MaxAudioDuration time.Duration // longest audio accepted
	StorageQuota     int64         // bytes of originals per user; 0 means none
	UploadAbandon    time.Duration // unfinished tus uploads receiving nothing this long are removed
	JobWorkers       int           // audio jobs run at once on this node
	JobTimeout       time.Duration // time one job attempt may take
	S3Endpoint       string        // "" keeps blobs on local disk in DataDir/blobs
	S3Bucket         string
	S3Region         string
	S3AccessKey      string
	S3SecretKey      string
	S3PathStyle      bool
	RTCUDP           string   // WebRTC: the one UDP host:port every peer connection shares
	RTCTCP           string   // WebRTC: ICE-TCP fallback host:port; "" means off
	RTCPublicIPs     []string // WebRTC: public addresses announced instead of the local one (1:1 NAT)
	// Payments (api/payments): Stripe Connect; not mounted without a key.
	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIBase       string   // "" means Stripe's API; stripe-mock in tests
	PaymentsFeeBps      int64    // platform commission; 0 is zero commission
	PaymentsAdmins      []string // emails that may replay webhook events and see reconciliation
	// SecretsKey seals secrets at rest (room-token signing keys): base64
	// 32-byte keys, comma-separated, the sealing one first. "" with SQLite
	// means DataDir/secrets.key, made on first start.
	SecretsKey string
}

// Payments returns the payments module's configuration.
func (c Config) Payments() payments.Config {
	return payments.Config{
		SecretKey: c.StripeSecretKey, WebhookSecret: c.StripeWebhookSecret, APIBase: c.StripeAPIBase,
		FeeBps: c.PaymentsFeeBps, AdminEmails: c.PaymentsAdmins,
	}
}

// DefaultConfig returns the defaults: a single node on 127.0.0.1:8080 with
// SQLite in ./data.
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:8080",
		DataDir:           "./data",
		RedisPrefix:       "mb:",
		LogLevel:          slog.LevelInfo,
		LogFormat:         "text",
		SecureCookies:     "auto",
		MailFrom:          "Max Booster <no-reply@localhost>",
		Migrate:           true,
		ShutdownTimeout:   20 * time.Second,
		MaxBodyBytes:      256 << 20,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Minute,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxUploadBytes:    2 << 30,
		MaxAudioDuration:  time.Hour,
		UploadAbandon:     24 * time.Hour,
		JobWorkers:        2,
		JobTimeout:        10 * time.Minute,
		S3Region:          "us-east-1",
		S3PathStyle:       true,
		RTCUDP:            "127.0.0.1:0",
	}
}

// Database returns the database URL, defaulting to SQLite in DataDir.
func (c Config) Database() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "maxbooster.db")
}

// Public returns the public base URL, defaulting to http://<Listen>.
func (c Config) Public() *url.URL {
	if c.PublicURL != "" {
		u, err := url.Parse(strings.TrimSuffix(c.PublicURL, "/"))
		if err == nil {
			return u
		}
	}
	host, port, _ := net.SplitHostPort(c.Listen)
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
}

// Secure reports whether cookies get the Secure flag.
func (c Config) Secure() bool {
	switch c.SecureCookies {
	case "true":
		return true
	case "false":
		return false
	}
	return c.Public().Scheme == "https"
}

// SecretsKeyFile is the file in DataDir that holds the generated secrets
// key when MB_SECRETS_KEY is not set and the database is SQLite.
const SecretsKeyFile = "secrets.key"

// SecretKeys returns the keys that seal secrets at rest, and where they
// came from: MB_SECRETS_KEY; or, with the SQLite default, the key file in
// DataDir, which is made (mode 0600) on first start; or nothing (nil,
// "") with PostgreSQL and no MB_SECRETS_KEY, since every node sharing the
// database needs the same key and a key made on one node would lock the
// others out.
func (c Config) SecretKeys() (*session.SecretKeys, string, error) {
	if c.SecretsKey != "" {
		sk, err := session.ParseSecretKeys(c.SecretsKey)
		if err != nil {
			return nil, "", fmt.Errorf("%w: MB_SECRETS_KEY (--secrets-key): %v", ErrConfig, err) //nolint:errorlint // message only
		}
		return sk, "MB_SECRETS_KEY", nil
	}
	if !strings.HasPrefix(c.Database(), "sqlite:") && strings.Contains(c.Database(), "://") {
		return nil, "", nil
	}
	path := filepath.Join(c.DataDir, SecretsKeyFile)
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator's own data directory
	if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // G304: as above
		if err == nil {
			key := session.GenerateSecretKey()
			_, err = f.WriteString(key + "\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(path)
				return nil, "", fmt.Errorf("write secrets key %s: %w", path, err)
			}
			b = []byte(key)
		} else if b, err = os.ReadFile(path); err != nil { //nolint:gosec // G304: as above; another process made it first
			return nil, "", fmt.Errorf("secrets key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("secrets key %s: %w", path, err)
	}
	sk, err := session.ParseSecretKeys(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, "", fmt.Errorf("secrets key %s: %w", path, err)
	}
	return sk, path, nil
}

// ErrConfig marks configuration errors; the CLI exits 2 on them.
var ErrConfig = errors.New("invalid configuration")

// setting binds one Config field to a flag and an environment variable.
type setting struct {
	flag, env, arg, usage string
	get                   func(c *Config) string
	set                   func(c *Config, v string) error
}

// settings lists every serve setting, in --help order. Adding a setting:
// add a Config field, its default in DefaultConfig, a row here (flag name,
// MB_ variable, argument name, one-line usage), and a README row.
var settings = []setting{
	{"listen", "MB_LISTEN", "ADDR", "address to listen on (host:port; port 0 picks a free one)",
		func(c *Config) string { return c.Listen },
		func(c *Config, v string) error {
			host, port, err := net.SplitHostPort(v)
			if err != nil {
				return fmt.Errorf("want host:port: %w", err)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				return fmt.Errorf("port %q is not a number from 0 to 65535", port)
			}
			if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, "/ ") {
				return fmt.Errorf("host %q is not a host name or IP", host)
			}
			c.Listen = v
			return nil
		}},
	{"data-dir", "MB_DATA_DIR", "DIR", "directory for the SQLite database and stored files",
		func(c *Config) string { return c.DataDir },
		func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
	{"database-url", "MB_DATABASE_URL", "URL", "database: sqlite:PATH or postgres://user:pass@host/db (default sqlite:DATA-DIR/maxbooster.db)",
		func(c *Config) string { return c.DatabaseURL },
		func(c *Config, v string) error {
			switch {
			case v == "", strings.HasPrefix(v, "sqlite:"), !strings.Contains(v, "://"):
			case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
				if _, err := url.Parse(v); err != nil {
					return errors.New("not a valid postgres:// URL")
				}
			default:
				return errors.New("want sqlite:PATH, a file path, or postgres://")
			}
			c.DatabaseURL = v
			return nil
		}},
	{"redis-url", "MB_REDIS_URL", "URL", "Redis for sessions, rate limits and fan-out across nodes, e.g. redis://127.0.0.1:6379/0 (default none: in-process)",
		func(c *Config) string { return c.RedisURL },
		func(c *Config, v string) error {
			if v != "" {
				if _, err := redis.ParseURL(v); err != nil {
					return errors.New("want redis://[user:pass@]host:port/db or rediss://")
				}
			}
			c.RedisURL = v
			return nil
		}},
	{"redis-prefix", "MB_REDIS_PREFIX", "PREFIX", "the start of every key in Redis (default mb:), so deployments can share one Redis, e.g. mb:staging:; the same on every node of one deployment",
		func(c *Config) string { return c.RedisPrefix },
		func(c *Config, v string) error {
			if v == "" || len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				return errors.New("want 1 to 64 printable characters without spaces (mb:staging: for example)")
			}
			c.RedisPrefix = v
			return nil
		}},
	{"node-url", "MB_NODE_URL", "URL", "with MB_REDIS_URL (then required): the URL other nodes reach this node at, e.g. http://10.0.0.5:8080; each project's rtc room is served by one node, and other nodes relay its signalling there",
		func(c *Config) string { return c.NodeURL },
		func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
					return errors.New("want this node's own http(s)://host:port, reachable from the other nodes, without credentials, query or fragment")
				}
				v = strings.TrimSuffix(v, "/")
			}
			c.NodeURL = v
			return nil
		}},
	{"public-url", "MB_PUBLIC_URL", "URL", "base URL users reach the server at, for links and cookies (default http://LISTEN)",
		func(c *Config) string { return c.PublicURL },
		func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
					return errors.New("want an absolute http:// or https:// URL without query or fragment")
				}
			}
			c.PublicURL = v
			return nil
		}},
	{"log-level", "MB_LOG_LEVEL", "LEVEL", "debug, info, warn or error",
		func(c *Config) string { return strings.ToLower(c.LogLevel.String()) },
		func(c *Config, v string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(v)); err != nil {
				return errors.New("want debug, info, warn or error")
			}
			c.LogLevel = l
			return nil
		}},
	{"log-format", "MB_LOG_FORMAT", "FORMAT", "text or json",
		func(c *Config) string { return c.LogFormat },
		func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return errors.New("want text or json")
			}
			c.LogFormat = v
			return nil
		}},
	{"sentry-dsn", "MB_SENTRY_DSN", "DSN", "report panics and 5xx errors to this Sentry project (default none)",
		func(c *Config) string { return c.SentryDSN },
		func(c *Config, v string) error {
			if v != "" {
				if _, err := sentry.NewDsn(v); err != nil {
					return errors.New("not a valid Sentry DSN (https://KEY@HOST/PROJECT)")
				}
			}
			c.SentryDSN = v
			return nil
		}},
	{"sentry-environment", "MB_SENTRY_ENVIRONMENT", "NAME", "environment name attached to Sentry events",
		func(c *Config) string { return c.SentryEnvironment },
		func(c *Config, v string) error { c.SentryEnvironment = v; return nil }},
	{"secure-cookies", "MB_SECURE_COOKIES", "MODE", "Secure flag on cookies: auto (on when the public URL is https), true or false",
		func(c *Config) string { return c.SecureCookies },
		func(c *Config, v string) error {
			v = strings.ToLower(v)
			switch v {
			case "auto", "true", "false":
			case "1", "yes", "on":
				v = "true"
			case "0", "no", "off":
				v = "false"
			default:
				return errors.New("want auto, true or false")
			}
			c.SecureCookies = v
			return nil
		}},
	{"mail-from", "MB_MAIL_FROM", "ADDR", "sender of account mail (verification, password reset)",
		func(c *Config) string { return c.MailFrom },
		func(c *Config, v string) error {
			if _, err := mail.ParseAddress(v); err != nil {
				return errors.New("want an address such as Max Booster <no-reply@example.com>")
			}
			c.MailFrom = v
			return nil
		}},
	{"smtp-url", "MB_SMTP_URL", "URL", "send account mail through SMTP: smtp://user:pass@host:587 (STARTTLS), smtps://...:465 or smtp+insecure://host:25 (default none: outbox table)",
		func(c *Config) string { return "" }, // may hold a password
		func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps" && u.Scheme != "smtp+insecure") || u.Port() == "" {
					return errors.New("want smtp://, smtps:// or smtp+insecure:// with host:port")
				}
			}
			c.SMTPURL = v
			return nil
		}},
	{"sendgrid-api-key", "MB_SENDGRID_API_KEY", "KEY", "send account mail with the SendGrid Web API (default none)",
		func(c *Config) string { return "" }, // a secret
		func(c *Config, v string) error { c.SendGridAPIKey = v; return nil }},
	{"metrics-token", "MB_METRICS_TOKEN", "TOKEN", "bearer token a Prometheus scraper sends to GET /metrics (default none: /metrics answers loopback clients only)",
		func(c *Config) string { return "" }, // a secret
		func(c *Config, v string) error {
			if v != "" && len(v) < 16 {
				return errors.New("want at least 16 characters")
			}
			c.MetricsToken = v
			return nil
		}},
	{"stripe-secret-key", "MB_STRIPE_SECRET_KEY", "KEY", "Stripe secret key (sk_... or rk_...); with it the payments module is mounted (default none: payments off)",
		func(c *Config) string { return "" }, // a secret
		func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "sk_") && !strings.HasPrefix(v, "rk_") {
				return errors.New("want a Stripe secret key (sk_...) or restricted key (rk_...)")
			}
			c.StripeSecretKey = v
			return nil
		}},
	{"stripe-webhook-secret", "MB_STRIPE_WEBHOOK_SECRET", "SECRET", "signing secret (whsec_...) of the Stripe webhook endpoint /api/v1/payments/webhooks/stripe (default none: webhooks refused)",
		func(c *Config) string { return "" }, // a secret
		func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "whsec_") {
				return errors.New("want a webhook signing secret (whsec_...)")
			}
			c.StripeWebhookSecret = v
			return nil
		}},
	{"stripe-api-base", "MB_STRIPE_API_BASE", "URL", "Stripe API base URL, e.g. stripe-mock's http://127.0.0.1:12111 (default Stripe's)",
		func(c *Config) string { return c.StripeAPIBase },
		func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("want an http:// or https:// URL")
				}
			}
			c.StripeAPIBase = strings.TrimSuffix(v, "/")
			return nil
		}},
	{"payments-fee-bps", "MB_PAYMENTS_FEE_BPS", "BPS", "platform commission in basis points of each checkout, 0-9999 (0: zero commission)",
		func(c *Config) string { return strconv.FormatInt(c.PaymentsFeeBps, 10) },
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > 9999 {
				return errors.New("want an integer from 0 to 9999")
			}
			c.PaymentsFeeBps = n
			return nil
		}},
	{"payments-admins", "MB_PAYMENTS_ADMINS", "LIST", "comma-separated emails of payments admins: webhook event list and replay, reconciliation (default none)",
		func(c *Config) string { return strings.Join(c.PaymentsAdmins, ",") },
		func(c *Config, v string) error {
			c.PaymentsAdmins = nil
			for e := range strings.SplitSeq(v, ",") {
				if e = strings.TrimSpace(e); e == "" {
					continue
				}
				if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
					return fmt.Errorf("%q: want a bare email address", e)
				}
				c.PaymentsAdmins = append(c.PaymentsAdmins, e)
			}
			return nil
		}},
	{"secrets-key", "MB_SECRETS_KEY", "KEYS", "base64 32-byte key sealing secrets at rest (room-token signing keys); comma-separated to rotate, the sealing key first (default: DATA-DIR/secrets.key, made on first start, with SQLite; none with PostgreSQL)",
		func(c *Config) string { return "" }, // a secret
		func(c *Config, v string) error {
			if v != "" {
				if _, err := session.ParseSecretKeys(v); err != nil {
					return errors.New(strings.TrimPrefix(err.Error(), "session: "))
				}
			}
			c.SecretsKey = v
			return nil
		}},
	{"cors-origins", "MB_CORS_ORIGINS", "LIST", "comma-separated origins (https://app.example.com) allowed to call the API from browsers (default none: CORS off)",
		func(c *Config) string { return strings.Join(c.CORSOrigins, ",") },
		func(c *Config, v string) error {
			c.CORSOrigins = nil
			for o := range strings.SplitSeq(v, ",") {
				if o = strings.TrimSpace(o); o == "" {
					continue
				}
				u, err := url.Parse(o)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
					return fmt.Errorf("origin %q: want scheme://host[:port]", o)
				}
				c.CORSOrigins = append(c.CORSOrigins, strings.TrimSuffix(o, "/"))
			}
			return nil
		}},
	{"trusted-proxies", "MB_TRUSTED_PROXIES", "CIDRS", "comma-separated reverse proxies (10.0.0.0/8,127.0.0.1/32) whose X-Forwarded-For names the client for rate limits and the audit log (default none)",
		func(c *Config) string {
			out := make([]string, len(c.TrustedProxies))
			for i, p := range c.TrustedProxies {
				out[i] = p.String()
			}
			return strings.Join(out, ",")
		},
		func(c *Config, v string) error {
			c.TrustedProxies = nil
			for f := range strings.SplitSeq(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return fmt.Errorf("%q: want an address or CIDR prefix", f)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			}
			return nil
		}},
	{"migrate", "MB_MIGRATE", "BOOL", "apply pending database migrations at start",
		func(c *Config) string { return strconv.FormatBool(c.Migrate) },
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("want true or false")
			}
			c.Migrate = b
			return nil
		}},
	durationSetting("shutdown-timeout", "MB_SHUTDOWN_TIMEOUT", "how long shutdown waits for requests and connections to finish",
		func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	{"max-body-bytes", "MB_MAX_BODY_BYTES", "SIZE", "largest request body accepted, e.g. 256MiB (JSON endpoints allow 1MiB)",
		func(c *Config) string { return humanize.IBytes(uint64(c.MaxBodyBytes)) }, //nolint:gosec // validated positive
		func(c *Config, v string) error {
			n, err := humanize.ParseBytes(v)
			if err != nil || n < 1024 || n > 1<<40 {
				return errors.New("want a size from 1KiB to 1TiB, e.g. 256MiB")
			}
			c.MaxBodyBytes = int64(n) //nolint:gosec // bounded above
			return nil
		}},
	durationSetting("read-header-timeout", "MB_READ_HEADER_TIMEOUT", "time allowed to read request headers (guards against Slowloris)",
		func(c *Config) *time.Duration { return &c.ReadHeaderTimeout }),
	durationSetting("read-timeout", "MB_READ_TIMEOUT", "time allowed to read a whole request, body included",
		func(c *Config) *time.Duration { return &c.ReadTimeout }),
	durationSetting("write-timeout", "MB_WRITE_TIMEOUT", "time allowed to write a response",
		func(c *Config) *time.Duration { return &c.WriteTimeout }),
	durationSetting("idle-timeout", "MB_IDLE_TIMEOUT", "how long an idle keep-alive connection stays open",
		func(c *Config) *time.Duration { return &c.IdleTimeout }),
	sizeSetting("max-upload-bytes", "MB_MAX_UPLOAD_BYTES", "largest audio upload, plain or resumable (tus), e.g. 2GiB",
		func(c *Config) *int64 { return &c.MaxUploadBytes }, false),
	durationSetting("max-audio-duration", "MB_MAX_AUDIO_DURATION", "longest audio an upload or job accepts",
		func(c *Config) *time.Duration { return &c.MaxAudioDuration }),
	sizeSetting("storage-quota", "MB_STORAGE_QUOTA", "bytes of uploaded originals each user may store, e.g. 20GiB (0: no quota)",
		func(c *Config) *int64 { return &c.StorageQuota }, true),
	durationSetting("upload-abandon-after", "MB_UPLOAD_ABANDON_AFTER", "how long an unfinished resumable (tus) upload may receive nothing before its asset and partial file are removed",
		func(c *Config) *time.Duration { return &c.UploadAbandon }),
	{"job-workers", "MB_JOB_WORKERS", "N", "audio jobs (analysis, preview, processing) run at once on this node",
		func(c *Config) string { return strconv.Itoa(c.JobWorkers) },
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 64 {
				return errors.New("want a number from 1 to 64")
			}
			c.JobWorkers = n
			return nil
		}},
	durationSetting("job-timeout", "MB_JOB_TIMEOUT", "time one audio job attempt may take before it fails",
		func(c *Config) *time.Duration { return &c.JobTimeout }),
	{"s3-endpoint", "MB_S3_ENDPOINT", "URL", "S3-compatible object storage for uploads and derived files, e.g. https://s3.eu-west-1.amazonaws.com (default none: local disk in DATA-DIR/blobs)",
		func(c *Config) string { return c.S3Endpoint },
		func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
					return errors.New("want http(s)://host[:port] without credentials")
				}
			}
			c.S3Endpoint = v
			return nil
		}},
	{"s3-bucket", "MB_S3_BUCKET", "NAME", "S3 bucket (must exist; required with MB_S3_ENDPOINT)",
		func(c *Config) string { return c.S3Bucket },
		func(c *Config, v string) error { c.S3Bucket = v; return nil }},
	{"s3-region", "MB_S3_REGION", "REGION", "S3 signing region",
		func(c *Config) string { return c.S3Region },
		func(c *Config, v string) error { c.S3Region = v; return nil }},
	{"s3-access-key", "MB_S3_ACCESS_KEY", "KEY", "S3 access key id",
		func(c *Config) string { return c.S3AccessKey },
		func(c *Config, v string) error { c.S3AccessKey = v; return nil }},
	{"s3-secret-key", "MB_S3_SECRET_KEY", "KEY", "S3 secret access key",
		func(c *Config) string { return "" }, // a secret
		func(c *Config, v string) error { c.S3SecretKey = v; return nil }},
	{"s3-path-style", "MB_S3_PATH_STYLE", "BOOL", "address buckets as ENDPOINT/BUCKET (MinIO, SeaweedFS, versitygw) instead of BUCKET.ENDPOINT",
		func(c *Config) string { return strconv.FormatBool(c.S3PathStyle) },
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("want true or false")
			}
			c.S3PathStyle = b
			return nil
		}},
	{"rtc-udp", "MB_RTC_UDP", "ADDR", "WebRTC previews and live sessions: the one UDP host:port all peers share (e.g. 0.0.0.0:3478; port 0 picks one)",
		func(c *Config) string { return c.RTCUDP },
		func(c *Config, v string) error { return setHostPort(&c.RTCUDP, v, false) }},
	{"rtc-tcp", "MB_RTC_TCP", "ADDR", "WebRTC ICE over TCP on this host:port, for clients without UDP (default none)",
		func(c *Config) string { return c.RTCTCP },
		func(c *Config, v string) error { return setHostPort(&c.RTCTCP, v, true) }},
	{"rtc-public-ip", "MB_RTC_PUBLIC_IP", "IPS", "WebRTC: comma-separated public IPs to announce behind 1:1 NAT (default none: local addresses)",
		func(c *Config) string { return strings.Join(c.RTCPublicIPs, ",") },
		func(c *Config, v string) error {
			c.RTCPublicIPs = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				a, err := netip.ParseAddr(f)
				if err != nil || a.IsUnspecified() {
					return fmt.Errorf("%q is not an IP address", f)
				}
				c.RTCPublicIPs = append(c.RTCPublicIPs, a.String())
			}
			return nil
		}},
}

// setHostPort sets *dst to an IP:port (empty allowed when optional).
func setHostPort(dst *string, v string, optional bool) error {
	if v == "" && optional {
		*dst = ""
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want ip:port: %w", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("host %q is not an IP address", host)
	}
	*dst = v
	return nil
}

// sizeSetting is a byte size such as 2GiB; zero only where allowed.
func sizeSetting(flagName, env, usage string, field func(*Config) *int64, zeroOK bool) setting {
	return setting{flagName, env, "SIZE", usage,
		func(c *Config) string { return humanize.IBytes(uint64(max(*field(c), 0))) }, //nolint:gosec // non-negative
		func(c *Config, v string) error {
			n, err := humanize.ParseBytes(v)
			if err != nil || n > 1<<50 || (n == 0 && !zeroOK) {
				return errors.New("want a size such as 512MiB or 2GiB")
			}
			*field(c) = int64(n) //nolint:gosec // bounded above
			return nil
		}}
}

func durationSetting(flagName, env, usage string, field func(*Config) *time.Duration) setting {
	return setting{flagName, env, "DURATION", usage,
		func(c *Config) string { return field(c).String() },
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("want a positive duration such as 30s or 5m")
			}
			*field(c) = d
			return nil
		}}
}

// flagValue adapts a setting to flag.Value. It records the first failure
// in *failed so the error can be reported without echoing secrets.
type flagValue struct {
	s      setting
	cfg    *Config
	failed *error
}

func (f flagValue) String() string {
	if f.cfg == nil {
		return ""
	}
	return f.s.get(f.cfg)
}

func (f flagValue) Set(v string) error {
	err := f.s.set(f.cfg, v)
	if err != nil && *f.failed == nil {
		*f.failed = settingError(f.s, "--"+f.s.flag, v, err)
	}
	return err
}

// settingError names the setting both ways; values of URL and DSN
// settings are not echoed, since they may hold passwords.
func settingError(s setting, given, v string, err error) error {
	other := s.env
	if given == s.env {
		other = "--" + s.flag
	}
	if s.arg == "URL" || s.arg == "DSN" || s.arg == "KEYS" {
		return fmt.Errorf("%w: %s (%s): %v", ErrConfig, given, other, err) //nolint:errorlint // message only
	}
	return fmt.Errorf("%w: %s=%q (%s): %v", ErrConfig, given, v, other, err) //nolint:errorlint // message only
}

// IsBoolFlag lets --migrate stand alone.
func (f flagValue) IsBoolFlag() bool { return f.s.arg == "BOOL" }

// parseConfig builds the configuration for serve-like commands from the
// environment and args. Errors wrap ErrConfig and name the setting both
// ways (flag and variable). --help returns flag.ErrHelp after printing
// the settings to stdout.
func parseConfig(name string, args []string, getenv func(string) string, stdout io.Writer) (Config, []string, error) {
	cfg := DefaultConfig()
	for _, s := range settings {
		if v, ok := lookup(getenv, s.env); ok {
			if err := s.set(&cfg, v); err != nil {
				return cfg, nil, settingError(s, s.env, v, err)
			}
		}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, help by usage
	var failed error
	for _, s := range settings {
		fs.Var(flagValue{s: s, cfg: &cfg, failed: &failed}, s.flag, s.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printSettings(stdout, name)
			return cfg, nil, err
		}
		if failed != nil {
			return cfg, nil, failed
		}
		// Unknown flag or missing value: flag's own message names it.
		return cfg, nil, fmt.Errorf("%w: %s", ErrConfig, strings.Replace(err.Error(), "flag: ", "", 1))
	}
	if name == "serve" {
		if err := cfg.checkNodeURL(); err != nil {
			return cfg, nil, err
		}
	}
	return cfg, fs.Args(), nil
}

// checkNodeURL requires MB_NODE_URL with MB_REDIS_URL: nodes sharing Redis
// share rtc rooms, and relay signalling to each other at these URLs.
func (c Config) checkNodeURL() error {
	if c.RedisURL != "" && c.NodeURL == "" {
		return fmt.Errorf("%w: MB_NODE_URL (--node-url) is required with MB_REDIS_URL: the URL the other nodes reach this node at, "+
			"e.g. http://10.0.0.5:8080 (each project's rtc room is served by one node, and the others relay its signalling there)", ErrConfig)
	}
	return nil
}

// lookup returns an environment variable that is set and non-empty.
func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func printSettings(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: maxbooster %s [flags]\n\nEvery flag can also be set by its environment variable; a flag wins over its variable.\n\n", name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	def := DefaultConfig()
	for _, s := range settings {
		usage := s.usage
		if !strings.Contains(usage, "(default") {
			d := s.get(&def)
			if d == "" {
				d = "none"
			}
			usage += " (default " + d + ")"
		}
		fmt.Fprintf(tw, "  --%s %s\t%s\t%s\n", s.flag, s.arg, s.env, usage)
	}
	_ = tw.Flush()
}
