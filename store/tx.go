package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Tx is a transaction with the same ?-placeholder methods as DB.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
}

// ExecContext runs a statement with ? placeholders.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.dialect.Rebind(query), args...)
}

// QueryContext runs a query with ? placeholders.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.dialect.Rebind(query), args...)
}

// QueryRowContext runs a query with ? placeholders that returns one row.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.dialect.Rebind(query), args...)
}

// Dialect returns the database engine.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// SQL returns the underlying *sql.Tx.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// TxOptions tunes WithTxOptions. The zero value means: the engine's default
// isolation (SQLite is always serializable; PostgreSQL read committed),
// read-write, and MaxAttempts 5.
type TxOptions struct {
	// Serializable asks PostgreSQL for SERIALIZABLE isolation. Serialization
	// failures are retried. SQLite ignores it (it is always serializable).
	Serializable bool
	// ReadOnly marks the transaction read-only.
	ReadOnly bool
	// MaxAttempts bounds how often fn runs when the engine reports a
	// retryable conflict. Zero means 5.
	MaxAttempts int
}

// ErrTxRetriesExhausted wraps the last error when every attempt hit a
// retryable conflict.
var ErrTxRetriesExhausted = errors.New("store: transaction retries exhausted")

// WithTx runs fn in a transaction with default options; see WithTxOptions.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.WithTxOptions(ctx, TxOptions{}, fn)
}

// WithTxOptions runs fn inside a transaction and commits it if fn returns
// nil, else rolls back and returns fn's error unchanged. When the engine
// reports a transient conflict (SQLITE_BUSY, a PostgreSQL serialization
// failure or deadlock) at any point, the whole transaction is rolled back
// and fn runs again after a short jittered backoff, so fn must have no
// effects outside the transaction. A panic in fn rolls back and re-panics.
func (db *DB) WithTxOptions(ctx context.Context, opts TxOptions, fn func(tx *Tx) error) error {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	sqlOpts := &sql.TxOptions{ReadOnly: opts.ReadOnly}
	if opts.Serializable && db.dialect == Postgres {
		sqlOpts.Isolation = sql.LevelSerializable
	}
	if db.dialect == SQLite {
		sqlOpts.ReadOnly = false // modernc rejects read-only BEGIN IMMEDIATE; SQLite gains nothing from it
	}
	backoff := 5 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		err = db.runTx(ctx, sqlOpts, fn)
		if err == nil || !IsRetryable(err) {
			return err
		}
		if attempt >= attempts {
			return fmt.Errorf("%w after %d attempts: %w", ErrTxRetriesExhausted, attempt, err)
		}
		// Full jitter: sleep a random time up to the current backoff.
		t := time.NewTimer(time.Duration(rand.Int64N(int64(backoff))) + time.Millisecond) //nolint:gosec // jitter, not a secret
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("store: transaction retry: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

func (db *DB) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) error) (err error) {
	stx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&Tx{tx: stx, dialect: db.dialect}); err != nil {
		_ = stx.Rollback() // the error from fn matters more
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
