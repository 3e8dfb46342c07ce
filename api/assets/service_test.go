package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func newTestService(t *testing.T, db *store.DB, cfg Config) (*Service, Caller) {
	t.Helper()
	if cfg.Blobs == nil {
		bs, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Blobs = bs
	}
	cfg.TempDir = t.TempDir()
	cfg.Poll = 20 * time.Millisecond
	s, err := NewService(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
		VALUES ('u1', 'u1@example.com', 'U1', 'x', ?, ?)`, now, now); err != nil {
		t.Fatal(err)
	}
	return s, Caller{UserID: "u1"}
}

func wavBytes(t *testing.T, seconds float64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: 48000, Channels: 1, Format: audio.PCM16})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, int(seconds*48000))
	for i := range x {
		x[i] = 0.25 * math.Sin(2*math.Pi*1000*float64(i)/48000)
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitStatus(t *testing.T, s *Service, c Caller, id string, status string) *Asset {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := s.Get(context.Background(), c, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status == status {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("asset %s stays %s (error %v), want %s", id, a.Status, a.Error, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitJobStatus waits for the worker to record the job's outcome, which
// it does just after the job's handler has updated the asset.
func waitJobStatus(t *testing.T, s *Service, id, status string) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.q.Get(context.Background(), id)
		if err == nil && j.Status == status {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v (%v), want %s", j, err, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashMidJob: a worker claims the ingest job and dies (it never
// renews its lease). Until the lease runs out the asset stays processing
// with nothing half-written; then a live worker runs the job again and the
// asset turns ready in one step.
func TestCrashMidJob(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, c := newTestService(t, db, Config{})
		a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 1)), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.q.Claim(ctx, "crashed-worker", 300*time.Millisecond)
		if err != nil || j == nil || j.ID != *a.JobID {
			t.Fatalf("claim: %+v, %v", j, err)
		}
		run(t, s)
		time.Sleep(100 * time.Millisecond) // the lease still holds: nobody else runs the job
		got, err := s.Get(ctx, c, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusProcessing || got.PreviewReady || got.PeaksReady || got.Analysis != nil {
			t.Fatalf("during the dead worker's lease: %+v", got)
		}
		got = waitStatus(t, s, c, a.ID, StatusReady)
		if !got.PreviewReady || !got.PeaksReady || got.Analysis == nil {
			t.Errorf("ready but incomplete: %+v", got)
		}
		if done := waitJobStatus(t, s, j.ID, jobs.StatusDone); done.Attempts != 2 {
			t.Errorf("job after the retry: %+v", done)
		}
	})
}

// TestLostOnLastAttempt: a job whose worker dies on its last attempt
// fails, and so does its asset (with a message), rather than hanging in
// processing.
func TestLostOnLastAttempt(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, c := newTestService(t, db, Config{})
		a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 0.5)), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range maxAttempts {
			if j, err := s.q.Claim(ctx, "crashing", time.Millisecond); err != nil || j == nil {
				t.Fatalf("claim %d: %+v, %v", i, j, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if j, err := s.q.Claim(ctx, "next", time.Minute); err != nil || j != nil {
			t.Fatalf("claim after the last attempt: %+v, %v", j, err)
		}
		got := waitStatus(t, s, c, a.ID, StatusFailed)
		if got.Error == nil || *got.Error == "" {
			t.Errorf("failed without a message: %+v", got)
		}
	})
}

// TestMissingBlobFails: an ingest whose original vanished fails at once
// (no retry can help) and the asset says so.
func TestMissingBlobFails(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	s, c := newTestService(t, db, Config{})
	a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 0.5)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cfg.Blobs.Delete(ctx, a.SHA256); err != nil {
		t.Fatal(err)
	}
	run(t, s)
	got := waitStatus(t, s, c, a.ID, StatusFailed)
	if j := waitJobStatus(t, s, *got.JobID, jobs.StatusFailed); j.Attempts != 1 {
		t.Errorf("job %+v", j)
	}
}

// TestQuotaAndLimits: the per-user quota counts stored originals; bad
// filenames and announced sizes over the limit are refused before any
// byte is stored; project uploads need a projects service.
func TestQuotaAndLimits(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	wav := wavBytes(t, 0.5)
	s, c := newTestService(t, db, Config{QuotaBytes: int64(len(wav)) + 10, MaxUploadBytes: 1 << 20})
	if _, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wav), Size: int64(len(wav))}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   CreateInput
		code string
	}{
		{"quota", CreateInput{Filename: "b.wav", Body: bytes.NewReader(wav), Size: -1}, "quota_exceeded"},
		{"announced too large", CreateInput{Filename: "b.wav", Body: bytes.NewReader(nil), Size: 2 << 20}, "upload_too_large"},
		{"path in filename", CreateInput{Filename: "../", Body: bytes.NewReader(wav), Size: -1}, "invalid_filename"},
		{"control character", CreateInput{Filename: "a\x00.wav", Body: bytes.NewReader(wav), Size: -1}, "invalid_filename"},
		{"project without projects", CreateInput{Filename: "b.wav", ProjectID: "p1", Body: bytes.NewReader(wav), Size: -1}, "projects_unavailable"},
		{"body longer than announced", CreateInput{Filename: "b.wav", Body: bytes.NewReader(wav[:10]), Size: 5}, "incomplete_upload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(ctx, c, tt.in)
			if got := apperr.Code(err); got != tt.code {
				t.Errorf("code %q (%v), want %q", got, err, tt.code)
			}
		})
	}
	if name, err := cleanFilename(`C:\Users\me\Mix 01.wav`); err != nil || name != "Mix 01.wav" {
		t.Errorf("cleanFilename: %q, %v", name, err)
	}
}

// TestProcessValidation covers the request checks of POST …/process.
func TestProcessValidation(t *testing.T) {
	bad := []ProcessRequest{
		{},
		{Format: "mp3", NormalizeTo: "spotify"},
		{BitDepth: 32, NormalizeTo: "spotify"},
		{Operations: []Operation{{Type: "gain", GainDB: 100}}},
		{Operations: []Operation{{Type: "gain", GainDB: 1}, {Type: "gain", GainDB: 2}}},
		{Operations: []Operation{{Type: "eq", Bands: []EQBand{{Type: "notch", Hz: 100}}}}},
		{Operations: []Operation{{Type: "eq", Bands: []EQBand{{Type: "peaking", Hz: -1}}}}},
		{Operations: []Operation{{Type: "warmth"}}},
		{Operations: []Operation{{Type: "normalize"}}},
		{Operations: []Operation{{Type: "normalize", Platform: "spotify"}}, NormalizeTo: "spotify"},
		{Operations: []Operation{{Type: "fade", InMs: math.Inf(1)}}},
	}
	for i, req := range bad {
		if _, err := req.task(); apperr.Code(err) != "invalid_process" {
			t.Errorf("request %d %+v: %v", i, req, err)
		}
	}
	target, ceiling := -14.0, -1.0
	good, err := ProcessRequest{Format: "flac", Operations: []Operation{
		{Type: "eq", Bands: []EQBand{{Type: "highPass", Hz: 30}, {Type: "peaking", Hz: 3000, GainDB: 2, Q: 1}}},
		{Type: "compress", ThresholdDB: -20, Ratio: 3, AttackMs: 10, ReleaseMs: 100},
		{Type: "warmth", AmountDB: 3},
		{Type: "normalize", TargetLUFS: &target, CeilingDBTP: &ceiling},
	}}.task()
	if err != nil {
		t.Fatal(err)
	}
	if good.Format != "flac" || good.BitDepth != 24 || len(good.EQ) != 2 || good.Compressor == nil || good.SaturationDB != 3 ||
		good.Normalize == nil || *good.Normalize.TargetLUFS != -14 {
		t.Errorf("task %+v", good)
	}
}

// TestJobTimeLimit: an attempt that outlives Config.JobTimeout fails the
// job without retries and the asset says why.
func TestJobTimeLimit(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	s, c := newTestService(t, db, Config{JobTimeout: time.Millisecond})
	a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 1)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	got := waitStatus(t, s, c, a.ID, StatusFailed)
	if got.Error == nil || *got.Error != "processing took too long" {
		t.Errorf("error %v", got.Error)
	}
	if j := waitJobStatus(t, s, *got.JobID, jobs.StatusFailed); j.Attempts != 1 {
		t.Errorf("job %+v", j)
	}
}

// TestDurationLimit: audio longer than Config.MaxSeconds is refused at
// upload, and nothing stays in the blob store once the collector ran.
func TestDurationLimit(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	s, c := newTestService(t, db, Config{MaxSeconds: 1})
	wav := wavBytes(t, 1.5)
	_, err := s.Create(ctx, c, CreateInput{Filename: "long.wav", Body: bytes.NewReader(wav), Size: -1})
	if apperr.Code(err) != "audio_too_long" {
		t.Fatalf("got %v, want audio_too_long", err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := s.CollectBlobs(ctx, 0); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wav)
	if _, err := s.cfg.Blobs.Stat(ctx, hex.EncodeToString(sum[:])); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("refused upload left its blob: %v", err)
	}
}

// TestDeletedDuringIngest: an asset deleted while its ingest job runs
// gets no row back, and the job hands the derived blobs it wrote to the
// collector, which deletes them with the original (no row refers to it).
func TestDeletedDuringIngest(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	dir := t.TempDir()
	bs, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, c := newTestService(t, db, Config{Blobs: bs})
	a, err := s.Create(ctx, c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 0.5)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.q.Claim(ctx, "w", time.Minute)
	if err != nil || j == nil {
		t.Fatalf("claim: %v", err)
	}
	once := false
	progress := func(float64, string) {
		if !once { // the row goes while the job works; the original stays for the test
			once = true
			if _, err := db.ExecContext(ctx, `DELETE FROM assets WHERE id = ?`, a.ID); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := s.ingest(ctx, j, progress); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := s.CollectBlobs(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var files []string
	_ = filepath.WalkDir(filepath.Join(dir, "sha256"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, filepath.Base(p))
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("blobs left: %v, want none", files)
	}
}
