package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		url     string
		want    store.Dialect
		wantErr bool
	}{
		{name: "sqlite scheme", url: "sqlite:" + filepath.Join(dir, "a.db"), want: store.SQLite},
		{name: "sqlite slashes", url: "sqlite://" + filepath.Join(dir, "b.db"), want: store.SQLite},
		{name: "plain path in new dir", url: filepath.Join(dir, "sub", "c.db"), want: store.SQLite},
		{name: "empty", url: "", wantErr: true},
		{name: "mysql", url: "mysql://root@localhost/db", wantErr: true},
		{name: "sqlite with query", url: "sqlite:" + filepath.Join(dir, "d.db") + "?mode=ro", wantErr: true},
		{name: "sqlite empty path", url: "sqlite:", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(context.Background(), tt.url)
			if tt.wantErr {
				if err == nil {
					_ = db.Close()
					t.Fatalf("Open(%q) = nil error, want error", tt.url)
				}
				if !errors.Is(err, store.ErrUnsupportedURL) {
					t.Errorf("Open(%q) error = %v, want ErrUnsupportedURL", tt.url, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			defer func() { _ = db.Close() }()
			if db.Dialect() != tt.want {
				t.Errorf("Dialect = %v, want %v", db.Dialect(), tt.want)
			}
		})
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := store.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open = nil error, want connection error")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestSQLitePragmas(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"},        // NORMAL
		{"wal_autocheckpoint", "0"}, // checkpointLoop does it
	}
	for _, tt := range tests {
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
}

// TestSQLiteBackgroundCheckpoint: with automatic checkpoints off, committed
// pages still reach the database file, through the background
// checkpointer, and the database file alone holds them after Close.
func TestSQLiteBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ck.db")
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE blobs (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 64<<10)
	for i := range 16 {
		payload[0] = byte(i)
		if _, err := db.ExecContext(ctx, "INSERT INTO blobs (b) VALUES (?)", payload); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing here checkpoints: the 1 MiB is in the WAL until the
	// background checkpointer copies it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= 16*64<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file is %d bytes 20 s after the commits: the WAL was never checkpointed", fi.Size())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Errorf("second Close: %v", err)
	}
	// The file alone (the WAL set aside) has every row.
	if err := os.Remove(path + "-wal"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	db2, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var n int
	if err := db2.QueryRowContext(ctx, "SELECT count(*) FROM blobs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 16 {
		t.Errorf("rows in the database file = %d, want 16", n)
	}
}

func TestMigrateFromEmptyAndIdempotent(t *testing.T) {
	for _, d := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", storetest.SQLiteURL},
		{"postgres", storetest.PostgresURL},
	} {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			u := d.url(t)
			db, err := store.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()

			before, err := db.MigrationStatus(ctx)
			if err != nil {
				t.Fatalf("status on empty db: %v", err)
			}
			if len(before) == 0 {
				t.Fatal("no embedded migrations")
			}
			for _, s := range before {
				if s.Applied {
					t.Errorf("migration %d applied on an empty database", s.Version)
				}
			}

			applied, err := db.Migrate(ctx, store.MigrateOptions{}) // with the advisory lock on postgres
			if err != nil {
				t.Fatalf("first Migrate: %v", err)
			}
			if len(applied) != len(before) {
				t.Errorf("first Migrate applied %d, want %d", len(applied), len(before))
			}
			if applied[0].Version != 1 {
				t.Errorf("first migration = %d, want 1", applied[0].Version)
			}

			again, err := db.Migrate(ctx, store.MigrateOptions{})
			if err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if len(again) != 0 {
				t.Errorf("second Migrate applied %v, want nothing", again)
			}
			after, err := db.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range after {
				if !s.Applied {
					t.Errorf("migration %d (%s) not applied", s.Version, s.Name)
				}
			}
			// The foundation table exists and works.
			if _, err := db.InstanceID(ctx); err != nil {
				t.Errorf("InstanceID after migrate: %v", err)
			}

			// A second handle on the same database sees it current too.
			db2, err := store.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db2.Close() }()
			if res, err := db2.Migrate(ctx, store.MigrateOptions{}); err != nil || len(res) != 0 {
				t.Errorf("Migrate from a second handle = %v, %v; want nothing, nil", res, err)
			}
		})
	}
}

func TestEmbeddedMigrationsPaired(t *testing.T) {
	// Every version exists for both engines, so the schemas stay in step.
	names := map[store.Dialect][]int64{}
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		db := storetestStatus(t, d)
		names[d] = db
	}
	if diff := cmp.Diff(names[store.SQLite], names[store.Postgres]); diff != "" {
		t.Errorf("migration versions differ between sqlite and postgres (-sqlite +postgres):\n%s", diff)
	}
}

