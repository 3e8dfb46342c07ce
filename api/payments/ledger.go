package payments

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// AccountKind is the accounting class of a ledger account. Assets and
// expenses have debit-normal balances, the others credit-normal.
type AccountKind string

// The account kinds.
const (
	Asset     AccountKind = "asset"
	Liability AccountKind = "liability"
	Revenue   AccountKind = "revenue"
	Expense   AccountKind = "expense"
	Equity    AccountKind = "equity"
)

// AccountCode names an account in the chart of accounts (docs/payments.md).
type AccountCode string

// The chart of accounts. Platform accounts have the owner PlatformOwner;
// the others exist once per user and currency.
const (
	// PlatformCash is the platform's Stripe balance (asset).
	PlatformCash AccountCode = "platform_cash"
	// ConnectedCash is a user's connected-account Stripe balance (asset): money
	// transferred to the user and not yet paid out.
	ConnectedCash AccountCode = "connected_cash"
	// SellerPayable is what the marketplace owes a user in all (liability),
	// wherever the money sits (platform or connected balance). A payout
	// discharges it.
	SellerPayable AccountCode = "seller_payable"
	// SellerHeld is a user's money held against an open dispute (liability).
	SellerHeld AccountCode = "seller_held"
	// FeeRevenue is the platform's commission (revenue).
	FeeRevenue AccountCode = "fee_revenue"
	// FeeRefunds is commission given back on refunds (contra-revenue, expense).
	FeeRefunds AccountCode = "fee_refunds"
	// CardFees are Stripe's processing fees the platform pays (expense).
	CardFees AccountCode = "card_fees"
	// DisputeFees are Stripe's dispute fees (expense).
	DisputeFees AccountCode = "dispute_fees"
	// DisputesPending is money Stripe withdrew for an open dispute (asset,
	// a receivable until the dispute closes).
	DisputesPending AccountCode = "disputes_pending"
	// DisputeLosses is a lost dispute's amount that no seller hold covers
	// (expense).
	DisputeLosses AccountCode = "dispute_losses"
	// Suspense takes the other side of reconciliation adjustments (equity)
	// until someone classifies them.
	Suspense AccountCode = "suspense"
)

// PlatformOwner is the owner id of the platform's accounts.
const PlatformOwner = "platform"

// Chart maps every account code to its kind and whether it belongs to the
// platform (true) or to a user (false).
var Chart = map[AccountCode]struct {
	Kind     AccountKind
	Platform bool
}{
	PlatformCash:    {Asset, true},
	ConnectedCash:   {Asset, false},
	SellerPayable:   {Liability, false},
	SellerHeld:      {Liability, false},
	FeeRevenue:      {Revenue, true},
	FeeRefunds:      {Expense, true},
	CardFees:        {Expense, true},
	DisputeFees:     {Expense, true},
	DisputesPending: {Asset, true},
	DisputeLosses:   {Expense, true},
	Suspense:        {Equity, true},
}

// MaxAmount bounds a single posting (and balance arithmetic stays far from
// int64 overflow): 10^15 minor units.
const MaxAmount = int64(1e15)

// Errors the ledger returns (wrapped in *apperr.Error).
var (
	// ErrUnbalanced means an entry's postings do not sum to zero per currency.
	ErrUnbalanced = errors.New("payments: ledger entry does not balance")
	// ErrKeyReused means an idempotency key was posted before with other content.
	ErrKeyReused = errors.New("payments: idempotency key reused with different postings")
)

// Account names one ledger account: its code, owner (a user id or
// PlatformOwner) and currency (ISO 4217, lower case).
type Account struct {
	Code     AccountCode `json:"code"`
	Owner    string      `json:"owner"`
	Currency string      `json:"currency"`
}

// PlatformAccount returns the platform's account code in currency.
func PlatformAccount(code AccountCode, currency string) Account {
	return Account{Code: code, Owner: PlatformOwner, Currency: currency}
}

// UserAccount returns a user's account code in currency.
func UserAccount(code AccountCode, userID, currency string) Account {
	return Account{Code: code, Owner: userID, Currency: currency}
}

// ID is the account's primary key: code/owner/currency.
func (a Account) ID() string { return string(a.Code) + "/" + a.Owner + "/" + a.Currency }

// Kind returns the account's class from the chart.
func (a Account) Kind() AccountKind { return Chart[a.Code].Kind }

