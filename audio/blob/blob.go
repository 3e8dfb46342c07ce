// Package blob stores uploaded audio and derived files (peaks, previews)
// content-addressed: a blob's key is the hex SHA-256 of its bytes, so the
// same upload is stored once and a key always names the same bytes.
//
// [Local] keeps blobs on the local disk. A blob appears only when it is
// complete: Put writes to a temporary file, syncs it and renames it into
// place, so a crash mid-write leaves no half-written blob (only a temporary
// file, which CleanTemp removes). Other stores (S3-compatible object
// storage) implement the same [Store] interface and run the same
// conformance suite, blobtest.TestStore.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Errors returned by stores.
var (
	ErrNotFound = errors.New("blob: not found")
	ErrTooLarge = errors.New("blob: larger than the limit")
	ErrBadKey   = errors.New("blob: malformed key")
)

// Ref names a stored blob.
type Ref struct {
	Key  string `json:"key"` // lowercase hex SHA-256
	Size int64  `json:"size"`
}

// Object is an open blob: seekable, so HTTP range requests can be served
// from it (http.ServeContent).
type Object interface {
	io.ReadSeekCloser
	Size() int64
}

// Store is a content-addressed blob store.
type Store interface {
	// Put stores everything r yields and returns its key. More than maxBytes
	// fails with ErrTooLarge and stores nothing.
	Put(ctx context.Context, r io.Reader, maxBytes int64) (Ref, error)
	// Open returns the blob, or ErrNotFound.
	Open(ctx context.Context, key string) (Object, error)
	// Stat returns the blob's size, or ErrNotFound.
	Stat(ctx context.Context, key string) (Ref, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
}

// ValidKey reports whether key is a lowercase hex SHA-256.
func ValidKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for _, c := range key {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Local is a Store in a directory: blobs at sha256/ab/cd/<key>, temporary
// files in tmp/.
type Local struct {
	dir string
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) a store rooted at dir.
func NewLocal(dir string) (*Local, error) {
	for _, d := range []string{dir, filepath.Join(dir, "tmp"), filepath.Join(dir, "sha256")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	return &Local{dir: dir}, nil
}

func (l *Local) path(key string) string {
	return filepath.Join(l.dir, "sha256", key[0:2], key[2:4], key)
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context //nolint:containedctx // lives for one io.Copy inside Put
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, r io.Reader, maxBytes int64) (ref Ref, err error) {
	if maxBytes < 0 {
		return Ref{}, fmt.Errorf("%w: negative limit", ErrTooLarge)
	}
	tmp, err := os.CreateTemp(filepath.Join(l.dir, "tmp"), "put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(ctxReader{ctx, r}, maxBytes+1))
	if err != nil {
		return Ref{}, fmt.Errorf("blob: write: %w", err)
	}
	if n > maxBytes {
		return Ref{}, fmt.Errorf("%w (%d bytes)", ErrTooLarge, maxBytes)
	}
	if err := tmp.Sync(); err != nil {
		return Ref{}, fmt.Errorf("blob: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Ref{}, fmt.Errorf("blob: close: %w", err)
	}
	ref = Ref{Key: hex.EncodeToString(h.Sum(nil)), Size: n}
	final := l.path(ref.Key)
	if _, err := os.Stat(final); err == nil {
		return ref, nil // already stored: same bytes, same key
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return Ref{}, fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Ref{}, fmt.Errorf("blob: rename: %w", err)
	}
	tmp = nil
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		_ = d.Sync() // make the rename durable where the filesystem supports it
		d.Close()
	}
	return ref, nil
}

type file struct {
	*os.File
	size int64
}

func (f file) Size() int64 { return f.size }

// Open implements Store.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	if !ValidKey(key) {
		return nil, ErrBadKey
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return file{f, st.Size()}, nil
}

// Stat implements Store.
func (l *Local) Stat(_ context.Context, key string) (Ref, error) {
	if !ValidKey(key) {
		return Ref{}, ErrBadKey
	}
	st, err := os.Stat(l.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return Ref{}, ErrNotFound
	}
	if err != nil {
		return Ref{}, fmt.Errorf("blob: %w", err)
	}
	return Ref{Key: key, Size: st.Size()}, nil
}

// Delete implements Store.
func (l *Local) Delete(_ context.Context, key string) error {
	if !ValidKey(key) {
		return ErrBadKey
	}
	if err := os.Remove(l.path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// CleanTemp removes temporary files older than age: what a crash during
// Put leaves behind. It returns how many it removed.
func (l *Local) CleanTemp(age time.Duration) (int, error) {
	entries, err := os.ReadDir(filepath.Join(l.dir, "tmp"))
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !strings.HasPrefix(e.Name(), "put-") || time.Since(info.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(l.dir, "tmp", e.Name())) == nil {
			n++
		}
	}
	return n, nil
}
