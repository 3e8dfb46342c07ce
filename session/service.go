package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/session/ratelimit"
	"github.com/maxbooster/maxbooster/store"
)

// Options configure a Service. Zero values mean the documented defaults.
type Options struct {
	DB     *store.DB    // required, migrated
	Logger *slog.Logger // required
	// Redis, when set, holds sessions and rate-limit state so that every
	// node shares them. Nil: sessions in the database, limits in-process.
	Redis       redis.UniversalClient
	RedisPrefix string // default "mb:"
	// Mailer sends account mail. Nil: the outbox table (mail.Outbox).
	Mailer mail.Mailer
	// PublicURL is the base of links in mail. Default http://127.0.0.1:8080.
	PublicURL *url.URL
	// SecureCookies sets Secure on the session cookie and names it with
	// the __Host- prefix. Set it whenever clients use HTTPS.
	SecureCookies bool
	IdleTimeout   time.Duration // session idle expiry; default 7 days
	MaxAge        time.Duration // session absolute expiry; default 30 days
	// AuditRetention is how long audit events are kept; default 365 days.
	AuditRetention time.Duration
	// Argon2 parameters for new hashes; zero: DefaultArgon2Params.
	Argon2 Argon2Params
	// HashConcurrency bounds parallel password hashes; default 4.
	HashConcurrency int
	// CORSOrigins lists origins (scheme://host[:port]) allowed to call the
	// API from browsers with credentials. Empty: CORS is off.
	CORSOrigins []string
	// TrustedProxies are the reverse proxies in front of the server. A
	// request from one of them is attributed to the address it names in
	// X-Forwarded-For (for rate limits and the audit log); from anyone
	// else X-Forwarded-For is ignored. Empty: the peer address counts.
	TrustedProxies []netip.Prefix
	// Limits; zero values take DefaultLimits.
	Limits Limits
	// Unthrottled lists paths (exact) whose anonymous requests skip the
	// per-IP API limit: signed webhooks, which a provider delivers in
	// bursts from a few addresses and verifies by signature, not by IP.
	Unthrottled []string
	// RoomTokens configures room tokens.
	RoomTokens RoomTokenOptions
	// SecretKeys seal the room-token signing keys in the database
	// (AES-256-GCM); existing plain or older-key rows are resealed as they
	// load. Nil: the keys are stored plain.
	SecretKeys *SecretKeys
}

// Limits are the rate limits the Service enforces.
type Limits struct {
	LoginPerIP      ratelimit.Limit   // login attempts per client IP
	LoginPenalty    ratelimit.Penalty // growing delay per account after failures
	RegisterPerIP   ratelimit.Limit
	ResetPerIP      ratelimit.Limit // reset and verification requests per IP
	MailPerAccount  ratelimit.Limit // account mails per account
	APIPerUser      ratelimit.Limit // every authenticated request
	APIPerIP        ratelimit.Limit // every unauthenticated request
	TokensPerUser   int             // personal access tokens per user
	TeamsPerUser    int             // teams a user may create
	MembersPerTeam  int
	AuditPageLimit  int
	MailQueueLength int
}

