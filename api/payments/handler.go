package payments

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
)

// Prefix is where the module's routes live.
const Prefix = "/api/v1/payments"

// WebhookPath is Stripe's webhook endpoint: no session, signature checked.
const WebhookPath = Prefix + "/webhooks/stripe"

// Routes mounts the module on mux. Every route but the webhook needs a
// logged-in caller; money-moving POSTs need an Idempotency-Key.
func (s *Service) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.Handler { return session.RequireUser(h) }
	mux.Handle("GET "+Prefix+"/account", auth(s.handleGetAccount))
	mux.Handle("POST "+Prefix+"/account", auth(s.handleCreateAccount))
	mux.Handle("POST "+Prefix+"/account/onboarding-link", auth(s.handleOnboardingLink))
	mux.Handle("GET "+Prefix+"/balances", auth(s.handleBalances))
	mux.Handle("POST "+Prefix+"/checkouts", auth(s.idempotent(s.handleCreateCheckout)))
	mux.Handle("GET "+Prefix+"/checkouts/{id}", auth(s.handleGetCheckout))
	mux.Handle("POST "+Prefix+"/checkouts/{id}/refunds", auth(s.idempotent(s.handleRefund)))
	mux.Handle("GET "+Prefix+"/disputes", auth(s.handleDisputes))
	mux.Handle("POST "+Prefix+"/payouts", auth(s.idempotent(s.handlePayout)))
	mux.HandleFunc("POST "+WebhookPath, s.handleWebhook)
	mux.Handle("GET "+Prefix+"/webhooks/events", auth(s.handleEvents))
	mux.Handle("POST "+Prefix+"/webhooks/events/{id}/replay", auth(s.handleReplay))
	mux.Handle("GET "+Prefix+"/reconciliation", auth(s.handleReconciliation))
	mux.Handle("POST "+Prefix+"/reconciliation/run", auth(s.handleRunReconciliation))
	s.invoiceRoutes(mux, auth)
}

func caller(r *http.Request) session.User {
	u, _ := session.UserFromContext(r.Context()) // RequireUser ran
	return u
}

// AccountView is the caller's payout account, what they may do with it and
// what they have.
type AccountView struct {
	Account     ConnectedAccount  `json:"account"`
	Eligibility PayoutEligibility `json:"eligibility"`
	Available   map[string]int64  `json:"available"`
}

func (s *Service) accountView(r *http.Request, a ConnectedAccount) (AccountView, error) {
	v := AccountView{Account: a, Eligibility: a.Eligibility(), Available: map[string]int64{}}
	bs, err := s.ledger.Balances(r.Context(), a.UserID)
	if err != nil {
		return v, err
	}
	for _, b := range bs {
		if b.Account.Code != ConnectedCash {
			continue
		}
		avail, err := s.Available(r.Context(), s.db, a.UserID, b.Account.Currency)
		if err != nil {
			return v, err
		}
		v.Available[b.Account.Currency] = avail
	}
	return v, nil
}

func (s *Service) handleGetAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.Account(r.Context(), caller(r).ID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	v, err := s.accountView(r, a)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, v)
}

type createAccountRequest struct {
	Country string `json:"country"`
}

func (s *Service) handleCreateAccount(w http.ResponseWriter, r *http.Request) {
	var req createAccountRequest
	if r.ContentLength != 0 {
		if err := respond.Decode(w, r, &req); err != nil {
			respond.Error(w, r, err)
			return
		}
	}
	u := caller(r)
	a, created, err := s.CreateAccount(r.Context(), u.ID, u.Email, req.Country)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	v, err := s.accountView(r, a)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	respond.JSON(w, status, v)
}

// OnboardingLinkView is a single-use onboarding URL.
type OnboardingLinkView struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"`
}

func (s *Service) handleOnboardingLink(w http.ResponseWriter, r *http.Request) {
	l, err := s.OnboardingLink(r.Context(), caller(r).ID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, OnboardingLinkView{URL: l.URL, ExpiresAt: l.ExpiresAt.Format("2006-01-02T15:04:05Z")})
}

func (s *Service) handleBalances(w http.ResponseWriter, r *http.Request) {
	bs, err := s.ledger.Balances(r.Context(), caller(r).ID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if bs == nil {
		bs = []AccountBalance{}
	}
	respond.JSON(w, http.StatusOK, map[string]any{"balances": bs})
}

func (s *Service) handleCreateCheckout(w http.ResponseWriter, r *http.Request) {
	var in CheckoutInput
	if err := respond.Decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := s.CreateCheckout(r.Context(), caller(r).ID, r.Header.Get(IdempotencyHeader), in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, c)
}

func (s *Service) handleGetCheckout(w http.ResponseWriter, r *http.Request) {
	c, err := s.Checkout(r.Context(), caller(r).ID, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, c)
}

type refundRequest struct {
	Amount int64 `json:"amount"`
}

func (s *Service) handleRefund(w http.ResponseWriter, r *http.Request) {
	var req refundRequest
	if err := respond.Decode(w, r, &req); err != nil {
		respond.Error(w, r, err)
		return
	}
	res, err := s.Refund(r.Context(), caller(r).ID, r.Header.Get(IdempotencyHeader), r.PathValue("id"), req.Amount)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, res)
}

func (s *Service) handleDisputes(w http.ResponseWriter, r *http.Request) {
	ds, err := s.Disputes(r.Context(), caller(r).ID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"disputes": ds})
}

func (s *Service) handlePayout(w http.ResponseWriter, r *http.Request) {
	var in PayoutInput
	if err := respond.Decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	p, err := s.Payout(r.Context(), caller(r).ID, r.Header.Get(IdempotencyHeader), in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, p)
}

func (s *Service) handleWebhook(w http.ResponseWriter, r *http.Request) {
	// The signature covers the exact bytes: read them once, unparsed.
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			respond.Error(w, r, apperr.E("payments.webhook", apperr.TooLarge, err).WithCode("body_too_large").WithMsg("The event is too large."))
			return
		}
		respond.Error(w, r, apperr.E("payments.webhook", apperr.Invalid, err).WithCode("bad_body"))
		return
	}
	fresh, err := s.ReceiveWebhook(r.Context(), payload, r.Header.Get("Stripe-Signature"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]bool{"received": true, "duplicate": !fresh})
}

func (s *Service) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	if !s.IsAdmin(caller(r).Email) {
		respond.Error(w, r, apperr.Msgf("payments", apperr.Forbidden, "Only payments admins may do this.").WithCode("admin_only"))
		return false
	}
	return true
}

func (s *Service) handleEvents(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	status := r.URL.Query().Get("status")
	switch status {
	case "", "pending", "processed", "ignored", "failed":
	default:
		respond.Error(w, r, apperr.Msgf("payments", apperr.Invalid, "status must be pending, processed, ignored or failed.").WithCode("invalid_status"))
		return
	}
	evs, err := s.Events(r.Context(), status, limit)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"events": evs})
}

func (s *Service) handleReplay(w http.ResponseWriter, r *http.Request) {
	u := caller(r)
	ev, err := s.ReplayEvent(r.Context(), u.ID, u.Email, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, ev)
}

func (s *Service) handleReconciliation(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	recs, err := s.Drift(r.Context(), r.URL.Query().Get("all") == "true")
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"records": recs})
}

func (s *Service) handleRunReconciliation(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	rep, err := s.Reconcile(r.Context())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, rep)
}
