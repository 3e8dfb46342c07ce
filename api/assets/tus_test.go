package assets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// tusClient drives the module's routes in process as one user.
type tusClient struct {
	t   *testing.T
	mux *http.ServeMux
	c   Caller
}

func (tc *tusClient) do(method, path string, body []byte, kv ...string) *httptest.ResponseRecorder {
	tc.t.Helper()
	ctx := session.WithPrincipal(context.Background(), &session.Principal{User: session.User{ID: tc.c.UserID}})
	req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	req.Header.Set("Tus-Resumable", "1.0.0")
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	rec := httptest.NewRecorder()
	tc.mux.ServeHTTP(rec, req)
	return rec
}

// create starts an upload of size bytes; it returns the upload's id and
// its asset's.
func (tc *tusClient) create(size int, name string) (uploadID, assetID string) {
	tc.t.Helper()
	rec := tc.do("POST", UploadsPath, nil, "Upload-Length", strconv.Itoa(size), "Upload-Metadata", "filename "+b64(name))
	if rec.Code != http.StatusCreated {
		tc.t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	return loc[strings.LastIndex(loc, "/")+1:], rec.Header().Get(AssetIDHeader)
}

func (tc *tusClient) patch(uploadID string, off int, chunk []byte) *httptest.ResponseRecorder {
	tc.t.Helper()
	return tc.do("PATCH", UploadsPath+uploadID, chunk, "Upload-Offset", strconv.Itoa(off), "Content-Type", "application/offset+octet-stream")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAbandonedUploads: an unfinished upload that receives nothing for
// AbandonUploadsAfter is removed by the sweep, with its partial file and
// its share of the quota; one that received bytes meanwhile stays. Asking
// for the offset (HEAD) does not keep an upload alive. Files whose asset
// is gone are removed too.
func TestAbandonedUploads(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		s, c := newTestService(t, db, Config{UploadDir: dir, AbandonUploadsAfter: 6 * time.Hour})
		clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return clock }
		mux := http.NewServeMux()
		NewHandler(s).Routes(mux)
		tc := &tusClient{t: t, mux: mux, c: c}
		data := wavBytes(t, 0.2)

		stale, staleAsset := tc.create(len(data), "stale.wav")
		live, liveAsset := tc.create(len(data), "live.wav")
		for _, id := range []string{stale, live} {
			if rec := tc.patch(id, 0, data[:1000]); rec.Code != http.StatusNoContent {
				t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
			}
		}
		if used, err := s.st.usage(ctx, c.UserID); err != nil || used != int64(2*len(data)) {
			t.Fatalf("usage with two uploads in flight: %d, %v; want %d", used, err, 2*len(data))
		}

		clock = clock.Add(5 * time.Hour)
		if rec := tc.patch(live, 1000, data[1000:2000]); rec.Code != http.StatusNoContent {
			t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
		}
		clock = clock.Add(time.Hour + time.Minute) // stale: 6h01m without bytes; live: 1h01m
		if rec := tc.do("HEAD", UploadsPath+stale, nil); rec.Code != http.StatusOK || rec.Header().Get("Upload-Offset") != "1000" {
			t.Fatalf("HEAD: %d %v", rec.Code, rec.Header())
		}
		// A leftover without an asset (its asset deleted on another node).
		for _, f := range []string{"0123abcd", "0123abcd.info"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}

		n, err := s.sweepUploads(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v; want 1 upload removed", n, err)
		}
		if _, err := s.Get(ctx, c, staleAsset); apperr.Code(err) != "asset_not_found" {
			t.Errorf("abandoned upload's asset: %v", err)
		}
		for _, f := range []string{stale, stale + ".info", "0123abcd", "0123abcd.info"} {
			if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s after the sweep: %v", f, err)
			}
		}
		a, err := s.Get(ctx, c, liveAsset)
		if err != nil || a.Status != StatusUploading || a.UploadedBytes != 2000 {
			t.Fatalf("live upload's asset: %+v, %v", a, err)
		}
		if _, err := os.Stat(filepath.Join(dir, live+".info")); err != nil {
			t.Errorf("live upload's file: %v", err)
		}
		if used, err := s.st.usage(ctx, c.UserID); err != nil || used != int64(len(data)) {
			t.Errorf("usage after the sweep: %d, %v; want %d", used, err, len(data))
		}
		if rec := tc.patch(stale, 1000, data[1000:2000]); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "upload_not_found") {
			t.Errorf("PATCH of the abandoned upload: %d %s", rec.Code, rec.Body)
		}

		// The live upload finishes later under the same asset id.
		clock = clock.Add(time.Hour)
		rec := tc.patch(live, 2000, data[2000:])
		if rec.Code != http.StatusNoContent || rec.Header().Get(AssetIDHeader) != liveAsset {
			t.Fatalf("final PATCH: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		if a, err := s.Get(ctx, c, liveAsset); err != nil || a.Status != StatusProcessing || a.UploadedBytes != int64(len(data)) || a.SHA256 == "" {
			t.Fatalf("finished upload's asset: %+v, %v", a, err)
		}
		if _, err := os.Stat(filepath.Join(dir, live+".info")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("finished upload's file: %v", err)
		}
		// A finished asset is no upload: the sweep leaves it alone.
		clock = clock.Add(7 * time.Hour)
		if n, err := s.sweepUploads(ctx); err != nil || n != 0 {
			t.Fatalf("second sweep: %d, %v", n, err)
		}
		if _, err := s.Get(ctx, c, liveAsset); err != nil {
			t.Errorf("finished asset after the sweep: %v", err)
		}
	})
}

