package assets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// hookStore runs afterPut once a Put has stored its blob, before the
// caller sees the result: the moment a concurrent delete hurts most.
type hookStore struct {
	blob.Store
	afterPut func()
}

func (h *hookStore) Put(ctx context.Context, r io.Reader, maxBytes int64) (blob.Ref, error) {
	ref, err := h.Store.Put(ctx, r, maxBytes)
	if err == nil && h.afterPut != nil {
		f := h.afterPut
		h.afterPut = nil
		f()
	}
	return ref, err
}

func newHookService(t *testing.T, db *store.DB) (*Service, *hookStore, Caller) {
	t.Helper()
	local, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hs := &hookStore{Store: local}
	s, c := newTestService(t, db, Config{Blobs: hs})
	return s, hs, c
}

func readOriginal(t *testing.T, s *Service, c Caller, id string) error {
	t.Helper()
	o, _, err := s.Open(context.Background(), c, id, BlobOriginal)
	if err != nil {
		return err
	}
	defer o.Close()
	_, err = io.Copy(io.Discard, o)
	return err
}

// TestDeleteRacesUploadOfSameBytes: asset A is deleted while an upload of
// the same bytes has stored its (shared) blob but not yet inserted its
// row. The new asset must keep its file, through a collection too.
func TestDeleteRacesUploadOfSameBytes(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, hs, c := newHookService(t, db)
		wav := wavBytes(t, 0.2)
		a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wav), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		hs.afterPut = func() {
			if err := s.Delete(ctx, c, a.ID); err != nil {
				t.Errorf("delete a: %v", err)
			}
		}
		b, err := s.Create(ctx, c, CreateInput{Filename: "b.wav", Body: bytes.NewReader(wav), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := readOriginal(t, s, c, b.ID); err != nil {
			t.Fatalf("b's file after a's delete: %v", err)
		}
		if _, err := s.CollectBlobs(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if err := readOriginal(t, s, c, b.ID); err != nil {
			t.Fatalf("b's file after a collection: %v", err)
		}
	})
}

// TestCollectedBeforeClaim: the collector removes the shared blob between
// the upload's Put and its claim. The upload must fail (retryable), not
// create an asset without a file.
func TestCollectedBeforeClaim(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, hs, c := newHookService(t, db)
		wav := wavBytes(t, 0.2)
		a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wav), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		hs.afterPut = func() {
			if err := s.Delete(ctx, c, a.ID); err != nil {
				t.Errorf("delete a: %v", err)
			}
			time.Sleep(2 * time.Millisecond) // the claim is strictly before the cutoff
			if n, err := s.CollectBlobs(ctx, 0); err != nil || n != 1 {
				t.Errorf("collect: %d, %v; want 1 blob", n, err)
			}
		}
		_, err = s.Create(ctx, c, CreateInput{Filename: "b.wav", Body: bytes.NewReader(wav), Size: -1})
		if apperr.Code(err) != "upload_retry" {
			t.Fatalf("create over a collected blob: %v, want upload_retry", err)
		}
		l, err := s.List(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Assets) != 0 {
			t.Errorf("assets left: %+v", l.Assets)
		}
		// Sent again, it works.
		b, err := s.Create(ctx, c, CreateInput{Filename: "b.wav", Body: bytes.NewReader(wav), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := readOriginal(t, s, c, b.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCollectDeletedUsersBlobs: deleting a user removes their asset rows
// by ON DELETE CASCADE; the collector then deletes their blobs, after the
// grace period only.
func TestCollectDeletedUsersBlobs(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _, c := newHookService(t, db)
		a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 0.2)), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, c.UserID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CollectBlobs(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("collect within the grace period: %d, %v; want 0", n, err)
		}
		if _, err := s.cfg.Blobs.Stat(ctx, a.SHA256); err != nil {
			t.Fatalf("blob gone within the grace period: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
		if n, err := s.CollectBlobs(ctx, 0); err != nil || n != 1 {
			t.Fatalf("collect: %d, %v; want 1", n, err)
		}
		if _, err := s.cfg.Blobs.Stat(ctx, a.SHA256); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("deleted user's blob still stored: %v", err)
		}
	})
}