// DefaultLimits are used for zero fields of Options.Limits.
var DefaultLimits = Limits{
	LoginPerIP:      ratelimit.Limit{Rate: 20, Burst: 10, Period: time.Minute},
	LoginPenalty:    ratelimit.Penalty{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour},
	RegisterPerIP:   ratelimit.Limit{Rate: 20, Burst: 5, Period: time.Hour},
	ResetPerIP:      ratelimit.Limit{Rate: 10, Burst: 5, Period: time.Hour},
	MailPerAccount:  ratelimit.Limit{Rate: 5, Burst: 3, Period: time.Hour},
	APIPerUser:      ratelimit.Limit{Rate: 1200, Burst: 200, Period: time.Minute},
	APIPerIP:        ratelimit.Limit{Rate: 600, Burst: 100, Period: time.Minute},
	TokensPerUser:   50,
	TeamsPerUser:    50,
	MembersPerTeam:  500,
	AuditPageLimit:  200,
	MailQueueLength: 1000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.LoginPerIP.Rate > 0 {
		d.LoginPerIP = l.LoginPerIP
	}
	if l.LoginPenalty.Base > 0 {
		d.LoginPenalty = l.LoginPenalty
	}
	if l.RegisterPerIP.Rate > 0 {
		d.RegisterPerIP = l.RegisterPerIP
	}
	if l.ResetPerIP.Rate > 0 {
		d.ResetPerIP = l.ResetPerIP
	}
	if l.MailPerAccount.Rate > 0 {
		d.MailPerAccount = l.MailPerAccount
	}
	if l.APIPerUser.Rate > 0 {
		d.APIPerUser = l.APIPerUser
	}
	if l.APIPerIP.Rate > 0 {
		d.APIPerIP = l.APIPerIP
	}
	if l.TokensPerUser > 0 {
		d.TokensPerUser = l.TokensPerUser
	}
	if l.TeamsPerUser > 0 {
		d.TeamsPerUser = l.TeamsPerUser
	}
	if l.MembersPerTeam > 0 {
		d.MembersPerTeam = l.MembersPerTeam
	}
	if l.AuditPageLimit > 0 {
		d.AuditPageLimit = l.AuditPageLimit
	}
	if l.MailQueueLength > 0 {
		d.MailQueueLength = l.MailQueueLength
	}
	return d
}

// Lifetimes of mailed secrets.
const (
	verifyTTL = 48 * time.Hour
	resetTTL  = time.Hour
)

// Service is the session module: account operations, authentication
// middleware and HTTP handlers. Build it with New, mount it with Routes
// and Middleware, and run its background work with Run.
type Service struct {
	opts     Options
	log      *slog.Logger
	store    *Store
	sessions Sessions
	limiter  ratelimit.Limiter
	backoff  ratelimit.Backoff
	hasher   *Hasher
	mailer   mail.Mailer
	rooms    *RoomTokens
	limits   Limits
	cookie   string
	jobs     chan func(ctx context.Context)
}

// New checks opts and builds a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Logger == nil {
		return nil, errors.New("session: Options.DB and Options.Logger are required")
	}
	if opts.RedisPrefix == "" {
		opts.RedisPrefix = "mb:"
	}
	if opts.PublicURL == nil {
		opts.PublicURL = &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 7 * 24 * time.Hour
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 30 * 24 * time.Hour
	}
	if opts.AuditRetention <= 0 {
		opts.AuditRetention = 365 * 24 * time.Hour
	}
	for _, o := range opts.CORSOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("session: CORS origin %q must be scheme://host[:port]", o)
		}
	}
	st := NewStore(opts.DB)
	st.secrets = opts.SecretKeys
	s := &Service{
		opts:   opts,
		log:    opts.Logger,
		store:  st,
		hasher: NewHasher(opts.Argon2, opts.HashConcurrency),
		rooms:  NewRoomTokens(st, opts.RoomTokens),
		limits: opts.Limits.withDefaults(),
		cookie: "mb_session",
	}
	if opts.SecureCookies {
		s.cookie = "__Host-mb_session"
	}
	if opts.Redis != nil {
		s.sessions = NewRedisSessions(opts.Redis, opts.RedisPrefix)
		rl := ratelimit.NewRedis(opts.Redis, opts.RedisPrefix+"rl:")
		s.limiter, s.backoff = rl, rl
	} else {
		s.sessions = st
		m := ratelimit.NewMemory(nil)
		s.limiter, s.backoff = m, m
	}
	s.mailer = opts.Mailer
	if s.mailer == nil {
		s.mailer = &mail.Outbox{Store: st, Log: opts.Logger}
	}
	s.jobs = make(chan func(ctx context.Context), s.limits.MailQueueLength)
	return s, nil
}

// Store returns the Service's SQL store.
func (s *Service) Store() *Store { return s.store }

// RoomTokens returns the room-token issuer and verifier for collab and rtc.
func (s *Service) RoomTokens() *RoomTokens { return s.rooms }

