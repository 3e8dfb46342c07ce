package collab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/crdt"
)

// editor is a Go-side document producing updates, standing in for a client.
type editor struct {
	doc     *crdt.Doc
	updates [][]byte
}

func newEditor(clientID uint64) *editor {
	e := &editor{doc: crdt.NewDoc(&crdt.DocOptions{ClientID: clientID})}
	e.doc.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { e.updates = append(e.updates, u) })
	return e
}

// insert inserts s at the end of text "t" and returns the update.
func (e *editor) insert(t *testing.T, s string) []byte {
	t.Helper()
	txt := e.doc.GetText("t")
	if err := txt.Insert(txt.Len(), s); err != nil {
		t.Fatal(err)
	}
	return e.updates[len(e.updates)-1]
}

func isSync(st collab.SyncType) func(collab.Message) bool {
	return func(m collab.Message) bool { return m.Type == collab.MessageSync && m.Sync == st }
}

// textOf applies every update to a fresh document and returns text "t".
func textOf(t *testing.T, updates ...[]byte) string {
	t.Helper()
	d := crdt.NewDoc(nil)
	for _, u := range updates {
		if err := crdt.ApplyUpdate(d, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	return d.GetText("t").String()
}

// storedText loads room from the store and returns its text.
func storedText(t *testing.T, s collab.DocStore, room string) string {
	t.Helper()
	sd, err := s.Load(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	var us [][]byte
	if sd.Snapshot != nil {
		us = append(us, sd.Snapshot)
	}
	for _, u := range sd.Updates {
		us = append(us, u.Update)
	}
	return textOf(t, us...)
}

func TestHubSyncRelayNoEcho(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))

	// The server opens with its sync step 1.
	for _, c := range []*websocket.Conn{a, b} {
		if m := readMsg(t, c); m.Type != collab.MessageSync || m.Sync != collab.SyncStep1 || !bytes.Equal(m.Payload, []byte{0}) {
			t.Fatalf("first frame = %+v, want sync step 1 of an empty doc", m)
		}
	}
	ed := newEditor(11)
	write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "hello")))
	m := readUntil(t, b, "update", isSync(collab.SyncUpdate))
	if got := textOf(t, m.Payload); got != "hello" {
		t.Errorf("b received %q", got)
	}
	// No echo: a's next frame is the answer to its query, not its update.
	write(t, a, collab.AppendMessage(nil, collab.Message{Type: collab.MessageQueryAwareness}))
	if m := readMsg(t, a); m.Type != collab.MessageAwareness {
		t.Errorf("a received %+v before its awareness answer (echo?)", m)
	}
	// A client's sync step 1 gets the diff.
	write(t, b, collab.EncodeSync(collab.SyncStep1, []byte{0}))
	m = readUntil(t, b, "sync step 2", isSync(collab.SyncStep2))
	if got := textOf(t, m.Payload); got != "hello" {
		t.Errorf("sync step 2 holds %q", got)
	}
	// Offline edits arrive as sync step 2 and are relayed as updates.
	write(t, b, collab.EncodeSync(collab.SyncStep2, newEditor(12).insert(t, "!")))
	m = readUntil(t, a, "relayed step 2", isSync(collab.SyncUpdate))
	if got := textOf(t, ed.updates[0], m.Payload); got != "hello!" {
		t.Errorf("after step 2: %q", got)
	}
}

