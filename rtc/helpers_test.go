package rtc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/rtc"
)

// env is a signalling server on httptest with its own engine, and a client
// engine on another loopback port.
type env struct {
	srv    *rtc.Server
	eng    *rtc.Engine
	client *rtc.Engine
	http   *httptest.Server
	assets *memAssets
	blobs  *memBlobs
	docs   *memDocs
}

// token makes a room token the test Verify accepts.
func token(user, project, role string) string { return user + ":" + project + ":" + role }

func verify(_ context.Context, tok string) (rtc.Grant, error) {
	f := strings.Split(tok, ":")
	if len(f) != 3 {
		return rtc.Grant{}, errors.New("bad token")
	}
	return rtc.Grant{UserID: f[0], ProjectID: f[1], Role: f[2]}, nil
}

// newEngines returns a server's engine and an ephemeral one for its
// test clients.
func newEngines(t testing.TB) (server, client *rtc.Engine) {
	t.Helper()
	server, err := rtc.NewEngine(rtc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	client, err = rtc.NewEngine(rtc.Config{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

func newEnv(t testing.TB, lim rtc.Limits, configure ...func(*rtc.Options)) *env {
	t.Helper()
	eng, client := newEngines(t)
	e := &env{eng: eng, client: client, assets: &memAssets{previews: map[string][]byte{}, audio: map[string][]byte{}},
		blobs: &memBlobs{m: map[string][]byte{}}, docs: &memDocs{docs: map[string]*crdt.Doc{}}}
	opts := rtc.Options{Engine: eng, Verify: verify, Assets: e.assets, Recordings: e.blobs, Docs: e.docs, Limits: lim}
	for _, f := range configure {
		f(&opts)
	}
	var err error
	e.srv, err = rtc.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /rtc/{projectId}", e.srv)
	e.http = httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
		e.http.Close()
		_ = eng.Close()
		_ = client.Close()
		e.docs.close()
	})
	return e
}

func (e *env) url(project, tok string) string {
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + "/rtc/" + project
	if tok != "" {
		u += "?token=" + tok
	}
	return u
}

// dial joins project as user with mode and opts.
func (e *env) dial(t testing.TB, project, user, role string, join rtc.Message, opts rtc.ClientOptions) *rtc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rtc.Dial(ctx, e.client.API(), e.url(project, token(user, project, role)), join, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() }) // also when the test stops early
	return c
}

// checkLeaks fails t when goroutines outlive the test (after cleanup).
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(before); err != nil {
			t.Errorf("goroutine leak: %v", err)
		}
	})
}

// waitEvent returns the next event of type typ (others are skipped).
func waitEvent(t testing.TB, c *rtc.Client, typ string, d time.Duration) rtc.Message {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.Events:
			if m.Type == typ {
				return m
			}
		case <-c.Done():
			for { // the event may have come just before the close
				select {
				case m := <-c.Events:
					if m.Type == typ {
						return m
					}
					continue
				default:
				}
				break
			}
			t.Fatalf("socket closed waiting for %s: %v", typ, c.Err())
		case <-deadline:
			t.Fatalf("no %s within %s", typ, d)
		}
	}
}

// memAssets serves previews and audio from memory, keyed by project/asset.
type memAssets struct {
	mu       sync.Mutex
	previews map[string][]byte
	audio    map[string][]byte
}

func (m *memAssets) Preview(_ context.Context, _, project, asset string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.previews[project+"/"+asset]
	if !ok {
		return nil, fmt.Errorf("asset %s: %w", asset, blob.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

type memObject struct{ *bytes.Reader }

func (memObject) Close() error  { return nil }
func (o memObject) Size() int64 { return o.Reader.Size() }

func (m *memAssets) Audio(_ context.Context, _, project, asset string) (blob.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.audio[project+"/"+asset]
	if !ok {
		return nil, fmt.Errorf("asset %s: %w", asset, blob.ErrNotFound)
	}
	return memObject{bytes.NewReader(b)}, nil
}

// memBlobs is a content-addressed store in memory.
type memBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (m *memBlobs) Put(_ context.Context, r io.Reader, maxBytes int64) (blob.Ref, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return blob.Ref{}, err
	}
	if int64(len(b)) > maxBytes {
		return blob.Ref{}, blob.ErrTooLarge
	}
	sum := sha256.Sum256(b)
	key := hex.EncodeToString(sum[:])
	m.mu.Lock()
	m.m[key] = b
	m.mu.Unlock()
	return blob.Ref{Key: key, Size: int64(len(b))}, nil
}

// StoreRecording implements rtc.Recordings.
func (m *memBlobs) StoreRecording(ctx context.Context, _, _, filename string, r io.Reader, size int64) (rtc.Stored, error) {
	if !strings.HasSuffix(filename, ".opus") {
		return rtc.Stored{}, fmt.Errorf("filename %q", filename)
	}
	ref, err := m.Put(ctx, r, size)
	if err != nil {
		return rtc.Stored{}, err
	}
	return rtc.Stored{Blob: ref.Key, Bytes: ref.Size}, nil
}

func (m *memBlobs) get(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[key]
}

// memDocs is a DocSource over crdt.Docs the test edits: Watch sends the
// full state, then every update the test makes through edit.
type memDocs struct {
	mu       sync.Mutex
	docs     map[string]*crdt.Doc
	watchers []*memWatch
}

type memWatch struct {
	project string
	ch      chan []byte
	once    sync.Once
	closed  chan struct{}
}

func (w *memWatch) Updates() <-chan []byte { return w.ch }
func (w *memWatch) Close()                 { w.once.Do(func() { close(w.closed) }) }

func (m *memDocs) doc(project string) *crdt.Doc {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.docs[project]
	if d == nil {
		d = crdt.NewDoc(nil)
		m.docs[project] = d
	}
	return d
}

func (m *memDocs) Watch(_ context.Context, project string) (rtc.DocWatch, error) {
	d := m.doc(project)
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := crdt.EncodeStateAsUpdate(d, nil)
	if err != nil {
		return nil, err
	}
	w := &memWatch{project: project, ch: make(chan []byte, 64), closed: make(chan struct{})}
	w.ch <- st
	m.watchers = append(m.watchers, w)
	return w, nil
}

// edit changes project's document and sends the update to its watchers.
func (m *memDocs) edit(t testing.TB, project string, f func(d *crdt.Doc) error) {
	t.Helper()
	d := m.doc(project)
	var updates [][]byte
	unsub := d.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { updates = append(updates, append([]byte(nil), u...)) })
	m.mu.Lock()
	err := f(d)
	ws := append([]*memWatch(nil), m.watchers...)
	m.mu.Unlock()
	unsub()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.project != project {
			continue
		}
		for _, u := range updates {
			select {
			case w.ch <- u:
			case <-w.closed:
			}
		}
	}
}

func (m *memDocs) close() {}
