package payments

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// RiskRules decide whether an instant payout is allowed. They are data:
// the defaults live in risk_rules.json, and Options.Risk replaces them.
type RiskRules struct {
	// MinAccountAgeDays since the connected account was created.
	MinAccountAgeDays int `json:"minAccountAgeDays"`
	// MinStandardPayouts paid before the first instant one.
	MinStandardPayouts int `json:"minStandardPayouts"`
	// WindowDays over which the rates and velocity are measured.
	WindowDays int `json:"windowDays"`
	// MaxDisputeRateBps: disputes per succeeded sale, in basis points.
	MaxDisputeRateBps int64 `json:"maxDisputeRateBps"`
	// MaxRefundRateBps: refunded amount per sold amount, in basis points.
	MaxRefundRateBps int64 `json:"maxRefundRateBps"`
	// MaxVelocityPct: the last 7 days' sales as a percentage of the
	// window's average week; above it, balance is growing suspiciously fast.
	MaxVelocityPct int64 `json:"maxVelocityPct"`
	// MinSalesForVelocity: velocity is judged only with at least this many
	// sales in the window.
	MinSalesForVelocity int64 `json:"minSalesForVelocity"`
	// MaxInstantAmount per instant payout, in minor units.
	MaxInstantAmount int64 `json:"maxInstantAmount"`
}

//go:embed risk_rules.json
var riskRulesJSON []byte

// DefaultRiskRules returns the rules in risk_rules.json.
func DefaultRiskRules() RiskRules {
	r, err := ParseRiskRules(riskRulesJSON)
	if err != nil {
		panic("payments: embedded risk_rules.json: " + err.Error()) // checked by TestDefaultRiskRules
	}
	return r
}

// ParseRiskRules reads rules from JSON (keys starting with "_" are comments).
func ParseRiskRules(data []byte) (RiskRules, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return RiskRules{}, err
	}
	for k := range m {
		if len(k) > 0 && k[0] == '_' {
			delete(m, k)
		}
	}
	clean, _ := json.Marshal(m)
	var r RiskRules
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return RiskRules{}, err
	}
	if r.WindowDays <= 0 {
		return RiskRules{}, fmt.Errorf("windowDays must be positive")
	}
	return r, nil
}

// RiskStats are the facts the rules are checked against.
type RiskStats struct {
	AccountAgeDays  int   `json:"accountAgeDays"`
	StandardPayouts int   `json:"standardPayouts"`
	Sales           int64 `json:"sales"`
	SalesAmount     int64 `json:"salesAmount"`
	Disputes        int64 `json:"disputes"`
	RefundedAmount  int64 `json:"refundedAmount"`
	LastWeekAmount  int64 `json:"lastWeekAmount"`
}

// Refusal is one failed rule, with a reason a person can act on.
type Refusal struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Check returns every rule the stats and amount break (none: allowed).
func (r RiskRules) Check(st RiskStats, amount int64) []Refusal {
	var out []Refusal
	if st.AccountAgeDays < r.MinAccountAgeDays {
		out = append(out, Refusal{"minAccountAgeDays", fmt.Sprintf("Instant payouts open %d days after the payout account is created (it is %d days old).", r.MinAccountAgeDays, st.AccountAgeDays)})
	}
	if st.StandardPayouts < r.MinStandardPayouts {
		out = append(out, Refusal{"minStandardPayouts", fmt.Sprintf("At least %d standard payout(s) must have arrived first (%d so far).", r.MinStandardPayouts, st.StandardPayouts)})
	}
	if st.Sales > 0 && st.Disputes*TotalBasisPoints/st.Sales > r.MaxDisputeRateBps {
		out = append(out, Refusal{"maxDisputeRateBps", fmt.Sprintf("Too many disputes in the last %d days (%d of %d sales).", r.WindowDays, st.Disputes, st.Sales)})
	}
	if st.SalesAmount > 0 {
		if rate, _ := mulDiv(min(st.RefundedAmount, st.SalesAmount), TotalBasisPoints, st.SalesAmount); rate > r.MaxRefundRateBps {
			out = append(out, Refusal{"maxRefundRateBps", fmt.Sprintf("Too much refunded in the last %d days (%d.%02d %% of sales).", r.WindowDays, rate/100, rate%100)})
		}
	}
	if st.Sales >= r.MinSalesForVelocity && st.SalesAmount > 0 {
		weeks := max(int64(r.WindowDays)/7, 1)
		avg := st.SalesAmount / weeks
		if avg > 0 && st.LastWeekAmount*100/avg > r.MaxVelocityPct {
			out = append(out, Refusal{"maxVelocityPct", fmt.Sprintf("Sales this week are %d %% of an average week; instant payouts pause while balance grows that fast.", st.LastWeekAmount*100/avg)})
		}
	}
	if r.MaxInstantAmount > 0 && amount > r.MaxInstantAmount {
		out = append(out, Refusal{"maxInstantAmount", fmt.Sprintf("An instant payout is at most %d minor units.", r.MaxInstantAmount)})
	}
	return out
}

