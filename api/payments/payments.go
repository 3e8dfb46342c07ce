// Package payments moves money between fans, artists, producers and
// co-producers with Stripe Connect, and keeps the books.
//
// The foundation is a double-entry ledger in the database (Ledger): every
// movement is a balanced, immutable entry, idempotent by an external key,
// and every balance is derived from entries. On top of it: Express
// connected accounts with onboarding links, checkouts for one seller
// (destination charges) and split checkouts shared by several parties in
// basis points (separate charges and transfers), refunds that pull back
// transfers in proportion, disputes that hold funds, standard and instant
// payouts behind a risk check, a reconciliation job against Stripe's
// balance transactions, and PDF invoices numbered without gaps per seller.
//
// Stripe talks to us through signed webhooks, stored in a durable inbox and
// processed with retries. The chart of accounts, the rounding rule and the
// flows are documented in docs/payments.md.
package payments

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// newID returns a random identifier (12 bytes, hex).
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// idFromKey derives a stable id from a caller's idempotency key, so a
// retried request names the same object (and the same Stripe idempotency
// key) even when the first attempt died half-way.
func idFromKey(userID, key string) string {
	h := sha256.Sum256([]byte(userID + "\x00" + key))
	return hex.EncodeToString(h[:12])
}
