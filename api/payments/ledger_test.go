package payments

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func sale(key string, amount int64, seller string) EntryInput {
	return EntryInput{Key: key, Kind: "sale", Memo: "test sale", Postings: []Posting{
		Debit(PlatformAccount(PlatformCash, "usd"), amount),
		Credit(UserAccount(SellerPayable, seller, "usd"), amount),
	}}
}

func TestLedgerPost(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := NewLedger(db)
		e, replayed, err := l.Post(ctx, sale("k1", 2999, "u1"))
		if err != nil || replayed {
			t.Fatalf("Post = %v, replayed %v", err, replayed)
		}
		again, replayed, err := l.Post(ctx, sale("k1", 2999, "u1"))
		if err != nil || !replayed || again.ID != e.ID {
			t.Fatalf("replay = %+v, %v, %v; want the first entry %s", again, replayed, err, e.ID)
		}
		if diff := cmp.Diff(e.Postings, again.Postings); diff != "" {
			t.Errorf("replayed postings differ (-first +replay):\n%s", diff)
		}
		_, _, err = l.Post(ctx, sale("k1", 3000, "u1"))
		if apperr.KindOf(err) != apperr.Conflict || !errors.Is(err, ErrKeyReused) {
			t.Errorf("same key, other amount: err = %v, want Conflict ErrKeyReused", err)
		}
		bad := sale("k2", 100, "u1")
		bad.Postings[1].Amount = -99
		if _, _, err := l.Post(ctx, bad); apperr.KindOf(err) != apperr.Invalid || !errors.Is(err, ErrUnbalanced) {
			t.Errorf("unbalanced: err = %v, want Invalid ErrUnbalanced", err)
		}
		wrongOwner := sale("k3", 100, "u1")
		wrongOwner.Postings[0].Account.Owner = "u1"
		if _, _, err := l.Post(ctx, wrongOwner); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("platform account owned by a user: err = %v, want Invalid", err)
		}
		mixed := EntryInput{Key: "k4", Kind: "fx", Postings: []Posting{
			Debit(PlatformAccount(PlatformCash, "usd"), 100),
			Credit(PlatformAccount(PlatformCash, "eur"), 100),
		}}
		if _, _, err := l.Post(ctx, mixed); !errors.Is(err, ErrUnbalanced) {
			t.Errorf("balanced only across currencies: err = %v, want ErrUnbalanced", err)
		}

		// Balances are derived from postings.
		got, err := l.Balances(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		want := []AccountBalance{{Account: UserAccount(SellerPayable, "u1", "usd"), Kind: Liability, Balance: -2999, Normal: 2999}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Balances (-want +got):\n%s", diff)
		}

		// Entries are immutable, whatever SQL tries.
		for _, q := range []string{
			`UPDATE pay_ledger_entries SET memo = 'x'`,
			`DELETE FROM pay_ledger_entries`,
			`UPDATE pay_ledger_postings SET amount = amount + 1`,
			`DELETE FROM pay_ledger_postings`,
		} {
			if _, err := db.ExecContext(ctx, q); err == nil {
				t.Errorf("%s: succeeded on an immutable table", q)
			}
		}

		// Corrections are reversing entries, once.
		var rev Entry
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			rev, _, err = l.Reverse(ctx, tx, e.ID, "k1:reversal", "refund everything")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if rev.Reverses != e.ID || rev.Postings[0].Amount != -2999 {
			t.Errorf("reversal = %+v", rev)
		}
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			_, _, err := l.Reverse(ctx, tx, e.ID, "k1:reversal-2", "again")
			return err
		})
		if apperr.KindOf(err) != apperr.Conflict {
			t.Errorf("second reversal: err = %v, want Conflict", err)
		}
		if b, _ := l.Balance(ctx, UserAccount(SellerPayable, "u1", "usd")); b != 0 {
			t.Errorf("balance after reversal = %d, want 0", b)
		}
	})
}

