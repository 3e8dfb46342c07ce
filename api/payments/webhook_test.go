package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func TestWebhookVerification(t *testing.T) {
	db := storetest.OpenSQLite(t)
	f := newFixture(t, db, 0)
	ctx := context.Background()
	now := f.clock.Now()
	obj := map[string]any{"id": "acct_1", "object": "account"}

	payload, sig := signedEvent(t, "evt_v1", "account.updated", now.Unix(), "acct_1", obj, now)
	if fresh, err := f.s.ReceiveWebhook(ctx, payload, sig); err != nil || !fresh {
		t.Fatalf("valid event: fresh %v, %v", fresh, err)
	}
	if fresh, err := f.s.ReceiveWebhook(ctx, payload, sig); err != nil || fresh {
		t.Errorf("same event again: fresh %v, %v; want a duplicate", fresh, err)
	}

	// A payload changed after signing (e.g. re-serialised JSON) fails.
	tampered := []byte(strings.Replace(string(payload), `"acct_1"`, `"acct_2"`, 1))
	wrongSecret := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_other", Timestamp: now})
	old, oldSig := signedEvent(t, "evt_old", "account.updated", now.Unix(), "", obj, now.Add(-6*time.Minute))
	tests := []struct {
		name    string
		payload []byte
		header  string
		code    string
	}{
		{"tampered body", tampered, sig, "bad_signature"},
		{"other secret", payload, wrongSecret.Header, "bad_signature"},
		{"no header", payload, "", "bad_signature_header"},
		{"garbage header", payload, "nonsense", "bad_signature_header"},
		{"older than the tolerance", old, oldSig, "signature_too_old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.ReceiveWebhook(ctx, tt.payload, tt.header)
			if apperr.KindOf(err) != apperr.Invalid || apperr.Code(err) != tt.code {
				t.Errorf("err = %v (code %q), want Invalid %s", err, apperr.Code(err), tt.code)
			}
		})
	}

	// Another API release train is refused: its objects may not read the same.
	var ev map[string]any
	_ = json.Unmarshal(payload, &ev)
	ev["id"], ev["api_version"] = "evt_acacia", "2024-06-20"
	other, _ := json.Marshal(ev)
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: other, Secret: testWebhookSecret, Timestamp: now})
	if _, err := f.s.ReceiveWebhook(ctx, other, sp.Header); apperr.Code(err) != "unsupported_event" {
		t.Errorf("other API version: %v", err)
	}

	s2, err := New(Options{DB: db, Gateway: f.gw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.ReceiveWebhook(ctx, payload, sig); apperr.KindOf(err) != apperr.Unavailable {
		t.Errorf("no secret configured: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_webhook_events`).Scan(&n); err != nil || n != 1 {
		t.Errorf("stored events = %d (%v), want 1", n, err)
	}
}

// TestInboxRetriesAndReconciliation: a Stripe outage in the middle of
// processing leaves the event pending with backoff, the started transfer
// shows up as drift, and a later attempt finishes the work exactly once.
func TestInboxRetriesAndReconciliation(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		f.onboard(t, "hana")
		f.onboard(t, "ivan")
		c, err := f.s.CreateCheckout(ctx, "hana", "k", CheckoutInput{Amount: 1000, Currency: "usd",
			Parties: []Share{{"hana", 5000}, {"ivan", 5000}}})
		if err != nil {
			t.Fatal(err)
		}
		f.gw.mu.Lock()
		f.gw.failTransfer = apperr.E("test", apperr.Unavailable, errors.New("stripe is down"))
		f.gw.mu.Unlock()
		f.pay(t, c, "ch_retry")
		evs, err := f.s.Events(ctx, "pending", 10)
		if err != nil || len(evs) != 1 || evs[0].Attempts != 1 || evs[0].LastError == "" {
			t.Fatalf("pending events = %+v, %v", evs, err)
		}
		if n, err := f.s.ProcessInbox(ctx); err != nil || n != 0 {
			t.Errorf("ProcessInbox before the retry is due = %d, %v", n, err)
		}
		got, _ := f.s.Checkout(ctx, "hana", c.ID)
		if got.Status != "succeeded" || got.Parties[0].TransferID != "" {
			t.Errorf("checkout during the outage = %+v", got)
		}
		if b := bal(t, f.s, SellerPayable, "hana"); b != -500 {
			t.Errorf("the sale is booked even while transfers wait: payable %d", b)
		}
		// A late failure event does not undo the success.
		deliver(t, f.s, nextEventID(), "payment_intent.payment_failed", f.clock.Now().Unix()-10, "", map[string]any{
			"id": c.PaymentIntentID, "object": "payment_intent", "status": "requires_payment_method"})
		if got, _ := f.s.Checkout(ctx, "hana", c.ID); got.Status != "succeeded" {
			t.Errorf("status after a late failure event = %s", got.Status)
		}

		f.clock.Add(11 * time.Minute)
		rep, err := f.s.Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		drift, _ := f.s.Drift(ctx, false)
		pending := 0
		for _, d := range drift {
			if d.Kind == DriftPendingOperation && strings.HasPrefix(d.StripeRef, "transfer:"+c.ID) {
				pending++
			}
		}
		if pending != 2 || rep.NewDrift < 2 {
			t.Errorf("pending-operation drift = %d (report %+v): %+v; want the two started transfers", pending, rep, drift)
		}

		f.gw.mu.Lock()
		f.gw.failTransfer = nil
		f.gw.mu.Unlock()
		f.clock.Add(time.Hour)
		if n, err := f.s.ProcessInbox(ctx); err != nil || n != 1 {
			t.Fatalf("ProcessInbox after the outage = %d, %v", n, err)
		}
		got, _ = f.s.Checkout(ctx, "hana", c.ID)
		for _, p := range got.Parties {
			if p.TransferID == "" {
				t.Errorf("party %s still untransferred", p.UserID)
			}
			if b := bal(t, f.s, ConnectedCash, p.UserID); b != 500 {
				t.Errorf("%s connected = %d, want 500 (transferred once)", p.UserID, b)
			}
		}
		if _, err := f.s.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		for _, d := range mustDrift(t, f.s) {
			if d.Kind == DriftPendingOperation {
				t.Errorf("drift still open after the work finished: %+v", d)
			}
		}
		checkBooks(t, f.s)
	})
}

