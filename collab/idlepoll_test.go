package collab_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// TestHubIdleConnectionsHoldNoGoroutine: on Linux an idle y-websocket
// connection is parked with the hub's epoll poller and holds no goroutine;
// the poller resumes its reader when a message comes, a busy connection's
// reader waits on a goroutine until the hub's ticker finds it idle, and a
// connection the hub closes while parked (a revocation, the hub closing)
// ends cleanly.
func TestHubIdleConnectionsHoldNoGoroutine(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, func(o *collab.Options) { o.IdleTimeout = time.Minute })
	const n = 40
	base := runtime.NumGoroutine()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = env.dial(t, "idle", env.token(t, "u"+string(rune('a'+i%26))+string(rune('a'+i/26)), "idle", "editor"))
		readMsg(t, conns[i]) // the server's sync step 1
	}
	// Readers park once they have read the handshake (a first message
	// counts as one after a silence), or after two ticks of waiting;
	// allow for the room's goroutine and writers still finishing.
	waitParked(t, base, n, "after the handshake")
	// Every connection writes in turn, three rounds: each message wakes
	// a parked reader, and every other connection receives it.
	eds := make([]*editor, n)
	got := make([]*crdt.Doc, n) // what each connection received
	for i := range eds {
		eds[i] = newEditor(uint64(100 + i))
		got[i] = crdt.NewDoc(nil)
	}
	const rounds = 3
	for range rounds {
		for i, c := range conns {
			write(t, c, collab.EncodeSync(collab.SyncUpdate, eds[i].insert(t, "x")))
			for j, o := range conns {
				if j != i {
					m := readUntil(t, o, "relayed update", isSync(collab.SyncUpdate))
					if err := crdt.ApplyUpdate(got[j], m.Payload, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	for j, d := range got {
		if l := d.GetText("t").Len(); l != rounds*(n-1) {
			t.Fatalf("conn %d received %d characters, want %d", j, l, rounds*(n-1))
		}
	}
	// Busy, the readers waited on goroutines of their own; quiet again,
	// the hub's ticker parks them.
	waitParked(t, base, n, "after the rounds")
	// A revocation closes a parked connection.
	ctx := context.Background()
	time.Sleep(50 * time.Millisecond) // let the last reader park
	if err := env.hub.Revoke(ctx, "idle", "uaa", 0); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeStatus(t, conns[0]); code != collab.CloseForbidden {
		t.Errorf("revoked parked connection closed with %d, want %d", code, collab.CloseForbidden)
	}
	// The rest are parked when the hub closes (cleanup): checkGoroutines
	// then finds every reader ended.
}

// TestHubPings: the hub pings every PingInterval. Connections that answer
// stay open, and on Linux their readers stay parked (the hub takes the
// pongs between messages, without waking a reader into coder/websocket);
// a connection that does not answer is cut off once WriteTimeout has
// passed without its pong.
func TestHubPings(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, func(o *collab.Options) {
		o.IdleTimeout = time.Minute
		o.PingInterval = 60 * time.Millisecond
		o.Tick = 20 * time.Millisecond
		o.Limits.WriteTimeout = 300 * time.Millisecond
	})
	const n = 20
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Answering clients: coder/websocket answers pings while it reads.
	frames := make([]chan []byte, n)
	clients := make([]*websocket.Conn, n)
	for i := range frames {
		c := env.dial(t, "pings", env.token(t, "u", "pings", "editor"))
		clients[i] = c
		frames[i] = make(chan []byte, 64)
		go func() {
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					close(frames[i])
					return
				}
				frames[i] <- b
			}
		}()
	}
	// A client that never reads, so never answers a ping.
	silent := env.dial(t, "pings", env.token(t, "s", "pings", "editor"))

	// Many ping intervals pass. The silent client is cut off after the
	// first ping's timeout.
	time.Sleep(time.Second)
	rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer rcancel()
	var err error
	for err == nil {
		_, _, err = silent.Read(rctx) // its buffered frames, then the end
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a client that never answered a ping is still connected")
	}
	// n client read goroutines are our own; the hub's readers are
	// parked despite the pongs (each pong wakes one for a moment).
	waitParked(t, base+n, n, "after pings")
	// The answering ones are alive: an update reaches them all.
	ed := newEditor(7)
	u := collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "alive"))
	w := env.dial(t, "pings", env.token(t, "w", "pings", "editor"))
	write(t, w, u)
	for i, ch := range frames {
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case b, ok := <-ch:
				if !ok {
					t.Fatalf("answering client %d was disconnected", i)
				}
				if m, err := collab.ParseMessage(b); err == nil && m.Type == collab.MessageSync && m.Sync == collab.SyncUpdate {
					break wait
				}
			case <-deadline:
				t.Fatalf("answering client %d got no update", i)
			}
		}
	}
	// Clients that ping the hub get their pongs (the hub answers pings
	// between messages itself), and their readers park again.
	for i, c := range clients {
		for range 3 {
			pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				t.Fatalf("client %d: ping: %v", i, err)
			}
		}
	}
	waitParked(t, base+n, n+1, "after the clients' pings") // w has joined
	cancel()
}

