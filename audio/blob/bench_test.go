package blob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/blob/blobtest"
)

// BenchmarkStores puts and reads back an 8 MiB blob (a typical stem) on
// the local store and, with MB_TEST_S3, on the S3 store, and reads a
// 64 KiB range as a seek-heavy range request would.
func BenchmarkStores(b *testing.B) {
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i*31 + i>>9)
	}
	stores := map[string]func(b *testing.B) blob.Store{
		"local": func(b *testing.B) blob.Store {
			s, err := blob.NewLocal(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"s3": func(b *testing.B) blob.Store { return blobtest.NewS3(b) },
	}
	for _, name := range []string{"local", "s3"} {
		b.Run(name, func(b *testing.B) {
			s := stores[name](b)
			ctx := context.Background()
			b.Run("put", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for i := 0; b.Loop(); i++ {
					data[0] = byte(i) // a new key every time
					if _, err := s.Put(ctx, bytes.NewReader(data), int64(len(data))); err != nil {
						b.Fatal(err)
					}
				}
			})
			ref, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)))
			if err != nil {
				b.Fatal(err)
			}
			b.Run("get", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					o, err := s.Open(ctx, ref.Key)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, o); err != nil {
						b.Fatal(err)
					}
					o.Close()
				}
			})
			b.Run("range64k", func(b *testing.B) {
				buf := make([]byte, 64<<10)
				for b.Loop() {
					o, err := s.Open(ctx, ref.Key)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := o.Seek(4<<20, io.SeekStart); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(o, buf); err != nil {
						b.Fatal(err)
					}
					o.Close()
				}
			})
		})
	}
}
