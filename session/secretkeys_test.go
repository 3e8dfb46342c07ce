package session

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func mustSecretKeys(t *testing.T, keys ...string) *SecretKeys {
	t.Helper()
	sk, err := ParseSecretKeys(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestParseSecretKeys(t *testing.T) {
	a, b := GenerateSecretKey(), GenerateSecretKey()
	raw, _ := base64.StdEncoding.DecodeString(a)
	for _, good := range []string{a, a + "," + b, " " + a + " , " + b, base64.RawURLEncoding.EncodeToString(raw)} {
		if _, err := ParseSecretKeys(good); err != nil {
			t.Errorf("ParseSecretKeys(%q): %v", good, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, tc := range []struct{ in, want string }{
		{"", "0 bytes"},
		{"not base64!", "not base64"},
		{short, "16 bytes, want 32"},
		{a + "," + a, "listed twice"},
		{a + ",", "0 bytes"},
	} {
		if _, err := ParseSecretKeys(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSecretKeys(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	// Key ids follow the key, not its position or spelling.
	if mustSecretKeys(t, a, b).CurrentID() != mustSecretKeys(t, base64.RawURLEncoding.EncodeToString(raw)).CurrentID() {
		t.Error("the same key has two ids")
	}
	if mustSecretKeys(t, a).CurrentID() == mustSecretKeys(t, b).CurrentID() {
		t.Error("two keys share an id")
	}
}

func TestSealOpen(t *testing.T) {
	a, b := GenerateSecretKey(), GenerateSecretKey()
	old := mustSecretKeys(t, a)
	sealed, id := old.Seal([]byte("seed"), "room_keys:k1")
	if bytes.Contains(sealed, []byte("seed")) || id != old.CurrentID() {
		t.Fatalf("sealed %x with %s", sealed, id)
	}
	again, _ := old.Seal([]byte("seed"), "room_keys:k1")
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal (nonce reused)")
	}
	rotated := mustSecretKeys(t, b, a) // new key first, old one still opens
	if pt, err := rotated.Open(sealed, id, "room_keys:k1"); err != nil || string(pt) != "seed" {
		t.Errorf("Open after rotation = %q, %v", pt, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		keys   *SecretKeys
		sealed []byte
		ctx    string
	}{
		"unknown key": {mustSecretKeys(t, b), sealed, "room_keys:k1"},
		"other row":   {old, sealed, "room_keys:k2"},
		"flipped bit": {old, flipped, "room_keys:k1"},
		"truncated":   {old, sealed[:10], "room_keys:k1"},
		"empty":       {old, nil, "room_keys:k1"},
	} {
		if _, err := tc.keys.Open(tc.sealed, id, tc.ctx); !errors.Is(err, ErrSecretKey) {
			t.Errorf("%s: err = %v, want ErrSecretKey", name, err)
		}
	}
}

// rawRoomKey returns a room_keys row as stored.
func rawRoomKey(t *testing.T, db *store.DB, id string) (stored []byte, sealedWith sql.NullString) {
	t.Helper()
	if err := db.QueryRowContext(context.Background(), `SELECT private_key, sealed_with FROM room_keys WHERE id = ?`, id).Scan(&stored, &sealedWith); err != nil {
		t.Fatal(err)
	}
	return stored, sealedWith
}

// TestRoomKeysSealed covers the keyring at rest: a plain row written
// before secrets keys existed is sealed by the first load with a key, new
// keys are stored sealed, a rotation reseals, and a missing or wrong key
// is a clear error.
func TestRoomKeysSealed(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := GenerateSecretKey(), GenerateSecretKey()
		plain := NewStore(db)
		withKeys := func(keys ...string) *Store {
			st := NewStore(db)
			st.secrets = mustSecretKeys(t, keys...)
			return st
		}
		_, priv1, _ := ed25519.GenerateKey(nil)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if err := plain.AddRoomKey(ctx, RoomKey{ID: "k1", Key: priv1, Created: t0}); err != nil {
			t.Fatal(err)
		}
		if stored, with := rawRoomKey(t, db, "k1"); !bytes.Equal(stored, priv1.Seed()) || with.Valid {
			t.Fatalf("plain row = %x sealed with %v", stored, with)
		}

		// The first load with a key seals the plain row in place.
		stA := withKeys(a)
		keys, err := stA.RoomKeys(ctx)
		if err != nil || len(keys) != 1 || !keys[0].Key.Equal(priv1) {
			t.Fatalf("RoomKeys = %v, %v", keys, err)
		}
		stored, with := rawRoomKey(t, db, "k1")
		if with.String != stA.secrets.CurrentID() || bytes.Contains(stored, priv1.Seed()) {
			t.Fatalf("after load: sealed with %v, stored %x", with, stored)
		}

		// New keys are stored sealed.
		_, priv2, _ := ed25519.GenerateKey(nil)
		if err := stA.AddRoomKey(ctx, RoomKey{ID: "k2", Key: priv2, Created: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if stored, with := rawRoomKey(t, db, "k2"); with.String != stA.secrets.CurrentID() || bytes.Contains(stored, priv2.Seed()) {
			t.Errorf("new row sealed with %v, stored %x", with, stored)
		}

		// Without a key, or with only an unknown one, loading fails and
		// says why.
		if _, err := plain.RoomKeys(ctx); err == nil || !strings.Contains(err.Error(), "MB_SECRETS_KEY") {
			t.Errorf("RoomKeys without a key: %v", err)
		}
		if _, err := withKeys(b).RoomKeys(ctx); !errors.Is(err, ErrSecretKey) || !strings.Contains(err.Error(), "not configured") {
			t.Errorf("RoomKeys with another key: %v", err)
		}

		// Rotation: b first, a still listed; the load reseals with b, after
		// which a can go.
		stBA := withKeys(b, a)
		if keys, err := stBA.RoomKeys(ctx); err != nil || len(keys) != 2 {
			t.Fatalf("RoomKeys after rotation = %v, %v", keys, err)
		}
		for _, id := range []string{"k1", "k2"} {
			if _, with := rawRoomKey(t, db, id); with.String != stBA.secrets.CurrentID() {
				t.Errorf("%s sealed with %v after rotation, want %s", id, with, stBA.secrets.CurrentID())
			}
		}
		keys, err = withKeys(b).RoomKeys(ctx)
		if err != nil || len(keys) != 2 || !keys[0].Key.Equal(priv2) || !keys[1].Key.Equal(priv1) {
			t.Fatalf("RoomKeys with b alone = %v, %v", keys, err)
		}

		// A sealed value moved to another row does not open.
		s1, _ := rawRoomKey(t, db, "k1")
		if _, err := db.ExecContext(ctx, `UPDATE room_keys SET private_key = ? WHERE id = ?`, s1, "k2"); err != nil {
			t.Fatal(err)
		}
		if _, err := withKeys(b).RoomKeys(ctx); !errors.Is(err, ErrSecretKey) {
			t.Errorf("RoomKeys with a moved value: %v, want ErrSecretKey", err)
		}
	})
}

// TestRoomTokensSealedFromService issues and verifies room tokens
// through a Service with secrets keys, across two nodes sharing the
// database.
func TestRoomTokensSealedFromService(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		key := GenerateSecretKey()
		sk := mustSecretKeys(t, key)
		e := newEnv(t, db, nil, "", func(o *Options) { o.SecretKeys = sk })
		tok, _, err := e.svc.RoomTokens().Issue(ctx, "user-1", "project-1", RoomRoleEditor)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM room_keys WHERE sealed_with = ?`, sk.CurrentID()).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d sealed room keys, %v; want 1", n, err)
		}
		other := newEnv(t, db, nil, "", func(o *Options) { o.SecretKeys = mustSecretKeys(t, key) })
		if c, err := other.svc.RoomTokens().Verify(ctx, tok); err != nil || c.ProjectID != "project-1" {
			t.Fatalf("Verify on the other node = %+v, %v", c, err)
		}
	})
}
