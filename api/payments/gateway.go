package payments

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stripe/stripe-go/v82"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

// Gateway is what the service needs from Stripe. Every call that creates
// something takes an idempotency key, which is sent as Stripe's
// Idempotency-Key, so a retried call (ours or a replayed request) never
// creates twice. StripeGateway implements it; tests may wrap it to inject
// failures.
type Gateway interface {
	CreateAccount(ctx context.Context, key string, p AccountParams) (StripeAccount, error)
	CreateAccountLink(ctx context.Context, key, accountID, refreshURL, returnURL string) (AccountLink, error)
	CreatePaymentIntent(ctx context.Context, key string, p PaymentIntentParams) (PaymentIntent, error)
	CreateTransfer(ctx context.Context, key string, p TransferParams) (string, error)
	ReverseTransfer(ctx context.Context, key, transferID string, amount int64) (string, error)
	CreateRefund(ctx context.Context, key, paymentIntentID string, amount int64, reverseTransfer bool) (Refund, error)
	ChargeTransfer(ctx context.Context, chargeID string) (string, error)
	CreatePayout(ctx context.Context, key, accountID string, amount int64, currency string, instant bool) (Payout, error)
	ListBalanceTransactions(ctx context.Context, since time.Time, limit int) ([]BalanceTransaction, error)
}

// AccountParams describes a new Express connected account.
type AccountParams struct {
	UserID  string
	Email   string
	Country string // ISO 3166-1 alpha-2; empty lets Stripe ask during onboarding
}

// StripeAccount is the part of a Stripe account the module mirrors.
type StripeAccount struct {
	ID               string
	ChargesEnabled   bool
	PayoutsEnabled   bool
	DetailsSubmitted bool
	TransfersActive  bool
	CurrentlyDue     []string
	DisabledReason   string
	Country          string
	Created          time.Time
}

// AccountLink is a single-use onboarding URL.
type AccountLink struct {
	URL       string
	ExpiresAt time.Time
}

// PaymentIntentParams describes a charge on the platform. With Destination
// set it is a destination charge for one seller, who receives Amount −
// PlatformFee; otherwise the funds stay on the platform and are
// transferred later under TransferGroup.
type PaymentIntentParams struct {
	Amount        int64
	Currency      string
	Description   string
	TransferGroup string
	Destination   string
	PlatformFee   int64
	Metadata      map[string]string
}

// PaymentIntent is what a buyer's client needs to pay.
type PaymentIntent struct {
	ID           string
	ClientSecret string
	Status       string
}

// TransferParams moves money from the platform to a connected account,
// funded by SourceCharge (so it never fails on pending funds).
type TransferParams struct {
	Amount        int64
	Currency      string
	Destination   string
	TransferGroup string
	SourceCharge  string
	Metadata      map[string]string
}

// Refund is a created refund. TransferReversal is the reversal Stripe made
// with it (destination charges, reverse_transfer).
type Refund struct {
	ID               string
	Status           string
	TransferReversal string
}

// Payout is a created payout.
type Payout struct {
	ID     string
	Status string
}

// BalanceTransaction is one line of the platform's Stripe balance history.
type BalanceTransaction struct {
	ID       string
	Type     string
	Source   string
	Amount   int64
	Fee      int64
	Net      int64
	Currency string
	Created  time.Time
}

// GatewayOptions tune StripeGateway. The zero value means Stripe's
// production API, 3 attempts per call with backoff from 200 ms, and a
// breaker that opens after 5 consecutive failures for 30 s.
type GatewayOptions struct {
	// APIBase overrides Stripe's API URL (stripe-mock in tests).
	APIBase string
	// HTTPClient sends the requests; nil means one with a 30 s timeout.
	HTTPClient *http.Client
	// Attempts per call (retries on network errors, 429, 409 lock
	// timeouts and 5xx, with the same idempotency key). Zero means 3.
	Attempts int
	// Backoff is the first retry's maximum delay (full jitter, doubling).
	// Zero means 200 ms.
	Backoff time.Duration
	// BreakerFailures consecutive failures open the breaker; zero means 5.
	BreakerFailures uint32
	// BreakerOpen is how long the breaker stays open; zero means 30 s.
	BreakerOpen time.Duration
}

