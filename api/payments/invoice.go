package payments

import (
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
)

// TaxRate is one row of taxes.json.
type TaxRate struct {
	Name    string `json:"name"`
	RateBps int64  `json:"rateBps"`
}

//go:embed taxes.json
var taxesJSON []byte

// Taxes are the tax codes a seller can pick, from taxes.json.
var Taxes = mustTaxes()

func mustTaxes() map[string]TaxRate {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(taxesJSON, &raw); err != nil {
		panic("payments: taxes.json: " + err.Error()) // checked by TestTaxes
	}
	out := map[string]TaxRate{}
	for code, v := range raw {
		if strings.HasPrefix(code, "_") {
			continue
		}
		var t TaxRate
		if err := json.Unmarshal(v, &t); err != nil {
			panic("payments: taxes.json: " + code + ": " + err.Error())
		}
		out[code] = t
	}
	return out
}

// InclusiveTax returns the tax inside a tax-inclusive total:
// round-half-up(total × rate / (10000 + rate)).
func InclusiveTax(total, rateBps int64) int64 {
	if rateBps <= 0 || total <= 0 {
		return 0
	}
	q, r := mulDiv(total, rateBps, TotalBasisPoints+rateBps)
	if 2*r >= TotalBasisPoints+rateBps {
		q++
	}
	return q
}

// InvoiceLine is one line of an invoice (amounts tax-inclusive).
type InvoiceLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	Amount      int64  `json:"amount"`
}

// Invoice is a seller's invoice for their part of a paid checkout.
type Invoice struct {
	ID         string        `json:"id"`
	SellerID   string        `json:"sellerId"`
	Number     int64         `json:"number"`
	Label      string        `json:"label"` // INV-000042
	CheckoutID string        `json:"checkoutId"`
	Currency   string        `json:"currency"`
	Subtotal   int64         `json:"subtotal"`
	Tax        int64         `json:"tax"`
	Total      int64         `json:"total"`
	TaxCode    string        `json:"taxCode"`
	TaxName    string        `json:"taxName"`
	Lines      []InvoiceLine `json:"lines"`
	BuyerEmail string        `json:"buyerEmail,omitempty"`
	CreatedAt  time.Time     `json:"createdAt"`
}

func invoiceLabel(n int64) string { return fmt.Sprintf("INV-%06d", n) }

// SetTaxCode sets the tax code the user's future invoices use.
func (s *Service) SetTaxCode(ctx context.Context, userID, code string) error {
	if _, ok := Taxes[code]; !ok {
		codes := make([]string, 0, len(Taxes))
		for c := range Taxes {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		return apperr.Msgf("payments.SetTaxCode", apperr.Invalid, "taxCode must be one of %s.", strings.Join(codes, ", ")).
			WithCode("invalid_tax_code").WithField("taxCode", "unknown")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE pay_connected_accounts SET tax_code = ?, updated_at = ? WHERE user_id = ?`, code, s.now().UTC(), userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.E("payments.SetTaxCode", apperr.NotFound, nil).WithCode("no_connected_account").WithMsg("This user has no payout account yet.")
	}
	return nil
}

// IssueInvoices creates one invoice per party of a paid checkout (once;
// repeated calls return the existing ones) and mails the buyer a receipt.
// Each seller's number is the next of their own series, taken in the
// transaction that inserts the invoice.
func (s *Service) IssueInvoices(ctx context.Context, checkoutID string) ([]Invoice, error) {
	c, err := checkoutByID(ctx, s.db, checkoutID)
	if err != nil {
		return nil, err
	}
	if c.Status != "succeeded" {
		return nil, apperr.Msgf("payments.IssueInvoices", apperr.Conflict, "The checkout is not paid.").WithCode("not_paid")
	}
	weights := make([]int64, len(c.Parties))
	for i, p := range c.Parties {
		weights[i] = p.Bps
	}
	gross, err := Allocate(c.Amount, weights) // what the buyer paid for each seller's part
	if err != nil {
		return nil, err
	}
	var out []Invoice
	var fresh []Invoice
	for i, p := range c.Parties {
		var inv Invoice
		created := false
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			created = false
			var id string
			err := tx.QueryRowContext(ctx, `SELECT id FROM pay_invoices WHERE checkout_id = ? AND seller_id = ?`, c.ID, p.UserID).Scan(&id)
			if err == nil {
				inv, err = invoiceByID(ctx, tx, id)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			code := "none"
			if err := tx.QueryRowContext(ctx, `SELECT tax_code FROM pay_connected_accounts WHERE user_id = ?`, p.UserID).Scan(&code); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			rate := Taxes[code]
			desc := c.Description
			if desc == "" {
				desc = "Checkout " + c.ID
			}
			if len(c.Parties) > 1 {
				desc += fmt.Sprintf(" (your share: %d.%02d %%)", p.Bps/100, p.Bps%100)
			}
			inv = Invoice{
				ID: "inv_" + newID(), SellerID: p.UserID, CheckoutID: c.ID, Currency: c.Currency, Total: gross[i],
				TaxCode: code, TaxName: rate.Name, BuyerEmail: c.BuyerEmail, CreatedAt: s.now().UTC(),
				Lines: []InvoiceLine{{Description: desc, Quantity: 1, Amount: gross[i]}},
			}
			inv.Tax = InclusiveTax(inv.Total, rate.RateBps)
			inv.Subtotal = inv.Total - inv.Tax
			if err := tx.QueryRowContext(ctx, `INSERT INTO pay_invoice_counters (seller_id, last_number) VALUES (?, 1)
				ON CONFLICT (seller_id) DO UPDATE SET last_number = pay_invoice_counters.last_number + 1
				RETURNING last_number`, p.UserID).Scan(&inv.Number); err != nil {
				return err
			}
			inv.Label = invoiceLabel(inv.Number)
			lines, _ := json.Marshal(inv.Lines)
			if _, err := tx.ExecContext(ctx, `INSERT INTO pay_invoices (id, seller_id, number, checkout_id, currency, subtotal, tax,
				total, tax_code, lines, buyer_email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				inv.ID, inv.SellerID, inv.Number, inv.CheckoutID, inv.Currency, inv.Subtotal, inv.Tax, inv.Total, inv.TaxCode,
				string(lines), inv.BuyerEmail, inv.CreatedAt); err != nil {
				return err
			}
			created = true
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, inv)
		if created {
			fresh = append(fresh, inv)
		}
	}
	if len(fresh) > 0 && c.BuyerEmail != "" && s.opts.Mailer != nil {
		if err := s.opts.Mailer.Send(ctx, receiptMail(c, fresh, s.opts.PublicURL.String())); err != nil {
			s.log.WarnContext(ctx, "payments: receipt mail", "checkout", c.ID, "err", err)
		}
	}
	return out, nil
}

