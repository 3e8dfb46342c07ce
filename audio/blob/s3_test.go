package blob_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/blob/blobtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	blobtest.StopServers()
	os.Exit(code)
}

// TestS3 runs the conformance suite on a real S3-compatible server
// (MB_TEST_S3: versitygw, or an endpoint), one fresh bucket per subtest.
func TestS3(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store { return blobtest.NewS3(t) })
}

// TestS3Ranges reads a large object (a multipart upload) back through
// seeks, as http.ServeContent does for range requests.
func TestS3Ranges(t *testing.T) {
	s := blobtest.NewS3(t)
	ctx := context.Background()
	data := make([]byte, 17<<20) // over minio-go's 16 MiB single-PUT size
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	ref, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Open(ctx, ref.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for _, off := range []int64{0, 1, 16 << 20, int64(len(data)) - 5} {
		if _, err := o.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(o, got); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if !bytes.Equal(got, data[off:off+5]) {
			t.Errorf("at %d: %x, want %x", off, got, data[off:off+5])
		}
	}
	if end, err := o.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
		t.Errorf("seek end: %d, %v", end, err)
	}
}

// TestS3Config refuses a missing bucket and a bad endpoint.
func TestS3Config(t *testing.T) {
	ctx := context.Background()
	if _, err := blob.NewS3(ctx, blob.S3Options{Endpoint: "ftp://x", Bucket: "b"}); err == nil {
		t.Error("ftp endpoint accepted")
	}
	opt := blobtest.S3(t)
	opt.CreateBucket = false
	if _, err := blob.NewS3(ctx, opt); err == nil {
		t.Error("missing bucket accepted")
	}
}