// TestFinishedUploadRefused: an upload whose bytes are not audio ends
// with the error, and its asset (same id) is failed with the reason; its
// files go.
func TestFinishedUploadRefused(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		s, c := newTestService(t, db, Config{UploadDir: dir})
		mux := http.NewServeMux()
		NewHandler(s).Routes(mux)
		tc := &tusClient{t: t, mux: mux, c: c}
		junk := bytes.Repeat([]byte("not audio "), 300)
		id, assetID := tc.create(len(junk), "notes.wav")
		rec := tc.patch(id, 0, junk)
		if rec.Code != http.StatusUnsupportedMediaType || !strings.Contains(rec.Body.String(), "UNSUPPORTED_FORMAT") {
			t.Fatalf("final PATCH of junk: %d %s", rec.Code, rec.Body)
		}
		a, err := s.Get(context.Background(), c, assetID)
		if err != nil || a.Status != StatusFailed || a.Error == nil || !strings.Contains(*a.Error, "not an audio file") {
			t.Fatalf("refused upload's asset: %+v, %v", a, err)
		}
		if _, err := os.Stat(filepath.Join(dir, id+".info")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("refused upload's file: %v", err)
		}
	})
}

// TestUploadAfterProjectAccessLost: an editor starts an upload into a
// project and is removed before it finishes: the last PATCH is refused
// and the asset, still in the project, is failed with the reason.
func TestUploadAfterProjectAccessLost(t *testing.T) {
	db := storetest.OpenSQLite(t)
	access := roles{"u1/p": RoleEditor}
	s, c := newTestService(t, db, Config{Projects: access, UploadDir: t.TempDir()})
	mux := http.NewServeMux()
	NewHandler(s).Routes(mux)
	tc := &tusClient{t: t, mux: mux, c: c}
	data := wavBytes(t, 0.2)
	rec := tc.do("POST", UploadsPath, nil, "Upload-Length", strconv.Itoa(len(data)),
		"Upload-Metadata", "filename "+b64("stem.wav")+",projectId "+b64("p"))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	loc, assetID := rec.Header().Get("Location"), rec.Header().Get(AssetIDHeader)
	id := loc[strings.LastIndex(loc, "/")+1:]
	if rec := tc.patch(id, 0, data[:1000]); rec.Code != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
	}
	delete(access, "u1/p")
	rec = tc.patch(id, 1000, data[1000:])
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "PROJECT_FORBIDDEN") {
		t.Fatalf("final PATCH after removal: %d %s", rec.Code, rec.Body)
	}
	var status, msg string
	if err := db.QueryRowContext(context.Background(), `SELECT status, error FROM assets WHERE id = ?`, assetID).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != StatusFailed || msg != "You may no longer add assets to the project." {
		t.Errorf("asset %s: %q", status, msg)
	}
}