// issueInvoices is IssueInvoices for the webhook path: failures are logged,
// the payment stays recorded, and a later call issues what is missing.
func (s *Service) issueInvoices(ctx context.Context, checkoutID string) {
	if _, err := s.IssueInvoices(ctx, checkoutID); err != nil {
		s.log.WarnContext(ctx, "payments: issue invoices", "checkout", checkoutID, "err", err)
	}
}

func receiptMail(c Checkout, invs []Invoice, base string) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Thank you for your purchase.\n\nReceipt for checkout %s, paid %s.\n\n", c.ID, FormatMoney(c.Amount, c.Currency))
	for _, inv := range invs {
		fmt.Fprintf(&b, "Invoice %s from seller %s\n", inv.Label, inv.SellerID)
		for _, l := range inv.Lines {
			fmt.Fprintf(&b, "  %s x%d  %s\n", l.Description, l.Quantity, FormatMoney(l.Amount, inv.Currency))
		}
		fmt.Fprintf(&b, "  Subtotal %s, %s %s, total %s\n\n", FormatMoney(inv.Subtotal, inv.Currency), inv.TaxName,
			FormatMoney(inv.Tax, inv.Currency), FormatMoney(inv.Total, inv.Currency))
	}
	fmt.Fprintf(&b, "Sellers can download these invoices as PDF at %s.\n", strings.TrimSuffix(base, "/"))
	return mail.Message{To: c.BuyerEmail, Subject: "Your receipt for " + FormatMoney(c.Amount, c.Currency), Text: b.String()}
}

// zeroDecimal are Stripe's zero-decimal currencies.
var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true,
	"mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}

// FormatMoney renders minor units with the currency's decimals: "29.99 USD".
func FormatMoney(amount int64, currency string) string {
	cur := strings.ToUpper(currency)
	if zeroDecimal[currency] {
		return fmt.Sprintf("%d %s", amount, cur)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, amount/100, amount%100, cur)
}

func invoiceByID(ctx context.Context, q querier, id string) (Invoice, error) {
	var inv Invoice
	var lines string
	err := q.QueryRowContext(ctx, `SELECT id, seller_id, number, checkout_id, currency, subtotal, tax, total, tax_code, lines,
		buyer_email, created_at FROM pay_invoices WHERE id = ?`, id).Scan(&inv.ID, &inv.SellerID, &inv.Number, &inv.CheckoutID,
		&inv.Currency, &inv.Subtotal, &inv.Tax, &inv.Total, &inv.TaxCode, &lines, &inv.BuyerEmail, &inv.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return inv, apperr.E("payments.Invoice", apperr.NotFound, err)
	}
	if err != nil {
		return inv, err
	}
	inv.Label, inv.TaxName, inv.CreatedAt = invoiceLabel(inv.Number), Taxes[inv.TaxCode].Name, inv.CreatedAt.UTC()
	err = json.Unmarshal([]byte(lines), &inv.Lines)
	return inv, err
}

