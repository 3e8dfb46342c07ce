package payments

import (
	"context"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// scriptedTxns returns fixed balance transactions instead of Stripe's.
type scriptedTxns struct {
	Gateway
	txns []BalanceTransaction
}

func (s *scriptedTxns) ListBalanceTransactions(context.Context, time.Time, int) ([]BalanceTransaction, error) {
	return s.txns, nil
}

func TestReconcile(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		f.onboard(t, "nia")
		f.onboard(t, "oz")
		c, err := f.s.CreateCheckout(ctx, "nia", "k", CheckoutInput{Amount: 2000, Currency: "usd", Parties: []Share{{"nia", 5000}, {"oz", 5000}}})
		if err != nil {
			t.Fatal(err)
		}
		f.pay(t, c, "ch_rec")
		c, _ = f.s.Checkout(ctx, "nia", c.ID)
		r, err := f.s.Refund(ctx, "nia", "r", c.ID, 600)
		if err != nil {
			t.Fatal(err)
		}
		trr, err := queryStrings(ctx, db, `SELECT stripe_ref FROM pay_ledger_entries WHERE kind = 'transfer_reversal' ORDER BY idempotency_key`)
		if err != nil || len(trr) != 2 || trr[0] == "" {
			t.Fatalf("reversal refs = %v, %v", trr, err)
		}
		gw := &scriptedTxns{Gateway: f.gw, txns: []BalanceTransaction{
			{ID: "txn_ch", Type: "charge", Source: "ch_rec", Amount: 2000, Fee: 88, Currency: "usd"},
			{ID: "txn_tr", Type: "transfer", Source: c.Parties[0].TransferID, Amount: -1000, Currency: "usd"},
			{ID: "txn_tr2", Type: "transfer", Source: c.Parties[1].TransferID, Amount: -999, Currency: "usd"},
			{ID: "txn_ghost", Type: "transfer", Source: "tr_ghost", Amount: -5, Currency: "usd"},
			{ID: "txn_stranger", Type: "charge", Source: "ch_stranger", Amount: 700, Currency: "usd"},
			{ID: "txn_adj", Type: "adjustment", Source: "", Amount: -30, Currency: "usd"},
			{ID: "txn_po", Type: "payout", Source: "po_platform", Amount: -100, Currency: "usd"},
			{ID: "txn_re", Type: "refund", Source: r.ID, Amount: -600, Currency: "usd"},
			{ID: "txn_trr0", Type: "transfer_refund", Source: trr[0], Amount: 300, Currency: "usd"},
			{ID: "txn_trr1", Type: "transfer_refund", Source: trr[1], Amount: 300, Currency: "usd"},
		}}
		f.s.gw = gw
		rep, err := f.s.Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checked != 10 || rep.FeesBook != 1 || rep.NewDrift != 4 {
			t.Errorf("report = %+v, want 10 checked, 1 fee, 4 drift", rep)
		}
		kinds := map[string]string{}
		for _, d := range mustDrift(t, f.s) {
			kinds[d.StripeRef] = d.Kind
		}
		want := map[string]string{"txn_tr2": DriftAmountMismatch, "txn_ghost": DriftMissingInLedger,
			"txn_stranger": DriftUnknownCharge, "txn_adj": DriftUnclassified}
		for ref, k := range want {
			if kinds[ref] != k {
				t.Errorf("drift for %s = %q, want %s (all: %v)", ref, kinds[ref], k, kinds)
			}
		}
		if b := bal(t, f.s, CardFees, PlatformOwner); b != 88 {
			t.Errorf("card fees = %d, want 88", b)
		}
		// A second run books nothing twice and records nothing twice.
		rep, err = f.s.Reconcile(ctx)
		if err != nil || rep.FeesBook != 0 || rep.NewDrift != 0 {
			t.Errorf("second run = %+v, %v", rep, err)
		}
		if b := bal(t, f.s, CardFees, PlatformOwner); b != 88 {
			t.Errorf("card fees after a second run = %d", b)
		}
		checkBooks(t, f.s)
	})
}