// riskStats gathers RiskStats for a user from the database.
func (s *Service) riskStats(ctx context.Context, a ConnectedAccount, window int) (RiskStats, error) {
	now := s.now().UTC()
	st := RiskStats{AccountAgeDays: int(now.Sub(a.CreatedAt) / (24 * time.Hour))}
	since, week := now.AddDate(0, 0, -window), now.AddDate(0, 0, -7)
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_payouts WHERE user_id = ? AND method = 'standard' AND status = 'paid'`,
		a.UserID).Scan(&n); err != nil {
		return st, err
	}
	st.StandardPayouts = int(n)
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(p.amount), 0),
		COALESCE(SUM(CASE WHEN c.created_at >= ? THEN p.amount ELSE 0 END), 0)
		FROM pay_checkout_parties p JOIN pay_checkouts c ON c.id = p.checkout_id
		WHERE p.user_id = ? AND c.status = 'succeeded' AND c.created_at >= ?`, week, a.UserID, since).
		Scan(&st.Sales, &st.SalesAmount, &st.LastWeekAmount); err != nil {
		return st, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT d.id) FROM pay_disputes d
		JOIN pay_checkout_parties p ON p.checkout_id = d.checkout_id WHERE p.user_id = ? AND d.created_at >= ?`,
		a.UserID, since).Scan(&st.Disputes); err != nil {
		return st, err
	}
	// The user's part of refunds: its share of each refund entry.
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(po.amount), 0) FROM pay_ledger_postings po
		JOIN pay_ledger_entries e ON e.id = po.entry_id
		WHERE e.kind = 'refund' AND po.account_id LIKE ? AND po.amount > 0 AND e.created_at >= ?`,
		string(SellerPayable)+"/"+a.UserID+"/%", since).Scan(&st.RefundedAmount); err != nil {
		return st, err
	}
	return st, nil
}

// PayoutInput asks for a payout from the caller's connected balance.
type PayoutInput struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Method   string `json:"method"` // "standard" (default) or "instant"
}

// PayoutResult is a created payout.
type PayoutResult struct {
	ID             string    `json:"id"`
	StripePayoutID string    `json:"stripePayoutId"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	Method         string    `json:"method"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
}

// Available is what the user can pay out in currency: their connected
// balance, but no more than the marketplace owes them (held dispute
// funds and lost disputes are not owed).
func (s *Service) Available(ctx context.Context, q querier, userID, currency string) (int64, error) {
	cash, err := balance(ctx, q, UserAccount(ConnectedCash, userID, currency))
	if err != nil {
		return 0, err
	}
	owed, err := balance(ctx, q, UserAccount(SellerPayable, userID, currency))
	if err != nil {
		return 0, err
	}
	return max(min(cash, -owed), 0), nil
}

