package payments

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// APIVersion is the Stripe API version the module is pinned to: the one
// stripe-go v82 sends on every request. Create the webhook endpoint with it
// (Dashboard or `stripe webhook_endpoints create --api-version`); events of
// another release train are refused, so a version change never reaches the
// ledger as silently misread fields.
const APIVersion = stripe.APIVersion

// MaxWebhookBytes caps a webhook body (Stripe events are far smaller).
const MaxWebhookBytes = 512 << 10

// webhookMaxAttempts is how often the inbox tries an event before it is
// marked failed (it can then be replayed).
const webhookMaxAttempts = 8

// StoredEvent is a received webhook event in the inbox.
type StoredEvent struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Account     string     `json:"account,omitempty"`
	Created     time.Time  `json:"created"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"lastError,omitempty"`
	ReceivedAt  time.Time  `json:"receivedAt"`
	ProcessedAt *time.Time `json:"processedAt,omitempty"`
}

// ReceiveWebhook verifies a webhook's signature over the raw body (with
// the tolerance from Options) and its API version, and stores it in the
// inbox once per event id. It returns whether the event was new. Work
// happens later, in ProcessInbox.
func (s *Service) ReceiveWebhook(ctx context.Context, payload []byte, sigHeader string) (bool, error) {
	const op = "payments.ReceiveWebhook"
	if s.opts.WebhookSecret == "" {
		return false, apperr.Msgf(op, apperr.Unavailable, "Webhooks are not configured.").WithCode("webhooks_not_configured")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, sigHeader, s.opts.WebhookSecret, webhook.ConstructEventOptions{
		Tolerance: s.opts.WebhookTolerance,
	})
	if err != nil {
		code, msg := "bad_signature", "The webhook signature does not verify."
		if errors.Is(err, webhook.ErrInvalidHeader) || errors.Is(err, webhook.ErrNotSigned) {
			code, msg = "bad_signature_header", "The Stripe-Signature header is missing or malformed."
		} else if errors.Is(err, webhook.ErrTooOld) {
			code, msg = "signature_too_old", "The webhook signature is older than the tolerance."
		} else if !errors.Is(err, webhook.ErrNoValidSignature) {
			code, msg = "unsupported_event", "The event could not be read or its API version is not "+APIVersion+"."
		}
		return false, apperr.E(op, apperr.Invalid, err).WithCode(code).WithMsg(msg)
	}
	if ev.ID == "" || len(ev.ID) > 255 || ev.Type == "" {
		return false, apperr.Msgf(op, apperr.Invalid, "The event has no id or type.").WithCode("unsupported_event")
	}
	now := s.now().UTC()
	res, err := s.db.ExecContext(ctx, `INSERT INTO pay_webhook_events (id, type, account, created, payload, status,
		next_attempt_at, received_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
		ev.ID, string(ev.Type), ev.Account, ev.Created, string(payload), now, now)
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if n > 0 {
		s.Wake()
	}
	return n > 0, nil
}

// Wake asks the inbox worker to look for due events now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run processes the inbox until ctx ends: whenever woken and at least every
// interval (so retries come due).
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.ProcessInbox(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "payments: inbox", "err", err)
		}
		if err := s.expireIdempotency(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "payments: expire idempotency keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// ProcessInbox handles every due event, oldest Stripe time first, and
// returns how many it handled. A failing event is retried later with
// exponential backoff, up to webhookMaxAttempts, then marked failed.
func (s *Service) ProcessInbox(ctx context.Context) (int, error) {
	done := 0
	for {
		ids, err := queryStrings(ctx, s.db, `SELECT id FROM pay_webhook_events
			WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created, id LIMIT 50`, s.now().UTC())
		if err != nil {
			return done, err
		}
		if len(ids) == 0 {
			return done, nil
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return done, err
			}
			if err := s.processEvent(ctx, id); err != nil {
				return done, err
			}
			done++
		}
	}
}

// processEvent claims one event (attempts+1, pushed into the future so no
// other worker takes it meanwhile), handles it and records the outcome.
func (s *Service) processEvent(ctx context.Context, id string) error {
	var (
		payload  string
		attempts int
	)
	now := s.now().UTC()
	claimed := false
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT payload, attempts FROM pay_webhook_events
			WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?`, id, now).Scan(&payload, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // another worker has it
		}
		if err != nil {
			return err
		}
		attempts++
		lease := now.Add(2 * time.Minute)
		_, err = tx.ExecContext(ctx, `UPDATE pay_webhook_events SET attempts = ?, next_attempt_at = ? WHERE id = ?`, attempts, lease, id)
		claimed = err == nil
		return err
	})
	if err != nil || !claimed {
		return err
	}
	var ev stripe.Event
	handled, herr := false, json.Unmarshal([]byte(payload), &ev)
	if herr == nil {
		handled, herr = s.handleEvent(ctx, ev)
	}
	now = s.now().UTC()
	switch {
	case herr == nil:
		status := "processed"
		if !handled {
			status = "ignored"
		}
		_, err = s.db.ExecContext(ctx, `UPDATE pay_webhook_events SET status = ?, last_error = '', processed_at = ? WHERE id = ?`, status, now, id)
	case attempts >= webhookMaxAttempts:
		s.log.ErrorContext(ctx, "payments: webhook event failed for good", "event", id, "type", ev.Type, "err", herr)
		_, err = s.db.ExecContext(ctx, `UPDATE pay_webhook_events SET status = 'failed', last_error = ? WHERE id = ?`, truncate(herr.Error(), 500), id)
	default:
		// Exponential backoff with jitter: 2 s, 4 s, 8 s ... capped at 1 h.
		delay := min(time.Duration(1<<attempts)*time.Second, time.Hour)
		delay += time.Duration(rand.Int64N(int64(delay) / 2)) //nolint:gosec // jitter
		s.log.WarnContext(ctx, "payments: webhook event failed, will retry", "event", id, "attempt", attempts, "in", delay, "err", herr)
		_, err = s.db.ExecContext(ctx, `UPDATE pay_webhook_events SET last_error = ?, next_attempt_at = ? WHERE id = ?`,
			truncate(herr.Error(), 500), now.Add(delay), id)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// handleEvent applies one event. It must be idempotent (events repeat and
// are replayed) and order-tolerant: account state carries the event time,
// payment states only move forward, and money moves are ledger entries
// keyed by Stripe ids. It reports whether the event type is one it acts on.
func (s *Service) handleEvent(ctx context.Context, ev stripe.Event) (bool, error) {
	if ev.Data == nil {
		return false, errors.New("event without data")
	}
	raw := ev.Data.Raw
	switch string(ev.Type) { // the types acted on; every other type is ignored
	case "account.updated":
		var a stripe.Account
		if err := json.Unmarshal(raw, &a); err != nil {
			return true, err
		}
		sa := accountFromStripe(&a)
		if err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			applied, err := s.applyAccount(ctx, tx, sa, ev.Created)
			if err != nil || applied {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_connected_accounts WHERE stripe_account_id = ?`, sa.ID).Scan(&n); err != nil {
				return err
			}
			if n == 0 && a.Metadata["user_id"] != "" {
				// One of ours whose row is not written yet (the event raced
				// CreateAccount): retry, or its state would be lost.
				return fmt.Errorf("account %s is not recorded yet", sa.ID)
			}
			return nil
		}); err != nil {
			return true, err
		}
		return true, s.payWaiting(ctx, sa.ID)
	case "payment_intent.succeeded":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(raw, &pi); err != nil {
			return true, err
		}
		chargeID := ""
		if pi.LatestCharge != nil {
			chargeID = pi.LatestCharge.ID
		}
		c, err := s.paymentSucceeded(ctx, pi.ID, chargeID, ev.Created)
		if apperr.KindOf(err) == apperr.NotFound {
			return false, nil // not one of ours (another integration on the account)
		}
		if err != nil {
			return true, err
		}
		if err := s.payParties(ctx, c.ID); err != nil {
			return true, err
		}
		s.issueInvoices(ctx, c.ID)
		return true, nil
	case "payment_intent.payment_failed", "payment_intent.canceled":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(raw, &pi); err != nil {
			return true, err
		}
		return true, s.paymentFailed(ctx, pi.ID, ev.Created)
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.funds_withdrawn",
		"charge.dispute.funds_reinstated", "charge.dispute.closed":
		var d stripe.Dispute
		if err := json.Unmarshal(raw, &d); err != nil {
			return true, err
		}
		err := s.applyDispute(ctx, &d, ev.Created)
		if apperr.KindOf(err) == apperr.NotFound {
			return false, nil
		}
		return true, err
	case "charge.refunded":
		var ch stripe.Charge
		if err := json.Unmarshal(raw, &ch); err != nil {
			return true, err
		}
		err := s.externalRefunds(ctx, &ch)
		if apperr.KindOf(err) == apperr.NotFound {
			return false, nil
		}
		return true, err
	case "payout.paid", "payout.failed", "payout.canceled", "payout.updated":
		var p stripe.Payout
		if err := json.Unmarshal(raw, &p); err != nil {
			return true, err
		}
		return true, s.applyPayout(ctx, p.ID, string(p.Status), ev.Created)
	}
	return false, nil
}

// Events lists stored events, newest first (at most limit, 1-200).
func (s *Service) Events(ctx context.Context, status string, limit int) ([]StoredEvent, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT id, type, account, created, status, attempts, last_error, received_at, processed_at FROM pay_webhook_events`
	args := []any{}
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY received_at DESC, id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []StoredEvent{}
	for rows.Next() {
		var e StoredEvent
		var created int64
		var processed sql.NullTime
		if err := rows.Scan(&e.ID, &e.Type, &e.Account, &created, &e.Status, &e.Attempts, &e.LastError, &e.ReceivedAt, &processed); err != nil {
			return nil, err
		}
		e.Created, e.ReceivedAt = time.Unix(created, 0).UTC(), e.ReceivedAt.UTC()
		if processed.Valid {
			t := processed.Time.UTC()
			e.ProcessedAt = &t
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReplayEvent puts a stored event back in the inbox and processes it now.
// Handling is idempotent, so a replay repairs state without moving money
// twice. Only admins, and the owner of the connected account an event is
// about, may replay it.
func (s *Service) ReplayEvent(ctx context.Context, userID, email, id string) (StoredEvent, error) {
	const op = "payments.ReplayEvent"
	var account string
	err := s.db.QueryRowContext(ctx, `SELECT account FROM pay_webhook_events WHERE id = ?`, id).Scan(&account)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredEvent{}, apperr.E(op, apperr.NotFound, err)
	}
	if err != nil {
		return StoredEvent{}, err
	}
	if !s.IsAdmin(email) {
		a, err := s.Account(ctx, userID)
		if err != nil || account == "" || a.StripeAccountID != account {
			return StoredEvent{}, apperr.Msgf(op, apperr.Forbidden, "Only an admin or the account's owner may replay this event.").WithCode("not_allowed")
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE pay_webhook_events SET status = 'pending', attempts = 0, next_attempt_at = ?
		WHERE id = ?`, s.now().UTC(), id); err != nil {
		return StoredEvent{}, err
	}
	if err := s.processEvent(ctx, id); err != nil {
		return StoredEvent{}, err
	}
	evs, err := s.eventByID(ctx, id)
	return evs, err
}

func (s *Service) eventByID(ctx context.Context, id string) (StoredEvent, error) {
	var e StoredEvent
	var created int64
	var processed sql.NullTime
	err := s.db.QueryRowContext(ctx, `SELECT id, type, account, created, status, attempts, last_error, received_at, processed_at
		FROM pay_webhook_events WHERE id = ?`, id).
		Scan(&e.ID, &e.Type, &e.Account, &created, &e.Status, &e.Attempts, &e.LastError, &e.ReceivedAt, &processed)
	if err != nil {
		return e, err
	}
	e.Created, e.ReceivedAt = time.Unix(created, 0).UTC(), e.ReceivedAt.UTC()
	if processed.Valid {
		t := processed.Time.UTC()
		e.ProcessedAt = &t
	}
	return e, nil
}

// IsAdmin reports whether email is one of Options.AdminEmails.
func (s *Service) IsAdmin(email string) bool {
	for _, a := range s.opts.AdminEmails {
		if a != "" && a == email {
			return true
		}
	}
	return false
}

// payWaiting sends the transfers that waited for a connected account to
// be able to receive them (split sales made before onboarding finished).
func (s *Service) payWaiting(ctx context.Context, stripeAccountID string) error {
	ids, err := queryStrings(ctx, s.db, `SELECT DISTINCT c.id FROM pay_checkouts c
		JOIN pay_checkout_parties p ON p.checkout_id = c.id
		JOIN pay_connected_accounts a ON a.user_id = p.user_id
		WHERE a.stripe_account_id = ? AND a.transfers_active AND c.mode = 'split' AND c.status = 'succeeded'
		AND p.transfer_id = '' AND p.amount > p.reversed`, stripeAccountID)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.payParties(ctx, id))
	}
	return errors.Join(errs...)
}
