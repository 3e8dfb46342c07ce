package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	netmail "net/mail"
	"strconv"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// Checkout modes.
const (
	// ModeDestination is a destination charge for one seller: Stripe moves
	// the seller's part when the charge succeeds.
	ModeDestination = "destination"
	// ModeSplit is a separate charge shared by several parties, each paid by
	// a transfer under the checkout's transfer group, funded by the charge.
	ModeSplit = "split"
)

// CheckoutInput is a request to charge a buyer.
type CheckoutInput struct {
	Amount      int64   `json:"amount"`
	Currency    string  `json:"currency"`
	Description string  `json:"description"`
	BuyerEmail  string  `json:"buyerEmail,omitempty"`
	Parties     []Share `json:"parties"`
}

// Party is one seller's part of a checkout.
type Party struct {
	UserID     string `json:"userId"`
	Bps        int64  `json:"bps"`
	Amount     int64  `json:"amount"`
	TransferID string `json:"transferId,omitempty"`
	Reversed   int64  `json:"reversed"`
}

// Checkout is a charge and how it is shared.
type Checkout struct {
	ID              string    `json:"id"`
	CreatedBy       string    `json:"createdBy"`
	Mode            string    `json:"mode"`
	Amount          int64     `json:"amount"`
	Currency        string    `json:"currency"`
	Fee             int64     `json:"fee"`
	Description     string    `json:"description"`
	BuyerEmail      string    `json:"buyerEmail,omitempty"`
	PaymentIntentID string    `json:"paymentIntentId"`
	ChargeID        string    `json:"chargeId,omitempty"`
	ClientSecret    string    `json:"clientSecret,omitempty"`
	Status          string    `json:"status"`
	Refunded        int64     `json:"refunded"`
	Parties         []Party   `json:"parties"`
	CreatedAt       time.Time `json:"createdAt"`
}

// TransferGroup is the Stripe transfer_group of a checkout.
func (c Checkout) TransferGroup() string { return "chk_" + c.ID }

// maxCheckoutAmount caps one checkout: 1,000,000.00 in a two-decimal
// currency.
const maxCheckoutAmount = 100_000_000