// TestHocuspocusIdleConnectionsHoldNoGoroutine: a Hocuspocus socket is
// parked like a y-websocket one, and resumed when the client sends more.
func TestHocuspocusIdleConnectionsHoldNoGoroutine(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, func(o *collab.Options) { o.IdleTimeout = time.Minute })
	const n = 20
	base := runtime.NumGoroutine()
	prefix := lib0.NewEncoder()
	prefix.WriteVarString("hpidle")
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.srv.URL, "http")+"/hocuspocus", nil)
		cancel()
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		auth := lib0.NewEncoder()
		auth.WriteBytes(prefix.Bytes())
		auth.WriteVarUint(2) // auth
		auth.WriteVarUint(0) // token
		auth.WriteVarString(env.token(t, "u", "hpidle", "editor"))
		write(t, c, auth.Bytes())
		conns[i] = c
	}
	// Each is answered "authenticated" (type 2, then 2).
	for i, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.Read(ctx)
		cancel()
		if err != nil || !bytes.HasPrefix(b, append(prefix.Bytes(), 2, 2)) {
			t.Fatalf("conn %d: %x, %v; want authenticated", i, b, err)
		}
	}
	waitParked(t, base, n, "Hocuspocus")
	// A parked socket is read again: sync step 1 is answered by step 2.
	for i, c := range conns {
		write(t, c, append(bytes.Clone(prefix.Bytes()), collab.EncodeSync(collab.SyncStep1, []byte{0})...))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				cancel()
				t.Fatalf("conn %d: no sync step 2: %v", i, err)
			}
			if bytes.HasPrefix(b, append(bytes.Clone(prefix.Bytes()), 0, byte(collab.SyncStep2))) {
				break
			}
		}
		cancel()
	}
}

// waitParked waits until the n idle connections opened since base
// goroutines were counted hold fewer than n/2 goroutines between them
// (some are the room's and writers' finishing): their readers are parked.
// Elsewhere than on Linux idle connections keep their readers, and it
// returns at once.
func waitParked(t *testing.T, base, n int, when string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine()-base >= n/2 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d idle connections hold %d goroutines, want fewer than %d", when, n, runtime.NumGoroutine()-base, n/2)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHubOverTLS: a connection without a file descriptor (TLS here) is
// never parked; its reader blocks in the read, and messages flow.
func TestHubOverTLS(t *testing.T) {
	checkGoroutines(t)
	hub, err := collab.NewHub(collab.Options{
		Store: collab.NewMemStore(),
		Auth: collab.AuthorizerFunc(func(r *http.Request, room string) (collab.Principal, error) {
			return collab.Principal{UserID: r.URL.Query().Get("user"), Role: collab.RoleEditor}, nil
		}),
		InsecureSkipOriginCheck: true,
		Tick:                    20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /collab/{projectId}", hub)
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	dial := func(user string) *websocket.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(srv.URL, "https")+"/collab/tls?user="+user,
			&websocket.DialOptions{HTTPClient: srv.Client()})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	a, b := dial("a"), dial("b")
	readMsg(t, a)
	readMsg(t, b)
	time.Sleep(100 * time.Millisecond) // several ticks: quiet, yet not parked
	ed := newEditor(9)
	for _, s := range []string{"x", "y"} {
		write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, s)))
		readUntil(t, b, "relayed update", isSync(collab.SyncUpdate))
		time.Sleep(100 * time.Millisecond)
	}
	_, _ = a.CloseNow(), b.CloseNow() // before the hub's close handshakes wait for them
}