func TestHubRefusesBadClients(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, func(o *collab.Options) { o.Limits.MaxMessageBytes = 1024 })
	tests := []struct {
		name     string
		token    func() string
		frame    []byte
		wantCode websocket.StatusCode
		reason   string
	}{
		{"no token", func() string { return "" }, nil, collab.CloseUnauthorized, "unauthorized"},
		{"bad token", func() string { return "abc.def.ghi" }, nil, collab.CloseUnauthorized, "unauthorized"},
		{"other project", func() string { return env.token(t, "u", "p2", "editor") }, nil, collab.CloseForbidden, "forbidden"},
		{"garbage", func() string { return env.token(t, "u", "p1", "editor") }, []byte{9, 9, 9}, collab.CloseMalformed, "unknown message type"},
		{"bad update", func() string { return env.token(t, "u", "p1", "editor") }, collab.EncodeSync(collab.SyncUpdate, []byte{5, 1, 2}), collab.CloseMalformed, "malformed update"},
		{"bad awareness", func() string { return env.token(t, "u", "p1", "editor") }, collab.EncodeAwareness([]byte{1, 1, 1, 2, '{', 'x'}), collab.CloseMalformed, "malformed awareness"},
		{"too big", func() string { return env.token(t, "u", "p1", "editor") }, collab.EncodeSync(collab.SyncUpdate, make([]byte, 2000)), websocket.StatusMessageTooBig, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := env.dial(t, "p1", tt.token())
			if tt.frame != nil {
				readMsg(t, c) // server step 1
				write(t, c, tt.frame)
			}
			code, reason := closeStatus(t, c)
			if code != tt.wantCode || !strings.Contains(reason, tt.reason) {
				t.Errorf("closed with %d %q, want %d containing %q", code, reason, tt.wantCode, tt.reason)
			}
		})
	}
	// The room survived all of that.
	c := env.dial(t, "p1", env.token(t, "u", "p1", "editor"))
	readMsg(t, c)
	write(t, c, collab.EncodeSync(collab.SyncStep1, []byte{0}))
	if m := readUntil(t, c, "step 2", isSync(collab.SyncStep2)); textOf(t, m.Payload) != "" {
		t.Errorf("room changed by refused clients")
	}
}

func TestHubViewerCannotWrite(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	ed := env.dial(t, "p1", env.token(t, "ue", "p1", "editor"))
	readMsg(t, ed)
	v := env.dial(t, "p1", env.token(t, "uv", "p1", "viewer"))
	write(t, v, collab.EncodeSync(collab.SyncUpdate, newEditor(5).insert(t, "vandal")))
	m := readUntil(t, v, "permission denied", func(m collab.Message) bool { return m.Type == collab.MessageAuth })
	if !strings.Contains(m.Reason, "read-only") {
		t.Errorf("reason = %q", m.Reason)
	}
	write(t, v, collab.EncodeSync(collab.SyncStep2, newEditor(6).insert(t, "vandal")))
	readUntil(t, v, "permission denied", func(m collab.Message) bool { return m.Type == collab.MessageAuth })
	// The viewer still reads: an editor's change reaches it.
	write(t, ed, collab.EncodeSync(collab.SyncUpdate, newEditor(7).insert(t, "ok")))
	m = readUntil(t, v, "update", isSync(collab.SyncUpdate))
	if got := textOf(t, m.Payload); got != "ok" {
		t.Errorf("viewer got %q", got)
	}
	if got := storedText(t, env.store, "p1"); got != "ok" {
		t.Errorf("stored %q, want only the editor's text", got)
	}
}

