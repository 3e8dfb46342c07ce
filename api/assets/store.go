package assets

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// record is one row of the assets table.
type record struct {
	ID, OwnerID, Filename, ContentType, SHA256, Status string
	ProjectID, Error, JobID, UploadID, SourceAssetID   sql.NullString
	Size, UploadedBytes                                int64
	Metadata, Tags, Analysis                           string // JSON, "" until known
	PreviewBlob, Peaks, SpectrogramBlob                string // Peaks: JSON map spp → key
	CreatedAt, UpdatedAt                               time.Time
}

// peaks decodes the zoom-level map (samples per pixel → blob key).
func (r *record) peaks() map[int]string {
	if r.Peaks == "" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(r.Peaks), &m) != nil {
		return nil
	}
	out := make(map[int]string, len(m))
	for k, v := range m {
		if n, err := strconv.Atoi(k); err == nil {
			out[n] = v
		}
	}
	return out
}

func nullable(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	s := ns.String
	return &s
}

func decodeInto[T any](s string) *T {
	if s == "" {
		return nil
	}
	v := new(T)
	if json.Unmarshal([]byte(s), v) != nil {
		return nil
	}
	return v
}

// asset is the API view of the row.
func (r *record) asset() Asset {
	a := Asset{
		ID: r.ID, OwnerID: r.OwnerID, ProjectID: nullable(r.ProjectID), Filename: r.Filename,
		ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256, Status: r.Status,
		Error: nullable(r.Error), CreatedAt: r.CreatedAt, SourceAssetID: nullable(r.SourceAssetID),
		JobID: nullable(r.JobID), Metadata: decodeInto[Metadata](r.Metadata), Tags: decodeInto[Tags](r.Tags),
		Analysis: decodeInto[Analysis](r.Analysis), PreviewReady: r.PreviewBlob != "",
		PeaksLevels: []int{}, UploadedBytes: r.Size,
	}
	if r.Status == StatusUploading {
		a.UploadedBytes = r.UploadedBytes
	}
	for spp := range r.peaks() {
		a.PeaksLevels = append(a.PeaksLevels, spp)
	}
	sort.Ints(a.PeaksLevels)
	a.PeaksReady = len(a.PeaksLevels) > 0
	return a
}

// Store is the SQL of the module.
type Store struct {
	db *store.DB
}

// NewStore returns the store on db (migrated: assets exists).
func NewStore(db *store.DB) *Store { return &Store{db: db} }

const recordCols = `id, owner_id, project_id, filename, content_type, size, sha256, status, error, job_id, upload_id,
	source_asset_id, metadata, tags, analysis, preview_blob, peaks, spectrogram_blob, created_at, updated_at, uploaded_bytes`

func scanRecord(row interface{ Scan(...any) error }) (*record, error) {
	var r record
	if err := row.Scan(&r.ID, &r.OwnerID, &r.ProjectID, &r.Filename, &r.ContentType, &r.Size, &r.SHA256, &r.Status,
		&r.Error, &r.JobID, &r.UploadID, &r.SourceAssetID, &r.Metadata, &r.Tags, &r.Analysis, &r.PreviewBlob,
		&r.Peaks, &r.SpectrogramBlob, &r.CreatedAt, &r.UpdatedAt, &r.UploadedBytes); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

func ns(p *string) sql.NullString {
	if p == nil || *p == "" {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

// insert adds a row and records the blobs it refers to, in one
// transaction. With ignoreDuplicate, an existing row with the same id is
// left alone (a retried job inserting its result again). The caller has
// claimed the row's blobs (Service.claimExisting).
func (s *Store) insert(ctx context.Context, r *record, ignoreDuplicate bool) error {
	q := `INSERT INTO assets (` + recordCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if ignoreDuplicate {
		q += ` ON CONFLICT (id) DO NOTHING`
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, q, r.ID, r.OwnerID, r.ProjectID, r.Filename, r.ContentType, r.Size, r.SHA256,
			r.Status, r.Error, r.JobID, r.UploadID, r.SourceAssetID, r.Metadata, r.Tags, r.Analysis, r.PreviewBlob,
			r.Peaks, r.SpectrogramBlob, r.CreatedAt, r.UpdatedAt, r.UploadedBytes)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // a duplicate left alone: its refs are there
		}
		return refsTx(ctx, tx, r.ID, r.keys()...)
	})
	if err != nil {
		if store.IsUniqueViolation(err) {
			return apperr.E("assets.insert", apperr.Conflict, err).WithCode("asset_exists")
		}
		return apperr.E("assets.insert", apperr.Internal, err)
	}
	return nil
}

