package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// RefundResult is a refund and how it was shared out.
type RefundResult struct {
	ID         string  `json:"id"`
	CheckoutID string  `json:"checkoutId"`
	Amount     int64   `json:"amount"`
	Status     string  `json:"status"`
	Parts      []int64 `json:"parts"`       // per party, in checkout order
	FeePart    int64   `json:"feePart"`     // the platform's commission given back
	Reversals  []int64 `json:"reversals"`   // pulled back from each party's transfer
	Checkout   int64   `json:"refundedSum"` // everything refunded on the checkout so far
}

// refundWeights shares a refund or a dispute between the parties and the
// platform in proportion to what each received.
func refundWeights(c Checkout) []int64 {
	w := make([]int64, 0, len(c.Parties)+1)
	for _, p := range c.Parties {
		w = append(w, p.Amount)
	}
	return append(w, c.Fee)
}

// Refund gives amount of a succeeded checkout back to the buyer (0 means
// everything not refunded yet). Each party gives back in proportion to its
// part (Allocate over what each got, the platform's fee included), and
// transferred parts are pulled back from the parties' transfers. Only the
// checkout's creator may refund. key is the caller's Idempotency-Key.
func (s *Service) Refund(ctx context.Context, userID, key, checkoutID string, amount int64) (RefundResult, error) {
	const op = "payments.Refund"
	c, err := s.Checkout(ctx, userID, checkoutID)
	if err != nil {
		return RefundResult{}, err
	}
	if c.CreatedBy != userID {
		return RefundResult{}, apperr.Msgf(op, apperr.Forbidden, "Only the checkout's creator can refund it.").WithCode("not_creator")
	}
	if c.Status != "succeeded" {
		return RefundResult{}, apperr.Msgf(op, apperr.Conflict, "Only a paid checkout can be refunded.").WithCode("not_paid")
	}
	if amount == 0 {
		amount = c.Amount - c.Refunded
	}
	if amount <= 0 || amount > c.Amount {
		return RefundResult{}, apperr.Msgf(op, apperr.Invalid, "amount must be 1 to %d.", c.Amount).WithCode("invalid_amount").WithField("amount", "invalid")
	}
	stripeKey := "refund:" + c.ID + ":" + idFromKey(userID, key)
	destReversal := "" // Stripe's reversal of a destination charge's transfer
	doneID, err := s.beginOp(ctx, stripeKey, "refund", c.ID)
	if err != nil {
		return RefundResult{}, err
	}
	if doneID == "" {
		// Reserve the amount first, so concurrent refunds cannot exceed the
		// charge; a refusal from Stripe gives it back.
		reserved := false
		err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM pay_operations WHERE stripe_key = ?`, stripeKey).Scan(&status); err != nil {
				return err
			}
			var already int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_operations WHERE stripe_key = ? AND ref = ?`,
				stripeKey+":reserved", c.ID).Scan(&already); err != nil {
				return err
			}
			if already > 0 {
				reserved = true
				return nil
			}
			res, err := tx.ExecContext(ctx, `UPDATE pay_checkouts SET refunded = refunded + ?, updated_at = ?
				WHERE id = ? AND refunded + ? <= amount`, amount, s.now().UTC(), c.ID, amount)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.Msgf(op, apperr.Conflict, "That is more than is left to refund.").WithCode("refund_exceeds_charge")
			}
			reserved = true
			now := s.now().UTC()
			_, err = tx.ExecContext(ctx, `INSERT INTO pay_operations (stripe_key, kind, ref, status, created_at, updated_at)
				VALUES (?, 'refund_reservation', ?, 'done', ?, ?)`, stripeKey+":reserved", c.ID, now, now)
			return err
		})
		if err != nil || !reserved {
			return RefundResult{}, err
		}
		r, err := s.gw.CreateRefund(ctx, stripeKey, c.PaymentIntentID, amount, c.Mode == ModeDestination)
		if err != nil {
			if apperr.KindOf(err) == apperr.Invalid { // refused: nothing moved, release the reservation
				s.failOp(ctx, stripeKey, err)
				if _, rerr := s.db.ExecContext(ctx, `UPDATE pay_checkouts SET refunded = refunded - ? WHERE id = ?`, amount, c.ID); rerr != nil {
					s.log.ErrorContext(ctx, "payments: release refund reservation", "checkout", c.ID, "err", rerr)
				}
			}
			return RefundResult{}, err
		}
		doneID = r.ID
		if c.Mode == ModeDestination {
			destReversal = r.TransferReversal
		}
	}
	parts, err := Allocate(amount, refundWeights(c))
	if err != nil {
		return RefundResult{}, apperr.E(op, apperr.Internal, err)
	}
	res := RefundResult{ID: doneID, CheckoutID: c.ID, Amount: amount, Status: "succeeded",
		Parts: parts[:len(c.Parties)], FeePart: parts[len(c.Parties)], Reversals: make([]int64, len(c.Parties))}

	reversalIDs := make([]string, len(c.Parties)) // Stripe's trr_ ids, for reconciliation
	if c.Mode == ModeDestination {
		reversalIDs[0] = destReversal
	}
	// Pull back each transferred part. A destination charge's transfer was
	// reversed by Stripe with the refund (reverse_transfer).
	for i, p := range c.Parties {
		if parts[i] == 0 {
			continue
		}
		transferred := p.TransferID != "" || c.Mode == ModeDestination
		if !transferred {
			continue // its part never left the platform; Reversed records the refund below
		}
		res.Reversals[i] = min(parts[i], p.Amount-p.Reversed)
		if c.Mode == ModeDestination || res.Reversals[i] == 0 {
			continue
		}
		rkey := "reversal:" + doneID + ":" + strconv.Itoa(i)
		rid, err := s.beginOp(ctx, rkey, "transfer_reversal", c.ID)
		if err != nil {
			return res, err
		}
		if rid == "" {
			if rid, err = s.gw.ReverseTransfer(ctx, rkey, p.TransferID, res.Reversals[i]); err != nil {
				s.failOp(ctx, rkey, err)
				return res, err
			}
		}
		if err := s.db.WithTx(ctx, func(tx *store.Tx) error { return s.finishOp(ctx, tx, rkey, rid) }); err != nil {
			return res, err
		}
		reversalIDs[i] = rid
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		_, replayed, err := s.ledger.PostTx(ctx, tx, refundEntry(c, doneID, amount, parts))
		if err != nil {
			return err
		}
		if replayed { // a retry: this transaction committed everything below the first time
			return tx.QueryRowContext(ctx, `SELECT refunded FROM pay_checkouts WHERE id = ?`, c.ID).Scan(&res.Checkout)
		}
		for i, p := range c.Parties {
			if p.TransferID == "" && c.Mode == ModeSplit && parts[i] > 0 {
				// Not transferred yet: the later transfer sends only the rest.
				if _, err := tx.ExecContext(ctx, `UPDATE pay_checkout_parties SET reversed = reversed + ? WHERE checkout_id = ? AND seq = ? AND transfer_id = ''`,
					parts[i], c.ID, i); err != nil {
					return err
				}
				continue
			}
			if res.Reversals[i] == 0 {
				continue
			}
			if _, _, err := s.ledger.PostTx(ctx, tx, EntryInput{
				Key: "reversal:" + doneID + ":" + strconv.Itoa(i), Kind: "transfer_reversal", Memo: "refund of checkout " + c.ID,
				StripeRef: reversalIDs[i], Postings: []Posting{
					Debit(PlatformAccount(PlatformCash, c.Currency), res.Reversals[i]),
					Credit(UserAccount(ConnectedCash, p.UserID, c.Currency), res.Reversals[i]),
				}}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE pay_checkout_parties SET reversed = reversed + ? WHERE checkout_id = ? AND seq = ?`,
				res.Reversals[i], c.ID, i); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_refunds (id, checkout_id, amount, status, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, doneID, c.ID, amount, res.Status, userID, s.now().UTC()); err != nil {
			return err
		}
		if err := s.finishOp(ctx, tx, stripeKey, doneID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT refunded FROM pay_checkouts WHERE id = ?`, c.ID).Scan(&res.Checkout)
	})
	if err != nil {
		return res, fmt.Errorf("%s: record: %w", op, err)
	}
	return res, nil
}

