package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/internal/testenv"
)

// EnvS3 names the S3-compatible server the S3 tests use: the path of a
// versitygw binary (started per test on a random port with its posix
// backend in a temporary directory), or the http(s) URL of a running
// server, with credentials in MB_TEST_S3_ACCESS_KEY and
// MB_TEST_S3_SECRET_KEY. `make test` installs versitygw into ./bin and sets
// it.
const EnvS3 = "MB_TEST_S3"

// S3 returns options for a fresh, empty bucket on a real S3-compatible
// server. Without MB_TEST_S3 the test is skipped, or fails when CI=true.
func S3(tb testing.TB) blob.S3Options {
	tb.Helper()
	v := os.Getenv(EnvS3)
	if v == "" {
		testenv.Unavailable(tb, "%s is not set: set it to a versitygw binary (make s3-server) or an endpoint URL; the S3 store is tested against a real server", EnvS3)
	}
	opt := blob.S3Options{
		Region:       "us-east-1",
		PathStyle:    true,
		CreateBucket: true,
		TempDir:      tb.TempDir(),
		Bucket:       "mb-test-" + randHex(6),
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		opt.Endpoint = v
		opt.AccessKey = os.Getenv("MB_TEST_S3_ACCESS_KEY")
		opt.SecretKey = os.Getenv("MB_TEST_S3_SECRET_KEY")
		return opt
	}
	opt.Endpoint, opt.AccessKey, opt.SecretKey = startVersity(tb, v)
	return opt
}

// NewS3 is S3 followed by blob.NewS3.
func NewS3(tb testing.TB) *blob.S3 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := blob.NewS3(ctx, S3(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// One server per test binary is enough: each test gets its own bucket.
var versity struct {
	once     sync.Once
	endpoint string
	err      error
}

const versityAccess, versitySecret = "mbtestaccess", "mbtestsecret0123456789"

// startVersity runs `versitygw posix DIR` on a free loopback port for the
// rest of the test binary's life and waits until it answers.
func startVersity(tb testing.TB, bin string) (endpoint, access, secret string) {
	tb.Helper()
	versity.once.Do(func() {
		dir, err := os.MkdirTemp("", "mb-versitygw-*")
		if err != nil {
			versity.err = err
			return
		}
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			versity.err = err
			return
		}
		addr := l.Addr().String()
		l.Close()
		//nolint:gosec // G204: the binary comes from the test environment
		cmd := exec.CommandContext(context.Background(), bin, "--access", versityAccess, "--secret", versitySecret,
			"--port", addr, "posix", dir)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=", "ROOT_SECRET_ACCESS_KEY=")
		var out syncBuilder
		cmd.Stdout, cmd.Stderr = &out, &out
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			versity.err = fmt.Errorf("start %s: %w", bin, err)
			return
		}
		// The server lives as long as the test binary: StopServers ends it,
		// and on Linux the kernel kills it if the test binary dies first.
		go func() { _ = cmd.Wait() }()
		registerCleanup(func() {
			_ = cmd.Process.Kill()
			os.RemoveAll(dir)
		})
		endpoint := "http://" + addr
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, endpoint, nil)
			resp, err := http.DefaultClient.Do(req) //nolint:gosec // G107: our own loopback server
			if err == nil {
				resp.Body.Close()
				versity.endpoint = endpoint
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		versity.err = fmt.Errorf("versitygw did not answer on %s within 20s; output:\n%s", addr, out.String())
	})
	if versity.err != nil {
		tb.Fatal(versity.err)
	}
	return versity.endpoint, versityAccess, versitySecret
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func registerCleanup(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// StopServers stops the servers S3 started. Call it from TestMain after
// m.Run in packages that use S3 with a versitygw binary.
func StopServers() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for _, f := range cleanups {
		f()
	}
	cleanups = nil
}

// syncBuilder collects the server's output from its copier goroutines.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