// Run does the Service's background work until ctx ends: it sends queued
// account mail and sweeps expired sessions hourly. Exactly one Run per
// Service should be running.
func (s *Service) Run(ctx context.Context) {
	sweep := time.NewTicker(time.Hour)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.jobs:
			jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			job(jctx)
			cancel()
		case <-sweep.C:
			s.sweep(ctx)
		}
	}
}

// sweep deletes expired sessions (Redis expires its own) and mailed
// tokens.
func (s *Service) sweep(ctx context.Context) {
	if s.sessions == Sessions(s.store) {
		if n, err := s.store.DeleteExpiredSessions(ctx, s.opts.IdleTimeout); err != nil {
			s.log.ErrorContext(ctx, "session: sweep expired sessions", slog.String("error", err.Error()))
		} else if n > 0 {
			s.log.InfoContext(ctx, "session: swept expired sessions", slog.Int("count", n))
		}
	}
	if _, err := s.store.DeleteExpiredEmailTokens(ctx); err != nil {
		s.log.ErrorContext(ctx, "session: sweep email tokens", slog.String("error", err.Error()))
	}
	if n, err := s.store.DeleteAuditBefore(ctx, time.Now().Add(-s.opts.AuditRetention)); err != nil {
		s.log.ErrorContext(ctx, "session: trim audit log", slog.String("error", err.Error()))
	} else if n > 0 {
		s.log.InfoContext(ctx, "session: trimmed audit log", slog.Int("count", n))
	}
}

// enqueue hands job to Run. It never blocks: when the queue is full the
// job is dropped and logged (the client's answer must not depend on it).
func (s *Service) enqueue(ctx context.Context, what string, job func(ctx context.Context)) {
	select {
	case s.jobs <- job:
	default:
		s.log.WarnContext(ctx, "session: background queue full, dropped job", slog.String("job", what))
	}
}

// Meta is where a request came from, for sessions and the audit log.
type Meta struct {
	IP        string
	UserAgent string
}

func (s *Service) audit(ctx context.Context, userID, event string, m Meta, detail string) {
	if err := s.store.AddAudit(ctx, AuditEvent{UserID: userID, Event: event, IP: m.IP, UserAgent: m.UserAgent, Detail: detail}); err != nil {
		s.log.ErrorContext(ctx, "session: audit log write failed", slog.String("event", event), slog.String("error", err.Error()))
	}
}

// limit applies l to key and turns a denial into a TooManyRequests error
// carrying the wait.
func (s *Service) limit(ctx context.Context, op, key string, l ratelimit.Limit) error {
	res, err := s.limiter.Allow(ctx, key, l)
	if err != nil {
		return apperr.E(op, apperr.Unavailable, err)
	}
	if !res.Allowed {
		return &RetryError{After: res.RetryAfter, Err: apperr.E(op, apperr.TooManyRequests, nil).WithCode("rate_limited")}
	}
	return nil
}

// RetryError is a rate-limit denial; the handler turns After into a
// Retry-After header.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// accountKey is the rate-limit key of an email address: a hash, so that
// addresses do not sit in Redis in the clear.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte("acct:" + email))
	return "acct:" + hex.EncodeToString(sum[:16])
}

// Display name limits.
const maxDisplayName = 100

func cleanDisplayName(op, name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n == 0 || n > maxDisplayName || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", apperr.E(op, apperr.Invalid, nil).WithCode("invalid_display_name").
			WithMsg(fmt.Sprintf("The display name must be 1 to %d characters without control characters.", maxDisplayName)).
			WithField("displayName", "invalid")
	}
	return name, nil
}

func emailErr(op string) error {
	return apperr.E(op, apperr.Invalid, nil).WithCode("invalid_email").
		WithMsg("The email address is not valid.").WithField("email", "invalid")
}