// gateStore holds every Append until released, to observe ordering.
type gateStore struct {
	collab.DocStore
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

func (g *gateStore) Append(ctx context.Context, room string, updates [][]byte) (int64, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		g.entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return g.DocStore.Append(ctx, room, updates)
}

func TestHubStoresBeforeRelay(t *testing.T) {
	checkGoroutines(t)
	gs := &gateStore{DocStore: collab.NewMemStore(), gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	env := newEnv(t, gs, nil)
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	readMsg(t, a)
	readMsg(t, b)
	write(t, a, collab.EncodeSync(collab.SyncUpdate, newEditor(3).insert(t, "durable")))
	<-gs.entered
	// While the append is held, b must see nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, frame, err := b.Read(ctx)
	cancel()
	if err == nil {
		t.Fatalf("b received %x before the update was stored", frame)
	}
	// coder/websocket closes a conn whose Read context expired; use a new one.
	b = env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	gs.mu.Lock()
	close(gs.gate)
	gs.gate = nil
	gs.mu.Unlock()
	write(t, b, collab.EncodeSync(collab.SyncStep1, []byte{0}))
	m := readUntil(t, b, "step 2", isSync(collab.SyncStep2))
	if got := textOf(t, m.Payload); got != "durable" {
		t.Errorf("b got %q", got)
	}
}

func TestHubAwarenessLifecycle(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	readMsg(t, a)
	readMsg(t, b)
	state := json.RawMessage(`{"user":{"name":"A"}}`)
	write(t, a, collab.EncodeAwareness(collab.EncodeAwarenessUpdate([]collab.AwarenessEntry{{ClientID: 42, Clock: 1, State: state}})))
	m := readUntil(t, b, "awareness", func(m collab.Message) bool { return m.Type == collab.MessageAwareness && len(m.Payload) > 1 })
	got, err := collab.DecodeAwarenessUpdate(m.Payload, collab.AwarenessLimits{})
	if err != nil || len(got) != 1 || got[0].ClientID != 42 || string(got[0].State) != string(state) {
		t.Fatalf("b got %v, %v", got, err)
	}
	// A late joiner gets the current states right away.
	c := env.dial(t, "p1", env.token(t, "uc", "p1", "viewer"))
	m = readUntil(t, c, "awareness", func(m collab.Message) bool { return m.Type == collab.MessageAwareness && len(m.Payload) > 1 })
	if got, _ := collab.DecodeAwarenessUpdate(m.Payload, collab.AwarenessLimits{}); len(got) != 1 {
		t.Errorf("joiner got %v", got)
	}
	// b may not remove a's client.
	write(t, b, collab.EncodeAwareness(collab.EncodeAwarenessUpdate([]collab.AwarenessEntry{{ClientID: 42, Clock: 9, State: json.RawMessage("null")}})))
	// a leaves: b sees the removal at once, not after 30 s.
	_ = a.Close(websocket.StatusNormalClosure, "")
	m = readUntil(t, b, "removal", func(m collab.Message) bool { return m.Type == collab.MessageAwareness && len(m.Payload) > 1 })
	got, _ = collab.DecodeAwarenessUpdate(m.Payload, collab.AwarenessLimits{})
	if len(got) != 1 || got[0].ClientID != 42 || !got[0].Removed() || got[0].Clock != 2 {
		t.Errorf("removal = %+v", got)
	}
}

func TestHubRevoke(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	readMsg(t, a)
	if err := env.hub.Revoke(context.Background(), "p1", "ua", collab.RoleViewer); err != nil {
		t.Fatal(err)
	}
	write(t, a, collab.EncodeSync(collab.SyncUpdate, newEditor(3).insert(t, "x")))
	readUntil(t, a, "permission denied", func(m collab.Message) bool { return m.Type == collab.MessageAuth })
	if err := env.hub.Revoke(context.Background(), "p1", "ua", 0); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeStatus(t, a); code != collab.CloseForbidden {
		t.Errorf("close code %d, want %d", code, collab.CloseForbidden)
	}
}

// A revocation made after a connection was authorized but before it
// joined its room still applies to it.
func TestHubRevokeBetweenAuthorizeAndJoin(t *testing.T) {
	checkGoroutines(t)
	var hub *collab.Hub
	revokeTo := map[string]collab.Role{"gone": 0, "demoted": collab.RoleViewer}
	env := newEnv(t, nil, func(o *collab.Options) {
		o.Auth = collab.AuthorizerFunc(func(r *http.Request, room string) (collab.Principal, error) {
			user := r.URL.Query().Get("token")
			// The role is decided (editor), then the owner revokes it
			// before the connection reaches the room.
			if err := hub.Revoke(r.Context(), room, user, revokeTo[user]); err != nil {
				return collab.Principal{}, err
			}
			return collab.Principal{UserID: user, Role: collab.RoleEditor}, nil
		})
	})
	hub = env.hub
	gone := env.dial(t, "p1", "gone")
	if code, _ := closeStatus(t, gone); code != collab.CloseForbidden {
		t.Errorf("removed member: close code %d, want %d", code, collab.CloseForbidden)
	}
	demoted := env.dial(t, "p1", "demoted")
	write(t, demoted, collab.EncodeSync(collab.SyncUpdate, newEditor(3).insert(t, "x")))
	readUntil(t, demoted, "permission denied", func(m collab.Message) bool { return m.Type == collab.MessageAuth })
	if got := storedText(t, env.store, "p1"); got != "" {
		t.Errorf("a demoted member's update was stored: %q", got)
	}
}

func TestHubSlowReaderDisconnected(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, func(o *collab.Options) {
		o.Limits.SendQueueBytes = 1 << 20
		o.Limits.WriteTimeout = 300 * time.Millisecond
		o.Limits.BytesPerSecond = 1 << 30
	})
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	slow := env.dial(t, "p1", env.token(t, "us", "p1", "editor"))
	readMsg(t, a)
	_ = slow // never reads again
	ed := newEditor(77)
	chunk := strings.Repeat("x", 256<<10)
	deadline := time.Now().Add(20 * time.Second)
	for env.hub.Stats().Conns > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("slow reader still connected: %+v", env.hub.Stats())
		}
		write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, chunk)))
	}
}