func (a Account) validate() error {
	c, ok := Chart[a.Code]
	if !ok {
		return fmt.Errorf("unknown account code %q", a.Code)
	}
	if c.Platform != (a.Owner == PlatformOwner) {
		return fmt.Errorf("account %s: owner %q does not fit the chart", a.Code, a.Owner)
	}
	if a.Owner == "" || len(a.Owner) > 128 || strings.Contains(a.Owner, "/") {
		return fmt.Errorf("account %s: bad owner %q", a.Code, a.Owner)
	}
	return ValidCurrency(a.Currency)
}

// ValidCurrency checks an ISO 4217 code in lower case (Stripe's form).
func ValidCurrency(c string) error {
	if len(c) != 3 {
		return fmt.Errorf("currency %q: want three lower-case letters", c)
	}
	for i := range 3 {
		if c[i] < 'a' || c[i] > 'z' {
			return fmt.Errorf("currency %q: want three lower-case letters", c)
		}
	}
	return nil
}

// Posting is one line of an entry: a signed amount in minor units on an
// account, debit positive and credit negative.
type Posting struct {
	Account Account `json:"account"`
	Amount  int64   `json:"amount"`
}

// Debit returns a posting of amount on the debit side of a.
func Debit(a Account, amount int64) Posting { return Posting{Account: a, Amount: amount} }

// Credit returns a posting of amount on the credit side of a.
func Credit(a Account, amount int64) Posting { return Posting{Account: a, Amount: -amount} }

// EntryInput is what Post records.
type EntryInput struct {
	// Key makes the post idempotent: a second post with the same key
	// returns the first entry (and fails with ErrKeyReused if its postings
	// differ). Derive it from business ids (a Stripe object id, an event id).
	Key string
	// Kind classifies the movement ("sale", "transfer", "refund", ...).
	Kind string
	// Memo is a human description.
	Memo string
	// StripeRef is the Stripe object this entry mirrors, for reconciliation.
	StripeRef string
	// Postings must balance per currency. Zero amounts are dropped.
	Postings []Posting
	// reverses is set by Reverse.
	reverses string
}

// Entry is a recorded, immutable ledger entry.
type Entry struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	Kind      string    `json:"kind"`
	Memo      string    `json:"memo"`
	StripeRef string    `json:"stripeRef,omitempty"`
	Reverses  string    `json:"reverses,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	Postings  []Posting `json:"postings"`
}

// Ledger records entries and derives balances on a store.DB.
type Ledger struct {
	db  *store.DB
	now func() time.Time
}

// NewLedger returns the ledger on db.
func NewLedger(db *store.DB) *Ledger { return &Ledger{db: db, now: time.Now} }

// Post records in as one entry in its own transaction. It returns the entry
// and whether it was already recorded under the same key (a replay).
func (l *Ledger) Post(ctx context.Context, in EntryInput) (Entry, bool, error) {
	var (
		e        Entry
		replayed bool
	)
	err := l.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		e, replayed, err = l.PostTx(ctx, tx, in)
		return err
	})
	return e, replayed, err
}

// PostTx records in inside tx, so that a ledger entry commits together
// with the state change it accounts for.
func (l *Ledger) PostTx(ctx context.Context, tx *store.Tx, in EntryInput) (Entry, bool, error) {
	const op = "payments.Ledger.Post"
	postings, err := normalize(in)
	if err != nil {
		return Entry{}, false, apperr.E(op, apperr.Invalid, err).WithCode("ledger_invalid").WithMsg(err.Error())
	}
	in.Postings = postings
	hash := contentHash(in)
	now := l.now().UTC()
	e := Entry{
		ID: "le_" + newID(), Key: in.Key, Kind: in.Kind, Memo: in.Memo, StripeRef: in.StripeRef,
		Reverses: in.reverses, CreatedAt: now, Postings: postings,
	}
	var reverses any
	if in.reverses != "" {
		reverses = in.reverses
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO pay_ledger_entries
		(id, idempotency_key, content_hash, kind, memo, stripe_ref, reverses_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
		e.ID, in.Key, hash, in.Kind, in.Memo, in.StripeRef, reverses, now)
	if err != nil {
		if in.reverses != "" && store.IsUniqueViolation(err) {
			return Entry{}, false, apperr.E(op, apperr.Conflict, err).WithCode("already_reversed").
				WithMsg("That entry has already been reversed.")
		}
		return Entry{}, false, fmt.Errorf("%s: insert entry: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", op, err)
	} else if n == 0 {
		prev, prevHash, err := entryByKey(ctx, tx, in.Key)
		if err != nil {
			return Entry{}, false, fmt.Errorf("%s: load replayed entry: %w", op, err)
		}
		if prevHash != hash {
			return Entry{}, false, apperr.E(op, apperr.Conflict, ErrKeyReused).WithCode("ledger_key_reused").
				WithMsg("This idempotency key was used for a different ledger entry.")
		}
		return prev, true, nil
	}
	for i, p := range postings {
		a := p.Account
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_ledger_accounts (id, code, owner_id, currency, kind, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			a.ID(), string(a.Code), a.Owner, a.Currency, string(a.Kind()), now); err != nil {
			return Entry{}, false, fmt.Errorf("%s: ensure account: %w", op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_ledger_postings (entry_id, seq, account_id, currency, amount)
			VALUES (?, ?, ?, ?, ?)`, e.ID, i, a.ID(), a.Currency, p.Amount); err != nil {
			return Entry{}, false, fmt.Errorf("%s: insert posting: %w", op, err)
		}
	}
	return e, false, nil
}