// StripeGateway is the Gateway on stripe-go, with retries and a circuit
// breaker around every call.
type StripeGateway struct {
	c       *stripe.Client
	opts    GatewayOptions
	breaker *gobreaker.CircuitBreaker[any]
}

var _ Gateway = (*StripeGateway)(nil)

// ErrStripeUnavailable means Stripe did not answer usefully (network, 5xx,
// or the breaker is open).
var ErrStripeUnavailable = errors.New("payments: stripe unavailable")

// NewStripeGateway returns a gateway that calls Stripe with secretKey.
func NewStripeGateway(secretKey string, opts GatewayOptions) *StripeGateway {
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerOpen <= 0 {
		opts.BreakerOpen = 30 * time.Second
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0), // we retry, with the breaker
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if opts.APIBase != "" {
		cfg.URL = stripe.String(opts.APIBase)
	}
	g := &StripeGateway{c: stripe.NewClient(secretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg))), opts: opts}
	g.breaker = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:        "stripe",
		Timeout:     opts.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= opts.BreakerFailures },
		// A card decline or invalid request is Stripe working: only
		// failures to get an answer count against the breaker.
		IsSuccessful: func(err error) bool { return err == nil || !retryable(err) },
	})
	return g
}

// retryable reports whether a failed Stripe call may succeed if repeated
// with the same idempotency key.
func retryable(err error) bool {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests, se.HTTPStatusCode >= 500:
		return true
	case se.HTTPStatusCode == http.StatusConflict && se.Code == stripe.ErrorCodeLockTimeout:
		return true
	}
	return false
}