// refundEntry books a refund of amount shared as parts (per party, then
// the platform's fee part): the money leaves the platform's balance.
func refundEntry(c Checkout, refundID string, amount int64, parts []int64) EntryInput {
	ps := []Posting{Credit(PlatformAccount(PlatformCash, c.Currency), amount)}
	for i, p := range c.Parties {
		ps = append(ps, Debit(UserAccount(SellerPayable, p.UserID, c.Currency), parts[i]))
	}
	ps = append(ps, Debit(PlatformAccount(FeeRefunds, c.Currency), parts[len(c.Parties)]))
	return EntryInput{Key: "refund:" + refundID, Kind: "refund", Memo: "refund of checkout " + c.ID, StripeRef: refundID, Postings: ps}
}

// errRefundInFlight delays a charge.refunded event while one of our own
// refunds of the checkout is between Stripe and the ledger.
var errRefundInFlight = errors.New("payments: a refund of this checkout is in flight")

// externalRefunds books refunds made outside the API (the Stripe
// Dashboard), reported by charge.refunded: shared like ours, but no
// transfer is pulled back, so the parties owe what they had received.
// Refunds the ledger already has are skipped.
func (s *Service) externalRefunds(ctx context.Context, ch *stripe.Charge) error {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM pay_checkouts WHERE charge_id = ? AND charge_id <> ''`, ch.ID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.E("payments.externalRefunds", apperr.NotFound, err)
	}
	if err != nil {
		return err
	}
	if ch.Refunds == nil {
		return nil
	}
	var inFlight int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_operations WHERE kind = 'refund' AND ref = ? AND status = 'pending'`,
		id).Scan(&inFlight); err != nil {
		return err
	}
	if inFlight > 0 {
		return errRefundInFlight // retried later, when ours is booked
	}
	for _, r := range ch.Refunds.Data {
		if r == nil || r.ID == "" || r.Amount <= 0 || (r.Status != stripe.RefundStatusSucceeded && r.Status != stripe.RefundStatusPending) {
			continue
		}
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			if _, _, err := entryByKey(ctx, tx, "refund:"+r.ID); err == nil {
				return nil // booked already (ours, or an earlier event)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			c, err := checkoutByID(ctx, tx, id)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE pay_checkouts SET refunded = refunded + ?, updated_at = ? WHERE id = ? AND refunded + ? <= amount`,
				r.Amount, s.now().UTC(), c.ID, r.Amount)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("refund %s of %d exceeds what is left of checkout %s", r.ID, r.Amount, c.ID)
			}
			parts, err := Allocate(r.Amount, refundWeights(c))
			if err != nil {
				return err
			}
			if _, _, err := s.ledger.PostTx(ctx, tx, refundEntry(c, r.ID, r.Amount, parts)); err != nil {
				return err
			}
			for i, p := range c.Parties {
				if p.TransferID == "" && c.Mode == ModeSplit && parts[i] > 0 {
					if _, err := tx.ExecContext(ctx, `UPDATE pay_checkout_parties SET reversed = reversed + ? WHERE checkout_id = ? AND seq = ? AND transfer_id = ''`,
						parts[i], c.ID, i); err != nil {
						return err
					}
				}
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO pay_refunds (id, checkout_id, amount, status, created_by, created_at)
				VALUES (?, ?, ?, ?, 'stripe', ?) ON CONFLICT (id) DO NOTHING`, r.ID, c.ID, r.Amount, string(r.Status), s.now().UTC())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- disputes ---------------------------------------------------------------

// Dispute is a chargeback on a checkout.
type Dispute struct {
	ID            string     `json:"id"`
	CheckoutID    string     `json:"checkoutId"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	Reason        string     `json:"reason"`
	Status        string     `json:"status"`
	EvidenceDueBy *time.Time `json:"evidenceDueBy,omitempty"`
	Held          int64      `json:"held"` // the caller's part held (lists for a user)
	CreatedAt     time.Time  `json:"createdAt"`
}