// TestJobErrorsArePublic: what the pool stored as a job's error (a
// wrapped internal error with a path, a panic, its timeout text) reaches
// the client only as one of the messages written for clients.
func TestJobErrorsArePublic(t *testing.T) {
	tests := []struct{ stored, want string }{
		{"blob: open /srv/maxbooster/blobs/sha256/ab/cd/abcd: permission denied", "processing failed"},
		{"handler panicked: runtime error: index out of range [3] with length 2", "processing failed"},
		{"took longer than 10m0s", "processing took too long"},
		{"unsupported codec", "unsupported codec"},
		{"the asset was deleted", "the asset was deleted"},
	}
	for _, tt := range tests {
		v := jobView(&jobs.Job{ID: "j", Kind: kindIngest, Status: jobs.StatusFailed, Input: `{"assetId":"a"}`, Error: tt.stored})
		if v.Error == nil || *v.Error != tt.want {
			t.Errorf("job error %q shown as %v, want %q", tt.stored, v.Error, tt.want)
		}
	}
}

// roles is a ProjectAccess from a map of "user/project" to role.
type roles map[string]string

func (m roles) Access(_ context.Context, userID, projectID string) (string, error) {
	if r, ok := m[userID+"/"+projectID]; ok {
		return r, nil
	}
	return "", apperr.E("test", apperr.NotFound, nil)
}

// TestRemovedUploaderCannotChangeProjectAsset: an editor uploads into a
// project and is then removed (or demoted to viewer): they still read
// their upload but no longer delete or process the project's asset.
func TestRemovedUploaderCannotChangeProjectAsset(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	access := roles{"u1/p": RoleEditor}
	s, c := newTestService(t, db, Config{Projects: access})
	a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", ProjectID: "p", Body: bytes.NewReader(wavBytes(t, 0.2)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{RoleViewer, ""} {
		if role == "" {
			delete(access, "u1/p")
		} else {
			access["u1/p"] = role
		}
		if _, err := s.Get(ctx, c, a.ID); err != nil {
			t.Errorf("role %q: the uploader cannot read their upload: %v", role, err)
		}
		if err := s.Delete(ctx, c, a.ID); apperr.Code(err) != "asset_forbidden" {
			t.Errorf("role %q: delete: %v, want asset_forbidden", role, err)
		}
	}
	access["u1/p"] = RoleEditor
	if err := s.Delete(ctx, c, a.ID); err != nil {
		t.Errorf("editor deletes: %v", err)
	}
}

// TestProcessAfterAccessLost: a process job queued by an editor who is
// then removed from the project adds nothing to it.
func TestProcessAfterAccessLost(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	access := roles{"u1/p": RoleEditor}
	s, c := newTestService(t, db, Config{Projects: access})
	a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", ProjectID: "p", Body: bytes.NewReader(wavBytes(t, 0.2)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	ingest, err := s.q.Claim(ctx, "w", time.Minute)
	if err != nil || ingest == nil {
		t.Fatalf("claim ingest: %v", err)
	}
	if _, err := s.ingest(ctx, ingest, func(float64, string) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Process(ctx, c, a.ID, ProcessRequest{Operations: []Operation{{Type: "gain", GainDB: -3}}}); err != nil {
		t.Fatal(err)
	}
	delete(access, "u1/p")
	var job *jobs.Job
	for job == nil || job.Kind != kindProcess {
		if job, err = s.q.Claim(ctx, "w", time.Minute); err != nil || job == nil {
			t.Fatalf("claim process: %v", err)
		}
	}
	_, err = s.process(ctx, job, func(float64, string) {})
	t.Logf("process: %v", err)
	if err == nil || !jobs.IsPermanent(err) {
		t.Fatalf("process after removal: %v, want a permanent failure", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets WHERE project_id = 'p'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d assets in the project (%v), want only the source", n, err)
	}
}
