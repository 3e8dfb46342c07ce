// Package jobs runs audio analysis and processing as jobs: a queue in the
// database (table audio_jobs, both SQLite and PostgreSQL) and a bounded pool
// of workers that claim jobs with a lease, report progress (percent and
// stage) and store the result.
//
// A worker that crashes stops renewing its lease; when the lease has passed,
// another worker claims the job again, up to its max attempts, after which
// the job fails. Handlers write their outputs as content-addressed blobs
// (audio/blob) before the job completes, so a crash leaves no half-written
// asset, and a retried job simply writes the same blobs again.
package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/maxbooster/maxbooster/store"
)

// Job states.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Errors.
var (
	ErrNotFound = errors.New("jobs: job not found")
	// ErrLost means the worker no longer holds the job: its lease expired
	// and another worker claimed it, or it finished elsewhere.
	ErrLost = errors.New("jobs: lease lost")
	// ErrInvalid reports a bad argument (empty kind, attempts < 1, input too large).
	ErrInvalid = errors.New("jobs: invalid job")
)

// MaxInputBytes bounds a job's input document.
const MaxInputBytes = 64 << 10

// Job is one row of the queue.
type Job struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Input       string     `json:"input"`
	Status      string     `json:"status"`
	Stage       string     `json:"stage"`
	Progress    float64    `json:"progress"` // percent, 0…100
	Attempts    int        `json:"attempts"`
	MaxAttempts int        `json:"maxAttempts"`
	Worker      string     `json:"-"`
	LeaseUntil  *time.Time `json:"-"`
	Error       string     `json:"error,omitempty"`
	Result      string     `json:"result,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

// Queue is the job table.
type Queue struct {
	db *store.DB
	// Now is the clock (UTC); tests replace it.
	Now func() time.Time
}

// NewQueue returns the queue on db (migrated: audio_jobs exists).
func NewQueue(db *store.DB) *Queue {
	return &Queue{db: db, Now: func() time.Time { return time.Now().UTC() }}
}

const cols = `id, kind, input, status, stage, progress, attempts, max_attempts, worker, lease_until, error, result, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var lease sql.NullTime
	if err := row.Scan(&j.ID, &j.Kind, &j.Input, &j.Status, &j.Stage, &j.Progress, &j.Attempts, &j.MaxAttempts,
		&j.Worker, &lease, &j.Error, &j.Result, &j.CreatedAt, &j.UpdatedAt); err != nil {
		return nil, err
	}
	if lease.Valid {
		t := lease.Time.UTC()
		j.LeaseUntil = &t
	}
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return &j, nil
}

func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("jobs: id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Enqueue adds a job.
func (q *Queue) Enqueue(ctx context.Context, kind, input string, maxAttempts int) (*Job, error) {
	if kind == "" || maxAttempts < 1 || maxAttempts > 100 || len(input) > MaxInputBytes {
		return nil, fmt.Errorf("%w: kind %q, %d attempts, %d input bytes", ErrInvalid, kind, maxAttempts, len(input))
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	now := q.Now()
	if _, err := q.db.ExecContext(ctx,
		`INSERT INTO audio_jobs (id, kind, input, status, max_attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, kind, input, StatusQueued, maxAttempts, now, now); err != nil {
		return nil, fmt.Errorf("jobs: enqueue: %w", err)
	}
	return q.Get(ctx, id)
}

// Get returns a job.
func (q *Queue) Get(ctx context.Context, id string) (*Job, error) {
	j, err := scan(q.db.QueryRowContext(ctx, `SELECT `+cols+` FROM audio_jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: get: %w", err)
	}
	return j, nil
}

// Claim gives worker the oldest claimable job (queued, or running with an
// expired lease) and a lease of the given length, or returns nil, nil when
// there is none. Jobs whose lease expired on their last attempt fail here.
func (q *Queue) Claim(ctx context.Context, worker string, lease time.Duration) (*Job, error) {
	now := q.Now()
	if _, err := q.db.ExecContext(ctx,
		`UPDATE audio_jobs SET status = ?, error = ?, worker = '', lease_until = NULL, updated_at = ?
		 WHERE status = ? AND lease_until < ? AND attempts >= max_attempts`,
		StatusFailed, "worker lost (lease expired) on the last attempt", now, StatusRunning, now); err != nil {
		return nil, fmt.Errorf("jobs: expire: %w", err)
	}
	pick := `SELECT id FROM audio_jobs WHERE status = ? OR (status = ? AND lease_until < ?) ORDER BY created_at, id LIMIT 1`
	if q.db.Dialect() == store.Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	j, err := scan(q.db.QueryRowContext(ctx,
		`UPDATE audio_jobs SET status = ?, worker = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
		 WHERE id = (`+pick+`) RETURNING `+cols,
		StatusRunning, worker, now.Add(lease), now, StatusQueued, StatusRunning, now))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: claim: %w", err)
	}
	return j, nil
}

// Progress records progress and renews the lease. ErrLost means the worker
// must stop: the job is no longer its own.
func (q *Queue) Progress(ctx context.Context, id, worker string, percent float64, stage string, lease time.Duration) error {
	now := q.Now()
	percent = max(0, min(100, percent))
	return q.update(ctx, `UPDATE audio_jobs SET progress = ?, stage = ?, lease_until = ?, updated_at = ?
		WHERE id = ? AND worker = ? AND status = ?`, percent, stage, now.Add(lease), now, id, worker, StatusRunning)
}

// Complete stores the result and marks the job done.
func (q *Queue) Complete(ctx context.Context, id, worker, result string) error {
	return q.update(ctx, `UPDATE audio_jobs SET status = ?, progress = 100, result = ?, error = '', lease_until = NULL, updated_at = ?
		WHERE id = ? AND worker = ? AND status = ?`, StatusDone, result, q.Now(), id, worker, StatusRunning)
}

// Fail records an error. With retry and attempts left the job goes back to
// the queue; otherwise it fails for good.
func (q *Queue) Fail(ctx context.Context, id, worker string, cause error, retry bool) error {
	now := q.Now()
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if retry {
		err := q.update(ctx, `UPDATE audio_jobs SET status = ?, error = ?, worker = '', lease_until = NULL, updated_at = ?
			WHERE id = ? AND worker = ? AND status = ? AND attempts < max_attempts`, StatusQueued, msg, now, id, worker, StatusRunning)
		if !errors.Is(err, ErrLost) {
			return err
		}
	}
	return q.update(ctx, `UPDATE audio_jobs SET status = ?, error = ?, lease_until = NULL, updated_at = ?
		WHERE id = ? AND worker = ? AND status = ?`, StatusFailed, msg, now, id, worker, StatusRunning)
}

func (q *Queue) update(ctx context.Context, query string, args ...any) error {
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("jobs: update: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("jobs: update: %w", err)
	}
	if n == 0 {
		return ErrLost
	}
	return nil
}
