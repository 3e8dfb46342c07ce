package payments

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

// TestGatewayAgainstStripeMock calls every Gateway method on stripe-mock
// through a recording proxy, and checks that every request that creates
// something carries an Idempotency-Key.
func TestGatewayAgainstStripeMock(t *testing.T) {
	target, err := url.Parse(stripeMock(t))
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ method, path, key, account string }
	var (
		mu   sync.Mutex
		reqs []seen
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("Stripe-Account")})
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	g := NewStripeGateway("sk_test_123", GatewayOptions{APIBase: srv.URL})
	ctx := context.Background()

	a, err := g.CreateAccount(ctx, "account:u1", AccountParams{UserID: "u1", Email: "u1@example.com", Country: "US"})
	if err != nil || !strings.HasPrefix(a.ID, "acct_") {
		t.Fatalf("CreateAccount = %+v, %v", a, err)
	}
	l, err := g.CreateAccountLink(ctx, "link:1", a.ID, "https://x.test/refresh", "https://x.test/return")
	if err != nil || l.URL == "" {
		t.Fatalf("CreateAccountLink = %+v, %v", l, err)
	}
	pi, err := g.CreatePaymentIntent(ctx, "pi:1", PaymentIntentParams{Amount: 1000, Currency: "usd", TransferGroup: "chk_1", Metadata: map[string]string{"checkout_id": "1"}})
	if err != nil || !strings.HasPrefix(pi.ID, "pi_") || pi.ClientSecret == "" {
		t.Fatalf("CreatePaymentIntent = %+v, %v", pi, err)
	}
	if _, err := g.CreatePaymentIntent(ctx, "pi:2", PaymentIntentParams{Amount: 1000, Currency: "usd", Destination: a.ID, PlatformFee: 50}); err != nil {
		t.Fatalf("destination PaymentIntent: %v", err)
	}
	tr, err := g.CreateTransfer(ctx, "transfer:1", TransferParams{Amount: 600, Currency: "usd", Destination: a.ID, TransferGroup: "chk_1", SourceCharge: "ch_1"})
	if err != nil || !strings.HasPrefix(tr, "tr_") {
		t.Fatalf("CreateTransfer = %q, %v", tr, err)
	}
	if _, err := g.ReverseTransfer(ctx, "reversal:1", tr, 100); err != nil {
		t.Fatalf("ReverseTransfer: %v", err)
	}
	if r, err := g.CreateRefund(ctx, "refund:1", pi.ID, 300, true); err != nil || !strings.HasPrefix(r.ID, "re_") {
		t.Fatalf("CreateRefund = %+v, %v", r, err)
	}
	if p, err := g.CreatePayout(ctx, "payout:1", a.ID, 500, "usd", true); err != nil || !strings.HasPrefix(p.ID, "po_") {
		t.Fatalf("CreatePayout = %+v, %v", p, err)
	}
	txns, err := g.ListBalanceTransactions(ctx, time.Now().Add(-time.Hour), 10)
	if err != nil || len(txns) == 0 || txns[0].ID == "" {
		t.Fatalf("ListBalanceTransactions = %+v, %v", txns, err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, r := range reqs {
		if r.method == http.MethodPost && r.key == "" {
			t.Errorf("%s %s without an Idempotency-Key", r.method, r.path)
		}
		if r.path == "/v1/payouts" && r.account != a.ID {
			t.Errorf("payout sent with Stripe-Account %q, want %s", r.account, a.ID)
		}
	}
}

// TestGatewayRetriesAndBreaker: 5xx answers are retried with the same
// idempotency key; a 4xx is not; consecutive outages open the breaker,
// which then fails fast without calling Stripe.
func TestGatewayRetriesAndBreaker(t *testing.T) {
	var (
		mu     sync.Mutex
		calls  int
		keys   []string
		status = []int{500, 502}
		always int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		calls++
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		code := always
		if code == 0 && len(status) > 0 {
			code, status = status[0], status[1:]
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case code == 400:
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such destination: 'acct_x'"}}`)
		case code != 0:
			w.WriteHeader(code)
			_, _ = io.WriteString(w, `{"error":{"type":"api_error","message":"boom"}}`)
		default:
			_, _ = io.WriteString(w, `{"id":"tr_ok","object":"transfer","amount":100}`)
		}
	}))
	defer srv.Close()
	g := NewStripeGateway("sk_test_123", GatewayOptions{APIBase: srv.URL, Attempts: 3, Backoff: time.Millisecond,
		BreakerFailures: 3, BreakerOpen: time.Hour})
	ctx := context.Background()
	p := TransferParams{Amount: 100, Currency: "usd", Destination: "acct_x", TransferGroup: "g"}

	id, err := g.CreateTransfer(ctx, "transfer:retry", p)
	if err != nil || id != "tr_ok" {
		t.Fatalf("after two 5xx: %q, %v", id, err)
	}
	mu.Lock()
	if calls != 3 || keys[0] != "transfer:retry" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Errorf("calls %d with keys %v; want 3 with the same key", calls, keys)
	}
	calls, always = 0, 400
	mu.Unlock()
	_, err = g.CreateTransfer(ctx, "transfer:bad", p)
	if apperr.KindOf(err) != apperr.Invalid || apperr.Code(err) != "stripe_resource_missing" || !strings.Contains(apperr.Message(err), "No such destination") {
		t.Errorf("4xx: %v (code %s)", err, apperr.Code(err))
	}
	mu.Lock()
	if calls != 1 {
		t.Errorf("a 4xx was sent %d times", calls)
	}
	calls, always = 0, 503
	mu.Unlock()
	_, err = g.CreateTransfer(ctx, "transfer:down", p) // 3 failures: the breaker opens
	if apperr.KindOf(err) != apperr.Unavailable {
		t.Errorf("outage: %v", err)
	}
	if g.BreakerState() != "open" {
		t.Errorf("breaker %s after 3 consecutive failures", g.BreakerState())
	}
	mu.Lock()
	before := calls
	mu.Unlock()
	_, err = g.CreateTransfer(ctx, "transfer:down2", p)
	if apperr.KindOf(err) != apperr.Unavailable || apperr.Code(err) != "stripe_unavailable" {
		t.Errorf("open breaker: %v", err)
	}
	mu.Lock()
	if calls != before {
		t.Errorf("the open breaker let %d calls through", calls-before)
	}
	mu.Unlock()
}