// CreateCheckout creates a checkout and its PaymentIntent. The caller must
// be one of the parties (a seller charging for their work). One party is a
// destination charge; several are a split. The platform fee (Options.FeeBps
// of the amount, rounded down) comes off the top; the rest is allocated to
// the parties by their basis points with Allocate. key is the caller's
// Idempotency-Key, so a retried request makes the same PaymentIntent.
func (s *Service) CreateCheckout(ctx context.Context, userID, key string, in CheckoutInput) (Checkout, error) {
	const op = "payments.CreateCheckout"
	invalid := func(field, msg string) error {
		return apperr.Msgf(op, apperr.Invalid, "%s", msg).WithCode("invalid_checkout").WithField(field, "invalid")
	}
	if in.Amount <= 0 || in.Amount > maxCheckoutAmount {
		return Checkout{}, invalid("amount", fmt.Sprintf("amount must be 1 to %d minor units.", maxCheckoutAmount))
	}
	if err := ValidCurrency(in.Currency); err != nil {
		return Checkout{}, invalid("currency", "currency must be three lower-case letters (ISO 4217).")
	}
	if len(in.Description) > 500 {
		return Checkout{}, invalid("description", "description is at most 500 characters.")
	}
	if in.BuyerEmail != "" {
		if a, err := netmail.ParseAddress(in.BuyerEmail); err != nil || a.Address != in.BuyerEmail || len(in.BuyerEmail) > 254 {
			return Checkout{}, invalid("buyerEmail", "buyerEmail must be a plain email address.")
		}
	}
	if err := ValidateShares(in.Parties); err != nil {
		return Checkout{}, invalid("parties", err.Error()+".")
	}
	isParty := false
	for _, p := range in.Parties {
		isParty = isParty || p.UserID == userID
	}
	if !isParty {
		return Checkout{}, apperr.Msgf(op, apperr.Forbidden, "You can only create checkouts you are a party to.").WithCode("not_a_party")
	}
	accounts := map[string]ConnectedAccount{}
	for _, p := range in.Parties {
		a, err := s.Account(ctx, p.UserID)
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return Checkout{}, apperr.Msgf(op, apperr.Conflict, "Party %s has no payout account yet.", p.UserID).WithCode("party_not_onboarded")
			}
			return Checkout{}, err
		}
		accounts[p.UserID] = a
	}
	fee, _ := mulDiv(in.Amount, s.opts.FeeBps, TotalBasisPoints)
	weights := make([]int64, len(in.Parties))
	for i, p := range in.Parties {
		weights[i] = p.Bps
	}
	shares, err := Allocate(in.Amount-fee, weights)
	if err != nil {
		return Checkout{}, apperr.E(op, apperr.Invalid, err)
	}
	c := Checkout{
		ID: idFromKey(userID, key), CreatedBy: userID, Mode: ModeSplit, Amount: in.Amount, Currency: in.Currency,
		Fee: fee, Description: in.Description, BuyerEmail: in.BuyerEmail, Status: "pending", CreatedAt: s.now().UTC(),
	}
	for i, p := range in.Parties {
		c.Parties = append(c.Parties, Party{UserID: p.UserID, Bps: p.Bps, Amount: shares[i]})
	}
	pp := PaymentIntentParams{
		Amount: in.Amount, Currency: in.Currency, Description: in.Description, TransferGroup: c.TransferGroup(),
		Metadata: map[string]string{"checkout_id": c.ID},
	}
	if len(in.Parties) == 1 {
		c.Mode = ModeDestination
		pp.Destination = accounts[in.Parties[0].UserID].StripeAccountID
		pp.PlatformFee = fee
	} else {
		for _, p := range in.Parties {
			if !accounts[p.UserID].TransfersActive {
				s.log.InfoContext(ctx, "payments: party cannot receive transfers yet; its share waits on the platform",
					"checkout", c.ID, "user", p.UserID)
			}
		}
	}
	pi, err := s.gw.CreatePaymentIntent(ctx, "pi:"+c.ID, pp)
	if err != nil {
		return Checkout{}, err
	}
	c.PaymentIntentID, c.ClientSecret = pi.ID, pi.ClientSecret
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO pay_checkouts (id, created_by, mode, amount, currency, fee, description,
			buyer_email, payment_intent_id, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.CreatedBy, c.Mode, c.Amount, c.Currency, c.Fee, c.Description, c.BuyerEmail, c.PaymentIntentID,
			c.CreatedAt, c.CreatedAt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a retry of the same request: the row is there
		}
		for i, p := range c.Parties {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pay_checkout_parties (checkout_id, seq, user_id, bps, amount)
				VALUES (?, ?, ?, ?, ?)`, c.ID, i, p.UserID, p.Bps, p.Amount); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Checkout{}, fmt.Errorf("%s: %w", op, err)
	}
	return c, nil
}

// Checkout returns a checkout; only its creator and parties may see it.
func (s *Service) Checkout(ctx context.Context, userID, id string) (Checkout, error) {
	c, err := checkoutByID(ctx, s.db, id)
	if err != nil {
		return c, err
	}
	if !c.visibleTo(userID) {
		return Checkout{}, apperr.E("payments.Checkout", apperr.NotFound, nil)
	}
	return c, nil
}

func (c Checkout) visibleTo(userID string) bool {
	if c.CreatedBy == userID {
		return true
	}
	for _, p := range c.Parties {
		if p.UserID == userID {
			return true
		}
	}
	return false
}

func checkoutByID(ctx context.Context, q querier, id string) (Checkout, error) {
	var c Checkout
	var pi sql.NullString
	err := q.QueryRowContext(ctx, `SELECT id, created_by, mode, amount, currency, fee, description, buyer_email,
		payment_intent_id, charge_id, status, refunded, created_at FROM pay_checkouts WHERE id = ?`, id).
		Scan(&c.ID, &c.CreatedBy, &c.Mode, &c.Amount, &c.Currency, &c.Fee, &c.Description, &c.BuyerEmail,
			&pi, &c.ChargeID, &c.Status, &c.Refunded, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, apperr.E("payments.Checkout", apperr.NotFound, err)
	}
	if err != nil {
		return c, err
	}
	c.PaymentIntentID, c.CreatedAt = pi.String, c.CreatedAt.UTC()
	rows, err := q.QueryContext(ctx, `SELECT user_id, bps, amount, transfer_id, reversed FROM pay_checkout_parties
		WHERE checkout_id = ? ORDER BY seq`, id)
	if err != nil {
		return c, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var p Party
		if err := rows.Scan(&p.UserID, &p.Bps, &p.Amount, &p.TransferID, &p.Reversed); err != nil {
			return c, err
		}
		c.Parties = append(c.Parties, p)
	}
	return c, rows.Err()
}

func checkoutByPaymentIntent(ctx context.Context, q querier, piID string) (Checkout, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM pay_checkouts WHERE payment_intent_id = ?`, piID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkout{}, apperr.E("payments.Checkout", apperr.NotFound, err)
	}
	if err != nil {
		return Checkout{}, err
	}
	return checkoutByID(ctx, q, id)
}

// saleEntry is the ledger entry of a succeeded checkout: the whole amount
// lands in the platform's balance, owed to the parties and (the fee) to
// the platform.
func saleEntry(c Checkout) EntryInput {
	ps := []Posting{Debit(PlatformAccount(PlatformCash, c.Currency), c.Amount)}
	for _, p := range c.Parties {
		ps = append(ps, Credit(UserAccount(SellerPayable, p.UserID, c.Currency), p.Amount))
	}
	ps = append(ps, Credit(PlatformAccount(FeeRevenue, c.Currency), c.Fee))
	return EntryInput{Key: "sale:" + c.PaymentIntentID, Kind: "sale", Memo: "checkout " + c.ID, StripeRef: c.ChargeID, Postings: ps}
}

