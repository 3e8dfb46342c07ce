package payments

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// allBalances maps every account id to its balance.
func allBalances(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT account_id, SUM(amount) FROM pay_ledger_postings GROUP BY account_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			t.Fatal(err)
		}
		out[id] = sum
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRandomFlows runs random sequences of checkouts, payments (events
// repeated and reordered), refunds (retried, some too large), disputes,
// late onboarding and payouts, checking the books after every step; at the
// end, replaying every stored event and every refund request changes no
// balance.
func TestRandomFlows(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		seeds := 3
		if db.Dialect() == store.Postgres {
			seeds = 1
		}
		for seed := range seeds {
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomFlow(t, db, uint64(seed)) })
		}
	})
}

func randomFlow(t *testing.T, db *store.DB, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 42))
	f := newFixture(t, db, int64(rng.IntN(3))*250)
	users := []string{fmt.Sprintf("p%d-a", seed), fmt.Sprintf("p%d-b", seed), fmt.Sprintf("p%d-c", seed)}
	late := fmt.Sprintf("p%d-late", seed)
	for _, u := range users {
		f.onboard(t, u)
	}
	lateAcct, _, err := f.s.CreateAccount(ctx, late, "", "US") // onboarding unfinished: no transfers yet
	if err != nil {
		t.Fatal(err)
	}
	parties := append(append([]string{}, users...), late)
	type refundReq struct {
		user, key, checkout string
		amount              int64
	}
	var (
		checkouts []Checkout
		refunds   []refundReq
	)
	payEvent := func(c Checkout) func() { // a fresh event id each time: Stripe's at-least-once delivery
		return func() {
			deliver(t, f.s, nextEventID(), "payment_intent.succeeded", f.clock.Now().Unix(), "", map[string]any{
				"id": c.PaymentIntentID, "object": "payment_intent", "status": "succeeded", "latest_charge": "ch_" + c.ID})
		}
	}
	for step := range 50 {
		switch op := rng.IntN(9); op {
		case 0, 1: // a checkout shared by 1-4 parties
			n := 1 + rng.IntN(len(parties))
			perm := rng.Perm(len(parties))[:n]
			w := make([]int64, n)
			for i := range w {
				w[i] = 1 + rng.Int64N(100)
			}
			bps, _ := Allocate(TotalBasisPoints, w)
			var shares []Share
			for i, pi := range perm {
				if bps[i] > 0 {
					shares = append(shares, Share{parties[pi], bps[i]})
				}
			}
			in := CheckoutInput{Amount: 1 + rng.Int64N(50000), Currency: "usd", Parties: shares}
			c, err := f.s.CreateCheckout(ctx, shares[0].UserID, fmt.Sprint("chk", step), in)
			if err != nil {
				t.Fatalf("step %d: checkout %+v: %v", step, in, err)
			}
			sum := c.Fee
			for _, p := range c.Parties {
				sum += p.Amount
			}
			if sum != c.Amount {
				t.Fatalf("checkout %s parts sum to %d of %d", c.ID, sum, c.Amount)
			}
			checkouts = append(checkouts, c)
		case 2, 3, 4: // pay one, sometimes reporting it twice
			if len(checkouts) == 0 {
				continue
			}
			c := checkouts[rng.IntN(len(checkouts))]
			payEvent(c)()
			if rng.IntN(2) == 0 {
				payEvent(c)()
			}
		case 5: // refund part of a paid checkout, maybe retried, maybe too much
			if len(checkouts) == 0 {
				continue
			}
			pick := checkouts[rng.IntN(len(checkouts))]
			c, err := f.s.Checkout(ctx, pick.CreatedBy, pick.ID)
			if err != nil || c.Status != "succeeded" {
				continue
			}
			amount := 1 + rng.Int64N(max(c.Amount-c.Refunded, 1))
			if rng.IntN(4) == 0 {
				amount = c.Amount - c.Refunded + 1 // too much
			}
			req := refundReq{c.CreatedBy, fmt.Sprint("ref", step), c.ID, amount}
			_, err = f.s.Refund(ctx, req.user, req.key, req.checkout, req.amount)
			switch {
			case err == nil:
				refunds = append(refunds, req)
			case apperr.Code(err) == "refund_exceeds_charge" || apperr.Code(err) == "invalid_amount":
			default:
				t.Fatalf("step %d: refund: %v", step, err)
			}
		case 6: // a dispute, its close maybe before its creation
			if len(checkouts) == 0 {
				continue
			}
			c := checkouts[rng.IntN(len(checkouts))]
			if got, _ := checkoutByID(ctx, db, c.ID); got.Status != "succeeded" {
				continue
			}
			d := map[string]any{"id": "dp_" + c.ID, "object": "dispute", "amount": 1 + rng.Int64N(c.Amount), "currency": "usd",
				"reason": "fraudulent", "status": "needs_response", "payment_intent": c.PaymentIntentID}
			created, closed := nextEventID(), nextEventID()
			now := f.clock.Now().Unix()
			outcome := []string{"won", "lost"}[rng.IntN(2)]
			closedObj := map[string]any{}
			for k, v := range d {
				closedObj[k] = v
			}
			closedObj["status"] = outcome
			first, second := func() { deliver(t, f.s, created, "charge.dispute.created", now, "", d) },
				func() { deliver(t, f.s, closed, "charge.dispute.closed", now+5, "", closedObj) }
			if rng.IntN(2) == 0 {
				first, second = second, first
			}
			first()
			second()
		case 7: // the late party finishes onboarding; its waiting transfers go out
			deliver(t, f.s, nextEventID(), "account.updated", f.clock.Now().Unix(), lateAcct.StripeAccountID, accountObject(lateAcct.StripeAccountID, true))
			waiting, err := queryStrings(ctx, db, `SELECT p.checkout_id FROM pay_checkout_parties p JOIN pay_checkouts c ON c.id = p.checkout_id
				WHERE p.user_id = ? AND c.status = 'succeeded' AND p.transfer_id = '' AND p.amount > p.reversed`, late)
			if err != nil || len(waiting) > 0 {
				t.Fatalf("step %d: transfers still waiting for %s: %v (%v)", step, late, waiting, err)
			}
		case 8: // a payout of up to what is available
			u := parties[rng.IntN(len(parties))]
			avail, err := f.s.Available(ctx, db, u, "usd")
			if err != nil || avail == 0 {
				continue
			}
			if _, err := f.s.Payout(ctx, u, fmt.Sprint("po", step), PayoutInput{Amount: 1 + rng.Int64N(avail), Currency: "usd"}); err != nil &&
				apperr.Code(err) != "payouts_disabled" {
				t.Fatalf("step %d: payout: %v", step, err)
			}
		}
		checkBooks(t, f.s)
		if t.Failed() {
			t.Fatalf("books broken after step %d", step)
		}
	}
	for _, c := range checkouts {
		got, _ := checkoutByID(ctx, db, c.ID)
		if got.Refunded > got.Amount {
			t.Errorf("checkout %s refunded %d of %d", c.ID, got.Refunded, got.Amount)
		}
	}

	paid := 0
	for _, c := range checkouts {
		if got, _ := checkoutByID(ctx, db, c.ID); got.Status == "succeeded" {
			paid++
		}
	}
	t.Logf("seed %d: %d checkouts (%d paid), %d refunds, %d ledger entries", seed, len(checkouts), paid, len(refunds), countEntries(t, db))

	// Replaying everything changes nothing.
	before := allBalances(t, db)
	ids, err := queryStrings(ctx, db, `SELECT id FROM pay_webhook_events ORDER BY received_at`)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := f.s.ReplayEvent(ctx, "", "admin@example.com", id); err != nil {
			t.Fatalf("replay %s: %v", id, err)
		}
	}
	for _, r := range refunds {
		if _, err := f.s.Refund(ctx, r.user, r.key, r.checkout, r.amount); err != nil {
			t.Fatalf("refund retried: %v", err)
		}
	}
	if diff := cmp.Diff(before, allBalances(t, db)); diff != "" {
		t.Errorf("replaying events and requests changed balances (-before +after):\n%s", diff)
	}
	checkBooks(t, f.s)
}
