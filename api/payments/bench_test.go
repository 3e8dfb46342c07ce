package payments

import (
	"context"
	"fmt"
	"testing"

	"github.com/maxbooster/maxbooster/store/storetest"
)

// BenchmarkLedgerPost posts a three-party sale (five postings) per
// iteration on SQLite, each under a new key.
func BenchmarkLedgerPost(b *testing.B) {
	l := NewLedger(storetest.OpenSQLite(b))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		in := EntryInput{Key: fmt.Sprint("bench-", i), Kind: "sale", Postings: []Posting{
			Debit(PlatformAccount(PlatformCash, "usd"), 1000),
			Credit(UserAccount(SellerPayable, "a", "usd"), 500),
			Credit(UserAccount(SellerPayable, "b", "usd"), 300),
			Credit(UserAccount(SellerPayable, "c", "usd"), 150),
			Credit(PlatformAccount(FeeRevenue, "usd"), 50),
		}}
		if _, _, err := l.Post(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLedgerReplay re-posts one key: the cost of a duplicate webhook.
func BenchmarkLedgerReplay(b *testing.B) {
	l := NewLedger(storetest.OpenSQLite(b))
	ctx := context.Background()
	in := EntryInput{Key: "replayed", Kind: "sale", Postings: []Posting{
		Debit(PlatformAccount(PlatformCash, "usd"), 1000), Credit(UserAccount(SellerPayable, "a", "usd"), 1000)}}
	if _, _, err := l.Post(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, replayed, err := l.Post(ctx, in); err != nil || !replayed {
			b.Fatal(replayed, err)
		}
	}
}

// BenchmarkAllocate splits an amount between 20 parties.
func BenchmarkAllocate(b *testing.B) {
	w := make([]int64, 20)
	for i := range w {
		w[i] = int64(100 + i*37)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Allocate(123456789, w); err != nil {
			b.Fatal(err)
		}
	}
}