// normalize validates in and returns its postings without zero amounts.
func normalize(in EntryInput) ([]Posting, error) {
	if in.Key == "" || len(in.Key) > 255 {
		return nil, errors.New("the idempotency key must be 1-255 characters")
	}
	if in.Kind == "" || len(in.Kind) > 64 {
		return nil, errors.New("the entry kind must be 1-64 characters")
	}
	if len(in.Memo) > 1000 {
		return nil, errors.New("the memo is over 1000 characters")
	}
	out := make([]Posting, 0, len(in.Postings))
	sums := map[string]int64{}
	for _, p := range in.Postings {
		if err := p.Account.validate(); err != nil {
			return nil, err
		}
		if p.Amount > MaxAmount || p.Amount < -MaxAmount {
			return nil, fmt.Errorf("posting on %s: amount %d out of range", p.Account.ID(), p.Amount)
		}
		if p.Amount == 0 {
			continue
		}
		sums[p.Account.Currency] += p.Amount
		out = append(out, p)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%w: an entry needs at least two non-zero postings", ErrUnbalanced)
	}
	if len(out) > 1000 {
		return nil, errors.New("an entry has at most 1000 postings")
	}
	for cur, s := range sums {
		if s != 0 {
			return nil, fmt.Errorf("%w: %s postings sum to %d", ErrUnbalanced, cur, s)
		}
	}
	return out, nil
}

func contentHash(in EntryInput) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", in.Kind, in.StripeRef, in.reverses)
	for _, p := range in.Postings {
		fmt.Fprintf(h, "%s\x00%d\x00", p.Account.ID(), p.Amount)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func entryByKey(ctx context.Context, q querier, key string) (Entry, string, error) {
	var (
		e        Entry
		hash     string
		reverses sql.NullString
	)
	err := q.QueryRowContext(ctx, `SELECT id, idempotency_key, content_hash, kind, memo, stripe_ref, reverses_id, created_at
		FROM pay_ledger_entries WHERE idempotency_key = ?`, key).
		Scan(&e.ID, &e.Key, &hash, &e.Kind, &e.Memo, &e.StripeRef, &reverses, &e.CreatedAt)
	if err != nil {
		return Entry{}, "", err
	}
	e.Reverses = reverses.String
	e.CreatedAt = e.CreatedAt.UTC()
	e.Postings, err = postingsOf(ctx, q, e.ID)
	return e, hash, err
}

func postingsOf(ctx context.Context, q querier, entryID string) ([]Posting, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.code, a.owner_id, a.currency, p.amount
		FROM pay_ledger_postings p JOIN pay_ledger_accounts a ON a.id = p.account_id
		WHERE p.entry_id = ? ORDER BY p.seq`, entryID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Posting
	for rows.Next() {
		var p Posting
		var code string
		if err := rows.Scan(&code, &p.Account.Owner, &p.Account.Currency, &p.Amount); err != nil {
			return nil, err
		}
		p.Account.Code = AccountCode(code)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Entry returns the entry recorded under key.
func (l *Ledger) Entry(ctx context.Context, key string) (Entry, error) {
	e, _, err := entryByKey(ctx, l.db, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, apperr.E("payments.Ledger.Entry", apperr.NotFound, err)
	}
	return e, err
}

// Reverse records an entry that undoes entry id exactly (every posting
// negated), under key. An entry can be reversed once.
func (l *Ledger) Reverse(ctx context.Context, tx *store.Tx, entryID, key, memo string) (Entry, bool, error) {
	const op = "payments.Ledger.Reverse"
	var origKind string
	if err := tx.QueryRowContext(ctx, `SELECT kind FROM pay_ledger_entries WHERE id = ?`, entryID).Scan(&origKind); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Entry{}, false, apperr.E(op, apperr.NotFound, err)
		}
		return Entry{}, false, fmt.Errorf("%s: %w", op, err)
	}
	ps, err := postingsOf(ctx, tx, entryID)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", op, err)
	}
	for i := range ps {
		ps[i].Amount = -ps[i].Amount
	}
	return l.PostTx(ctx, tx, EntryInput{Key: key, Kind: "reversal", Memo: memo, Postings: ps, reverses: entryID})
}

// Balance is the signed sum of an account's postings (debit positive).
func (l *Ledger) Balance(ctx context.Context, a Account) (int64, error) {
	return balance(ctx, l.db, a)
}

func balance(ctx context.Context, q querier, a Account) (int64, error) {
	var sum sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT SUM(amount) FROM pay_ledger_postings WHERE account_id = ?`, a.ID()).Scan(&sum)
	return sum.Int64, err
}

