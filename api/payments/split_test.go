package payments

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllocateExamples(t *testing.T) {
	tests := []struct {
		name    string
		amount  int64
		weights []int64
		want    []int64
	}{
		{"thirds in basis points", 100, []int64{3333, 3333, 3334}, []int64{33, 33, 34}},
		{"equal thirds tie by order", 100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{"one cent, two halves", 1, []int64{5000, 5000}, []int64{1, 0}},
		{"largest remainder wins", 10, []int64{1400, 2600, 6000}, []int64{1, 3, 6}},
		{"equal remainders tie by order", 10, []int64{1500, 2500, 6000}, []int64{2, 2, 6}},
		{"zero weight gets nothing", 999, []int64{0, 10000}, []int64{0, 999}},
		{"zero amount", 0, []int64{7000, 3000}, []int64{0, 0}},
		{"2999 at 70/20/10", 2999, []int64{7000, 2000, 1000}, []int64{2099, 600, 300}},
		{"no overflow at the limits", MaxAmount, []int64{MaxAmount - 1, 1}, []int64{MaxAmount - 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Allocate(tt.amount, tt.weights)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Allocate(%d, %v) (-want +got):\n%s", tt.amount, tt.weights, diff)
			}
		})
	}
}

func TestAllocateRejects(t *testing.T) {
	for _, tc := range []struct {
		amount  int64
		weights []int64
	}{
		{-1, []int64{1}}, {10, nil}, {10, []int64{0, 0}}, {10, []int64{-1, 2}}, {MaxAmount + 1, []int64{1}},
	} {
		if _, err := Allocate(tc.amount, tc.weights); err == nil {
			t.Errorf("Allocate(%d, %v): want error", tc.amount, tc.weights)
		}
	}
}

// TestAllocateProperties checks the rounding rule on random inputs: parts
// sum exactly to the amount, each part is the floor or ceiling of its exact
// quota, a larger weight never gets less, and ties go to the earlier party.
func TestAllocateProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		n := 1 + rng.IntN(8)
		weights := make([]int64, n)
		var total int64
		for j := range weights {
			switch rng.IntN(4) {
			case 0:
				weights[j] = rng.Int64N(3) // small, often zero or equal
			case 1:
				weights[j] = 1 + rng.Int64N(10000)
			default:
				weights[j] = rng.Int64N(1_000_000)
			}
			total += weights[j]
		}
		if total == 0 {
			weights[0], total = 1, 1
		}
		amount := rng.Int64N(10_000_000)
		if i%100 == 0 {
			amount = rng.Int64N(MaxAmount)
		}
		parts, err := Allocate(amount, weights)
		if err != nil {
			t.Fatalf("Allocate(%d, %v): %v", amount, weights, err)
		}
		var sum int64
		for j, p := range parts {
			sum += p
			floor, rem := mulDiv(amount, weights[j], total)
			if p != floor && (rem == 0 || p != floor+1) {
				t.Fatalf("Allocate(%d, %v)[%d] = %d, quota floor %d rem %d", amount, weights, j, p, floor, rem)
			}
			for k := range j {
				if weights[k] == weights[j] && parts[k] < parts[j] {
					t.Fatalf("Allocate(%d, %v): tie broken against the earlier party: %v", amount, weights, parts)
				}
				if weights[k] > weights[j] && parts[k] < parts[j] || weights[k] < weights[j] && parts[k] > parts[j] {
					t.Fatalf("Allocate(%d, %v): not monotone: %v", amount, weights, parts)
				}
			}
		}
		if sum != amount {
			t.Fatalf("Allocate(%d, %v) sums to %d", amount, weights, sum)
		}
	}
}

func TestValidateShares(t *testing.T) {
	ok := [][]Share{
		{{"a", 10000}},
		{{"a", 5000}, {"b", 3000}, {"c", 2000}},
	}
	for _, s := range ok {
		if err := ValidateShares(s); err != nil {
			t.Errorf("ValidateShares(%v): %v", s, err)
		}
	}
	bad := [][]Share{
		nil,
		{{"a", 9999}},
		{{"a", 5000}, {"a", 5000}},
		{{"a", 10001}, {"b", -1}},
		{{"", 10000}},
		{{"a", 0}, {"b", 10000}},
	}
	for _, s := range bad {
		if err := ValidateShares(s); err == nil {
			t.Errorf("ValidateShares(%v): want error", s)
		}
	}
}
