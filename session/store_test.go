package session

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func mustUser(t *testing.T, st *Store, email string) User {
	t.Helper()
	u := User{ID: newID(), Email: email, DisplayName: "Test", CreatedAt: now()}
	if err := st.CreateUser(context.Background(), u, "$argon2id$placeholder"); err != nil {
		t.Fatal(err)
	}
	return u
}

// testSessionStore is the conformance suite every Sessions passes.
// newUser returns the id of a fresh user the store may reference.
func testSessionStore(t *testing.T, ss Sessions, newUser func() string) {
	ctx := context.Background()
	t0 := now()
	mk := func(uid string, created time.Time, expires time.Duration) Session {
		return Session{ID: newID(), TokenHash: hashSecret(newSecret(prefixSession)), UserID: uid,
			CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(expires), IP: "203.0.113.9", UserAgent: "test/1.0"}
	}
	alice, bob := newUser(), newUser()
	a1 := mk(alice, t0.Add(-2*time.Minute), time.Hour)
	a2 := mk(alice, t0.Add(-time.Minute), time.Hour)
	a3 := mk(alice, t0, time.Hour)
	b1 := mk(bob, t0, time.Hour)
	expired := mk(alice, t0.Add(-2*time.Hour), time.Hour)
	for _, s := range []Session{a1, a2, a3, b1, expired} {
		if err := ss.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ss.SessionByHash(ctx, a2.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a2, got); diff != "" {
		t.Errorf("SessionByHash (-want +got):\n%s", diff)
	}
	for name, h := range map[string]string{"unknown": hashSecret("nope"), "expired": expired.TokenHash, "empty": ""} {
		if _, err := ss.SessionByHash(ctx, h); !errors.Is(err, ErrNotFound) {
			t.Errorf("SessionByHash(%s) err = %v, want ErrNotFound", name, err)
		}
	}

	seen := t0.Add(30 * time.Second)
	if err := ss.TouchSession(ctx, a2.TokenHash, seen, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := ss.SessionByHash(ctx, a2.TokenHash); !got.LastSeenAt.Equal(seen) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, seen)
	}
	if err := ss.TouchSession(ctx, hashSecret("gone"), seen, time.Hour); err != nil {
		t.Errorf("touching a missing session: %v", err)
	}

	list, err := ss.ListSessions(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if diff := cmp.Diff([]string{a3.ID, a2.ID, a1.ID}, ids); diff != "" {
		t.Errorf("ListSessions order (-want +got):\n%s", diff)
	}

	if err := ss.DeleteSessionByID(ctx, bob, a1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deleting alice's session: %v, want ErrNotFound", err)
	}
	if err := ss.DeleteSessionByID(ctx, alice, a1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.SessionByHash(ctx, a1.TokenHash); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted session still found: %v", err)
	}

	n, err := ss.DeleteUserSessions(ctx, alice, a3.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Errorf("DeleteUserSessions removed %d, want >= 1", n)
	}
	if _, err := ss.SessionByHash(ctx, a2.TokenHash); !errors.Is(err, ErrNotFound) {
		t.Errorf("other session survived: %v", err)
	}
	if _, err := ss.SessionByHash(ctx, a3.TokenHash); err != nil {
		t.Errorf("kept session gone: %v", err)
	}
	if _, err := ss.SessionByHash(ctx, b1.TokenHash); err != nil {
		t.Errorf("bob's session gone: %v", err)
	}
	if err := ss.DeleteSession(ctx, a3.TokenHash); err != nil {
		t.Fatal(err)
	}
	if list, _ := ss.ListSessions(ctx, alice); len(list) != 0 {
		t.Errorf("%d sessions left", len(list))
	}
	if n, _ := ss.DeleteUserSessions(ctx, bob, ""); n != 1 {
		t.Errorf("DeleteUserSessions(bob, all) = %d, want 1", n)
	}
}

func TestSessionStoreSQL(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st := NewStore(db)
		testSessionStore(t, st, func() string { return mustUser(t, st, newID()+"@example.com").ID })
	})
}

func TestSessionStoreRedis(t *testing.T) {
	rdb, prefix := redistest.Client(t), redistest.Prefix(t)
	testSessionStore(t, NewRedisSessions(rdb, prefix), newID)
}