func mustDrift(t *testing.T, s *Service) []DriftRecord {
	t.Helper()
	d, err := s.Drift(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestInboxGivesUpAndReplays: an event that keeps failing is marked failed
// after webhookMaxAttempts; a replay after the cause is fixed processes it.
func TestInboxGivesUpAndReplays(t *testing.T) {
	db := storetest.OpenSQLite(t)
	f := newFixture(t, db, 0)
	ctx := context.Background()
	a := f.onboard(t, "jo")
	f.onboard(t, "kim")
	c, err := f.s.CreateCheckout(ctx, "jo", "k", CheckoutInput{Amount: 300, Currency: "usd", Parties: []Share{{"jo", 5000}, {"kim", 5000}}})
	if err != nil {
		t.Fatal(err)
	}
	f.gw.mu.Lock()
	f.gw.failTransfer = apperr.E("test", apperr.Unavailable, errors.New("down"))
	f.gw.mu.Unlock()
	f.pay(t, c, "ch_gives_up")
	for range webhookMaxAttempts {
		f.clock.Add(2 * time.Hour)
		if _, err := f.s.ProcessInbox(ctx); err != nil {
			t.Fatal(err)
		}
	}
	failed, _ := f.s.Events(ctx, "failed", 10)
	if len(failed) != 1 || failed[0].Attempts != webhookMaxAttempts {
		t.Fatalf("failed events = %+v", failed)
	}
	f.gw.mu.Lock()
	f.gw.failTransfer = nil
	f.gw.mu.Unlock()
	if _, err := f.s.ReplayEvent(ctx, "kim", "kim@example.com", failed[0].ID); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("replay by a stranger to the event: %v", err)
	}
	ev, err := f.s.ReplayEvent(ctx, "someone", "admin@example.com", failed[0].ID)
	if err != nil || ev.Status != "processed" {
		t.Fatalf("admin replay = %+v, %v", ev, err)
	}
	// The account owner may replay events about their account.
	var acctEvent string
	if err := db.QueryRowContext(ctx, `SELECT id FROM pay_webhook_events WHERE account = ? LIMIT 1`, a.StripeAccountID).Scan(&acctEvent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ReplayEvent(ctx, "jo", "jo@example.com", acctEvent); err != nil {
		t.Errorf("owner replay: %v", err)
	}
	got, _ := f.s.Checkout(ctx, "jo", c.ID)
	if got.Parties[1].TransferID == "" {
		t.Error("replay did not finish the transfers")
	}
	checkBooks(t, f.s)
}

// TestConcurrentCheckouts: many buyers check out the same item at once
// while their payment events arrive concurrently and twice over.
func TestConcurrentCheckouts(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 500)
		ctx := context.Background()
		f.onboard(t, "lee")
		f.onboard(t, "max")
		const n = 8
		in := CheckoutInput{Amount: 1999, Currency: "usd", Description: "Beat #7 lease", Parties: []Share{{"lee", 6667}, {"max", 3333}}}
		cs := make([]Checkout, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := f.s.CreateCheckout(ctx, "lee", fmt.Sprintf("buyer-%d", i), in)
				if err != nil {
					t.Error(err)
					return
				}
				cs[i] = c
			}()
		}
		// The same request raced with itself makes one checkout.
		same := make([]string, 3)
		for i := range same {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := f.s.CreateCheckout(ctx, "lee", "same-key", in)
				if err != nil {
					t.Error(err)
					return
				}
				same[i] = c.ID
			}()
		}
		wg.Wait()
		if same[0] != same[1] || same[1] != same[2] {
			t.Errorf("one key made checkouts %v", same)
		}
		for i, c := range cs {
			for range 2 { // every event delivered twice, with different ids
				wg.Add(1)
				go func() {
					defer wg.Done()
					payload, sig := signedEvent(t, nextEventID(), "payment_intent.succeeded", f.clock.Now().Unix(), "", map[string]any{
						"id": c.PaymentIntentID, "object": "payment_intent", "status": "succeeded", "latest_charge": fmt.Sprintf("ch_conc_%d", i)}, f.clock.Now())
					if _, err := f.s.ReceiveWebhook(ctx, payload, sig); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		for range 2 { // two inbox workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.s.ProcessInbox(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if _, err := f.s.ProcessInbox(ctx); err != nil {
			t.Fatal(err)
		}
		// 1999 - 5 % (99) = 1900 → 6667/3333 bps: 1266.73 / 633.27 → 1267 / 633.
		if b := bal(t, f.s, ConnectedCash, "lee"); b != n*1267 {
			t.Errorf("lee connected = %d, want %d", b, n*1267)
		}
		if b := bal(t, f.s, ConnectedCash, "max"); b != n*633 {
			t.Errorf("max connected = %d, want %d", b, n*633)
		}
		if b := bal(t, f.s, FeeRevenue, PlatformOwner); b != -n*99 {
			t.Errorf("fee revenue = %d, want %d", b, -n*99)
		}
		checkBooks(t, f.s)
	})
}