// do runs fn through the breaker with retries and backoff, and turns the
// outcome into an apperr: Unavailable for outages, Invalid (with Stripe's
// message) for requests Stripe refused.
func (g *StripeGateway) do(ctx context.Context, op string, fn func() error) error {
	backoff := g.opts.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		_, err = g.breaker.Execute(func() (any, error) { return nil, fn() })
		if err == nil {
			return nil
		}
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			break
		}
		if !retryable(err) || attempt >= g.opts.Attempts {
			break
		}
		t := time.NewTimer(time.Duration(rand.Int64N(int64(backoff))) + time.Millisecond) //nolint:gosec // jitter
		select {
		case <-ctx.Done():
			t.Stop()
			return apperr.E(op, apperr.Canceled, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
	var se *stripe.Error
	if errors.As(err, &se) && !retryable(err) {
		msg := se.Msg
		if msg == "" {
			msg = "Stripe refused the request."
		}
		code := "stripe_" + string(se.Type)
		if se.Code != "" {
			code = "stripe_" + string(se.Code)
		}
		return apperr.E(op, apperr.Invalid, err).WithCode(code).WithMsg(msg)
	}
	return apperr.E(op, apperr.Unavailable, fmt.Errorf("%w: %w", ErrStripeUnavailable, err)).
		WithCode("stripe_unavailable").WithMsg("The payment provider is unavailable; try again shortly.")
}

// BreakerState reports the breaker's state ("closed", "half-open", "open").
func (g *StripeGateway) BreakerState() string { return g.breaker.State().String() }

func params(ctx context.Context, key string) stripe.Params {
	p := stripe.Params{Context: ctx}
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	return p
}

// CreateAccount implements Gateway: an Express account with card payments
// and transfers requested.
func (g *StripeGateway) CreateAccount(ctx context.Context, key string, p AccountParams) (StripeAccount, error) {
	cp := &stripe.AccountCreateParams{
		Params: params(ctx, key),
		Type:   stripe.String(string(stripe.AccountTypeExpress)),
		Capabilities: &stripe.AccountCreateCapabilitiesParams{
			CardPayments: &stripe.AccountCreateCapabilitiesCardPaymentsParams{Requested: stripe.Bool(true)},
			Transfers:    &stripe.AccountCreateCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
		Metadata: map[string]string{"user_id": p.UserID},
	}
	if p.Email != "" {
		cp.Email = stripe.String(p.Email)
	}
	if p.Country != "" {
		cp.Country = stripe.String(p.Country)
	}
	var a *stripe.Account
	err := g.do(ctx, "payments.stripe.CreateAccount", func() (err error) {
		a, err = g.c.V1Accounts.Create(ctx, cp)
		return err
	})
	if err != nil {
		return StripeAccount{}, err
	}
	return accountFromStripe(a), nil
}

func accountFromStripe(a *stripe.Account) StripeAccount {
	out := StripeAccount{
		ID: a.ID, ChargesEnabled: a.ChargesEnabled, PayoutsEnabled: a.PayoutsEnabled,
		DetailsSubmitted: a.DetailsSubmitted, Country: a.Country,
	}
	if a.Created > 0 {
		out.Created = time.Unix(a.Created, 0).UTC()
	}
	if a.Capabilities != nil {
		out.TransfersActive = a.Capabilities.Transfers == stripe.AccountCapabilityStatusActive
	}
	if a.Requirements != nil {
		out.CurrentlyDue = a.Requirements.CurrentlyDue
		out.DisabledReason = string(a.Requirements.DisabledReason)
	}
	return out
}

// CreateAccountLink implements Gateway (type account_onboarding).
func (g *StripeGateway) CreateAccountLink(ctx context.Context, key, accountID, refreshURL, returnURL string) (AccountLink, error) {
	lp := &stripe.AccountLinkCreateParams{
		Params:     params(ctx, key),
		Account:    stripe.String(accountID),
		Type:       stripe.String("account_onboarding"),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
	}
	var l *stripe.AccountLink
	err := g.do(ctx, "payments.stripe.CreateAccountLink", func() (err error) {
		l, err = g.c.V1AccountLinks.Create(ctx, lp)
		return err
	})
	if err != nil {
		return AccountLink{}, err
	}
	return AccountLink{URL: l.URL, ExpiresAt: time.Unix(l.ExpiresAt, 0).UTC()}, nil
}

// CreatePaymentIntent implements Gateway.
func (g *StripeGateway) CreatePaymentIntent(ctx context.Context, key string, p PaymentIntentParams) (PaymentIntent, error) {
	pp := &stripe.PaymentIntentCreateParams{
		Params:                  params(ctx, key),
		Amount:                  stripe.Int64(p.Amount),
		Currency:                stripe.String(p.Currency),
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)},
	}
	pp.Metadata = p.Metadata
	if p.Description != "" {
		pp.Description = stripe.String(p.Description)
	}
	if p.TransferGroup != "" {
		pp.TransferGroup = stripe.String(p.TransferGroup)
	}
	if p.Destination != "" {
		// transfer_data[amount] rather than application_fee_amount: Stripe
		// then transfers exactly the seller's part, as the ledger books it,
		// instead of the whole charge followed by an application fee.
		pp.TransferData = &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(p.Destination)}
		if p.PlatformFee > 0 {
			pp.TransferData.Amount = stripe.Int64(p.Amount - p.PlatformFee)
		}
	}
	var pi *stripe.PaymentIntent
	err := g.do(ctx, "payments.stripe.CreatePaymentIntent", func() (err error) {
		pi, err = g.c.V1PaymentIntents.Create(ctx, pp)
		return err
	})
	if err != nil {
		return PaymentIntent{}, err
	}
	return PaymentIntent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status)}, nil
}

// CreateTransfer implements Gateway.
func (g *StripeGateway) CreateTransfer(ctx context.Context, key string, p TransferParams) (string, error) {
	tp := &stripe.TransferCreateParams{
		Params:        params(ctx, key),
		Amount:        stripe.Int64(p.Amount),
		Currency:      stripe.String(p.Currency),
		Destination:   stripe.String(p.Destination),
		TransferGroup: stripe.String(p.TransferGroup),
		Metadata:      p.Metadata,
	}
	if p.SourceCharge != "" {
		tp.SourceTransaction = stripe.String(p.SourceCharge)
	}
	var tr *stripe.Transfer
	err := g.do(ctx, "payments.stripe.CreateTransfer", func() (err error) {
		tr, err = g.c.V1Transfers.Create(ctx, tp)
		return err
	})
	if err != nil {
		return "", err
	}
	return tr.ID, nil
}

