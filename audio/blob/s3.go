package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure an S3-compatible store (AWS S3, MinIO, Ceph RGW,
// SeaweedFS, versitygw, R2, ...).
type S3Options struct {
	// Endpoint is the server's URL, e.g. https://s3.eu-west-1.amazonaws.com
	// or http://127.0.0.1:7070. An http:// endpoint turns TLS off.
	Endpoint string
	// Bucket must exist unless CreateBucket is set.
	Bucket string
	// Region is the signing region ("" means us-east-1).
	Region string
	// AccessKey and SecretKey are static credentials.
	AccessKey, SecretKey string
	// PathStyle addresses the bucket as endpoint/bucket/key instead of
	// bucket.endpoint/key (MinIO, versitygw and most self-hosted servers
	// need it).
	PathStyle bool
	// Prefix is put before every object name ("" means none), so several
	// deployments can share one bucket.
	Prefix string
	// TempDir holds the spool file Put hashes a blob into before uploading
	// it ("" means os.TempDir()).
	TempDir string
	// CreateBucket creates the bucket when it does not exist.
	CreateBucket bool
	// Transport, if set, carries the requests (tests, proxies).
	Transport http.RoundTripper
}

// S3 is a Store in an S3-compatible bucket: blobs are objects named
// <prefix>sha256/ab/cd/<key>. Put first spools the bytes to a local
// temporary file while hashing them (the key is the hash, so it is known
// only at the end), then uploads the object under its final name. S3
// makes an object visible only once its upload completes (a multipart
// upload is aborted on error), so a failed or interrupted Put leaves no
// partial blob.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
	tmp    string
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket and checks that it exists (or creates it,
// with CreateBucket).
func NewS3(ctx context.Context, opt S3Options) (*S3, error) {
	u, err := url.Parse(opt.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("blob: s3 endpoint %q: want http(s)://host[:port]", opt.Endpoint)
	}
	if opt.Bucket == "" {
		return nil, errors.New("blob: s3 bucket is empty")
	}
	lookup := minio.BucketLookupAuto
	if opt.PathStyle {
		lookup = minio.BucketLookupPath
	}
	region := opt.Region
	if region == "" {
		region = "us-east-1"
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(opt.AccessKey, opt.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       region,
		BucketLookup: lookup,
		Transport:    opt.Transport,
		MaxRetries:   3,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %w", err)
	}
	ok, err := c.BucketExists(ctx, opt.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: s3: bucket %s: %w", opt.Bucket, err)
	}
	if !ok {
		if !opt.CreateBucket {
			return nil, fmt.Errorf("blob: s3: bucket %s does not exist", opt.Bucket)
		}
		if err := c.MakeBucket(ctx, opt.Bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			return nil, fmt.Errorf("blob: s3: create bucket %s: %w", opt.Bucket, err)
		}
	}
	return &S3{c: c, bucket: opt.Bucket, prefix: opt.Prefix, tmp: opt.TempDir}, nil
}

func (s *S3) name(key string) string {
	return s.prefix + "sha256/" + key[0:2] + "/" + key[2:4] + "/" + key
}

func isNoSuchKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.Code == "NotFound" || r.StatusCode == http.StatusNotFound
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, r io.Reader, maxBytes int64) (Ref, error) {
	if maxBytes < 0 {
		return Ref{}, fmt.Errorf("%w: negative limit", ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return Ref{}, err
	}
	tmp, err := os.CreateTemp(s.tmp, "s3put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(ctxReader{ctx, r}, maxBytes+1))
	if err != nil {
		return Ref{}, fmt.Errorf("blob: write: %w", err)
	}
	if n > maxBytes {
		return Ref{}, fmt.Errorf("%w (%d bytes)", ErrTooLarge, maxBytes)
	}
	ref := Ref{Key: hex.EncodeToString(h.Sum(nil)), Size: n}
	if st, err := s.Stat(ctx, ref.Key); err == nil && st.Size == n {
		return ref, nil // already stored: same bytes, same key
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Ref{}, fmt.Errorf("blob: %w", err)
	}
	if _, err := s.c.PutObject(ctx, s.bucket, s.name(ref.Key), ctxReader{ctx, tmp}, n, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
	}); err != nil {
		if ctx.Err() != nil {
			return Ref{}, ctx.Err()
		}
		return Ref{}, fmt.Errorf("blob: s3 put: %w", err)
	}
	return ref, nil
}

// s3Object is an open object: minio's Object reads lazily and turns each
// Seek into a ranged GET, which is what http.ServeContent needs.
type s3Object struct {
	*minio.Object
	size int64
}

func (o s3Object) Size() int64 { return o.size }

// Open implements Store.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	st, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	o, err := s.c.GetObject(ctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blob: s3 get: %w", err)
	}
	return s3Object{o, st.Size}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Ref, error) {
	if !ValidKey(key) {
		return Ref{}, ErrBadKey
	}
	info, err := s.c.StatObject(ctx, s.bucket, s.name(key), minio.StatObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return Ref{}, ErrNotFound
		}
		return Ref{}, fmt.Errorf("blob: s3 stat: %w", err)
	}
	return Ref{Key: key, Size: info.Size}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return ErrBadKey
	}
	if err := s.c.RemoveObject(ctx, s.bucket, s.name(key), minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("blob: s3 delete: %w", err)
	}
	return nil
}

// String describes the store for logs (no credentials).
func (s *S3) String() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}