func passwordErr(op, field string, err error) error {
	msg := "The password is not acceptable."
	switch {
	case errors.Is(err, ErrPasswordTooShort):
		msg = fmt.Sprintf("The password must be at least %d characters.", MinPasswordLen)
	case errors.Is(err, ErrPasswordTooLong):
		msg = fmt.Sprintf("The password must be at most %d characters.", MaxPasswordLen)
	case errors.Is(err, ErrPasswordCommon):
		msg = "The password is too common or too close to your email or name; choose another."
	}
	return apperr.E(op, apperr.Invalid, err).WithCode("weak_password").WithMsg(msg).WithField(field, "invalid")
}

var errBadCredentials = apperr.E("session.Login", apperr.Unauthenticated, nil).
	WithCode("invalid_credentials").WithMsg("The email or password is incorrect.")

// Register creates an account and its first session. The session secret
// is returned for the cookie.
func (s *Service) Register(ctx context.Context, email, password, displayName string, m Meta) (User, string, error) {
	const op = "session.Register"
	if err := s.limit(ctx, op, "register:"+m.IP, s.limits.RegisterPerIP); err != nil {
		return User{}, "", err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, "", emailErr(op)
	}
	displayName, err = cleanDisplayName(op, displayName)
	if err != nil {
		return User{}, "", err
	}
	if err := CheckPassword(password, email, displayName); err != nil {
		return User{}, "", passwordErr(op, "password", err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, "", apperr.E(op, apperr.Internal, err)
	}
	u := User{ID: newID(), Email: email, DisplayName: displayName, CreatedAt: now()}
	if err := s.store.CreateUser(ctx, u, hash); err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return User{}, "", apperr.E(op, apperr.Conflict, err).WithCode("email_taken").
				WithMsg("An account with this email already exists.").WithField("email", "taken")
		}
		return User{}, "", apperr.E(op, apperr.Internal, err)
	}
	secret, err := s.newSession(ctx, u.ID, m)
	if err != nil {
		return User{}, "", err
	}
	s.audit(ctx, u.ID, EventRegister, m, "")
	s.queueVerifyMail(ctx, u)
	return u, secret, nil
}

// Login checks credentials and starts a new session. Unknown accounts and
// wrong passwords get the same error after the same amount of hashing.
func (s *Service) Login(ctx context.Context, email, password string, m Meta) (User, string, error) {
	const op = "session.Login"
	if err := s.limit(ctx, op, "login:"+m.IP, s.limits.LoginPerIP); err != nil {
		return User{}, "", err
	}
	norm, emailOK := NormalizeEmail(email)
	key := accountKey(norm)
	if emailOK != nil {
		key = accountKey(strings.ToLower(strings.TrimSpace(email)))
	}
	if wait, err := s.backoff.Wait(ctx, key, s.limits.LoginPenalty); err != nil {
		return User{}, "", apperr.E(op, apperr.Unavailable, err)
	} else if wait > 0 {
		return User{}, "", &RetryError{After: wait, Err: apperr.E(op, apperr.TooManyRequests, nil).WithCode("login_throttled").
			WithMsg("Too many failed logins for this account; wait before trying again.")}
	}
	var (
		u    User
		hash string
		err  error
	)
	if emailOK == nil {
		u, hash, err = s.store.UserByEmail(ctx, norm)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, "", apperr.E(op, apperr.Internal, err)
		}
	}
	ok, rehash, err := s.hasher.Verify(ctx, password, hash) // hash "" → dummy work
	if err != nil {
		return User{}, "", apperr.E(op, apperr.Internal, err)
	}
	if !ok {
		if _, err := s.backoff.Fail(ctx, key, s.limits.LoginPenalty); err != nil {
			s.log.WarnContext(ctx, "session: record failed login", slog.String("error", err.Error()))
		}
		s.audit(ctx, u.ID, EventLoginFailed, m, "")
		return User{}, "", errBadCredentials
	}
	if err := s.backoff.Reset(ctx, key); err != nil {
		s.log.WarnContext(ctx, "session: reset login backoff", slog.String("error", err.Error()))
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			if err := s.store.SetPasswordHash(ctx, u.ID, h); err != nil {
				s.log.WarnContext(ctx, "session: upgrade password hash", slog.String("error", err.Error()))
			}
		}
	}
	secret, err := s.newSession(ctx, u.ID, m)
	if err != nil {
		return User{}, "", err
	}
	s.audit(ctx, u.ID, EventLogin, m, "")
	return u, secret, nil
}

