package payments_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/api/openapi/openapitest"
	"github.com/maxbooster/maxbooster/api/payments" //nolint:depguard // this package's own external tests
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

type env struct {
	srv *apitest.Server
	db  *store.DB
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	mock := payments.StripeMockForTest(t)
	srv := apitest.New(t, db, func(d *api.Deps) {
		d.Payments = payments.Config{SecretKey: "sk_test_123", APIBase: mock, WebhookSecret: payments.TestWebhookSecret,
			AdminEmails: []string{"admin@example.com"}}
	})
	return &env{srv: srv, db: db}
}

type client struct {
	c    *apitest.Client
	user session.User
}

// do sends a request and checks the response against the OpenAPI document.
func (c *client) do(t *testing.T, method, path string, body any, hdr ...http.Header) *apitest.Response {
	t.Helper()
	res := c.c.Do(t, method, path, body, hdr...)
	p, _, _ := strings.Cut(path, "?")
	if err := openapitest.Validator(t).CheckResponse(method, p, res.Status, res.Header.Get("Content-Type"), res.Body); err != nil {
		t.Errorf("openapi: %v", err)
	}
	return res
}

func (e *env) register(t *testing.T, email string) *client {
	t.Helper()
	c := &client{c: e.srv.Client()}
	res := c.do(t, http.MethodPost, "/api/v1/auth/register", map[string]string{
		"email": email, "password": "a long enough passphrase 42", "displayName": email,
	})
	res.WantStatus(t, http.StatusCreated)
	var u struct {
		User session.User `json:"user"`
	}
	res.JSON(t, &u)
	c.user = u.User
	var tok struct {
		Token string `json:"token"`
	}
	res = c.do(t, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "test", "scopes": []string{"read", "write"}})
	res.WantStatus(t, http.StatusCreated)
	if err := json.Unmarshal(res.Body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %s, %v", res.Body, err)
	}
	c.c.Header.Set("Authorization", "Bearer "+tok.Token)
	return c
}

var keySeq atomic.Int64

func idem() http.Header {
	return http.Header{payments.IdempotencyHeader: {fmt.Sprintf("key-%d-%d", time.Now().UnixNano(), keySeq.Add(1))}}
}

// webhook posts a signed event the way Stripe does: no session, no Origin.
func (e *env) webhook(t *testing.T, anon *client, id, typ, account string, object any) *apitest.Response {
	t.Helper()
	payload, sig := payments.SignedEventForTest(t, id, typ, time.Now().Unix(), account, object, time.Now())
	return anon.do(t, http.MethodPost, payments.WebhookPath, payload,
		http.Header{"Stripe-Signature": {sig}, "Content-Type": {"application/json"}})
}