func TestRedisSessionIdleExpiry(t *testing.T) {
	rdb, prefix := redistest.Client(t), redistest.Prefix(t)
	rs := NewRedisSessions(rdb, prefix)
	ctx := context.Background()
	s := Session{ID: newID(), TokenHash: hashSecret(newSecret(prefixSession)), UserID: "u", CreatedAt: now(), LastSeenAt: now(), ExpiresAt: now().Add(time.Hour)}
	if err := rs.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := rs.TouchSession(ctx, s.TokenHash, now(), 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := rs.SessionByHash(ctx, s.TokenHash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle session still there: %v", err)
	}
}

func TestStoreUsersAndEmailTokens(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewStore(db)
		u := mustUser(t, st, "x@example.com")
		got, hash, err := st.UserByEmail(ctx, "x@example.com")
		if err != nil || hash != "$argon2id$placeholder" {
			t.Fatal(err, hash)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("UserByEmail (-want +got):\n%s", diff)
		}
		if err := st.CreateUser(ctx, User{ID: newID(), Email: "x@example.com", CreatedAt: now()}, "h"); !errors.Is(err, ErrEmailTaken) {
			t.Errorf("duplicate email: %v", err)
		}
		if _, _, err := st.UserByEmail(ctx, "' OR '1'='1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SQL metacharacters: %v", err)
		}

		h := hashSecret(newSecret(prefixReset))
		if err := st.AddEmailToken(ctx, h, u.ID, purposeReset, now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseEmailToken(ctx, h, purposeVerify); !errors.Is(err, ErrTokenUsed) {
			t.Errorf("wrong purpose: %v", err)
		}
		// Many concurrent uses: exactly one wins.
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for range 8 {
			wg.Go(func() {
				if uid, err := st.UseEmailToken(ctx, h, purposeReset); err == nil && uid == u.ID {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d concurrent uses of one token succeeded, want 1", wins)
		}
		exp := hashSecret(newSecret(prefixReset))
		_ = st.AddEmailToken(ctx, exp, u.ID, purposeReset, now().Add(-time.Second))
		if _, err := st.UseEmailToken(ctx, exp, purposeReset); !errors.Is(err, ErrTokenUsed) {
			t.Errorf("expired token: %v", err)
		}
		// A newer mail supersedes the older one.
		first, second := hashSecret(newSecret(prefixVerify)), hashSecret(newSecret(prefixVerify))
		_ = st.AddEmailToken(ctx, first, u.ID, purposeVerify, now().Add(time.Hour))
		_ = st.AddEmailToken(ctx, second, u.ID, purposeVerify, now().Add(time.Hour))
		if _, err := st.UseEmailToken(ctx, first, purposeVerify); !errors.Is(err, ErrTokenUsed) {
			t.Errorf("superseded token: %v", err)
		}
		if _, err := st.UseEmailToken(ctx, second, purposeVerify); err != nil {
			t.Errorf("latest token: %v", err)
		}

		id, err := st.AddOutbox(ctx, mail.Message{To: "x@example.com", Subject: "s", Text: "body"})
		if err != nil || id <= 0 {
			t.Fatalf("AddOutbox = %d, %v", id, err)
		}
		if msgs, _ := st.Outbox(ctx, "x@example.com", 5); len(msgs) != 1 || msgs[0].Text != "body" {
			t.Errorf("Outbox = %+v", msgs)
		}
	})
}

func TestRoomKeysSQL(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewStore(db)
		clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		rt := NewRoomTokens(st, RoomTokenOptions{RotateEvery: time.Hour, Now: clock.Now})
		tok, _, err := rt.Issue(ctx, "u1", "p1", RoomRoleOwner)
		if err != nil {
			t.Fatal(err)
		}
		// A second node with its own cache verifies through the database.
		other := NewRoomTokens(st, RoomTokenOptions{RotateEvery: time.Hour, Now: clock.Now})
		c, err := other.Verify(ctx, tok)
		if err != nil || c.Role != RoomRoleOwner {
			t.Fatalf("Verify on other node = %+v, %v", c, err)
		}
		clock.Add(3*time.Hour + 6*time.Minute)
		if _, _, err := rt.Issue(ctx, "u1", "p1", RoomRoleOwner); err != nil {
			t.Fatal(err)
		}
		keys, _ := st.RoomKeys(ctx)
		if len(keys) != 1 {
			t.Errorf("%d keys after rotation and pruning, want 1", len(keys))
		}
	})
}