// newSession stores a fresh session for userID and returns its secret.
func (s *Service) newSession(ctx context.Context, userID string, m Meta) (string, error) {
	secret := newSecret(prefixSession)
	t := now()
	ss := Session{ID: newID(), TokenHash: hashSecret(secret), UserID: userID, CreatedAt: t, LastSeenAt: t,
		ExpiresAt: t.Add(s.opts.MaxAge), IP: m.IP, UserAgent: truncate(m.UserAgent, 256)}
	if err := s.sessions.CreateSession(ctx, ss); err != nil {
		return "", apperr.E("session.newSession", apperr.Internal, err)
	}
	return secret, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// Logout ends the session whose secret is given.
func (s *Service) Logout(ctx context.Context, secret string, userID string, m Meta) error {
	if !validSecret(secret, prefixSession) {
		return nil
	}
	if err := s.sessions.DeleteSession(ctx, hashSecret(secret)); err != nil {
		return apperr.E("session.Logout", apperr.Internal, err)
	}
	s.audit(ctx, userID, EventLogout, m, "")
	return nil
}

// authSession resolves a session secret, applying idle and absolute
// expiry, and records activity at most once a minute.
func (s *Service) authSession(ctx context.Context, secret string) (User, Session, error) {
	if !validSecret(secret, prefixSession) {
		return User{}, Session{}, ErrNotFound
	}
	h := hashSecret(secret)
	ss, err := s.sessions.SessionByHash(ctx, h)
	if err != nil {
		return User{}, Session{}, err
	}
	t := now()
	if t.Sub(ss.LastSeenAt) > s.opts.IdleTimeout {
		_ = s.sessions.DeleteSession(ctx, h)
		return User{}, Session{}, ErrNotFound
	}
	u, _, err := s.store.UserByID(ctx, ss.UserID)
	if err != nil {
		return User{}, Session{}, err
	}
	if t.Sub(ss.LastSeenAt) > time.Minute {
		if err := s.sessions.TouchSession(ctx, h, t, s.opts.IdleTimeout); err != nil {
			s.log.WarnContext(ctx, "session: touch", slog.String("error", err.Error()))
		}
	}
	return u, ss, nil
}

// authToken resolves a personal access token.
func (s *Service) authToken(ctx context.Context, secret string) (User, Token, error) {
	if !validSecret(secret, prefixToken) {
		return User{}, Token{}, ErrNotFound
	}
	t, err := s.store.TokenByHash(ctx, hashSecret(secret))
	if err != nil {
		return User{}, Token{}, err
	}
	u, _, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return User{}, Token{}, err
	}
	at := now()
	if t.LastUsedAt == nil || at.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.store.TouchToken(ctx, t.ID, at); err != nil {
			s.log.WarnContext(ctx, "session: touch token", slog.String("error", err.Error()))
		}
	}
	return u, t, nil
}

