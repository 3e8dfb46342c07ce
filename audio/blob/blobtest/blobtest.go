// Package blobtest is the conformance suite every blob.Store passes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/maxbooster/maxbooster/audio/blob"
)

// TestStore runs the suite against a fresh, empty store from newStore.
func TestStore(t *testing.T, newStore func(t *testing.T) blob.Store) {
	ctx := context.Background()
	t.Run("put open stat delete", func(t *testing.T) {
		s := newStore(t)
		data := bytes.Repeat([]byte("max booster "), 10000)
		ref, err := s.Put(ctx, bytes.NewReader(data), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if ref.Key != hex.EncodeToString(sum[:]) || ref.Size != int64(len(data)) {
			t.Errorf("ref %+v", ref)
		}
		o, err := s.Open(ctx, ref.Key)
		if err != nil {
			t.Fatal(err)
		}
		if o.Size() != int64(len(data)) {
			t.Errorf("size %d", o.Size())
		}
		// Seekable for range requests.
		if _, err := o.Seek(int64(len(data))-12, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		tail, _ := io.ReadAll(o)
		if string(tail) != "max booster " {
			t.Errorf("tail %q", tail)
		}
		o.Close()
		if st, err := s.Stat(ctx, ref.Key); err != nil || st != ref {
			t.Errorf("stat %+v, %v", st, err)
		}
		if err := s.Delete(ctx, ref.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, ref.Key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("open after delete: %v", err)
		}
		if err := s.Delete(ctx, ref.Key); err != nil {
			t.Errorf("second delete: %v", err)
		}
	})
	t.Run("same bytes, same key, stored once", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		refs := make([]blob.Ref, 8)
		errs := make([]error, 8)
		for i := range refs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				refs[i], errs[i] = s.Put(ctx, strings.NewReader("identical"), 100)
			}()
		}
		wg.Wait()
		for i := range refs {
			if errs[i] != nil || refs[i] != refs[0] {
				t.Errorf("put %d: %+v, %v", i, refs[i], errs[i])
			}
		}
	})
	t.Run("limit", func(t *testing.T) {
		s := newStore(t)
		data := []byte("0123456789")
		if _, err := s.Put(ctx, bytes.NewReader(data), 9); !errors.Is(err, blob.ErrTooLarge) {
			t.Errorf("over the limit: %v", err)
		}
		sum := sha256.Sum256(data)
		if _, err := s.Stat(ctx, hex.EncodeToString(sum[:])); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("a rejected blob exists: %v", err)
		}
		if _, err := s.Put(ctx, bytes.NewReader(data), 10); err != nil {
			t.Errorf("at the limit: %v", err)
		}
	})
	t.Run("failed reader stores nothing", func(t *testing.T) {
		s := newStore(t)
		r := io.MultiReader(strings.NewReader("partial"), errReader{})
		if _, err := s.Put(ctx, r, 100); err == nil {
			t.Fatal("put of a failing reader succeeded")
		}
		sum := sha256.Sum256([]byte("partial"))
		if _, err := s.Stat(ctx, hex.EncodeToString(sum[:])); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("partial blob exists: %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := newStore(t)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(c, strings.NewReader("x"), 10); !errors.Is(err, context.Canceled) {
			t.Errorf("canceled put: %v", err)
		}
	})
	t.Run("bad keys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("0", 63), strings.Repeat("g", 64)} {
			if _, err := s.Open(ctx, k); !errors.Is(err, blob.ErrBadKey) {
				t.Errorf("Open(%q): %v", k, err)
			}
			if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrBadKey) {
				t.Errorf("Delete(%q): %v", k, err)
			}
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