// ReverseTransfer implements Gateway.
func (g *StripeGateway) ReverseTransfer(ctx context.Context, key, transferID string, amount int64) (string, error) {
	rp := &stripe.TransferReversalCreateParams{Params: params(ctx, key), ID: stripe.String(transferID), Amount: stripe.Int64(amount)}
	var r *stripe.TransferReversal
	err := g.do(ctx, "payments.stripe.ReverseTransfer", func() (err error) {
		r, err = g.c.V1TransferReversals.Create(ctx, rp)
		return err
	})
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// CreateRefund implements Gateway. With reverseTransfer (destination
// charges) Stripe also pulls back the seller's transfer in proportion.
func (g *StripeGateway) CreateRefund(ctx context.Context, key, paymentIntentID string, amount int64, reverseTransfer bool) (Refund, error) {
	rp := &stripe.RefundCreateParams{Params: params(ctx, key), PaymentIntent: stripe.String(paymentIntentID), Amount: stripe.Int64(amount)}
	if reverseTransfer {
		rp.ReverseTransfer = stripe.Bool(true)
	}
	var r *stripe.Refund
	err := g.do(ctx, "payments.stripe.CreateRefund", func() (err error) {
		r, err = g.c.V1Refunds.Create(ctx, rp)
		return err
	})
	if err != nil {
		return Refund{}, err
	}
	out := Refund{ID: r.ID, Status: string(r.Status)}
	if r.TransferReversal != nil {
		out.TransferReversal = r.TransferReversal.ID
	}
	return out, nil
}

// ChargeTransfer implements Gateway: the transfer Stripe made for a
// destination charge ("" when there is none).
func (g *StripeGateway) ChargeTransfer(ctx context.Context, chargeID string) (string, error) {
	var ch *stripe.Charge
	err := g.do(ctx, "payments.stripe.ChargeTransfer", func() (err error) {
		ch, err = g.c.V1Charges.Retrieve(ctx, chargeID, &stripe.ChargeRetrieveParams{Params: stripe.Params{Context: ctx}})
		return err
	})
	if err != nil || ch.Transfer == nil {
		return "", err
	}
	return ch.Transfer.ID, nil
}

// CreatePayout implements Gateway: a payout from the connected account to
// its default external account.
func (g *StripeGateway) CreatePayout(ctx context.Context, key, accountID string, amount int64, currency string, instant bool) (Payout, error) {
	pp := &stripe.PayoutCreateParams{Params: params(ctx, key), Amount: stripe.Int64(amount), Currency: stripe.String(currency)}
	pp.SetStripeAccount(accountID)
	method := stripe.PayoutMethodStandard
	if instant {
		method = stripe.PayoutMethodInstant
	}
	pp.Method = stripe.String(string(method))
	var p *stripe.Payout
	err := g.do(ctx, "payments.stripe.CreatePayout", func() (err error) {
		p, err = g.c.V1Payouts.Create(ctx, pp)
		return err
	})
	if err != nil {
		return Payout{}, err
	}
	return Payout{ID: p.ID, Status: string(p.Status)}, nil
}

// ListBalanceTransactions implements Gateway: the platform's balance
// transactions created at or after since, at most limit.
func (g *StripeGateway) ListBalanceTransactions(ctx context.Context, since time.Time, limit int) ([]BalanceTransaction, error) {
	lp := &stripe.BalanceTransactionListParams{}
	lp.Context = ctx
	lp.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}
	lp.Limit = stripe.Int64(int64(min(limit, 100)))
	var out []BalanceTransaction
	err := g.do(ctx, "payments.stripe.ListBalanceTransactions", func() error {
		out = out[:0]
		for bt, err := range g.c.V1BalanceTransactions.List(ctx, lp) {
			if err != nil {
				return err
			}
			t := BalanceTransaction{
				ID: bt.ID, Type: string(bt.Type), Amount: bt.Amount, Fee: bt.Fee, Net: bt.Net,
				Currency: string(bt.Currency), Created: time.Unix(bt.Created, 0).UTC(),
			}
			if bt.Source != nil {
				t.Source = bt.Source.ID
			}
			out = append(out, t)
			if len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}