// TestLedgerUnbalancedRejectedByPostgres checks the deferred constraint
// trigger: SQL that bypasses Post still cannot commit an unbalanced entry.
func TestLedgerUnbalancedRejectedByPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		for _, q := range []string{
			`INSERT INTO pay_ledger_accounts VALUES ('platform_cash/platform/usd', 'platform_cash', 'platform', 'usd', 'asset', now())`,
			`INSERT INTO pay_ledger_entries (id, idempotency_key, content_hash, kind, memo, created_at) VALUES ('e1', 'k', 'h', 'x', '', now())`,
			`INSERT INTO pay_ledger_postings VALUES ('e1', 0, 'platform_cash/platform/usd', 'usd', 5)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		t.Fatal("an unbalanced entry committed")
	}
}

// TestLedgerProperties posts random balanced entries, replays earlier keys
// and posts concurrently from several goroutines, then checks the
// invariants: every entry balances, the sum of all balances is zero per
// currency, each key recorded once, replays changed nothing, and every
// balance equals the one computed from what was accepted.
func TestLedgerProperties(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := NewLedger(db)
		users := []string{"u1", "u2", "u3", "u4"}
		currencies := []string{"usd", "eur", "jpy"}
		randomEntry := func(rng *rand.Rand, key string) EntryInput {
			cur := currencies[rng.IntN(len(currencies))]
			n := 1 + rng.IntN(4)
			var ps []Posting
			var total int64
			for range n {
				amt := 1 + rng.Int64N(100000)
				total += amt
				var a Account
				switch rng.IntN(4) {
				case 0:
					a = PlatformAccount(FeeRevenue, cur)
				case 1:
					a = UserAccount(ConnectedCash, users[rng.IntN(len(users))], cur)
				default:
					a = UserAccount(SellerPayable, users[rng.IntN(len(users))], cur)
				}
				ps = append(ps, Credit(a, amt))
			}
			ps = append(ps, Debit(PlatformAccount(PlatformCash, cur), total))
			rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			return EntryInput{Key: key, Kind: "random", Postings: ps}
		}

		const workers, perWorker = 4, 40
		var (
			mu       sync.Mutex
			accepted = map[string]EntryInput{} // key → what was recorded
			wg       sync.WaitGroup
			errs     = make(chan error, workers*perWorker)
		)
		// Every worker derives the same entry for a shared key (same seed
		// per key), so concurrent posts of one key are true replays.
		entryFor := func(key string) EntryInput {
			var seed uint64
			for _, c := range key {
				seed = seed*131 + uint64(c)
			}
			return randomEntry(rand.New(rand.NewPCG(seed, 7)), key)
		}
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 99))
				for i := range perWorker {
					key := fmt.Sprintf("w%d-%d", w, i)
					if rng.IntN(3) == 0 { // a key another worker may be posting too
						key = fmt.Sprintf("shared-%d", rng.IntN(perWorker))
					}
					in := entryFor(key)
					e, _, err := l.Post(ctx, in)
					if err != nil {
						errs <- fmt.Errorf("post %s: %w", key, err)
						continue
					}
					if e.Key != key {
						errs <- fmt.Errorf("post %s returned entry %s", key, e.Key)
					}
					mu.Lock()
					accepted[key] = in
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		check := func(stage string) map[string]int64 {
			t.Helper()
			tb, err := l.TrialBalance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for cur, sum := range tb {
				if sum != 0 {
					t.Errorf("%s: %s postings sum to %d, want 0", stage, cur, sum)
				}
			}
			ub, err := l.UnbalancedEntries(ctx)
			if err != nil || len(ub) > 0 {
				t.Errorf("%s: unbalanced entries %v (%v)", stage, ub, err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pay_ledger_entries`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != len(accepted) {
				t.Errorf("%s: %d entries for %d distinct keys", stage, n, len(accepted))
			}
			want := map[string]int64{}
			for _, in := range accepted {
				for _, p := range in.Postings {
					want[p.Account.ID()] += p.Amount
				}
			}
			got := map[string]int64{}
			for _, owner := range append([]string{PlatformOwner}, users...) {
				bs, err := l.Balances(ctx, owner)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range bs {
					got[b.Account.ID()] = b.Balance
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: balances differ from the accepted entries (-want +got):\n%s", stage, diff)
			}
			return got
		}
		before := check("after concurrent posts")

		// Replaying every accepted key changes nothing.
		for key, in := range accepted {
			if _, replayed, err := l.Post(ctx, in); err != nil || !replayed {
				t.Fatalf("replay %s: replayed %v, %v", key, replayed, err)
			}
		}
		if diff := cmp.Diff(before, check("after replays")); diff != "" {
			t.Errorf("replays changed balances:\n%s", diff)
		}
	})
}
