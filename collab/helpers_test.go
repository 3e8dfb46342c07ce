package collab_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/internal/testenv"
)

// testEnv is a hub behind an httptest server, with real room tokens.
type testEnv struct {
	hub    *collab.Hub
	srv    *httptest.Server
	tokens *testTokens
	store  collab.DocStore
	wsURL  string // ws://host/collab (y-websocket serverUrl)
}

// testTokens issues opaque room tokens and verifies them by lookup: the
// stand-in for session.RoomTokens behind collab.RoomTokenAuthorizer.Verify.
type testTokens struct {
	mu sync.Mutex
	m  map[string]collab.RoomGrant
	n  int
}

func newTestTokens() *testTokens { return &testTokens{m: make(map[string]collab.RoomGrant)} }

func (tt *testTokens) issue(user, room, role string) string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.n++
	tok := fmt.Sprintf("tok-%d-%s", tt.n, user)
	tt.m[tok] = collab.RoomGrant{UserID: user, ProjectID: room, Role: role}
	return tok
}

func (tt *testTokens) verify(_ context.Context, tok string) (collab.RoomGrant, error) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	g, ok := tt.m[tok]
	if !ok {
		return collab.RoomGrant{}, errors.New("unknown token")
	}
	return g, nil
}

func newEnv(t *testing.T, store collab.DocStore, mod func(*collab.Options)) *testEnv {
	t.Helper()
	return newEnvWithTokens(t, store, newTestTokens(), mod)
}

func newEnvWithTokens(t *testing.T, store collab.DocStore, tokens *testTokens, mod func(*collab.Options)) *testEnv {
	t.Helper()
	if store == nil {
		store = collab.NewMemStore()
	}
	opts := collab.Options{
		Store:                   store,
		Auth:                    collab.RoomTokenAuthorizer{Verify: tokens.verify},
		InsecureSkipOriginCheck: true,
		IdleTimeout:             200 * time.Millisecond,
		Tick:                    50 * time.Millisecond,
	}
	if mod != nil {
		mod(&opts)
	}
	hub, err := collab.NewHub(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /collab/{projectId}", hub)
	mux.HandleFunc("GET /hocuspocus", hub.ServeHocuspocus)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Close(ctx); err != nil {
			t.Errorf("hub.Close: %v", err)
		}
		srv.Close()
	})
	return &testEnv{hub: hub, srv: srv, tokens: tokens, store: store, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/collab"}
}

func (e *testEnv) token(t *testing.T, user, room, role string) string {
	t.Helper()
	return e.tokens.issue(user, room, role)
}

// dial opens a raw WebSocket to room, for protocol-level tests in Go.
func (e *testEnv) dial(t *testing.T, room, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.wsURL+"/"+room+"?token="+token, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// readMsg reads one frame and parses it.
func readMsg(t *testing.T, c *websocket.Conn) collab.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := collab.ParseMessage(b)
	if err != nil {
		t.Fatalf("parse %x: %v", b, err)
	}
	return m
}

// readUntil reads frames until pred accepts one, skipping keep-alives and
// other traffic.
func readUntil(t *testing.T, c *websocket.Conn, what string, pred func(collab.Message) bool) collab.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		m, err := collab.ParseMessage(b)
		if err != nil {
			t.Fatalf("parse %x: %v", b, err)
		}
		if pred(m) {
			return m
		}
	}
}

func write(t *testing.T, c *websocket.Conn, frame []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, frame); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// closeStatus reads until the connection closes and returns the code and
// reason the server sent.
func closeStatus(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if ok := asCloseError(err, &ce); ok {
				return ce.Code, ce.Reason
			}
			t.Fatalf("expected a close frame, got %v", err)
		}
	}
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return false
	}
	ce.Code = code
	s := err.Error()
	if i := strings.Index(s, "reason = "); i >= 0 {
		ce.Reason = s[i+len("reason = "):]
	}
	return true
}

// checkGoroutines fails the test if goroutines started during it are
// still running after its cleanups (tailscale tstest.ResourceCheck style).
// Register it first so that it runs last.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// ---- Node harness ----

// nodeDriver runs testdata/client/driver.mjs: real yjs documents with the
// real y-websocket provider, driven over stdio.
type nodeDriver struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	mu     sync.Mutex
	out    *bufio.Reader
	nextID int
}

// requireNode skips unless MB_TEST_YJS=1 (make test sets it when Node is
// present), and fails when CI=true requires the suite.
func requireNode(t *testing.T) {
	t.Helper()
	if os.Getenv("MB_TEST_YJS") != "1" {
		testenv.Unavailable(t, "set MB_TEST_YJS=1 (after npm ci in collab/testdata/client) to run real y-websocket clients")
	}
	if _, err := os.Stat(filepath.Join("testdata", "client", "node_modules", "y-websocket")); err != nil {
		t.Fatal("MB_TEST_YJS=1 but collab/testdata/client/node_modules is missing: run npm ci there")
	}
}

func startDriver(t *testing.T) *nodeDriver {
	t.Helper()
	requireNode(t)
	cmd := exec.Command("node", "driver.mjs")
	cmd.Dir = filepath.Join("testdata", "client")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	d := &nodeDriver{t: t, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	t.Cleanup(func() {
		_ = in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return d
}

// call runs one driver op and returns its reply; a failed op fails the test.
func (d *nodeDriver) call(op string, args map[string]any) map[string]any {
	d.t.Helper()
	res, err := d.try(op, args)
	if err != nil {
		d.t.Fatalf("node %s %v: %v", op, args, err)
	}
	return res
}

func (d *nodeDriver) try(op string, args map[string]any) (map[string]any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	cmd := map[string]any{"id": d.nextID, "op": op}
	for k, v := range args {
		cmd[k] = v
	}
	b, _ := json.Marshal(cmd)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	line, err := d.out.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	var res map[string]any
	if err := json.Unmarshal(line, &res); err != nil {
		return nil, fmt.Errorf("reply %q: %w", line, err)
	}
	if ok, _ := res["ok"].(bool); !ok {
		return res, fmt.Errorf("%v", res["error"])
	}
	return res, nil
}

// open connects a named client to room with a token.
func (d *nodeDriver) open(name, serverURL, room, token string) {
	d.t.Helper()
	d.call("open", map[string]any{"client": name, "url": serverURL, "room": room, "params": map[string]string{"token": token}})
}

func (d *nodeDriver) text(name string) string {
	d.t.Helper()
	s, _ := d.call("text", map[string]any{"client": name})["text"].(string)
	return s
}