// ChangePassword replaces the password after checking the current one,
// revokes every personal access token, ends every other session and
// rotates the current one; it returns the new session secret.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, m Meta) (string, error) {
	const op = "session.ChangePassword"
	key := accountKey(p.User.Email)
	if wait, err := s.backoff.Wait(ctx, key, s.limits.LoginPenalty); err != nil {
		return "", apperr.E(op, apperr.Unavailable, err)
	} else if wait > 0 {
		return "", &RetryError{After: wait, Err: apperr.E(op, apperr.TooManyRequests, nil).WithCode("login_throttled")}
	}
	_, hash, err := s.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return "", apperr.E(op, apperr.Internal, err)
	}
	ok, _, err := s.hasher.Verify(ctx, current, hash)
	if err != nil {
		return "", apperr.E(op, apperr.Internal, err)
	}
	if !ok {
		_, _ = s.backoff.Fail(ctx, key, s.limits.LoginPenalty)
		return "", apperr.E(op, apperr.Forbidden, nil).WithCode("wrong_password").
			WithMsg("The current password is incorrect.").WithField("currentPassword", "incorrect")
	}
	if err := CheckPassword(next, p.User.Email, p.User.DisplayName); err != nil {
		return "", passwordErr(op, "newPassword", err)
	}
	newHash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return "", apperr.E(op, apperr.Internal, err)
	}
	revoked, err := s.store.ReplacePassword(ctx, p.User.ID, newHash)
	if err != nil {
		return "", apperr.E(op, apperr.Internal, err)
	}
	ended, err := s.sessions.DeleteUserSessions(ctx, p.User.ID, p.sessionHash)
	if err != nil {
		return "", apperr.E(op, apperr.Internal, err)
	}
	// The caller stays signed in, under a new session id.
	if err := s.sessions.DeleteSession(ctx, p.sessionHash); err != nil {
		return "", apperr.E(op, apperr.Internal, err)
	}
	secret, err := s.newSession(ctx, p.User.ID, m)
	if err != nil {
		return "", err
	}
	s.audit(ctx, p.User.ID, EventPasswordChange, m, revocationDetail(ended, revoked))
	return secret, nil
}

// revocationDetail is the audit detail of a password change or reset:
// how many sessions ended and which personal access tokens were revoked.
func revocationDetail(sessions int, tokens []string) string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	d := "ended " + plural(sessions, "session") + ", revoked " + plural(len(tokens), "token")
	if len(tokens) > 0 {
		d += ": " + strings.Join(tokens, " ")
	}
	return d
}

// RequestPasswordReset answers at once and the same way for every
// address; the lookup and the mail happen in the background (Run).
func (s *Service) RequestPasswordReset(ctx context.Context, email string, m Meta) error {
	const op = "session.RequestPasswordReset"
	if err := s.limit(ctx, op, "reset:"+m.IP, s.limits.ResetPerIP); err != nil {
		return err
	}
	norm, err := NormalizeEmail(email)
	if err != nil {
		return emailErr(op)
	}
	s.enqueue(ctx, "password reset", func(ctx context.Context) {
		u, _, err := s.store.UserByEmail(ctx, norm)
		if errors.Is(err, ErrNotFound) {
			s.audit(ctx, "", EventResetRequested, m, "unknown account")
			return
		}
		if err != nil {
			s.log.ErrorContext(ctx, "session: reset lookup", slog.String("error", err.Error()))
			return
		}
		if res, err := s.limiter.Allow(ctx, "mail:"+u.ID, s.limits.MailPerAccount); err != nil || !res.Allowed {
			s.log.WarnContext(ctx, "session: account mail limit reached", slog.String("user_id", u.ID))
			return
		}
		secret := newSecret(prefixReset)
		if err := s.store.AddEmailToken(ctx, hashSecret(secret), u.ID, purposeReset, now().Add(resetTTL)); err != nil {
			s.log.ErrorContext(ctx, "session: reset token", slog.String("error", err.Error()))
			return
		}
		s.audit(ctx, u.ID, EventResetRequested, m, "")
		s.sendMail(ctx, mail.Message{To: u.Email, Subject: "Reset your Max Booster password",
			Text: fmt.Sprintf("Hello %s,\n\nsomeone asked to reset the password of your Max Booster account.\n"+
				"To choose a new password, open this link within an hour:\n\n%s\n\n"+
				"If it was not you, ignore this mail; your password stays as it is.\n",
				u.DisplayName, s.link("/reset-password", secret))})
	})
	return nil
}

func (s *Service) link(path, secret string) string {
	u := *s.opts.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.Fragment = "token=" + secret // a fragment never reaches server logs or Referer headers
	return u.String()
}

func (s *Service) sendMail(ctx context.Context, msg mail.Message) {
	if err := s.mailer.Send(ctx, msg); err != nil {
		s.log.ErrorContext(ctx, "session: send mail", slog.String("subject", msg.Subject), slog.String("error", err.Error()))
	}
}

