package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/maxbooster/maxbooster/store"
)

// DriftRecord is one disagreement between the ledger and Stripe found by
// the reconciliation job. Records are kept (resolved_at marks the ones a
// person has dealt with); the same finding is recorded once.
type DriftRecord struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	StripeRef  string     `json:"stripeRef"`
	Currency   string     `json:"currency,omitempty"`
	Expected   int64      `json:"expected"`
	Actual     int64      `json:"actual"`
	Detail     string     `json:"detail"`
	CreatedAt  time.Time  `json:"createdAt"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
}

// The kinds of drift.
const (
	DriftPendingOperation = "pending_operation" // a Stripe call's outcome never reached the ledger
	DriftUnknownCharge    = "unknown_charge"    // a charge at Stripe with no checkout
	DriftAmountMismatch   = "amount_mismatch"   // the ledger and Stripe disagree on an amount
	DriftMissingInLedger  = "missing_in_ledger" // a transfer or refund at Stripe with no entry
	DriftUnclassified     = "unclassified"      // a balance transaction type the module does not book
)

// ReconcileReport summarises one run.
type ReconcileReport struct {
	Checked  int `json:"checked"`  // balance transactions looked at
	FeesBook int `json:"feesBook"` // card fee entries posted
	NewDrift int `json:"newDrift"` // records added
}

// reconcileWindow is how far back each run looks at balance transactions.
const reconcileWindow = 30 * 24 * time.Hour

// pendingGrace is how long an operation may stay pending before it is
// reported: calls in flight are not drift.
const pendingGrace = 10 * time.Minute

// Reconcile compares the ledger with Stripe's balance transactions of the
// last 30 days and with the module's own operation log, posts the card
// fees Stripe charged (known only from balance transactions), and records
// every disagreement as a DriftRecord.
func (s *Service) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	now := s.now().UTC()

	// Findings about operations that have completed since are resolved.
	if _, err := s.db.ExecContext(ctx, `UPDATE pay_reconciliation SET resolved_at = ?
		WHERE kind = ? AND resolved_at IS NULL AND stripe_ref IN (SELECT stripe_key FROM pay_operations WHERE status <> 'pending')`,
		now, DriftPendingOperation); err != nil {
		return rep, err
	}

	// 1. Stripe calls whose outcome the ledger never recorded.
	pending, err := pendingOperations(ctx, s.db, now.Add(-pendingGrace))
	if err != nil {
		return rep, err
	}
	for _, p := range pending {
		n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftPendingOperation, StripeRef: p.Key,
			Detail: fmt.Sprintf("%s for %s was started but its outcome is not in the ledger; retry it with the same key or check Stripe", p.Kind, p.Ref)})
		if err != nil {
			return rep, err
		}
		rep.NewDrift += n
	}

	// 2. Stripe's balance transactions against the ledger.
	txns, err := s.gw.ListBalanceTransactions(ctx, now.Add(-reconcileWindow), 1000)
	if err != nil {
		return rep, err
	}
	for _, bt := range txns {
		rep.Checked++
		n, fee, err := s.reconcileTxn(ctx, bt)
		if err != nil {
			return rep, err
		}
		rep.NewDrift += n
		if fee {
			rep.FeesBook++
		}
	}
	return rep, nil
}

func (s *Service) reconcileTxn(ctx context.Context, bt BalanceTransaction) (drift int, feePosted bool, err error) {
	switch bt.Type {
	case "charge", "payment":
		var id string
		qerr := s.db.QueryRowContext(ctx, `SELECT id FROM pay_checkouts WHERE charge_id = ? AND charge_id <> ''`, bt.Source).Scan(&id)
		if errors.Is(qerr, sql.ErrNoRows) {
			n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftUnknownCharge, StripeRef: bt.ID, Currency: bt.Currency, Actual: bt.Amount,
				Detail: "charge " + bt.Source + " is in the Stripe balance but no checkout has it"})
			return n, false, err
		}
		if qerr != nil {
			return 0, false, qerr
		}
		c, err := checkoutByID(ctx, s.db, id)
		if err != nil {
			return 0, false, err
		}
		if c.Amount != bt.Amount || c.Currency != bt.Currency {
			n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftAmountMismatch, StripeRef: bt.ID, Currency: bt.Currency,
				Expected: c.Amount, Actual: bt.Amount, Detail: "checkout " + c.ID + " amount differs from its charge"})
			return n, false, err
		}
		if bt.Fee <= 0 {
			return 0, false, nil
		}
		_, replayed, err := s.ledger.Post(ctx, EntryInput{Key: "card_fee:" + bt.ID, Kind: "card_fee",
			Memo: "Stripe fee on checkout " + c.ID, StripeRef: bt.Source, Postings: []Posting{
				Debit(PlatformAccount(CardFees, bt.Currency), bt.Fee),
				Credit(PlatformAccount(PlatformCash, bt.Currency), bt.Fee),
			}})
		return 0, err == nil && !replayed, err
	case "transfer", "refund", "payment_refund", "transfer_refund":
		es, err := s.ledger.EntriesByRef(ctx, bt.Source)
		if err != nil {
			return 0, false, err
		}
		if len(es) == 0 {
			n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftMissingInLedger, StripeRef: bt.ID, Currency: bt.Currency, Actual: bt.Amount,
				Detail: bt.Type + " " + bt.Source + " is in the Stripe balance but not in the ledger"})
			return n, false, err
		}
		var booked int64
		for _, e := range es {
			for _, p := range e.Postings {
				if p.Account.Code == PlatformCash {
					booked += p.Amount
				}
			}
		}
		if booked != bt.Amount {
			n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftAmountMismatch, StripeRef: bt.ID, Currency: bt.Currency,
				Expected: booked, Actual: bt.Amount, Detail: bt.Type + " " + bt.Source + ": the ledger moved a different amount of platform cash"})
			return n, false, err
		}
		return 0, false, nil
	case "adjustment":
		// Disputes withdraw and reinstate funds as adjustments whose source
		// is the dispute; its hold and outcome entries carry that id.
		es, err := s.ledger.EntriesByRef(ctx, bt.Source)
		if err != nil || (bt.Source != "" && len(es) > 0) {
			return 0, false, err
		}
		n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftUnclassified, StripeRef: bt.ID, Currency: bt.Currency, Actual: bt.Amount,
			Detail: "adjustment " + bt.Source + " is not booked by the payments module"})
		return n, false, err
	case "payout", "stripe_fee", "application_fee":
		return 0, false, nil // the platform's own bank payouts and Stripe's billing are outside these books
	default:
		n, err := s.recordDrift(ctx, DriftRecord{Kind: DriftUnclassified, StripeRef: bt.ID, Currency: bt.Currency, Actual: bt.Amount,
			Detail: "balance transaction of type " + bt.Type + " is not booked by the payments module"})
		return n, false, err
	}
}

// recordDrift stores a finding once (by kind and Stripe reference) and
// returns 1 when it is new.
func (s *Service) recordDrift(ctx context.Context, d DriftRecord) (int, error) {
	var n int64
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO pay_reconciliation (id, kind, stripe_ref, currency, expected, actual, detail, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, stripe_ref) DO NOTHING`,
			"rc_"+newID(), d.Kind, d.StripeRef, d.Currency, d.Expected, d.Actual, truncate(d.Detail, 500), s.now().UTC())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if n > 0 {
		s.log.WarnContext(ctx, "payments: reconciliation drift", "kind", d.Kind, "ref", d.StripeRef, "detail", d.Detail)
	}
	return int(n), err
}

