package blob_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/blob/blobtest"
)

func TestLocal(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store {
		s, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestCleanTemp simulates a crash during Put: the temporary file stays
// behind, is not a blob, and CleanTemp removes it once it is old.
func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "tmp", "put-crashed")
	if err := os.WriteFile(leftover, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CleanTemp(time.Hour); err != nil || n != 0 {
		t.Errorf("fresh temp file: removed %d, %v", n, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(leftover, old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CleanTemp(time.Hour); err != nil || n != 1 {
		t.Errorf("old temp file: removed %d, %v", n, err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover still there: %v", err)
	}
}
