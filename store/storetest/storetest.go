// Package storetest opens throwaway, migrated databases for tests and runs
// a test against every engine.
//
//	func TestTrackStore(t *testing.T) {
//		storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
//			// db is empty and fully migrated, private to this subtest
//		})
//	}
//
// SQLite runs always, in a file under t.TempDir(). PostgreSQL runs when
// MB_TEST_POSTGRES_DSN is set (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable): each test gets
// its own freshly created schema, dropped in cleanup, so tests of many
// packages can share one server at once. With CI=true an unset DSN fails
// the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/testenv"
	"github.com/maxbooster/maxbooster/store"
)

// PostgresEnv is the environment variable naming the PostgreSQL server for
// tests.
const PostgresEnv = "MB_TEST_POSTGRES_DSN"

// ForEachDialect runs fn as a subtest named "sqlite" and, when PostgreSQL
// is configured, "postgres", each with its own empty, migrated database.
// Without PostgreSQL the "postgres" subtest skips (or fails with CI=true).
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, OpenSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, OpenPostgres(t))
	})
}

// OpenSQLite returns a migrated SQLite database in a temporary directory,
// closed when the test ends.
func OpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, "sqlite:"+filepath.Join(tb.TempDir(), "test.db"))
}

// SQLiteURL returns a fresh, unmigrated SQLite URL in a temporary
// directory, for tests of Open and Migrate themselves.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
}

// OpenPostgres returns a migrated PostgreSQL database confined to a new
// schema, dropped when the test ends. It skips the test when
// MB_TEST_POSTGRES_DSN is unset, or fails it when CI=true.
func OpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, PostgresURL(tb))
}

// PostgresURL creates a fresh schema on the test server and returns a URL
// whose connections use only that schema; the schema is dropped when the
// test ends. Nothing is migrated. It skips (or fails, with CI=true) when
// MB_TEST_POSTGRES_DSN is unset.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	dsn := RequirePostgres(tb)
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("storetest: parse %s: %v", PostgresEnv, err)
	}
	schema := "mbt_" + randomHex(tb, 8)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("storetest: open admin connection: %v", err)
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("storetest: create schema on %s: %v", store.Redact(dsn), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			tb.Errorf("storetest: drop schema: %v", err)
			return
		}
		defer func() { _ = admin.Close() }()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RequirePostgres returns MB_TEST_POSTGRES_DSN, skipping the test when it
// is unset, or failing it when CI=true.
func RequirePostgres(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		testenv.Unavailable(tb, "storetest: set %s to run against PostgreSQL (make test does when it finds one)", PostgresEnv)
	}
	return dsn
}

func open(tb testing.TB, rawURL string) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, rawURL)
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	// Cleanups run last-registered first: this Close runs before
	// PostgresURL's schema drop.
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("storetest: close: %v", err)
		}
	})
	if _, err := db.Migrate(ctx, store.MigrateOptions{NoLock: true}); err != nil {
		tb.Fatalf("storetest: migrate: %v", err)
	}
	return db
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("storetest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