// get returns a row, or errNotFound.
func (s *Store) get(ctx context.Context, id string) (*record, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+recordCols+` FROM assets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, apperr.E("assets.get", apperr.Internal, err)
	}
	return r, nil
}

// byUpload returns the asset of a tus upload (uploading, or made from it).
func (s *Store) byUpload(ctx context.Context, uploadID string) (*record, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+recordCols+` FROM assets WHERE upload_id = ?`, uploadID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUploadNotFound
	}
	if err != nil {
		return nil, apperr.E("assets.byUpload", apperr.Internal, err)
	}
	return r, nil
}

// list returns up to limit assets, newest first: those of a project, or
// the owner's own (project ones included) when projectID is "".
func (s *Store) list(ctx context.Context, ownerID, projectID string, limit int) ([]*record, error) {
	q, arg := `SELECT `+recordCols+` FROM assets WHERE owner_id = ? ORDER BY created_at DESC, id LIMIT ?`, ownerID
	if projectID != "" {
		q, arg = `SELECT `+recordCols+` FROM assets WHERE project_id = ? ORDER BY created_at DESC, id LIMIT ?`, projectID
	}
	return s.records(ctx, "assets.list", q, arg, limit)
}

// records runs a query of recordCols and scans every row; op names the
// operation in errors.
func (s *Store) records(ctx context.Context, op, q string, args ...any) ([]*record, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, apperr.E(op, apperr.Internal, err)
	}
	defer rows.Close()
	var out []*record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, apperr.E(op, apperr.Internal, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.E(op, apperr.Internal, err)
	}
	return out, nil
}

// usage is the bytes of the owner's assets: originals, and the sizes
// unfinished uploads announced (their rows hold them from creation on).
func (s *Store) usage(ctx context.Context, ownerID string) (int64, error) {
	var n sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT SUM(size) FROM assets WHERE owner_id = ?`, ownerID).Scan(&n); err != nil {
		return 0, apperr.E("assets.usage", apperr.Internal, err)
	}
	return n.Int64, nil
}

// setJob records the job that analyses the asset.
func (s *Store) setJob(ctx context.Context, id, jobID string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE assets SET job_id = ?, updated_at = ? WHERE id = ?`, jobID, now, id)
	if err != nil {
		return apperr.E("assets.setJob", apperr.Internal, err)
	}
	return nil
}

// unqueued returns processing assets that never got a job (a crash
// between the insert and the enqueue), created before the given time.
func (s *Store) unqueued(ctx context.Context, before time.Time) ([]*record, error) {
	return s.records(ctx, "assets.unqueued", `SELECT `+recordCols+` FROM assets WHERE status = ? AND job_id IS NULL
		AND created_at < ? LIMIT 1000`, StatusProcessing, before)
}

// markReady stores the analysis and derived blobs of a processing asset
// in one statement, with the refs of the blobs; an asset that is no
// longer processing (or was deleted) is left alone, and updated is false.
func (s *Store) markReady(ctx context.Context, r *record, now time.Time) (updated bool, err error) {
	return s.updateWithRefs(ctx, "assets.markReady", r.ID, r.keys(), `UPDATE assets SET status = ?, error = NULL, metadata = ?, tags = ?, analysis = ?,
		preview_blob = ?, peaks = ?, spectrogram_blob = ?, updated_at = ? WHERE id = ? AND status = ?`,
		StatusReady, r.Metadata, r.Tags, r.Analysis, r.PreviewBlob, r.Peaks, r.SpectrogramBlob, now, r.ID, StatusProcessing)
}

// updateWithRefs runs the UPDATE q and, when it changed the row, records
// that asset id refers to the blobs keys, in one transaction. updated is
// false when q changed nothing (the row left the status q expects).
func (s *Store) updateWithRefs(ctx context.Context, op, id string, keys []string, q string, args ...any) (updated bool, err error) {
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		updated = false
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		updated = true
		return refsTx(ctx, tx, id, keys...)
	})
	if err != nil {
		return false, apperr.E(op, apperr.Internal, err)
	}
	return updated, nil
}

// markFailed records why an asset in status from (processing: it could
// not be analysed; uploading: the finished upload did not become an
// asset) failed; an asset no longer in that status is left alone.
func (s *Store) markFailed(ctx context.Context, id, from, msg string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE assets SET status = ?, error = ?, updated_at = ? WHERE id = ? AND status = ?`,
		StatusFailed, msg, now, id, from)
	if err != nil {
		return apperr.E("assets.markFailed", apperr.Internal, err)
	}
	return nil
}