// eventually polls cond (the inbox worker runs in the background).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestHandlers(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice, bob, admin := e.register(t, "alice@example.com"), e.register(t, "bob@example.com"), e.register(t, "admin@example.com")
		anon := &client{c: e.srv.Client()}

		anon.do(t, http.MethodGet, "/api/v1/payments/account", nil).WantProblem(t, http.StatusUnauthorized, "unauthenticated")
		alice.do(t, http.MethodGet, "/api/v1/payments/account", nil).WantProblem(t, http.StatusNotFound, "no_connected_account")

		var av payments.AccountView
		res := alice.do(t, http.MethodPost, "/api/v1/payments/account", map[string]string{"country": "US"})
		res.WantStatus(t, http.StatusCreated)
		res.JSON(t, &av)
		alice.do(t, http.MethodPost, "/api/v1/payments/account", nil).WantStatus(t, http.StatusOK)
		bob.do(t, http.MethodPost, "/api/v1/payments/account", nil).WantStatus(t, http.StatusCreated)
		var bv payments.AccountView
		bob.do(t, http.MethodGet, "/api/v1/payments/account", nil).JSON(t, &bv)
		alice.do(t, http.MethodPost, "/api/v1/payments/account/onboarding-link", nil).WantStatus(t, http.StatusOK)
		alice.do(t, http.MethodPatch, "/api/v1/payments/account", map[string]string{"taxCode": "gb_vat_standard"}).WantStatus(t, http.StatusOK)
		alice.do(t, http.MethodPatch, "/api/v1/payments/account", map[string]string{"taxCode": "mars"}).WantProblem(t, http.StatusBadRequest, "invalid_tax_code")

		// Webhooks: signed, no session, no CSRF token; bad signatures refused.
		acctEvent := "evt_acct_" + av.Account.StripeAccountID
		for _, v := range []payments.AccountView{av, bv} {
			obj := map[string]any{"id": v.Account.StripeAccountID, "object": "account", "charges_enabled": true, "payouts_enabled": true,
				"details_submitted": true, "capabilities": map[string]any{"transfers": "active"}, "requirements": map[string]any{"currently_due": []string{}}}
			res := e.webhook(t, anon, "evt_acct_"+v.Account.StripeAccountID, "account.updated", v.Account.StripeAccountID, obj)
			res.WantStatus(t, http.StatusOK)
		}
		e.webhook(t, anon, acctEvent, "account.updated", av.Account.StripeAccountID, map[string]any{"id": av.Account.StripeAccountID}).WantStatus(t, http.StatusOK) // duplicate id: stored once
		bad := anon.do(t, http.MethodPost, payments.WebhookPath, `{"id":"evt_x","type":"account.updated"}`,
			http.Header{"Stripe-Signature": {"t=1,v1=00"}, "Content-Type": {"application/json"}})
		bad.WantStatus(t, http.StatusBadRequest)
		eventually(t, "account.updated applied", func() bool {
			var v payments.AccountView
			alice.c.Do(t, http.MethodGet, "/api/v1/payments/account", nil).JSON(t, &v)
			return v.Account.TransfersActive && v.Eligibility.Standard
		})

		// Checkouts need an Idempotency-Key; a replay returns the stored answer.
		body := map[string]any{"amount": 2000, "currency": "usd", "description": "Stems", "buyerEmail": "fan@example.com",
			"parties": []map[string]any{{"userId": alice.user.ID, "bps": 6000}, {"userId": bob.user.ID, "bps": 4000}}}
		alice.do(t, http.MethodPost, "/api/v1/payments/checkouts", body).WantProblem(t, http.StatusBadRequest, "idempotency_key_required")
		key := idem()
		first := alice.do(t, http.MethodPost, "/api/v1/payments/checkouts", body, key)
		first.WantStatus(t, http.StatusCreated)
		again := alice.do(t, http.MethodPost, "/api/v1/payments/checkouts", body, key)
		again.WantStatus(t, http.StatusCreated)
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Errorf("replay: header %q, body equal %v", again.Header.Get("Idempotent-Replayed"), string(again.Body) == string(first.Body))
		}
		body["amount"] = 2001
		alice.do(t, http.MethodPost, "/api/v1/payments/checkouts", body, key).WantProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
		var c payments.Checkout
		first.JSON(t, &c)
		bob.do(t, http.MethodGet, "/api/v1/payments/checkouts/"+c.ID, nil).WantStatus(t, http.StatusOK)
		admin.do(t, http.MethodGet, "/api/v1/payments/checkouts/"+c.ID, nil).WantStatus(t, http.StatusNotFound)

		e.webhook(t, anon, "evt_pi_"+c.ID, "payment_intent.succeeded", "", map[string]any{"id": c.PaymentIntentID, "object": "payment_intent",
			"status": "succeeded", "latest_charge": "ch_http_" + c.ID, "amount": 2000, "currency": "usd"}).WantStatus(t, http.StatusOK)
		eventually(t, "payment recorded", func() bool {
			var got payments.Checkout
			alice.c.Do(t, http.MethodGet, "/api/v1/payments/checkouts/"+c.ID, nil).JSON(t, &got)
			return got.Status == "succeeded" && got.Parties[1].TransferID != ""
		})
		var bals struct {
			Balances []payments.AccountBalance `json:"balances"`
		}
		bob.do(t, http.MethodGet, "/api/v1/payments/balances", nil).JSON(t, &bals)
		if len(bals.Balances) != 2 {
			t.Errorf("bob's balances = %+v", bals)
		}
		var invs struct {
			Invoices []payments.Invoice `json:"invoices"`
		}
		eventually(t, "invoice issued", func() bool {
			alice.c.Do(t, http.MethodGet, "/api/v1/payments/invoices", nil).JSON(t, &invs)
			return len(invs.Invoices) == 1
		})
		if inv := invs.Invoices[0]; inv.Total != 1200 || inv.Tax != 200 || inv.Label != "INV-000001" {
			t.Errorf("alice's invoice = %+v", inv)
		}
		pdf := alice.do(t, http.MethodGet, "/api/v1/payments/invoices/"+invs.Invoices[0].ID+"/pdf", nil)
		pdf.WantStatus(t, http.StatusOK)
		if !strings.HasPrefix(string(pdf.Body), "%PDF-") {
			t.Errorf("pdf body starts %q", pdf.Body[:min(8, len(pdf.Body))])
		}
		bob.do(t, http.MethodGet, "/api/v1/payments/invoices/"+invs.Invoices[0].ID, nil).WantStatus(t, http.StatusNotFound)

		var r payments.RefundResult
		res = alice.do(t, http.MethodPost, "/api/v1/payments/checkouts/"+c.ID+"/refunds", map[string]int64{"amount": 1000}, idem())
		res.WantStatus(t, http.StatusCreated)
		res.JSON(t, &r)
		if r.Parts[0] != 600 || r.Parts[1] != 400 {
			t.Errorf("refund parts = %v", r.Parts)
		}
		bob.do(t, http.MethodPost, "/api/v1/payments/checkouts/"+c.ID+"/refunds", map[string]int64{"amount": 1}, idem()).
			WantProblem(t, http.StatusForbidden, "not_creator")
		bob.do(t, http.MethodGet, "/api/v1/payments/disputes", nil).WantStatus(t, http.StatusOK)

		res = bob.do(t, http.MethodPost, "/api/v1/payments/payouts", map[string]any{"amount": 300, "currency": "usd"}, idem())
		res.WantStatus(t, http.StatusCreated)
		bob.do(t, http.MethodPost, "/api/v1/payments/payouts", map[string]any{"amount": 100, "currency": "usd", "method": "instant"}, idem()).
			WantProblem(t, http.StatusForbidden, "instant_payout_refused")

		// Admin-only views, and replay by admins or the account's owner.
		alice.do(t, http.MethodGet, "/api/v1/payments/webhooks/events", nil).WantProblem(t, http.StatusForbidden, "admin_only")
		var evs struct {
			Events []payments.StoredEvent `json:"events"`
		}
		admin.do(t, http.MethodGet, "/api/v1/payments/webhooks/events?status=processed", nil).JSON(t, &evs)
		if len(evs.Events) != 3 {
			t.Errorf("processed events = %d, want 3", len(evs.Events))
		}
		bob.do(t, http.MethodPost, "/api/v1/payments/webhooks/events/"+acctEvent+"/replay", nil).WantProblem(t, http.StatusForbidden, "not_allowed")
		alice.do(t, http.MethodPost, "/api/v1/payments/webhooks/events/"+acctEvent+"/replay", nil).WantStatus(t, http.StatusOK)
		admin.do(t, http.MethodPost, "/api/v1/payments/webhooks/events/"+acctEvent+"/replay", nil).WantStatus(t, http.StatusOK)
		admin.do(t, http.MethodPost, "/api/v1/payments/reconciliation/run", nil).WantStatus(t, http.StatusOK)
		var drift struct {
			Records []payments.DriftRecord `json:"records"`
		}
		admin.do(t, http.MethodGet, "/api/v1/payments/reconciliation", nil).JSON(t, &drift)
		if len(drift.Records) == 0 {
			t.Error("stripe-mock's fixture charge is not ours: want a drift record")
		}
	})
}

// TestNotMountedWithoutKey: with no Stripe key the routes do not exist.
func TestNotMountedWithoutKey(t *testing.T) {
	srv := apitest.New(t, storetest.OpenSQLite(t), nil)
	res := srv.Client().Do(t, http.MethodPost, payments.WebhookPath, "{}")
	res.WantStatus(t, http.StatusNotFound)
}