// Payout pays the user out. The ledger entry is posted first, in the
// transaction that checks the available balance (so concurrent payouts
// cannot overdraw), then Stripe is called; a refusal reverses the entry,
// an outage leaves the operation pending for reconciliation. Instant
// payouts pass the risk rules first.
func (s *Service) Payout(ctx context.Context, userID, key string, in PayoutInput) (PayoutResult, error) {
	const op = "payments.Payout"
	if in.Method == "" {
		in.Method = "standard"
	}
	if in.Method != "standard" && in.Method != "instant" {
		return PayoutResult{}, apperr.Msgf(op, apperr.Invalid, "method must be standard or instant.").WithCode("invalid_method").WithField("method", "invalid")
	}
	if in.Amount <= 0 || in.Amount > MaxAmount {
		return PayoutResult{}, apperr.Msgf(op, apperr.Invalid, "amount must be positive.").WithCode("invalid_amount").WithField("amount", "invalid")
	}
	if err := ValidCurrency(in.Currency); err != nil {
		return PayoutResult{}, apperr.Msgf(op, apperr.Invalid, "currency must be three lower-case letters.").WithCode("invalid_currency").WithField("currency", "invalid")
	}
	a, err := s.Account(ctx, userID)
	if err != nil {
		return PayoutResult{}, err
	}
	if el := a.Eligibility(); !el.Standard {
		return PayoutResult{}, apperr.Msgf(op, apperr.Conflict, "Payouts are not enabled: %s", joinReasons(el.Reasons)).WithCode("payouts_disabled")
	}
	if in.Method == "instant" {
		st, err := s.riskStats(ctx, a, s.opts.Risk.WindowDays)
		if err != nil {
			return PayoutResult{}, fmt.Errorf("%s: risk stats: %w", op, err)
		}
		if refusals := s.opts.Risk.Check(st, in.Amount); len(refusals) > 0 {
			e := apperr.Msgf(op, apperr.Forbidden, "Instant payout refused: %s", joinRefusals(refusals)).WithCode("instant_payout_refused")
			for _, r := range refusals {
				e = e.WithField(r.Rule, r.Reason)
			}
			return PayoutResult{}, e
		}
	}
	p := PayoutResult{ID: "po_" + idFromKey(userID, key), Amount: in.Amount, Currency: in.Currency, Method: in.Method,
		Status: "pending", CreatedAt: s.now().UTC()}
	stripeKey := "payout:" + p.ID
	entry := EntryInput{Key: stripeKey, Kind: "payout", Memo: in.Method + " payout " + p.ID, Postings: []Posting{
		Debit(UserAccount(SellerPayable, userID, in.Currency), in.Amount),
		Credit(UserAccount(ConnectedCash, userID, in.Currency), in.Amount),
	}}
	// Serializable, so no other movement can slip between the balance
	// check and the entry. Payouts of one user first write-lock that user's
	// account row: concurrent ones then queue on it and each retries once
	// (PostgreSQL aborts the waiter with a serialization failure), instead
	// of aborting one another until the retries run out.
	err = s.db.WithTxOptions(ctx, store.TxOptions{Serializable: true, MaxAttempts: 12}, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE pay_connected_accounts SET updated_at = updated_at WHERE user_id = ?`, userID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_payouts WHERE id = ?`, p.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil // a retry: the payout is reserved already
		}
		avail, err := s.Available(ctx, tx, userID, in.Currency)
		if err != nil {
			return err
		}
		if in.Amount > avail {
			return apperr.Msgf(op, apperr.Conflict, "Only %d is available to pay out.", avail).WithCode("insufficient_funds")
		}
		if _, _, err := s.ledger.PostTx(ctx, tx, entry); err != nil {
			return err
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_payouts (id, user_id, amount, currency, method, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`, p.ID, userID, in.Amount, in.Currency, in.Method, now, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO pay_operations (stripe_key, kind, ref, status, created_at, updated_at)
			VALUES (?, 'payout', ?, 'pending', ?, ?)`, stripeKey, p.ID, now, now)
		return err
	})
	if err != nil {
		return PayoutResult{}, err
	}
	po, err := s.gw.CreatePayout(ctx, stripeKey, a.StripeAccountID, in.Amount, in.Currency, in.Method == "instant")
	if err != nil {
		if apperr.KindOf(err) == apperr.Invalid { // refused: nothing moved at Stripe, undo ours
			s.failOp(ctx, stripeKey, err)
			if rerr := s.db.WithTx(ctx, func(tx *store.Tx) error {
				e, _, err := entryByKey(ctx, tx, stripeKey)
				if err != nil {
					return err
				}
				if _, _, err := s.ledger.Reverse(ctx, tx, e.ID, stripeKey+":refused", "payout refused by Stripe"); err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, `UPDATE pay_payouts SET status = 'failed', updated_at = ? WHERE id = ?`, s.now().UTC(), p.ID)
				return err
			}); rerr != nil {
				s.log.ErrorContext(ctx, "payments: undo refused payout", "payout", p.ID, "err", rerr)
			}
		}
		return PayoutResult{}, err
	}
	p.StripePayoutID, p.Status = po.ID, po.Status
	if p.Status == "" {
		p.Status = "pending"
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE pay_payouts SET stripe_payout_id = ?, status = CASE WHEN status = 'pending' THEN ? ELSE status END,
			updated_at = ? WHERE id = ?`, po.ID, p.Status, s.now().UTC(), p.ID); err != nil {
			return err
		}
		return s.finishOp(ctx, tx, stripeKey, po.ID)
	})
	return p, err
}

// applyPayout follows a payout's state from its webhooks. A failed or
// canceled payout puts the money back (a reversing entry, once).
func (s *Service) applyPayout(ctx context.Context, stripePayoutID, status string, eventCreated int64) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		var id, cur string
		err := tx.QueryRowContext(ctx, `SELECT id, status FROM pay_payouts WHERE stripe_payout_id = ? AND stripe_payout_id <> ''`,
			stripePayoutID).Scan(&id, &cur)
		if err != nil {
			return nil //nolint:nilerr // not one of ours, or not recorded yet: reconciliation sees it
		}
		if cur == "paid" || cur == "failed" || cur == "canceled" {
			return nil // final states never change back
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pay_payouts SET status = ?, state_at = ?, updated_at = ? WHERE id = ? AND state_at <= ?`,
			status, eventCreated, s.now().UTC(), id, eventCreated); err != nil {
			return err
		}
		if status != "failed" && status != "canceled" {
			return nil
		}
		e, _, err := entryByKey(ctx, tx, "payout:"+id)
		if err != nil {
			return err
		}
		_, _, err = s.ledger.Reverse(ctx, tx, e.ID, "payout:"+id+":"+status, "payout "+status)
		return err
	})
}

func joinReasons(rs []string) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(r)
	}
	return b.String()
}

func joinRefusals(rs []Refusal) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Reason
	}
	return joinReasons(out)
}
