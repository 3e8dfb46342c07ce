package payments

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
)

// Config is the module's configuration (MB_STRIPE_*, MB_PAYMENTS_*). With
// no SecretKey the module is not mounted.
type Config struct {
	// SecretKey is the platform's Stripe secret key (sk_...).
	SecretKey string
	// WebhookSecret is the webhook endpoint's signing secret (whsec_...).
	WebhookSecret string
	// APIBase overrides Stripe's API URL (stripe-mock).
	APIBase string
	// FeeBps is the platform commission in basis points (0: none).
	FeeBps int64
	// AdminEmails may list and replay webhook events and see reconciliation.
	AdminEmails []string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Gateway replaces the Stripe gateway (tests); nil means StripeGateway.
	Gateway Gateway
}

// Enabled reports whether the module should be mounted.
func (c Config) Enabled() bool { return c.SecretKey != "" || c.Gateway != nil }

// MountOptions is what Mount needs from the server.
type MountOptions struct {
	DB        *store.DB
	Logger    *slog.Logger
	Mailer    mail.Mailer
	PublicURL *url.URL
	Lifecycle *lifecycle.Group
}

// Mount builds the service from cfg, mounts its routes on mux and runs the
// webhook inbox worker and the daily reconciliation under the lifecycle
// group. It returns the service.
func Mount(mux *http.ServeMux, cfg Config, o MountOptions) (*Service, error) {
	if !cfg.Enabled() {
		return nil, errors.New("payments: no Stripe secret key")
	}
	gw := cfg.Gateway
	if gw == nil {
		gw = NewStripeGateway(cfg.SecretKey, GatewayOptions{APIBase: cfg.APIBase})
	}
	s, err := New(Options{
		DB: o.DB, Gateway: gw, Logger: o.Logger, Mailer: o.Mailer, PublicURL: o.PublicURL,
		WebhookSecret: cfg.WebhookSecret, FeeBps: cfg.FeeBps, AdminEmails: cfg.AdminEmails, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	if o.Lifecycle != nil {
		if err := o.Lifecycle.Go(func(ctx context.Context) { s.Run(ctx, 5*time.Second) }); err != nil {
			return nil, err
		}
		if err := o.Lifecycle.Go(func(ctx context.Context) { s.RunReconciliation(ctx, 24*time.Hour) }); err != nil {
			return nil, err
		}
	}
	s.Routes(mux)
	return s, nil
}

// RunReconciliation runs Reconcile every interval until ctx ends.
func (s *Service) RunReconciliation(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if rep, err := s.Reconcile(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "payments: reconciliation", "err", err)
			}
		} else {
			s.log.InfoContext(ctx, "payments: reconciliation", "checked", rep.Checked, "fees", rep.FeesBook, "new_drift", rep.NewDrift)
		}
	}
}