// delete removes the row (its asset_blob_refs go with it) and hands its
// blobs to the collector, in one transaction: they are deleted after the
// grace period unless another asset refers to them by then.
func (s *Store) delete(ctx context.Context, r *record, now time.Time) error {
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE id = ?`, r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFound
		}
		return claimTx(ctx, tx, now, r.keys()...)
	})
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return err
		}
		return apperr.E("assets.delete", apperr.Internal, fmt.Errorf("delete %s: %w", r.ID, err))
	}
	return nil
}

// uploading counts the owner's unfinished tus uploads.
func (s *Store) uploading(ctx context.Context, ownerID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets WHERE owner_id = ? AND status = ?`,
		ownerID, StatusUploading).Scan(&n); err != nil {
		return 0, apperr.E("assets.uploading", apperr.Internal, err)
	}
	return n, nil
}

// received records that an unfinished upload holds n bytes, as of now.
// found is false when its asset is gone (deleted or abandoned) or no
// longer uploading.
func (s *Store) received(ctx context.Context, uploadID string, n int64, now time.Time) (found bool, err error) {
	return s.changed(ctx, "assets.received", `UPDATE assets SET uploaded_bytes = ?, updated_at = ? WHERE upload_id = ? AND status = ?`,
		n, now, uploadID, StatusUploading)
}

// changed runs q and reports whether it changed a row.
func (s *Store) changed(ctx context.Context, op, q string, args ...any) (bool, error) {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return false, apperr.E(op, apperr.Internal, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, apperr.E(op, apperr.Internal, err)
	}
	return n > 0, nil
}

// resync sets an unfinished upload's bytes and size from tusd's file info.
// updated_at (what abandonment is measured from) moves only when the
// bytes changed: asking for the offset does not keep an upload alive.
func (s *Store) resync(ctx context.Context, uploadID string, n, size int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE assets SET updated_at = CASE WHEN uploaded_bytes = ? THEN updated_at ELSE ? END,
		uploaded_bytes = ?, size = ? WHERE upload_id = ? AND status = ?`, n, now, n, size, uploadID, StatusUploading)
	if err != nil {
		return apperr.E("assets.resync", apperr.Internal, err)
	}
	return nil
}

// promote turns an uploading row into the processing asset of its
// finished upload (r carries the blob, size, type and metadata), with the
// original's blob ref, in one transaction. updated is false when the row
// is no longer uploading (deleted, abandoned, or finished by a retry).
func (s *Store) promote(ctx context.Context, r *record, now time.Time) (updated bool, err error) {
	return s.updateWithRefs(ctx, "assets.promote", r.ID, []string{r.SHA256}, `UPDATE assets SET status = ?, error = NULL, sha256 = ?, size = ?, uploaded_bytes = ?,
		content_type = ?, metadata = ?, updated_at = ? WHERE id = ? AND status = ?`,
		StatusProcessing, r.SHA256, r.Size, r.Size, r.ContentType, r.Metadata, now, r.ID, StatusUploading)
}

// abandoned returns up to limit unfinished uploads that received no bytes
// since before.
func (s *Store) abandoned(ctx context.Context, before time.Time, limit int) ([]*record, error) {
	return s.records(ctx, "assets.abandoned", `SELECT `+recordCols+` FROM assets WHERE status = ? AND updated_at < ?
		ORDER BY updated_at, id LIMIT ?`, StatusUploading, before, limit)
}

// dropUploading deletes an unfinished upload's row if it is still
// uploading and, unless before is zero, received nothing since before.
// An uploading row refers to no blob, so nothing is handed to the
// collector.
func (s *Store) dropUploading(ctx context.Context, id string, before time.Time) (bool, error) {
	q, args := `DELETE FROM assets WHERE id = ? AND status = ?`, []any{id, StatusUploading}
	if !before.IsZero() {
		q, args = q+` AND updated_at < ?`, append(args, before)
	}
	return s.changed(ctx, "assets.dropUploading", q, args...)
}