func storetestStatus(t *testing.T, d store.Dialect) []int64 {
	t.Helper()
	fsys, err := store.Migrations(d)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	entries, err := fsReadDir(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range entries {
		var v int64
		if _, err := fmt.Sscanf(name, "%05d_", &v); err != nil {
			t.Errorf("%s/%s: name must start with a 5-digit version: %v", d, name, err)
			continue
		}
		versions = append(versions, v)
	}
	return versions
}

func TestInstanceIDStable(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, err := db.InstanceID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.InstanceID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a == "" || a != b {
			t.Errorf("InstanceID = %q then %q, want the same non-empty id", a, b)
		}
	})
}

func TestWithTxCommitAndRollback(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 30, 45, 123456000, time.UTC)
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)`, "k1", "v1", now)
			return err
		})
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		errBoom := errors.New("boom")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)`, "k2", "v2", now); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("WithTx error = %v, want boom", err)
		}

		var (
			value string
			at    time.Time
		)
		if err := db.QueryRowContext(ctx, `SELECT value, updated_at FROM meta WHERE key = ?`, "k1").Scan(&value, &at); err != nil {
			t.Fatal(err)
		}
		if value != "v1" || !at.Equal(now) {
			t.Errorf("row = %q %v, want v1 %v", value, at, now)
		}
		err = db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, "k2").Scan(&value)
		if !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("rolled-back row: err = %v, want sql.ErrNoRows", err)
		}

		// Duplicate keys are recognised on both engines.
		_, err = db.ExecContext(ctx, `INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)`, "k1", "again", now)
		if !store.IsUniqueViolation(err) {
			t.Errorf("duplicate insert error = %v, want a unique violation", err)
		}
		if store.IsRetryable(err) {
			t.Errorf("unique violation reported as retryable")
		}
	})
}

func TestWithTxPanicRollsBack(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed")
			}
		}()
		_ = db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value, updated_at) VALUES ('p', 'v', ?)`, time.Now()); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key = 'p'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("row survived a panicking transaction")
	}
	// The pool is not poisoned: a new transaction works.
	if err := db.WithTx(ctx, func(tx *store.Tx) error { return nil }); err != nil {
		t.Errorf("WithTx after panic: %v", err)
	}
}

// Concurrent read-modify-write transactions must all land. On PostgreSQL
// with Serializable this provokes real serialization failures (40001) that
// WithTx retries; on SQLite writers queue on BEGIN IMMEDIATE.
func TestWithTxConcurrentCounter(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `INSERT INTO meta (key, value, updated_at) VALUES ('n', '0', ?)`, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		const workers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					errs <- db.WithTxOptions(ctx, store.TxOptions{Serializable: true, MaxAttempts: 50}, func(tx *store.Tx) error {
						var v int
						if err := tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'n'`).Scan(&v); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'n'`, fmt.Sprint(v+1))
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("transaction: %v", err)
			}
		}
		var got string
		if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'n'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(workers * each); got != want {
			t.Errorf("counter = %s, want %s", got, want)
		}
	})
}

func TestWithTxRetriesSerializationFailure(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	attempts := 0
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		attempts++
		if attempts < 3 {
			// A real PgError with SQLSTATE 40001 from the server.
			_, err := tx.ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$`)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WithTx = %v, want success on the third attempt", err)
	}
	if attempts != 3 {
		t.Errorf("attempts = %d, want 3", attempts)
	}

	attempts = 0
	err = db.WithTxOptions(ctx, store.TxOptions{MaxAttempts: 2}, func(tx *store.Tx) error {
		attempts++
		_, err := tx.ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = 'deadlock_detected'; END $$`)
		return err
	})
	if !errors.Is(err, store.ErrTxRetriesExhausted) || !store.IsRetryable(err) {
		t.Errorf("err = %v, want ErrTxRetriesExhausted wrapping the deadlock", err)
	}
	if attempts != 2 {
		t.Errorf("attempts = %d, want 2", attempts)
	}
}

func TestRedact(t *testing.T) {
	got := store.Redact("postgres://user:hunter2@db:5432/mb?sslmode=require")
	if strings.Contains(got, "hunter2") {
		t.Errorf("Redact = %q, still has the password", got)
	}
	if got := store.Redact("sqlite:data/mb.db"); got != "sqlite:data/mb.db" {
		t.Errorf("Redact(sqlite) = %q", got)
	}
}
