package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/session"
)

func TestSecretKeysConfig(t *testing.T) {
	key := session.GenerateSecretKey()
	parse := func(t *testing.T, env map[string]string) Config {
		t.Helper()
		cfg, _, err := parseConfig("serve", []string{"--data-dir", t.TempDir()}, envFunc(env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}

	t.Run("given", func(t *testing.T) {
		cfg := parse(t, map[string]string{"MB_SECRETS_KEY": session.GenerateSecretKey() + "," + key})
		sk, from, err := cfg.SecretKeys()
		if err != nil || sk == nil || from != "MB_SECRETS_KEY" {
			t.Fatalf("SecretKeys = %v, %q, %v", sk, from, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, SecretsKeyFile)); !os.IsNotExist(err) {
			t.Errorf("a key file was made although MB_SECRETS_KEY is set: %v", err)
		}
	})

	t.Run("sqlite default makes a key file once", func(t *testing.T) {
		cfg := parse(t, nil)
		sk, from, err := cfg.SecretKeys()
		if err != nil || sk == nil || from != filepath.Join(cfg.DataDir, SecretsKeyFile) {
			t.Fatalf("SecretKeys = %v, %q, %v", sk, from, err)
		}
		fi, err := os.Stat(from)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
		}
		again, _, err := cfg.SecretKeys()
		if err != nil || again.CurrentID() != sk.CurrentID() {
			t.Errorf("second start: key %v, %v; want the same key", again, err)
		}
		if err := os.WriteFile(from, []byte("garbage\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cfg.SecretKeys(); err == nil || !strings.Contains(err.Error(), from) {
			t.Errorf("damaged key file: %v, want an error naming it", err)
		}
	})

	t.Run("postgres without a key", func(t *testing.T) {
		cfg := parse(t, map[string]string{"MB_DATABASE_URL": "postgres://u@127.0.0.1/db"})
		if sk, from, err := cfg.SecretKeys(); sk != nil || from != "" || err != nil {
			t.Errorf("SecretKeys = %v, %q, %v; want none", sk, from, err)
		}
	})
}

// TestMainSealsRoomKeys boots the server on SQLite twice with one data
// directory: the first start makes the key file and seals the room key it
// signs with; the second reuses both.
func TestMainSealsRoomKeys(t *testing.T) {
	cfg := testConfig(t)
	var keyID string
	for start := range 2 {
		m := NewMain(cfg, testLogger(t))
		if err := m.Run(context.Background()); err != nil {
			_ = m.Close(context.Background())
			t.Fatalf("Run: %v", err)
		}
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar}
		post := func(path string, body any) map[string]any { return postJSON(t, hc, m.URL(), path, body) }
		email := []string{"first@example.com", "second@example.com"}[start]
		post("/api/v1/auth/register", map[string]string{"email": email, "password": "a long enough passphrase 42", "displayName": "S"})
		p := post("/api/v1/projects", map[string]string{"name": "Sealed"})
		if tok := post("/api/v1/projects/"+p["id"].(string)+"/room-token", nil); tok["token"] == "" {
			t.Fatalf("room token = %v", tok)
		}
		var plain, sealed int
		var with string
		if err := m.DB.QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM room_keys WHERE sealed_with IS NULL`).Scan(&plain); err != nil {
			t.Fatal(err)
		}
		if err := m.DB.QueryRowContext(context.Background(),
			`SELECT COUNT(*), MAX(sealed_with) FROM room_keys WHERE sealed_with IS NOT NULL`).Scan(&sealed, &with); err != nil {
			t.Fatal(err)
		}
		if plain != 0 || sealed != 1 {
			t.Errorf("start %d: %d plain and %d sealed room keys, want 0 and 1", start, plain, sealed)
		}
		if start == 0 {
			keyID = with
		} else if with != keyID {
			t.Errorf("second start sealed with %s, first with %s", with, keyID)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, SecretsKeyFile)); err != nil {
		t.Errorf("key file: %v", err)
	}
}