// Invoices lists the user's invoices as a seller, newest first.
func (s *Service) Invoices(ctx context.Context, userID string) ([]Invoice, error) {
	ids, err := queryStrings(ctx, s.db, `SELECT id FROM pay_invoices WHERE seller_id = ? ORDER BY number DESC LIMIT 500`, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Invoice, 0, len(ids))
	for _, id := range ids {
		inv, err := invoiceByID(ctx, s.db, id)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// Invoice returns an invoice its seller or the checkout's creator may see.
func (s *Service) Invoice(ctx context.Context, userID, id string) (Invoice, error) {
	inv, err := invoiceByID(ctx, s.db, id)
	if err != nil {
		return inv, err
	}
	if inv.SellerID != userID {
		c, err := checkoutByID(ctx, s.db, inv.CheckoutID)
		if err != nil || c.CreatedBy != userID {
			return Invoice{}, apperr.E("payments.Invoice", apperr.NotFound, nil)
		}
	}
	return inv, nil
}

// RenderPDF writes the invoice as a one-page PDF.
func RenderPDF(inv Invoice) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Invoice "+inv.Label, true)
	pdf.SetCreator("Max Booster", true)
	pdf.SetCreationDate(inv.CreatedAt)
	pdf.SetModificationDate(inv.CreatedAt)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // UTF-8 → cp1252 for the core fonts
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 18)
	pdf.Cell(0, 10, tr("Invoice "+inv.Label))
	pdf.Ln(12)
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range [][2]string{
		{"Seller", inv.SellerID},
		{"Date", inv.CreatedAt.Format("2006-01-02")},
		{"Checkout", inv.CheckoutID},
		{"Buyer", inv.BuyerEmail},
	} {
		if l[1] == "" {
			continue
		}
		pdf.CellFormat(30, 6, tr(l[0]), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 6, tr(l[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(120, 7, tr("Description"), "B", 0, "L", false, 0, "")
	pdf.CellFormat(20, 7, tr("Qty"), "B", 0, "R", false, 0, "")
	pdf.CellFormat(40, 7, tr("Amount"), "B", 1, "R", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range inv.Lines {
		pdf.CellFormat(120, 7, tr(l.Description), "", 0, "L", false, 0, "")
		pdf.CellFormat(20, 7, fmt.Sprint(l.Quantity), "", 0, "R", false, 0, "")
		pdf.CellFormat(40, 7, FormatMoney(l.Amount, inv.Currency), "", 1, "R", false, 0, "")
	}
	pdf.Ln(4)
	for _, t := range [][2]string{
		{"Subtotal", FormatMoney(inv.Subtotal, inv.Currency)},
		{inv.TaxName, FormatMoney(inv.Tax, inv.Currency)},
		{"Total (tax included)", FormatMoney(inv.Total, inv.Currency)},
	} {
		pdf.CellFormat(140, 7, tr(t[0]), "", 0, "R", false, 0, "")
		pdf.CellFormat(40, 7, t[1], "", 1, "R", false, 0, "")
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("payments: render invoice %s: %w", inv.ID, err)
	}
	return buf.Bytes(), nil
}

func (s *Service) invoiceRoutes(mux *http.ServeMux, auth func(http.HandlerFunc) http.Handler) {
	mux.Handle("PATCH "+Prefix+"/account", auth(s.handlePatchAccount))
	mux.Handle("GET "+Prefix+"/invoices", auth(func(w http.ResponseWriter, r *http.Request) {
		invs, err := s.Invoices(r.Context(), caller(r).ID)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, map[string]any{"invoices": invs})
	}))
	mux.Handle("GET "+Prefix+"/invoices/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		inv, err := s.Invoice(r.Context(), caller(r).ID, r.PathValue("id"))
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, inv)
	}))
	mux.Handle("GET "+Prefix+"/invoices/{id}/pdf", auth(func(w http.ResponseWriter, r *http.Request) {
		inv, err := s.Invoice(r.Context(), caller(r).ID, r.PathValue("id"))
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		body, err := RenderPDF(inv)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+inv.Label+`.pdf"`)
		w.Header().Set("Cache-Control", "private, no-store")
		_, _ = w.Write(body)
	}))
}

type patchAccountRequest struct {
	TaxCode string `json:"taxCode"`
}

func (s *Service) handlePatchAccount(w http.ResponseWriter, r *http.Request) {
	var req patchAccountRequest
	if err := respond.Decode(w, r, &req); err != nil {
		respond.Error(w, r, err)
		return
	}
	u := caller(r)
	if err := s.SetTaxCode(r.Context(), u.ID, req.TaxCode); err != nil {
		respond.Error(w, r, err)
		return
	}
	a, err := s.Account(r.Context(), u.ID)
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
