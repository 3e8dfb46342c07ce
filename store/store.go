// Package store opens the database and holds what differs between the two
// engines Max Booster runs on: SQLite (pure Go, modernc.org/sqlite; the
// embedded default) and PostgreSQL (jackc/pgx through database/sql).
//
// Modules write their SQL once, with ? placeholders, against *DB or *Tx
// (both are Querier); the methods rebind placeholders for the engine. SQL
// that must differ per engine branches on DB.Dialect(). Portable habits:
//
//   - Upserts: INSERT ... ON CONFLICT (cols) DO UPDATE SET x = excluded.x
//     works on both.
//   - Times: pass time.Time values (UTC) from Go rather than calling now()
//     in SQL. Declare the column TIMESTAMP on SQLite and TIMESTAMPTZ on
//     PostgreSQL; both scan back into time.Time.
//   - Bytes: BLOB on SQLite, BYTEA on PostgreSQL; both take []byte.
//   - Ids: generate them in Go, or use INTEGER PRIMARY KEY (SQLite) /
//     BIGINT GENERATED ALWAYS AS IDENTITY (PostgreSQL) with RETURNING id.
//   - No extensions: tests give every PostgreSQL test its own schema, and
//     extensions are per database.
//
// The schema lives in migrations/{sqlite,postgres}/NNNNN_name.sql (goose
// format), embedded and applied by Migrate. Version ranges per owner:
// foundation 00001-00099, session 00100-00199, collab 00200-00299, audio
// 00300-00399, payments 00400-00499.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// ErrUnsupportedURL is returned by Open for a URL it cannot handle.
var ErrUnsupportedURL = errors.New("store: unsupported database URL (want sqlite:PATH, a file path, or postgres://...)")

// DB is an open database: a *sql.DB plus its dialect. It is safe for
// concurrent use.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	url     string // redacted, for logs

	// SQLite: the background checkpointer (see checkpointLoop).
	ckStop, ckDone chan struct{}
	closeOnce      sync.Once
}

// Open opens the database named by rawURL and checks that it answers:
//
//	sqlite:PATH, sqlite://PATH, or a plain file path → SQLite at PATH (the
//	  parent directory is created), WAL mode, 5 s busy timeout, foreign
//	  keys on, BEGIN IMMEDIATE for write transactions.
//	postgres://... or postgresql://... → PostgreSQL through pgx. Any pgx
//	  connection parameter may be given in the query, e.g. search_path.
//
// Open does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err = openPostgres(rawURL)
	case strings.HasPrefix(rawURL, "sqlite:"):
		p := strings.TrimPrefix(rawURL, "sqlite:")
		p = strings.TrimPrefix(p, "//")
		db, err = openSQLite(p)
	case rawURL == "":
		return nil, fmt.Errorf("%w: empty", ErrUnsupportedURL)
	case strings.Contains(rawURL, "://"):
		return nil, fmt.Errorf("%w: scheme of %q", ErrUnsupportedURL, Redact(rawURL))
	default:
		db, err = openSQLite(rawURL)
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.sql.PingContext(pingCtx); err != nil {
		_ = db.sql.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.url, err)
	}
	return db, nil
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: sqlite path is empty", ErrUnsupportedURL)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: sqlite path %q must not contain ? or #", ErrUnsupportedURL, path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	q := url.Values{}
	q.Set("_busy_timeout", "5000")
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	// No connection checkpoints the WAL inside its own COMMIT: the
	// database's checkpointLoop does it in the background.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	// One writer at a time anyway; a few readers share WAL snapshots.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{sql: sdb, dialect: SQLite, url: "sqlite:" + path, ckStop: make(chan struct{}), ckDone: make(chan struct{})}
	go db.checkpointLoop(checkpointEvery)
	return db, nil
}

// checkpointEvery is how often checkpointLoop copies the WAL into the
// database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointLoop checkpoints a SQLite database's WAL (PRAGMA
// wal_checkpoint(PASSIVE)) every interval until Close.
//
// SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
// past 1,000 pages, and holds that writer for the checkpoint's copying and
// its two fsyncs. The writer that crosses the mark is most often the collab
// committer, so every room's appends waited: 5-10 ms stalls several times a
// second under load, which were the hub's worst fan-out latencies (100
// rooms: p99 7-9 ms with them, 3.6 ms without). A passive checkpoint
// on its own connection runs beside the writers and readers and takes no
// lock they wait for. Durability is unchanged: in WAL mode with
// synchronous=NORMAL a commit is durable against a crash of the process
// once it is in the WAL, and a checkpoint syncs the WAL before it copies.
func (db *DB) checkpointLoop(interval time.Duration) {
	defer close(db.ckDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.ckStop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// Best effort: a busy or failed checkpoint is retried at the
		// next tick, and the WAL keeps every commit meanwhile.
		_, _ = db.sql.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		cancel()
	}
}

func openPostgres(rawURL string) (*DB, error) {
	if _, err := url.Parse(rawURL); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedURL, err) //nolint:errorlint // the url error repeats the password
	}
	sdb, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", Redact(rawURL), err)
	}
	sdb.SetMaxOpenConns(20)
	sdb.SetMaxIdleConns(10)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	sdb.SetConnMaxLifetime(time.Hour)
	return &DB{sql: sdb, dialect: Postgres, url: Redact(rawURL)}, nil
}

// Redact returns rawURL with any password replaced by "xxxxx", for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable url)"
		}
		return rawURL
	}
	return u.Redacted()
}

// Dialect returns the database engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// String returns the redacted URL the database was opened with.
func (db *DB) String() string { return db.url }

// SQL returns the underlying *sql.DB, for what the wrappers do not cover.
// Queries sent through it are not rebound.
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Close closes the database. For SQLite it first checkpoints the WAL
// so the file is complete on its own.
func (db *DB) Close() error {
	if db.dialect == SQLite {
		db.closeOnce.Do(func() { close(db.ckStop) })
		<-db.ckDone
		_, _ = db.sql.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)") // best effort
	}
	return db.sql.Close()
}

// Querier is what *DB and *Tx have in common: code that takes a Querier
// runs the same inside or outside a transaction. Queries use ? placeholders.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Dialect() Dialect
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)

// ExecContext runs a statement with ? placeholders.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.sql.ExecContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryContext runs a query with ? placeholders.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.sql.QueryContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryRowContext runs a query with ? placeholders that returns one row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.sql.QueryRowContext(ctx, db.dialect.Rebind(query), args...)
}
