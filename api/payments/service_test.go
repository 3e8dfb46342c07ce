package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memMailer keeps sent mail.
type memMailer struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *memMailer) Send(_ context.Context, msg mail.Message) error {
	if err := msg.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

type fixture struct {
	s      *Service
	db     *store.DB
	clock  *testClock
	mailer *memMailer
	gw     *faultyGateway
}

// faultyGateway passes calls to stripe-mock unless a failure is armed.
type faultyGateway struct {
	Gateway
	mu           sync.Mutex
	failTransfer error
	failRefund   error
}

func (f *faultyGateway) CreateTransfer(ctx context.Context, key string, p TransferParams) (string, error) {
	f.mu.Lock()
	err := f.failTransfer
	f.mu.Unlock()
	if err != nil {
		return "", err
	}
	return f.Gateway.CreateTransfer(ctx, key, p)
}

func (f *faultyGateway) CreateRefund(ctx context.Context, key, pi string, amount int64, reverse bool) (Refund, error) {
	f.mu.Lock()
	err := f.failRefund
	f.mu.Unlock()
	if err != nil {
		return Refund{}, err
	}
	return f.Gateway.CreateRefund(ctx, key, pi, amount, reverse)
}

func newFixture(t *testing.T, db *store.DB, feeBps int64) *fixture {
	t.Helper()
	clk := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	gw := &faultyGateway{Gateway: NewStripeGateway("sk_test_123", GatewayOptions{APIBase: stripeMock(t), Backoff: time.Millisecond})}
	m := &memMailer{}
	s, err := New(Options{DB: db, Gateway: gw, WebhookSecret: testWebhookSecret, FeeBps: feeBps, Now: clk.Now,
		Mailer: m, AdminEmails: []string{"admin@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, db: db, clock: clk, mailer: m, gw: gw}
}

var eventSeq struct {
	mu sync.Mutex
	n  int
}

func nextEventID() string {
	eventSeq.mu.Lock()
	defer eventSeq.mu.Unlock()
	eventSeq.n++
	return fmt.Sprintf("evt_test_%d_%d", time.Now().UnixNano(), eventSeq.n)
}

// onboard creates a user's account and reports it fully enabled.
func (f *fixture) onboard(t *testing.T, userID string) ConnectedAccount {
	t.Helper()
	ctx := context.Background()
	a, _, err := f.s.CreateAccount(ctx, userID, userID+"@example.com", "US")
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", userID, err)
	}
	deliver(t, f.s, nextEventID(), "account.updated", f.clock.Now().Unix(), a.StripeAccountID, accountObject(a.StripeAccountID, true))
	a, err = f.s.Account(ctx, userID)
	if err != nil || !a.TransfersActive || !a.PayoutsEnabled {
		t.Fatalf("after account.updated: %+v, %v", a, err)
	}
	return a
}

func accountObject(id string, enabled bool) map[string]any {
	status := "inactive"
	due := []string{"external_account"}
	if enabled {
		status, due = "active", []string{}
	}
	return map[string]any{
		"id": id, "object": "account", "type": "express", "charges_enabled": enabled, "payouts_enabled": enabled,
		"details_submitted": enabled, "capabilities": map[string]any{"transfers": status, "card_payments": status},
		"requirements": map[string]any{"currently_due": due},
	}
}

func (f *fixture) pay(t *testing.T, c Checkout, chargeID string) {
	t.Helper()
	deliver(t, f.s, nextEventID(), "payment_intent.succeeded", f.clock.Now().Unix(), "", map[string]any{
		"id": c.PaymentIntentID, "object": "payment_intent", "amount": c.Amount, "currency": c.Currency,
		"status": "succeeded", "latest_charge": chargeID, "transfer_group": c.TransferGroup(),
	})
}

// checkBooks asserts the ledger's invariants.
func checkBooks(t *testing.T, s *Service) {
	t.Helper()
	ctx := context.Background()
	tb, err := s.ledger.TrialBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for cur, sum := range tb {
		if sum != 0 {
			t.Errorf("%s postings sum to %d", cur, sum)
		}
	}
	if ub, err := s.ledger.UnbalancedEntries(ctx); err != nil || len(ub) > 0 {
		t.Errorf("unbalanced entries %v (%v)", ub, err)
	}
}

func bal(t *testing.T, s *Service, code AccountCode, owner string) int64 {
	t.Helper()
	b, err := s.ledger.Balance(context.Background(), Account{Code: code, Owner: owner, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConnectedAccounts(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		a, created, err := f.s.CreateAccount(ctx, "alice", "alice@example.com", "US")
		if err != nil || !created || !strings.HasPrefix(a.StripeAccountID, "acct_") {
			t.Fatalf("CreateAccount = %+v, %v, %v", a, created, err)
		}
		again, created, err := f.s.CreateAccount(ctx, "alice", "alice@example.com", "US")
		if err != nil || created || again.StripeAccountID != a.StripeAccountID {
			t.Fatalf("second CreateAccount = %+v, %v, %v; want the first", again, created, err)
		}
		if _, _, err := f.s.CreateAccount(ctx, "bob", "", "usa"); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("bad country: %v", err)
		}
		l, err := f.s.OnboardingLink(ctx, "alice")
		if err != nil || l.URL == "" {
			t.Fatalf("OnboardingLink = %+v, %v", l, err)
		}
		if _, err := f.s.OnboardingLink(ctx, "nobody"); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("link without account: %v", err)
		}

		// account.updated keeps the mirror current, and an older event
		// arriving late does not undo a newer one.
		t0 := f.clock.Now().Unix()
		deliver(t, f.s, nextEventID(), "account.updated", t0+10, a.StripeAccountID, accountObject(a.StripeAccountID, true))
		deliver(t, f.s, nextEventID(), "account.updated", t0+5, a.StripeAccountID, accountObject(a.StripeAccountID, false))
		got, err := f.s.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !got.PayoutsEnabled || !got.TransfersActive || len(got.CurrentlyDue) != 0 {
			t.Errorf("after out-of-order events: %+v, want the newer (enabled) state", got)
		}
		if el := got.Eligibility(); !el.Standard || len(el.Reasons) != 0 {
			t.Errorf("eligibility = %+v", el)
		}
		// An event that beats CreateAccount's row is retried, not lost.
		early := accountObject("acct_early", true)
		early["metadata"] = map[string]string{"user_id": "zoe"}
		deliver(t, f.s, "evt_early", "account.updated", t0, "acct_early", early)
		if evs, _ := f.s.Events(ctx, "pending", 10); len(evs) != 1 || evs[0].ID != "evt_early" {
			t.Errorf("early account event not kept for a retry: %+v", evs)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO pay_connected_accounts (user_id, stripe_account_id, created_at, updated_at)
			VALUES ('zoe', 'acct_early', ?, ?)`, f.clock.Now(), f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Hour)
		if _, err := f.s.ProcessInbox(ctx); err != nil {
			t.Fatal(err)
		}
		if z, err := f.s.Account(ctx, "zoe"); err != nil || !z.TransfersActive {
			t.Errorf("early event after the retry: %+v, %v", z, err)
		}

		deliver(t, f.s, nextEventID(), "account.updated", t0+20, a.StripeAccountID, accountObject(a.StripeAccountID, false))
		got, _ = f.s.Account(ctx, "alice")
		if el := got.Eligibility(); el.Standard || len(el.Reasons) == 0 {
			t.Errorf("disabled account eligibility = %+v, want refused with reasons", el)
		}
	})
}

// TestSplitCheckoutFlow runs a split sale through payment, transfers,
// a partial refund, a dispute and payouts, checking the books at each step.
func TestSplitCheckoutFlow(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		for _, u := range []string{"alice", "bob", "carol"} {
			f.onboard(t, u)
		}
		in := CheckoutInput{Amount: 1001, Currency: "usd", Description: "Beat \"Night Drive\" – lease", BuyerEmail: "fan@example.com",
			Parties: []Share{{"alice", 5000}, {"bob", 3000}, {"carol", 2000}}}
		bad := in
		bad.BuyerEmail = "Fan <fan@example.com>\r\nBcc: x@example.com"
		if _, err := f.s.CreateCheckout(ctx, "alice", "kb", bad); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("header injection in buyerEmail: %v", err)
		}
		if _, err := f.s.CreateCheckout(ctx, "mallory", "k1", in); apperr.KindOf(err) != apperr.Forbidden {
			t.Errorf("checkout by a non-party: %v", err)
		}
		c, err := f.s.CreateCheckout(ctx, "alice", "k1", in)
		if err != nil {
			t.Fatal(err)
		}
		if c.Mode != ModeSplit || c.ClientSecret == "" || c.PaymentIntentID == "" {
			t.Fatalf("checkout = %+v", c)
		}
		wantParts := []int64{501, 300, 200} // 500.5/300.3/200.2: the .5 remainder wins the cent
		var parts []int64
		for _, p := range c.Parties {
			parts = append(parts, p.Amount)
		}
		if diff := cmp.Diff(wantParts, parts); diff != "" {
			t.Errorf("parts (-want +got):\n%s", diff)
		}
		again, err := f.s.CreateCheckout(ctx, "alice", "k1", in)
		if err != nil || again.ID != c.ID {
			t.Errorf("same key again: %s, %v; want checkout %s", again.ID, err, c.ID)
		}

		f.pay(t, c, "ch_split_1")
		got, err := f.s.Checkout(ctx, "bob", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "succeeded" || got.ChargeID != "ch_split_1" {
			t.Errorf("after payment: %+v", got)
		}
		for i, p := range got.Parties {
			if !strings.HasPrefix(p.TransferID, "tr_") {
				t.Errorf("party %d not transferred: %+v", i, p)
			}
			if b := bal(t, f.s, ConnectedCash, p.UserID); b != wantParts[i] {
				t.Errorf("%s connected_cash = %d, want %d", p.UserID, b, wantParts[i])
			}
			if b := bal(t, f.s, SellerPayable, p.UserID); b != -wantParts[i] {
				t.Errorf("%s seller_payable = %d, want %d", p.UserID, b, -wantParts[i])
			}
		}
		if b := bal(t, f.s, PlatformCash, PlatformOwner); b != 0 {
			t.Errorf("platform_cash after paying everyone = %d, want 0", b)
		}
		checkBooks(t, f.s)

		// The same payment reported again (a new event id) changes nothing.
		before, _ := f.s.ledger.TrialBalance(ctx)
		nBefore := countEntries(t, db)
		f.pay(t, c, "ch_split_1")
		if n := countEntries(t, db); n != nBefore {
			t.Errorf("a repeated payment event added %d entries", n-nBefore)
		}
		after, _ := f.s.ledger.TrialBalance(ctx)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("trial balance changed: %s", diff)
		}

		// Invoices: one per seller, numbered per seller from 1, mailed to the buyer.
		invs, err := f.s.Invoices(ctx, "bob")
		if err != nil || len(invs) != 1 || invs[0].Number != 1 || invs[0].Total != 300 {
			t.Fatalf("bob's invoices = %+v, %v", invs, err)
		}
		pdf, err := RenderPDF(invs[0])
		if err != nil || !strings.HasPrefix(string(pdf), "%PDF-") {
			t.Errorf("RenderPDF: %d bytes, %v", len(pdf), err)
		}
		if len(f.mailer.sent) != 1 || f.mailer.sent[0].To != "fan@example.com" || !strings.Contains(f.mailer.sent[0].Text, "INV-000001") {
			t.Errorf("receipt mail = %+v", f.mailer.sent)
		}

		// Partial refund of 500: each party gives back in proportion.
		if _, err := f.s.Refund(ctx, "bob", "r1", c.ID, 500); apperr.KindOf(err) != apperr.Forbidden {
			t.Errorf("refund by a non-creator: %v", err)
		}
		r, err := f.s.Refund(ctx, "alice", "r1", c.ID, 500)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{250, 150, 100}, r.Parts); diff != "" {
			t.Errorf("refund parts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{250, 150, 100}, r.Reversals); diff != "" {
			t.Errorf("reversals (-want +got):\n%s", diff)
		}
		r2, err := f.s.Refund(ctx, "alice", "r1", c.ID, 500) // the same request retried
		if err != nil || r2.ID != r.ID || r2.Checkout != 500 {
			t.Errorf("retried refund = %+v, %v; want the first, 500 refunded", r2, err)
		}
		if _, err := f.s.Refund(ctx, "alice", "r2", c.ID, 502); apperr.KindOf(err) != apperr.Conflict {
			t.Errorf("refund beyond the charge: %v", err)
		}
		if b := bal(t, f.s, SellerPayable, "alice"); b != -251 {
			t.Errorf("alice payable after refund = %d, want -251", b)
		}
		if b := bal(t, f.s, ConnectedCash, "alice"); b != 251 {
			t.Errorf("alice connected after reversal = %d, want 251", b)
		}
		checkBooks(t, f.s)

		// A dispute on the rest holds funds until it is lost.
		due := f.clock.Now().Add(7 * 24 * time.Hour).Unix()
		dispute := map[string]any{"id": "dp_1", "object": "dispute", "amount": 501, "currency": "usd", "reason": "fraudulent",
			"status": "needs_response", "payment_intent": c.PaymentIntentID, "charge": "ch_split_1",
			"evidence_details":     map[string]any{"due_by": due},
			"balance_transactions": []any{map[string]any{"id": "txn_dp", "object": "balance_transaction", "amount": -501, "fee": 1500}}}
		deliver(t, f.s, nextEventID(), "charge.dispute.created", f.clock.Now().Unix(), "", dispute)
		ds, err := f.s.Disputes(ctx, "bob")
		if err != nil || len(ds) != 1 || ds[0].EvidenceDueBy == nil || ds[0].EvidenceDueBy.Unix() != due || ds[0].Held != 150 {
			t.Fatalf("disputes = %+v, %v", ds, err)
		}
		if b := bal(t, f.s, SellerHeld, "alice"); b != -251 {
			t.Errorf("alice held = %d, want -251", b)
		}
		if avail, _ := f.s.Available(ctx, db, "alice", "usd"); avail != 0 {
			t.Errorf("alice available while disputed = %d, want 0", avail)
		}
		dispute["status"] = "lost"
		deliver(t, f.s, nextEventID(), "charge.dispute.closed", f.clock.Now().Unix()+60, "", dispute)
		dispute["status"] = "needs_response" // a stale update after the close changes nothing
		deliver(t, f.s, nextEventID(), "charge.dispute.updated", f.clock.Now().Unix()+30, "", dispute)
		ds, _ = f.s.Disputes(ctx, "bob")
		if ds[0].Status != "lost" {
			t.Errorf("dispute status = %s, want lost", ds[0].Status)
		}
		if b := bal(t, f.s, SellerHeld, "alice"); b != 0 {
			t.Errorf("alice held after loss = %d, want 0", b)
		}
		if b := bal(t, f.s, DisputesPending, PlatformOwner); b != 0 {
			t.Errorf("disputes_pending after close = %d", b)
		}
		if b := bal(t, f.s, DisputeFees, PlatformOwner); b != 1500 {
			t.Errorf("dispute fees = %d, want 1500", b)
		}
		checkBooks(t, f.s)
	})
}

func countEntries(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pay_ledger_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// destGateway answers as real Stripe does for destination charges, which
// stripe-mock's fixtures do not: the charge names its transfer, and a
// refund with reverse_transfer names its reversal.
type destGateway struct{ Gateway }

func (destGateway) ChargeTransfer(context.Context, string) (string, error) { return "tr_dest_1", nil }

func (g destGateway) CreateRefund(ctx context.Context, key, pi string, amount int64, reverse bool) (Refund, error) {
	r, err := g.Gateway.CreateRefund(ctx, key, pi, amount, reverse)
	r.TransferReversal = "trr_dest_1"
	return r, err
}

func TestDestinationCheckoutWithFee(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 1000) // 10 % commission
		f.s.gw = destGateway{f.gw}
		ctx := context.Background()
		f.onboard(t, "dave")
		c, err := f.s.CreateCheckout(ctx, "dave", "k", CheckoutInput{Amount: 2999, Currency: "usd", Parties: []Share{{"dave", 10000}}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Mode != ModeDestination || c.Fee != 299 || c.Parties[0].Amount != 2700 {
			t.Fatalf("checkout = %+v", c)
		}
		f.pay(t, c, "ch_dest_1")
		if b := bal(t, f.s, FeeRevenue, PlatformOwner); b != -299 {
			t.Errorf("fee revenue = %d, want -299", b)
		}
		if b := bal(t, f.s, ConnectedCash, "dave"); b != 2700 {
			t.Errorf("dave connected = %d", b)
		}
		// Full refund: Stripe reverses the destination transfer; the platform gives back its fee.
		r, err := f.s.Refund(ctx, "dave", "r", c.ID, 0)
		if err != nil || r.Amount != 2999 || r.FeePart != 299 || r.Parts[0] != 2700 {
			t.Fatalf("refund = %+v, %v", r, err)
		}
		for _, code := range []AccountCode{ConnectedCash, SellerPayable} {
			if b := bal(t, f.s, code, "dave"); b != 0 {
				t.Errorf("dave %s after full refund = %d", code, b)
			}
		}
		// Stripe's side of it reconciles without drift.
		f.s.gw = &scriptedTxns{Gateway: f.gw, txns: []BalanceTransaction{
			{ID: "txn_c", Type: "charge", Source: "ch_dest_1", Amount: 2999, Fee: 117, Currency: "usd"},
			{ID: "txn_t", Type: "transfer", Source: "tr_dest_1", Amount: -2700, Currency: "usd"},
			{ID: "txn_r", Type: "refund", Source: r.ID, Amount: -2999, Currency: "usd"},
			{ID: "txn_tr", Type: "transfer_refund", Source: "trr_dest_1", Amount: 2700, Currency: "usd"},
		}}
		rep, err := f.s.Reconcile(ctx)
		if err != nil || rep.NewDrift != 0 || rep.FeesBook != 1 {
			t.Errorf("reconcile = %+v, %v; drift %+v", rep, err, mustDrift(t, f.s))
		}
		checkBooks(t, f.s)
	})
}

func TestPayouts(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		f.onboard(t, "erin")
		c, err := f.s.CreateCheckout(ctx, "erin", "k", CheckoutInput{Amount: 5000, Currency: "usd", Parties: []Share{{"erin", 10000}}})
		if err != nil {
			t.Fatal(err)
		}
		f.pay(t, c, "ch_po")
		if _, err := f.s.Payout(ctx, "erin", "p0", PayoutInput{Amount: 5001, Currency: "usd"}); apperr.Code(err) != "insufficient_funds" {
			t.Errorf("payout over the balance: %v", err)
		}
		_, err = f.s.Payout(ctx, "erin", "p1", PayoutInput{Amount: 1000, Currency: "usd", Method: "instant"})
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != "instant_payout_refused" || ae.Fields["minAccountAgeDays"] == "" || ae.Fields["minStandardPayouts"] == "" {
			t.Fatalf("instant payout on a new account: %v", err)
		}
		p, err := f.s.Payout(ctx, "erin", "p2", PayoutInput{Amount: 3000, Currency: "usd"})
		if err != nil || !strings.HasPrefix(p.StripePayoutID, "po_") {
			t.Fatalf("standard payout = %+v, %v", p, err)
		}
		if avail, _ := f.s.Available(ctx, db, "erin", "usd"); avail != 2000 {
			t.Errorf("available after payout = %d, want 2000", avail)
		}
		deliver(t, f.s, nextEventID(), "payout.paid", f.clock.Now().Unix(), "acct_x", map[string]any{"id": p.StripePayoutID, "object": "payout", "status": "paid"})

		// Concurrent payouts never overdraw the 2000 left.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var paid int64
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.s.Payout(ctx, "erin", fmt.Sprintf("c%d", i), PayoutInput{Amount: 800, Currency: "usd"}); err == nil {
					mu.Lock()
					paid += 800
					mu.Unlock()
				} else if apperr.Code(err) != "insufficient_funds" {
					t.Errorf("concurrent payout: %v", err)
				}
			}()
		}
		wg.Wait()
		if paid != 1600 {
			t.Errorf("concurrent payouts paid %d, want 1600 (two of four)", paid)
		}

		// A failed payout puts the money back, once.
		f.clock.Add(30 * 24 * time.Hour)
		p3, err := f.s.Payout(ctx, "erin", "p3", PayoutInput{Amount: 400, Currency: "usd", Method: "instant"})
		if err != nil {
			t.Fatalf("instant payout on a seasoned account: %v", err)
		}
		for range 2 {
			deliver(t, f.s, nextEventID(), "payout.failed", f.clock.Now().Unix(), "acct_x", map[string]any{"id": p3.StripePayoutID, "object": "payout", "status": "failed"})
		}
		if avail, _ := f.s.Available(ctx, db, "erin", "usd"); avail != 400 {
			t.Errorf("available after a failed payout = %d, want 400", avail)
		}
		checkBooks(t, f.s)
	})
}

func TestRiskRulesData(t *testing.T) {
	r := DefaultRiskRules()
	if r.WindowDays != 90 || r.MinAccountAgeDays != 14 {
		t.Errorf("DefaultRiskRules = %+v", r)
	}
	ok := RiskStats{AccountAgeDays: 100, StandardPayouts: 3, Sales: 100, SalesAmount: 130000, LastWeekAmount: 10000}
	if got := r.Check(ok, 1000); len(got) != 0 {
		t.Errorf("a healthy seller refused: %+v", got)
	}
	tests := []struct {
		name  string
		edit  func(*RiskStats)
		rule  string
		limit int64
	}{
		{"young", func(s *RiskStats) { s.AccountAgeDays = 3 }, "minAccountAgeDays", 0},
		{"no standard payout", func(s *RiskStats) { s.StandardPayouts = 0 }, "minStandardPayouts", 0},
		{"disputes", func(s *RiskStats) { s.Disputes = 2 }, "maxDisputeRateBps", 0},
		{"refunds", func(s *RiskStats) { s.RefundedAmount = 30000 }, "maxRefundRateBps", 0},
		{"velocity", func(s *RiskStats) { s.LastWeekAmount = 60000 }, "maxVelocityPct", 0},
		{"amount", func(*RiskStats) {}, "maxInstantAmount", 600000},
	}
	for _, tt := range tests {
		st := ok
		tt.edit(&st)
		amount := int64(1000)
		if tt.limit > 0 {
			amount = tt.limit
		}
		got := r.Check(st, amount)
		if len(got) != 1 || got[0].Rule != tt.rule || got[0].Reason == "" {
			t.Errorf("%s: refusals %+v, want one %s", tt.name, got, tt.rule)
		}
	}
	if _, err := ParseRiskRules([]byte(`{"windowDays": 30, "bogus": 1}`)); err == nil {
		t.Error("ParseRiskRules accepted an unknown rule")
	}
}

func TestTaxesAndInvoiceNumbers(t *testing.T) {
	if len(Taxes) < 3 || Taxes["de_vat_standard"].RateBps != 1900 {
		t.Fatalf("Taxes = %+v", Taxes)
	}
	for _, tc := range []struct{ total, rate, want int64 }{{11900, 1900, 1900}, {1000, 2000, 167}, {1, 2000, 0}, {5, 2000, 1}, {999, 0, 0}} {
		if got := InclusiveTax(tc.total, tc.rate); got != tc.want {
			t.Errorf("InclusiveTax(%d, %d) = %d, want %d", tc.total, tc.rate, got, tc.want)
		}
	}
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		f.onboard(t, "gina")
		if err := f.s.SetTaxCode(ctx, "gina", "de_vat_standard"); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetTaxCode(ctx, "gina", "xx"); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("unknown tax code: %v", err)
		}
		// Concurrently paid checkouts still number gina's invoices 1..n.
		const n = 6
		var cs []Checkout
		for i := range n {
			c, err := f.s.CreateCheckout(ctx, "gina", fmt.Sprintf("k%d", i), CheckoutInput{Amount: 11900, Currency: "eur", Parties: []Share{{"gina", 10000}}})
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.s.paymentSucceeded(ctx, c.PaymentIntentID, fmt.Sprintf("ch_inv_%d", i), 1); err != nil {
					t.Error(err)
				}
				if _, err := f.s.IssueInvoices(ctx, c.ID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		invs, err := f.s.Invoices(ctx, "gina")
		if err != nil || len(invs) != n {
			t.Fatalf("invoices = %d, %v", len(invs), err)
		}
		for i, inv := range invs { // newest first
			if inv.Number != int64(n-i) || inv.Tax != 1900 || inv.Subtotal != 10000 || inv.TaxName == "" {
				t.Errorf("invoice %d = %+v", i, inv)
			}
		}
		// Issuing again does not renumber.
		again, err := f.s.IssueInvoices(ctx, cs[0].ID)
		if err != nil || len(again) != 1 || again[0].ID != findInvoice(invs, cs[0].ID).ID {
			t.Errorf("re-issue = %+v, %v", again, err)
		}
		checkBooks(t, f.s)
	})
}

func findInvoice(invs []Invoice, checkoutID string) Invoice {
	for _, inv := range invs {
		if inv.CheckoutID == checkoutID {
			return inv
		}
	}
	return Invoice{}
}