func TestHubUnloadsIdleRoomAndReloads(t *testing.T) {
	checkGoroutines(t)
	store := collab.NewMemStore()
	env := newEnv(t, store, func(o *collab.Options) { o.CompactAfter = 5 })
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	readMsg(t, a)
	ed := newEditor(9)
	for i := 0; i < 12; i++ {
		write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "ab")))
	}
	// The room answers in order, so this step 2 comes after every update.
	write(t, a, collab.EncodeSync(collab.SyncStep1, []byte{0}))
	readUntil(t, a, "step 2", isSync(collab.SyncStep2))
	_ = a.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "room unloaded", func() bool { return env.hub.Stats().Rooms == 0 })
	sd, err := store.Load(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if sd.Snapshot == nil || len(sd.Updates) >= 12 {
		t.Errorf("log not compacted: snapshot %d bytes, %d updates", len(sd.Snapshot), len(sd.Updates))
	}
	want := strings.Repeat("ab", 12)
	if got := storedText(t, store, "p1"); got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	write(t, b, collab.EncodeSync(collab.SyncStep1, []byte{0}))
	if m := readUntil(t, b, "step 2", isSync(collab.SyncStep2)); textOf(t, m.Payload) != want {
		t.Errorf("reloaded room holds %q", textOf(t, m.Payload))
	}
}

// brokenStore fails every Load, or returns a corrupt log.
type brokenStore struct {
	collab.DocStore
	loadErr error
}

func (b *brokenStore) Load(ctx context.Context, room string) (collab.StoredDoc, error) {
	if b.loadErr != nil {
		return collab.StoredDoc{}, b.loadErr
	}
	return b.DocStore.Load(ctx, room)
}