// applyDispute converges the dispute's state from any of its events, in
// any order: the row is created or updated (never to an older state), the
// funds are held once, and a closed dispute's outcome is posted once.
func (s *Service) applyDispute(ctx context.Context, d *stripe.Dispute, eventCreated int64) error {
	piID, chargeID := "", ""
	if d.PaymentIntent != nil {
		piID = d.PaymentIntent.ID
	}
	if d.Charge != nil {
		chargeID = d.Charge.ID
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		var (
			c   Checkout
			err error
		)
		if piID != "" {
			c, err = checkoutByPaymentIntent(ctx, tx, piID)
		} else {
			var id string
			if err = tx.QueryRowContext(ctx, `SELECT id FROM pay_checkouts WHERE charge_id = ? AND charge_id <> ''`, chargeID).Scan(&id); err == nil {
				c, err = checkoutByID(ctx, tx, id)
			} else if errors.Is(err, sql.ErrNoRows) {
				err = apperr.E("payments.applyDispute", apperr.NotFound, err)
			}
		}
		if err != nil {
			return err
		}
		var due any
		if d.EvidenceDetails != nil && d.EvidenceDetails.DueBy > 0 {
			due = time.Unix(d.EvidenceDetails.DueBy, 0).UTC()
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_disputes (id, checkout_id, amount, currency, reason, status,
			evidence_due_by, state_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, evidence_due_by = excluded.evidence_due_by,
			amount = excluded.amount, state_at = excluded.state_at, updated_at = excluded.updated_at
			WHERE pay_disputes.state_at <= excluded.state_at AND pay_disputes.status NOT IN ('won', 'lost')`,
			d.ID, c.ID, d.Amount, string(d.Currency), string(d.Reason), string(d.Status), due, eventCreated, now, now); err != nil {
			return err
		}
		var status string
		var amount int64
		if err := tx.QueryRowContext(ctx, `SELECT status, amount FROM pay_disputes WHERE id = ?`, d.ID).Scan(&status, &amount); err != nil {
			return err
		}
		cur := c.Currency
		holds, err := Allocate(amount, refundWeights(c))
		if err != nil {
			return err
		}
		var fee int64
		for _, bt := range d.BalanceTransactions {
			if bt != nil && bt.Amount < 0 {
				fee += bt.Fee
			}
		}
		hold := []Posting{
			Debit(PlatformAccount(DisputesPending, cur), amount),
			Credit(PlatformAccount(PlatformCash, cur), amount+fee),
			Debit(PlatformAccount(DisputeFees, cur), fee),
		}
		for i, p := range c.Parties {
			hold = append(hold, Debit(UserAccount(SellerPayable, p.UserID, cur), holds[i]),
				Credit(UserAccount(SellerHeld, p.UserID, cur), holds[i]))
		}
		if _, _, err := s.ledger.PostTx(ctx, tx, EntryInput{Key: "dispute:" + d.ID + ":hold", Kind: "dispute_hold",
			Memo: "dispute on checkout " + c.ID, StripeRef: d.ID, Postings: hold}); err != nil {
			return err
		}
		var outcome []Posting
		switch status {
		case "won":
			outcome = []Posting{Debit(PlatformAccount(PlatformCash, cur), amount), Credit(PlatformAccount(DisputesPending, cur), amount)}
			for i, p := range c.Parties {
				outcome = append(outcome, Debit(UserAccount(SellerHeld, p.UserID, cur), holds[i]),
					Credit(UserAccount(SellerPayable, p.UserID, cur), holds[i]))
			}
		case "lost":
			outcome = []Posting{Credit(PlatformAccount(DisputesPending, cur), amount),
				Debit(PlatformAccount(DisputeLosses, cur), holds[len(c.Parties)])}
			for i, p := range c.Parties {
				outcome = append(outcome, Debit(UserAccount(SellerHeld, p.UserID, cur), holds[i]))
			}
		default:
			return nil
		}
		_, _, err = s.ledger.PostTx(ctx, tx, EntryInput{Key: "dispute:" + d.ID + ":outcome", Kind: "dispute_" + status,
			Memo: "dispute on checkout " + c.ID, StripeRef: d.ID, Postings: outcome})
		return err
	})
}

// Disputes lists disputes on checkouts the user is a party to, with the
// evidence deadline and the user's held part.
func (s *Service) Disputes(ctx context.Context, userID string) ([]Dispute, error) {
	out, err := disputesOf(ctx, s.db, userID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		e, err := s.ledger.Entry(ctx, "dispute:"+out[i].ID+":hold")
		if err != nil {
			continue
		}
		for _, p := range e.Postings {
			if p.Account.Code == SellerHeld && p.Account.Owner == userID {
				out[i].Held = -p.Amount
			}
		}
	}
	return out, nil
}

func disputesOf(ctx context.Context, q querier, userID string) ([]Dispute, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT d.id, d.checkout_id, d.amount, d.currency, d.reason, d.status,
		d.evidence_due_by, d.created_at FROM pay_disputes d JOIN pay_checkout_parties p ON p.checkout_id = d.checkout_id
		WHERE p.user_id = ? ORDER BY d.created_at DESC, d.id LIMIT 200`, userID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []Dispute{}
	for rows.Next() {
		var d Dispute
		var due sql.NullTime
		if err := rows.Scan(&d.ID, &d.CheckoutID, &d.Amount, &d.Currency, &d.Reason, &d.Status, &due, &d.CreatedAt); err != nil {
			return nil, err
		}
		if due.Valid {
			t := due.Time.UTC()
			d.EvidenceDueBy = &t
		}
		d.CreatedAt = d.CreatedAt.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}