// AccountBalance is one account's balance. Balance is signed (debit
// positive); Normal is the balance on the account's normal side, the
// number a person reads (a liability owed to a seller is positive).
type AccountBalance struct {
	Account Account     `json:"account"`
	Kind    AccountKind `json:"kind"`
	Balance int64       `json:"balance"`
	Normal  int64       `json:"normal"`
}

// Balances returns every account of owner with its balance, sorted by
// code then currency.
func (l *Ledger) Balances(ctx context.Context, owner string) ([]AccountBalance, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT a.code, a.currency, a.kind, COALESCE(SUM(p.amount), 0)
		FROM pay_ledger_accounts a LEFT JOIN pay_ledger_postings p ON p.account_id = a.id
		WHERE a.owner_id = ? GROUP BY a.code, a.currency, a.kind ORDER BY a.code, a.currency`, owner)
	if err != nil {
		return nil, fmt.Errorf("payments.Ledger.Balances: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []AccountBalance
	for rows.Next() {
		var b AccountBalance
		var code, kind string
		if err := rows.Scan(&code, &b.Account.Currency, &kind, &b.Balance); err != nil {
			return nil, fmt.Errorf("payments.Ledger.Balances: %w", err)
		}
		b.Account.Code, b.Account.Owner, b.Kind = AccountCode(code), owner, AccountKind(kind)
		b.Normal = b.Balance
		if b.Kind != Asset && b.Kind != Expense {
			b.Normal = -b.Balance
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// TrialBalance sums every posting per currency. In a sound ledger every
// sum is zero.
func (l *Ledger) TrialBalance(ctx context.Context) (map[string]int64, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT currency, SUM(amount) FROM pay_ledger_postings GROUP BY currency`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var cur string
		var sum int64
		if err := rows.Scan(&cur, &sum); err != nil {
			return nil, err
		}
		out[cur] = sum
	}
	return out, rows.Err()
}

// UnbalancedEntries lists the ids of entries whose postings do not sum to
// zero per currency (none, in a sound ledger).
func (l *Ledger) UnbalancedEntries(ctx context.Context) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT entry_id FROM pay_ledger_postings
		GROUP BY entry_id, currency HAVING SUM(amount) <> 0`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// EntriesByRef returns the entries mirroring a Stripe object, oldest first.
func (l *Ledger) EntriesByRef(ctx context.Context, stripeRef string) ([]Entry, error) {
	keys, err := queryStrings(ctx, l.db, `SELECT idempotency_key FROM pay_ledger_entries WHERE stripe_ref = ? ORDER BY created_at, id`, stripeRef)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		e, _, err := entryByKey(ctx, l.db, k)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// queryStrings runs a query returning one text column and collects it.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
