package assets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// Blob deletion. Blobs are content-addressed, so two assets (or an asset
// and an upload still being checked) can share one. Deleting a blob when
// its last row goes is racy: a concurrent upload of the same bytes finds
// the blob already stored and inserts its row just after the check. So:
//
//   - A writer claims a key (asset_blobs.claimed_at = now) before a row
//     refers to it, then checks that the blob still exists (a collector
//     may have removed it just before the claim); the row and its
//     asset_blob_refs are written in one transaction.
//   - Deleting an asset, refusing an upload or dropping a job's output
//     only claims the keys; nothing is deleted on the spot.
//   - collectBlobs deletes a blob whose claim is older than the grace
//     period and which no asset_blob_refs row names, inside a transaction
//     that first deletes its asset_blobs row: a concurrent claim of the
//     same key waits for it (row lock on PostgreSQL, the write lock on
//     SQLite) and then sees the blob gone.
//
// Rows removed by ON DELETE CASCADE (a deleted user's assets) take their
// asset_blob_refs with them, so their blobs are collected the same way.

// DefaultBlobGrace is how long an unreferenced blob is kept.
const DefaultBlobGrace = time.Hour

// gcBatch bounds the keys one collection pass looks at per query.
const gcBatch = 200

// errKeep rolls back a collection whose blob turned out to be in use.
var errKeep = errors.New("assets: blob in use")

// claimTx marks keys as in use from now on (see the comment above).
func claimTx(ctx context.Context, tx *store.Tx, now time.Time, keys ...string) error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO asset_blobs (blob_key, claimed_at) VALUES (?, ?)
			ON CONFLICT (blob_key) DO UPDATE SET claimed_at = excluded.claimed_at`, k, now); err != nil {
			return fmt.Errorf("claim blob: %w", err)
		}
	}
	return nil
}

// refsTx records that the asset uses keys.
func refsTx(ctx context.Context, tx *store.Tx, assetID string, keys ...string) error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO asset_blob_refs (asset_id, blob_key) VALUES (?, ?)
			ON CONFLICT (asset_id, blob_key) DO NOTHING`, assetID, k); err != nil {
			return fmt.Errorf("blob ref: %w", err)
		}
	}
	return nil
}

// keys lists every blob the row refers to.
func (r *record) keys() []string {
	keys := []string{r.SHA256, r.PreviewBlob, r.SpectrogramBlob}
	for _, k := range r.peaks() {
		keys = append(keys, k)
	}
	return keys
}

// claim marks keys as in use (its own transaction).
func (s *Store) claim(ctx context.Context, now time.Time, keys ...string) error {
	if err := s.db.WithTx(ctx, func(tx *store.Tx) error { return claimTx(ctx, tx, now, keys...) }); err != nil {
		return apperr.E("assets.claim", apperr.Internal, err)
	}
	return nil
}

// collectable returns up to limit keys claimed at or before cutoff that no
// asset refers to.
func (s *Store) collectable(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.blob_key FROM asset_blobs b WHERE b.claimed_at <= ?
		AND NOT EXISTS (SELECT 1 FROM asset_blob_refs r WHERE r.blob_key = b.blob_key)
		ORDER BY b.claimed_at, b.blob_key LIMIT ?`, cutoff, limit)
	if err != nil {
		return nil, fmt.Errorf("assets: collectable blobs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("assets: collectable blobs: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// collect deletes key's blob if it is still unclaimed since cutoff and
// unreferenced; the asset_blobs row is removed in the same transaction,
// which holds its lock while the blob goes. It reports whether the blob
// was deleted.
func (s *Store) collect(ctx context.Context, blobs blob.Store, key string, cutoff time.Time) (bool, error) {
	deleted := false
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		deleted = false
		res, err := tx.ExecContext(ctx, `DELETE FROM asset_blobs WHERE blob_key = ? AND claimed_at <= ?`, key, cutoff)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // claimed again meanwhile (or already collected)
		}
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM asset_blob_refs WHERE blob_key = ?`, key).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return errKeep
		}
		if blob.ValidKey(key) {
			if err := blobs.Delete(ctx, key); err != nil {
				return err
			}
		}
		deleted = true
		return nil
	})
	if errors.Is(err, errKeep) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("assets: collect blob %s: %w", key, err)
	}
	return deleted, nil
}

// CollectBlobs deletes every blob unreferenced and unclaimed for grace,
// and returns how many it deleted. Run calls it hourly with
// Config.BlobGrace.
func (s *Service) CollectBlobs(ctx context.Context, grace time.Duration) (int, error) {
	cutoff := s.now().Add(-grace)
	n := 0
	for {
		keys, err := s.st.collectable(ctx, cutoff, gcBatch)
		if err != nil {
			return n, err
		}
		progress := false
		for _, k := range keys {
			ok, err := s.st.collect(ctx, s.cfg.Blobs, k, cutoff)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progress = true
			}
		}
		if len(keys) < gcBatch || !progress {
			return n, nil
		}
	}
}

// errBlobGone is what a writer answers when a blob it was about to use
// was collected between its write and its claim (a retry writes it again).
var errBlobGone = apperr.E("assets", apperr.Unavailable, nil).WithCode("upload_retry").
	WithMsg("The upload collided with a cleanup; send it again.")

// claimExisting claims keys and checks that their blobs still exist.
func (s *Service) claimExisting(ctx context.Context, keys ...string) error {
	if err := s.st.claim(ctx, s.now(), keys...); err != nil {
		return err
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, err := s.cfg.Blobs.Stat(ctx, k); err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				return errBlobGone
			}
			return apperr.E("assets.claim", apperr.Internal, err)
		}
	}
	return nil
}

// releaseBlobs hands keys to the collector: they are deleted after the
// grace period unless an asset refers to them by then. A failure only
// leaves a blob behind.
func (s *Service) releaseBlobs(ctx context.Context, keys ...string) {
	if err := s.st.claim(context.WithoutCancel(ctx), s.now(), keys...); err != nil {
		s.cfg.Logger.Warn("assets: release blobs", "err", err)
	}
}