// Drift lists drift records, unresolved ones only unless all.
func (s *Service) Drift(ctx context.Context, all bool) ([]DriftRecord, error) {
	q := `SELECT id, kind, stripe_ref, currency, expected, actual, detail, created_at, resolved_at FROM pay_reconciliation`
	if !all {
		q += ` WHERE resolved_at IS NULL`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_at DESC, id LIMIT 500`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []DriftRecord{}
	for rows.Next() {
		var d DriftRecord
		var resolved sql.NullTime
		if err := rows.Scan(&d.ID, &d.Kind, &d.StripeRef, &d.Currency, &d.Expected, &d.Actual, &d.Detail, &d.CreatedAt, &resolved); err != nil {
			return nil, err
		}
		d.CreatedAt = d.CreatedAt.UTC()
		if resolved.Valid {
			t := resolved.Time.UTC()
			d.ResolvedAt = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

type pendingOp struct{ Key, Kind, Ref string }

func pendingOperations(ctx context.Context, q querier, before time.Time) ([]pendingOp, error) {
	rows, err := q.QueryContext(ctx, `SELECT stripe_key, kind, ref FROM pay_operations
		WHERE status = 'pending' AND created_at < ?`, before)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []pendingOp
	for rows.Next() {
		var p pendingOp
		if err := rows.Scan(&p.Key, &p.Kind, &p.Ref); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