func (s *Service) queueVerifyMail(ctx context.Context, u User) {
	s.enqueue(ctx, "verify email", func(ctx context.Context) {
		if res, err := s.limiter.Allow(ctx, "mail:"+u.ID, s.limits.MailPerAccount); err != nil || !res.Allowed {
			s.log.WarnContext(ctx, "session: account mail limit reached", slog.String("user_id", u.ID))
			return
		}
		secret := newSecret(prefixVerify)
		if err := s.store.AddEmailToken(ctx, hashSecret(secret), u.ID, purposeVerify, now().Add(verifyTTL)); err != nil {
			s.log.ErrorContext(ctx, "session: verify token", slog.String("error", err.Error()))
			return
		}
		s.sendMail(ctx, mail.Message{To: u.Email, Subject: "Confirm your email for Max Booster",
			Text: fmt.Sprintf("Hello %s,\n\nwelcome to Max Booster. Confirm your email address by opening this link within two days:\n\n%s\n",
				u.DisplayName, s.link("/verify-email", secret))})
	})
}

// ResendVerification mails a new verification link to an unverified user.
func (s *Service) ResendVerification(ctx context.Context, u User, m Meta) error {
	const op = "session.ResendVerification"
	if u.EmailVerified {
		return apperr.E(op, apperr.Conflict, nil).WithCode("already_verified").WithMsg("The email address is already verified.")
	}
	if err := s.limit(ctx, op, "reset:"+m.IP, s.limits.ResetPerIP); err != nil {
		return err
	}
	s.queueVerifyMail(ctx, u)
	return nil
}

var errBadToken = apperr.E("session", apperr.Invalid, nil).WithCode("invalid_token").
	WithMsg("The link is invalid, was already used or has expired.").WithField("token", "invalid")

// VerifyEmail consumes a verification secret.
func (s *Service) VerifyEmail(ctx context.Context, secret string, m Meta) error {
	const op = "session.VerifyEmail"
	if !validSecret(secret, prefixVerify) {
		return errBadToken
	}
	uid, err := s.store.UseEmailToken(ctx, hashSecret(secret), purposeVerify)
	if errors.Is(err, ErrTokenUsed) {
		return errBadToken
	}
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	if err := s.store.MarkEmailVerified(ctx, uid); err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, uid, EventEmailVerified, m, "")
	return nil
}

// ResetPassword consumes a reset secret, sets the new password, ends
// every session of the account and revokes its personal access tokens.
func (s *Service) ResetPassword(ctx context.Context, secret, password string, m Meta) error {
	const op = "session.ResetPassword"
	if !validSecret(secret, prefixReset) {
		return errBadToken
	}
	// Check the password before using up the token, so a weak choice does
	// not burn the link.
	h := hashSecret(secret)
	uid, err := s.store.PeekEmailToken(ctx, h, purposeReset)
	if errors.Is(err, ErrTokenUsed) {
		return errBadToken
	}
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	u, _, err := s.store.UserByID(ctx, uid)
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	if err := CheckPassword(password, u.Email, u.DisplayName); err != nil {
		return passwordErr(op, "password", err)
	}
	// Using it is atomic: of two concurrent confirmations one wins.
	if used, err := s.store.UseEmailToken(ctx, h, purposeReset); errors.Is(err, ErrTokenUsed) || (err == nil && used != uid) {
		return errBadToken
	} else if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	revoked, err := s.store.ReplacePassword(ctx, uid, hash)
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	ended, err := s.sessions.DeleteUserSessions(ctx, uid, "")
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	// Opening the mailed link proved the address.
	if err := s.store.MarkEmailVerified(ctx, uid); err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	if err := s.backoff.Reset(ctx, accountKey(u.Email)); err != nil {
		s.log.WarnContext(ctx, "session: reset login backoff", slog.String("error", err.Error()))
	}
	s.audit(ctx, uid, EventPasswordReset, m, revocationDetail(ended, revoked))
	return nil
}
