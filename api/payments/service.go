package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
)

// Options configure a Service. DB and Gateway are required.
type Options struct {
	DB      *store.DB
	Gateway Gateway
	Logger  *slog.Logger // nil: discard
	// Mailer sends invoices and receipts; nil sends none.
	Mailer mail.Mailer
	// PublicURL is where users reach the server (onboarding return links,
	// invoice links). Nil means http://localhost.
	PublicURL *url.URL
	// WebhookSecret is the endpoint's signing secret (whsec_...). Empty
	// refuses every webhook.
	WebhookSecret string
	// WebhookTolerance is how old a signature may be; zero means 5 minutes.
	WebhookTolerance time.Duration
	// FeeBps is the platform's commission in basis points of each checkout;
	// zero (the default) is the zero-commission marketplace.
	FeeBps int64
	// AdminEmails may replay webhook events and see reconciliation.
	AdminEmails []string
	// Risk holds the instant payout rules; nil means DefaultRiskRules.
	Risk *RiskRules
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service runs the payments module.
type Service struct {
	db     *store.DB
	gw     Gateway
	ledger *Ledger
	log    *slog.Logger
	opts   Options
	now    func() time.Time
	wake   chan struct{}
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Gateway == nil {
		return nil, errors.New("payments: New needs DB and Gateway")
	}
	if opts.FeeBps < 0 || opts.FeeBps >= TotalBasisPoints {
		return nil, fmt.Errorf("payments: fee %d bps out of range 0-9999", opts.FeeBps)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WebhookTolerance <= 0 {
		opts.WebhookTolerance = 5 * time.Minute
	}
	if opts.PublicURL == nil {
		opts.PublicURL = &url.URL{Scheme: "http", Host: "localhost"}
	}
	if opts.Risk == nil {
		r := DefaultRiskRules()
		opts.Risk = &r
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	l := NewLedger(opts.DB)
	l.now = now
	return &Service{
		db: opts.DB, gw: opts.Gateway, ledger: l, log: opts.Logger, opts: opts, now: now,
		wake: make(chan struct{}, 1),
	}, nil
}

// Ledger returns the service's ledger.
func (s *Service) Ledger() *Ledger { return s.ledger }

// ---- connected accounts ----------------------------------------------------

// ConnectedAccount is a user's Express account as last reported by Stripe.
type ConnectedAccount struct {
	UserID           string    `json:"userId"`
	StripeAccountID  string    `json:"stripeAccountId"`
	ChargesEnabled   bool      `json:"chargesEnabled"`
	PayoutsEnabled   bool      `json:"payoutsEnabled"`
	DetailsSubmitted bool      `json:"detailsSubmitted"`
	TransfersActive  bool      `json:"transfersActive"`
	CurrentlyDue     []string  `json:"currentlyDue"`
	DisabledReason   string    `json:"disabledReason,omitempty"`
	Country          string    `json:"country,omitempty"`
	TaxCode          string    `json:"taxCode"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// PayoutEligibility says whether a user can be paid out, and why not.
type PayoutEligibility struct {
	Standard bool     `json:"standard"`
	Instant  bool     `json:"instant"`
	Reasons  []string `json:"reasons"`
}

// Eligibility derives payout eligibility from the mirrored account state.
func (a ConnectedAccount) Eligibility() PayoutEligibility {
	e := PayoutEligibility{Reasons: []string{}}
	switch {
	case !a.DetailsSubmitted:
		e.Reasons = append(e.Reasons, "Onboarding is not finished.")
	case !a.PayoutsEnabled:
		e.Reasons = append(e.Reasons, "Stripe has not enabled payouts for this account.")
	}
	if !a.TransfersActive {
		e.Reasons = append(e.Reasons, "The transfers capability is not active yet: sales stay on the platform until it is.")
	}
	if len(a.CurrentlyDue) > 0 {
		e.Reasons = append(e.Reasons, "Stripe needs more information: "+strings.Join(a.CurrentlyDue, ", ")+".")
	}
	if a.DisabledReason != "" {
		e.Reasons = append(e.Reasons, "Stripe disabled the account: "+a.DisabledReason+".")
	}
	e.Standard = a.PayoutsEnabled && a.DetailsSubmitted && a.DisabledReason == ""
	e.Instant = e.Standard // the risk check decides per request
	return e
}

const accountCols = `user_id, stripe_account_id, charges_enabled, payouts_enabled, details_submitted,
	transfers_active, currently_due, disabled_reason, country, tax_code, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (ConnectedAccount, error) {
	var a ConnectedAccount
	var due string
	err := row.Scan(&a.UserID, &a.StripeAccountID, &a.ChargesEnabled, &a.PayoutsEnabled, &a.DetailsSubmitted,
		&a.TransfersActive, &due, &a.DisabledReason, &a.Country, &a.TaxCode, &a.CreatedAt, &a.UpdatedAt)
	a.CurrentlyDue = splitList(due)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Account returns the user's connected account.
func (s *Service) Account(ctx context.Context, userID string) (ConnectedAccount, error) {
	return accountByUser(ctx, s.db, userID)
}

func accountByUser(ctx context.Context, q querier, userID string) (ConnectedAccount, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM pay_connected_accounts WHERE user_id = ?`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, apperr.E("payments.Account", apperr.NotFound, err).WithCode("no_connected_account").
			WithMsg("This user has no payout account yet.")
	}
	return a, err
}

// CreateAccount creates the user's Express account at Stripe, once: a
// second call returns the existing one.
func (s *Service) CreateAccount(ctx context.Context, userID, email, country string) (ConnectedAccount, bool, error) {
	const op = "payments.CreateAccount"
	if a, err := s.Account(ctx, userID); err == nil {
		return a, false, nil
	} else if apperr.KindOf(err) != apperr.NotFound {
		return a, false, err
	}
	if country != "" && (len(country) != 2 || strings.ToUpper(country) != country) {
		return ConnectedAccount{}, false, apperr.Msgf(op, apperr.Invalid, "country must be an ISO 3166-1 alpha-2 code such as US.").
			WithCode("invalid_country").WithField("country", "invalid")
	}
	// The key is the user: however often this races or retries, Stripe
	// creates one account (within its 24 h key window; the unique user_id
	// below covers the rest).
	sa, err := s.gw.CreateAccount(ctx, "account:"+userID, AccountParams{UserID: userID, Email: email, Country: country})
	if err != nil {
		return ConnectedAccount{}, false, err
	}
	now := s.now().UTC()
	_, err = s.db.ExecContext(ctx, `INSERT INTO pay_connected_accounts (user_id, stripe_account_id, charges_enabled,
		payouts_enabled, details_submitted, transfers_active, currently_due, disabled_reason, country, state_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (user_id) DO NOTHING`,
		userID, sa.ID, sa.ChargesEnabled, sa.PayoutsEnabled, sa.DetailsSubmitted, sa.TransfersActive,
		strings.Join(sa.CurrentlyDue, ","), sa.DisabledReason, sa.Country, now, now)
	if err != nil {
		return ConnectedAccount{}, false, fmt.Errorf("%s: %w", op, err)
	}
	a, err := s.Account(ctx, userID)
	return a, err == nil && a.StripeAccountID == sa.ID, err
}

// OnboardingLink mints a single-use onboarding URL for the user's account.
// Never log or store it: it logs the holder in to the account.
func (s *Service) OnboardingLink(ctx context.Context, userID string) (AccountLink, error) {
	a, err := s.Account(ctx, userID)
	if err != nil {
		return AccountLink{}, err
	}
	base := strings.TrimSuffix(s.opts.PublicURL.String(), "/")
	// A fresh key per request: retries of this call are deduplicated, but
	// each request mints a new link (links expire in minutes, single-use).
	return s.gw.CreateAccountLink(ctx, "account_link:"+newID(), a.StripeAccountID,
		base+"/payments/onboarding/refresh", base+"/payments/onboarding/return")
}

// applyAccount mirrors a Stripe account state reported at eventCreated
// (unix seconds), unless a newer state was already applied.
func (s *Service) applyAccount(ctx context.Context, tx *store.Tx, sa StripeAccount, eventCreated int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE pay_connected_accounts SET charges_enabled = ?, payouts_enabled = ?,
		details_submitted = ?, transfers_active = ?, currently_due = ?, disabled_reason = ?, country = ?, state_at = ?, updated_at = ?
		WHERE stripe_account_id = ? AND state_at <= ?`,
		sa.ChargesEnabled, sa.PayoutsEnabled, sa.DetailsSubmitted, sa.TransfersActive, strings.Join(sa.CurrentlyDue, ","),
		sa.DisabledReason, sa.Country, eventCreated, s.now().UTC(), sa.ID, eventCreated)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ---- operations (write-ahead records of Stripe calls) ----------------------

// beginOp records that a Stripe call with key is about to be made. It
// returns the Stripe id when the same call already completed.
func (s *Service) beginOp(ctx context.Context, key, kind, ref string) (string, error) {
	now := s.now().UTC()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO pay_operations (stripe_key, kind, ref, status, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (stripe_key) DO NOTHING`, key, kind, ref, now, now); err != nil {
		return "", fmt.Errorf("payments: record operation: %w", err)
	}
	var status, id string
	if err := s.db.QueryRowContext(ctx, `SELECT status, stripe_id FROM pay_operations WHERE stripe_key = ?`, key).Scan(&status, &id); err != nil {
		return "", fmt.Errorf("payments: read operation: %w", err)
	}
	if status == "done" {
		return id, nil
	}
	return "", nil
}

// finishOp marks the operation done inside the transaction that records
// its outcome.
func (s *Service) finishOp(ctx context.Context, tx *store.Tx, key, stripeID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE pay_operations SET status = 'done', stripe_id = ?, updated_at = ? WHERE stripe_key = ?`,
		stripeID, s.now().UTC(), key)
	return err
}

// failOp records that Stripe refused the call for good (nothing moved).
func (s *Service) failOp(ctx context.Context, key string, cause error) {
	if apperr.KindOf(cause) != apperr.Invalid { // outages stay pending: the call may have happened
		return
	}
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE pay_operations SET status = 'failed', error = ?, updated_at = ? WHERE stripe_key = ? AND status = 'pending'`,
		msg, s.now().UTC(), key); err != nil {
		s.log.WarnContext(ctx, "payments: record failed operation", "key", key, "err", err)
	}
}