// TestExternalRefunds: refunds made in the Stripe Dashboard arrive with
// charge.refunded and are booked once; ours in the same list are skipped;
// while one of ours is in flight the event waits.
func TestExternalRefunds(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0)
		ctx := context.Background()
		f.onboard(t, "pia")
		f.onboard(t, "quinn")
		c, err := f.s.CreateCheckout(ctx, "pia", "k", CheckoutInput{Amount: 1000, Currency: "usd", Parties: []Share{{"pia", 7000}, {"quinn", 3000}}})
		if err != nil {
			t.Fatal(err)
		}
		f.pay(t, c, "ch_ext")
		ours, err := f.s.Refund(ctx, "pia", "r", c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		charge := map[string]any{"id": "ch_ext", "object": "charge", "payment_intent": c.PaymentIntentID, "amount_refunded": 300,
			"refunds": map[string]any{"object": "list", "data": []any{
				map[string]any{"id": ours.ID, "object": "refund", "amount": 100, "status": "succeeded"},
				map[string]any{"id": "re_dashboard", "object": "refund", "amount": 200, "status": "succeeded"},
			}}}
		before := countEntries(t, db)
		for range 2 {
			deliver(t, f.s, nextEventID(), "charge.refunded", f.clock.Now().Unix(), "", charge)
		}
		if n := countEntries(t, db) - before; n != 1 {
			t.Errorf("charge.refunded twice added %d entries, want 1 (the Dashboard refund)", n)
		}
		got, _ := f.s.Checkout(ctx, "pia", c.ID)
		if got.Refunded != 300 {
			t.Errorf("refunded = %d, want 300", got.Refunded)
		}
		if b := bal(t, f.s, SellerPayable, "quinn"); b != -(300 - 30 - 60) {
			t.Errorf("quinn payable = %d, want %d", b, -(300 - 30 - 60))
		}

		// While one of our refunds is between Stripe and the ledger, wait.
		now := f.clock.Now()
		if _, err := db.ExecContext(ctx, `INSERT INTO pay_operations (stripe_key, kind, ref, status, created_at, updated_at)
			VALUES ('refund:x', 'refund', ?, 'pending', ?, ?)`, c.ID, now, now); err != nil {
			t.Fatal(err)
		}
		charge["refunds"].(map[string]any)["data"] = append(charge["refunds"].(map[string]any)["data"].([]any),
			map[string]any{"id": "re_dashboard_2", "object": "refund", "amount": 50, "status": "succeeded"})
		deliver(t, f.s, "evt_wait", "charge.refunded", f.clock.Now().Unix(), "", charge)
		if evs, _ := f.s.Events(ctx, "pending", 10); len(evs) != 1 || evs[0].ID != "evt_wait" {
			t.Errorf("event not held while a refund is in flight: %+v", evs)
		}
		checkBooks(t, f.s)
	})
}