func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	return storetest.OpenSQLite(t)
}

func TestSweep(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, "", func(o *Options) { o.IdleTimeout = time.Hour })
		st := e.svc.store
		u := mustUser(t, st, "sweep@example.com")
		t0 := now()
		live := Session{ID: newID(), TokenHash: hashSecret(newSecret(prefixSession)), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		idle := Session{ID: newID(), TokenHash: hashSecret(newSecret(prefixSession)), UserID: u.ID, CreatedAt: t0.Add(-3 * time.Hour), LastSeenAt: t0.Add(-2 * time.Hour), ExpiresAt: t0.Add(time.Hour)}
		for _, s := range []Session{live, idle} {
			if err := st.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		oldTok, newTok := hashSecret(newSecret(prefixReset)), hashSecret(newSecret(prefixVerify))
		_ = st.AddEmailToken(ctx, oldTok, u.ID, purposeReset, t0.Add(-48*time.Hour))
		_ = st.AddEmailToken(ctx, newTok, u.ID, purposeVerify, t0.Add(time.Hour))
		e.svc.sweep(ctx)
		list, _ := st.ListSessions(ctx, u.ID)
		if len(list) != 1 || list[0].ID != live.ID {
			t.Errorf("sessions after sweep = %+v", list)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM email_tokens`).Scan(&n); err != nil || n != 1 {
			t.Errorf("email tokens after sweep = %d, %v; want 1", n, err)
		}
	})
}

func TestAuditRetention(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st := NewStore(db)
		ctx := context.Background()
		u := mustUser(t, st, newID()+"@example.com")
		for _, e := range []string{EventLogin, EventLogout} {
			if err := st.AddAudit(ctx, AuditEvent{UserID: u.ID, Event: e}); err != nil {
				t.Fatal(err)
			}
		}
		// Nothing is older than an hour ago; everything is older than an
		// hour from now.
		if n, err := st.DeleteAuditBefore(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("trim of recent events: %d, %v", n, err)
		}
		if n, err := st.DeleteAuditBefore(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("trim of old events: %d, %v; want 2", n, err)
		}
	})
}

func TestReplacePasswordRevokesTokens(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewStore(db)
		alice, bob := mustUser(t, st, "alice@example.com"), mustUser(t, st, "bob@example.com")
		mk := func(u User) Token {
			t0 := now()
			tok := Token{ID: newID(), UserID: u.ID, Name: "ci", Scopes: []string{ScopeRead}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := st.CreateToken(ctx, tok, hashSecret(newSecret(prefixToken))); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		a1, a2, b1 := mk(alice), mk(alice), mk(bob)

		// An unknown user changes nothing (the transaction rolls back).
		if _, err := st.ReplacePassword(ctx, newID(), "$argon2id$other"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user: err = %v, want ErrNotFound", err)
		}

		revoked, err := st.ReplacePassword(ctx, alice.ID, "$argon2id$new")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{a1.ID, a2.ID}
		slices.Sort(want)
		if diff := cmp.Diff(want, revoked); diff != "" {
			t.Errorf("revoked (-want +got):\n%s", diff)
		}
		if _, hash, _ := st.UserByID(ctx, alice.ID); hash != "$argon2id$new" {
			t.Errorf("hash = %q", hash)
		}
		if list, _ := st.ListTokens(ctx, alice.ID); len(list) != 0 {
			t.Errorf("alice keeps tokens %v", list)
		}
		if list, _ := st.ListTokens(ctx, bob.ID); len(list) != 1 || list[0].ID != b1.ID {
			t.Errorf("bob's tokens = %v, want only %s", list, b1.ID)
		}
		// No tokens left: nothing to revoke, still a success.
		if revoked, err := st.ReplacePassword(ctx, alice.ID, "$argon2id$newer"); err != nil || len(revoked) != 0 {
			t.Errorf("second change: %v, %v", revoked, err)
		}
	})
}