func TestHubNeverReplacesUnloadableDoc(t *testing.T) {
	checkGoroutines(t)
	mem := collab.NewMemStore()
	good := newEditor(4).insert(t, "precious")
	if _, err := mem.Append(context.Background(), "p1", [][]byte{good, {0xff, 0xff}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		store collab.DocStore
	}{
		{"corrupt log", mem},
		{"store down", &brokenStore{DocStore: mem, loadErr: errors.New("connection refused")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, tt.store, nil)
			c := env.dial(t, "p1", env.token(t, "u", "p1", "editor"))
			code, reason := closeStatus(t, c)
			if code != collab.CloseUnavailable || !strings.Contains(reason, "unavailable") {
				t.Errorf("closed %d %q, want %d document unavailable", code, reason, collab.CloseUnavailable)
			}
			sd, err := mem.Load(context.Background(), "p1")
			if err != nil || len(sd.Updates) != 2 || !bytes.Equal(sd.Updates[0].Update, good) {
				t.Errorf("store changed: %+v, %v", sd, err)
			}
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHubBatchesRelay checks the relay of a group-committed batch: every
// update in order, as its own frame, to everyone but its sender.
func TestHubBatchesRelay(t *testing.T) {
	checkGoroutines(t)
	gs := &gateStore{DocStore: collab.NewMemStore(), gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	env := newEnv(t, gs, nil)
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	c := env.dial(t, "p1", env.token(t, "uc", "p1", "viewer"))
	readMsg(t, a)
	readMsg(t, b)
	// The room gets no message from a viewer at join: c asks for the state
	// so that it has surely joined before a's first update.
	write(t, c, collab.EncodeSync(collab.SyncStep1, []byte{0}))
	readUntil(t, c, "sync step 2", isSync(collab.SyncStep2))
	ea, eb := newEditor(21), newEditor(22)
	u1 := ea.insert(t, "a1")
	write(t, a, collab.EncodeSync(collab.SyncUpdate, u1))
	<-gs.entered // the room waits in Append with u1
	u2 := ea.insert(t, "a2")
	v1 := eb.insert(t, "b1")
	v2 := eb.insert(t, "b2")
	write(t, a, collab.EncodeSync(collab.SyncUpdate, u2))
	write(t, b, collab.EncodeSync(collab.SyncUpdate, v1))
	write(t, b, collab.EncodeSync(collab.SyncUpdate, v2))
	time.Sleep(200 * time.Millisecond) // let them queue behind u1
	gs.mu.Lock()
	close(gs.gate)
	gs.gate = nil
	gs.mu.Unlock()

	// The observer gets the four updates, each as its own frame: u1, then
	// the batch in the order the room read it (each sender's in order).
	var got [][]byte
	for range 4 {
		got = append(got, readUntil(t, c, "update", isSync(collab.SyncUpdate)).Payload)
	}
	at := func(u []byte) int { return slices.IndexFunc(got, func(g []byte) bool { return bytes.Equal(g, u) }) }
	if at(u1) != 0 || at(u2) < 1 || at(v1) < 1 || at(v2) <= at(v1) {
		t.Errorf("observer got the updates at %d %d %d %d, want u1 first, then u2, v1 and v2 (v1 before v2)", at(u1), at(u2), at(v1), at(v2))
	}
	if got, want := textOf(t, got...), textOf(t, u1, u2, v1, v2); got != want {
		t.Errorf("observer has %q, want %q", got, want)
	}
	// a receives only b's updates.
	m1, m2 := readUntil(t, a, "update", isSync(collab.SyncUpdate)), readUntil(t, a, "update", isSync(collab.SyncUpdate))
	if got, want := textOf(t, m1.Payload, m2.Payload), textOf(t, v1, v2); got != want {
		t.Errorf("a got %q, want only b's %q", got, want)
	}
	// b receives a's u1, then u2.
	m1, m2 = readUntil(t, b, "update", isSync(collab.SyncUpdate)), readUntil(t, b, "update", isSync(collab.SyncUpdate))
	if got, want := textOf(t, m1.Payload, m2.Payload), textOf(t, u1, u2); got != want {
		t.Errorf("b got %q, want a's %q", got, want)
	}
}

func TestHubThrottledAwarenessKeepsTheLastState(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, func(o *collab.Options) {
		o.Limits.AwarenessPerSecond = 5
		o.Limits.AwarenessBurst = 2
	})
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	readUntil(t, b, "sync step 1", isSync(collab.SyncStep1))
	const n = 60
	for i := 1; i <= n; i++ {
		st := fmt.Sprintf(`{"cursor":%d}`, i)
		write(t, a, collab.EncodeAwareness(collab.EncodeAwarenessUpdate([]collab.AwarenessEntry{{ClientID: 7, Clock: uint64(i), State: json.RawMessage(st)}})))
	}
	// b sees far fewer than n frames, and the last one carries clock n.
	frames := 0
	for {
		m := readUntil(t, b, "awareness", func(m collab.Message) bool { return m.Type == collab.MessageAwareness })
		frames++
		es, err := collab.DecodeAwarenessUpdate(m.Payload, collab.AwarenessLimits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 1 && es[0].Clock == n {
			if string(es[0].State) != fmt.Sprintf(`{"cursor":%d}`, n) {
				t.Errorf("last state %s", es[0].State)
			}
			break
		}
	}
	if frames >= n/2 {
		t.Errorf("b received %d awareness frames for %d throttled updates", frames, n)
	}
}

// An update whose integration fails part-way (crdt.ErrDocDamaged) makes
// the room drop its in-memory document: connections are closed, nothing
// of the failed update is stored, and the next join reloads the log.
func TestHubReloadsDamagedDocument(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	b := env.dial(t, "p1", env.token(t, "ub", "p1", "editor"))
	readUntil(t, b, "sync step 1", isSync(collab.SyncStep1))
	ed := newEditor(31)
	write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "kept")))
	readUntil(t, b, "update", isSync(collab.SyncUpdate))

	poison := ed.insert(t, " lost")
	restore := collab.SetApplyUpdate(func(d *crdt.Doc, u []byte, origin any) error {
		if bytes.Equal(u, poison) {
			// Half the change lands, then the integration "panics".
			_ = d.GetText("t").Insert(0, "garbage")
			return fmt.Errorf("%w: %w: simulated", crdt.ErrMalformedUpdate, crdt.ErrDocDamaged)
		}
		return crdt.ApplyUpdate(d, u, origin)
	})
	defer restore()
	write(t, a, collab.EncodeSync(collab.SyncUpdate, poison))
	for _, c := range []*websocket.Conn{a, b} {
		if code, _ := closeStatus(t, c); code != collab.CloseUnavailable {
			t.Errorf("close code %d, want %d (reload)", code, collab.CloseUnavailable)
		}
	}
	if got := storedText(t, env.store, "p1"); got != "kept" {
		t.Errorf("store holds %q, want kept", got)
	}
	// A reconnecting client gets the document as the log has it, without
	// the half-applied change.
	var st []byte
	waitFor(t, "room reloaded", func() bool {
		s, err := env.hub.State(context.Background(), "p1")
		st = s
		return err == nil
	})
	if got := textOf(t, st); got != "kept" {
		t.Errorf("reloaded room holds %q, want kept", got)
	}
}

// A room whose loop moved to a fresh goroutine (quiet for two ticks) is
// still waited for by Hub.Close: Close returns only once the room has
// flushed what it holds to the store.
func TestHubCloseWaitsForQuietRoom(t *testing.T) {
	checkGoroutines(t)
	gs := &gateStore{DocStore: collab.NewMemStore(), entered: make(chan struct{}, 1)}
	env := newEnv(t, gs, func(o *collab.Options) {
		o.Tick = 20 * time.Millisecond
		o.IdleTimeout = time.Minute
	})
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	readMsg(t, a)
	ed := newEditor(5)
	write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "x")))
	deadline := time.Now().Add(5 * time.Second)
	for storedText(t, gs, "p1") != "x" {
		if time.Now().After(deadline) {
			t.Fatal("first update never stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // ten ticks: the quiet room's loop moves
	gs.mu.Lock()
	gs.gate = make(chan struct{})
	gs.mu.Unlock()
	write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "y")))
	<-gs.entered // the room is appending "y", held at the gate
	go func() {  // answer the close handshake
		for {
			if _, _, err := a.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- env.hub.Close(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Close returned (%v) while the room was still appending", err)
	case <-time.After(300 * time.Millisecond):
	}
	gs.mu.Lock()
	close(gs.gate)
	gs.gate = nil
	gs.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := storedText(t, gs, "p1"); got != "xy" {
		t.Errorf("stored %q after Close, want %q", got, "xy")
	}
}