// transferEntry moves a party's part from the platform's balance to its
// connected balance (what it is owed does not change).
func transferEntry(c Checkout, seq int, transferID string, amount int64) EntryInput {
	p := c.Parties[seq]
	return EntryInput{
		Key: "transfer:" + c.ID + ":" + strconv.Itoa(seq), Kind: "transfer", Memo: "checkout " + c.ID, StripeRef: transferID,
		Postings: []Posting{
			Debit(UserAccount(ConnectedCash, p.UserID, c.Currency), amount),
			Credit(PlatformAccount(PlatformCash, c.Currency), amount),
		},
	}
}

// paymentSucceeded records a succeeded charge (from its webhook): the
// checkout's state, the sale entry and, for a destination charge, the
// transfer Stripe made. Split transfers follow in payParties.
func (s *Service) paymentSucceeded(ctx context.Context, piID, chargeID string, eventCreated int64) (Checkout, error) {
	c, err := checkoutByPaymentIntent(ctx, s.db, piID)
	if err != nil {
		return c, err
	}
	// A destination charge's transfer is Stripe's: learn its id so that
	// reconciliation can match it (the event does not carry it).
	transferRef := chargeID
	if c.Mode == ModeDestination && chargeID != "" {
		switch e, err := s.ledger.Entry(ctx, "transfer:"+c.ID+":0"); {
		case err == nil:
			transferRef = e.StripeRef // recorded before: replay it as it was
		case apperr.KindOf(err) == apperr.NotFound:
			tr, err := s.gw.ChargeTransfer(ctx, chargeID)
			if err != nil {
				return c, err
			}
			if tr != "" {
				transferRef = tr
			}
		default:
			return c, err
		}
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		c, err = checkoutByPaymentIntent(ctx, tx, piID)
		if err != nil {
			return err
		}
		if c.Status != "succeeded" {
			if _, err := tx.ExecContext(ctx, `UPDATE pay_checkouts SET status = 'succeeded', charge_id = ?, state_at = ?, updated_at = ?
				WHERE id = ?`, chargeID, eventCreated, s.now().UTC(), c.ID); err != nil {
				return err
			}
			c.Status, c.ChargeID = "succeeded", chargeID
		}
		if _, _, err := s.ledger.PostTx(ctx, tx, saleEntry(c)); err != nil {
			return err
		}
		if c.Mode == ModeDestination && c.Parties[0].Amount > 0 {
			if _, _, err := s.ledger.PostTx(ctx, tx, transferEntry(c, 0, transferRef, c.Parties[0].Amount)); err != nil {
				return err
			}
		}
		return nil
	})
	return c, err
}

// paymentFailed marks a pending checkout failed. A success already
// recorded wins over a failure event that arrives late.
func (s *Service) paymentFailed(ctx context.Context, piID string, eventCreated int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE pay_checkouts SET status = 'failed', state_at = ?, updated_at = ?
		WHERE payment_intent_id = ? AND status = 'pending' AND state_at <= ?`, eventCreated, s.now().UTC(), piID, eventCreated)
	return err
}

// payParties transfers each split party's part that has not been
// transferred yet, funded by the charge (source_transaction), when the
// party can receive transfers. A party that cannot keeps its part in
// seller_payable on the platform until a later call.
func (s *Service) payParties(ctx context.Context, checkoutID string) error {
	c, err := checkoutByID(ctx, s.db, checkoutID)
	if err != nil {
		return err
	}
	if c.Mode != ModeSplit || c.Status != "succeeded" {
		return nil
	}
	var errs []error
	for seq, p := range c.Parties {
		// A refund before the transfer lowered what the party is owed
		// (recorded in Reversed): transfer only the rest.
		amount := p.Amount - p.Reversed
		if p.TransferID != "" || amount <= 0 {
			continue
		}
		a, err := s.Account(ctx, p.UserID)
		if err != nil || !a.TransfersActive {
			continue
		}
		key := "transfer:" + c.ID + ":" + strconv.Itoa(seq)
		trID, err := s.beginOp(ctx, key, "transfer", c.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if trID == "" {
			trID, err = s.gw.CreateTransfer(ctx, key, TransferParams{
				Amount: amount, Currency: c.Currency, Destination: a.StripeAccountID, TransferGroup: c.TransferGroup(),
				SourceCharge: c.ChargeID, Metadata: map[string]string{"checkout_id": c.ID, "user_id": p.UserID},
			})
			if err != nil {
				s.failOp(ctx, key, err)
				errs = append(errs, err)
				continue
			}
		}
		err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE pay_checkout_parties SET transfer_id = ? WHERE checkout_id = ? AND seq = ?`,
				trID, c.ID, seq); err != nil {
				return err
			}
			if _, _, err := s.ledger.PostTx(ctx, tx, transferEntry(c, seq, trID, amount)); err != nil {
				return err
			}
			return s.finishOp(ctx, tx, key, trID)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
