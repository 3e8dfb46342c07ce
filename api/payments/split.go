package payments

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"
)

// TotalBasisPoints is a whole: 10,000 basis points are 100 %.
const TotalBasisPoints = 10000

// ErrBadSplit means a split's shares are not usable.
var ErrBadSplit = errors.New("payments: bad split")

// Allocate divides amount (minor units, >= 0) between parties in
// proportion to weights, so that the parts always sum exactly to amount.
//
// The rule (largest remainder, Hamilton's method): each party first gets
// floor(amount × weight / Σweights); the minor units left over (fewer than
// the number of parties) go one each to the parties with the largest
// remainders of that division, ties going to the party listed first.
// Parties with weight 0 get 0. Splits use basis points as weights; refunds
// and dispute holds use the amounts first transferred, so a refund pulls
// back from each party in proportion to what it received.
func Allocate(amount int64, weights []int64) ([]int64, error) {
	if amount < 0 || amount > MaxAmount {
		return nil, fmt.Errorf("%w: amount %d out of range", ErrBadSplit, amount)
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("%w: no parties", ErrBadSplit)
	}
	var total int64
	for _, w := range weights {
		if w < 0 || w > MaxAmount {
			return nil, fmt.Errorf("%w: weight %d out of range", ErrBadSplit, w)
		}
		total += w
		if total > MaxAmount {
			return nil, fmt.Errorf("%w: weights sum out of range", ErrBadSplit)
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: weights sum to zero", ErrBadSplit)
	}
	parts := make([]int64, len(weights))
	rems := make([]int64, len(weights))
	var given int64
	for i, w := range weights {
		// amount×w can overflow int64: mulDiv works in 128 bits.
		q, r := mulDiv(amount, w, total)
		parts[i], rems[i] = q, r
		given += q
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rems[order[a]] > rems[order[b]] })
	for k := int64(0); k < amount-given; k++ {
		parts[order[k]]++
	}
	return parts, nil
}

// mulDiv returns floor(a×b/c) and (a×b mod c) for non-negative a, b and
// positive c with b <= c, all at most MaxAmount, without overflowing: a×b
// is formed in 128 bits.
func mulDiv(a, b, c int64) (int64, int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b)) //nolint:gosec // a, b >= 0
	// Allocate calls this with b <= c, so a×b/c <= a fits and hi < c, as
	// bits.Div64 requires.
	q, r := bits.Div64(hi, lo, uint64(c)) //nolint:gosec // c > 0
	return int64(q), int64(r)             //nolint:gosec // q <= a and r < c
}

// Share is one party's part of a split in basis points.
type Share struct {
	UserID string `json:"userId"`
	Bps    int64  `json:"bps"`
}

// ValidateShares checks a split: 1-20 parties, distinct users, each share
// 1..10000 basis points, summing to exactly 10000.
func ValidateShares(shares []Share) error {
	if len(shares) == 0 || len(shares) > 20 {
		return fmt.Errorf("%w: 1 to 20 parties", ErrBadSplit)
	}
	seen := map[string]bool{}
	var sum int64
	for _, s := range shares {
		if s.UserID == "" || len(s.UserID) > 128 {
			return fmt.Errorf("%w: a party needs a user id", ErrBadSplit)
		}
		if seen[s.UserID] {
			return fmt.Errorf("%w: user %s listed twice", ErrBadSplit, s.UserID)
		}
		seen[s.UserID] = true
		if s.Bps <= 0 || s.Bps > TotalBasisPoints {
			return fmt.Errorf("%w: each share is 1 to 10000 basis points", ErrBadSplit)
		}
		sum += s.Bps
	}
	if sum != TotalBasisPoints {
		return fmt.Errorf("%w: shares sum to %d basis points, not 10000", ErrBadSplit, sum)
	}
	return nil
}
