package collab_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/crdt"
)

// nextUpdate reads one update from w or fails after a few seconds.
func nextUpdate(t *testing.T, w *collab.Watcher) []byte {
	t.Helper()
	select {
	case u, ok := <-w.Updates():
		if !ok {
			t.Fatalf("watch ended: %v", w.Err())
		}
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no update from the watcher")
		return nil
	}
}

func TestHubInProcessStateApplyWatch(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	ctx := context.Background()

	// State of a room nobody opened: empty, and the room is loaded for it.
	st, err := env.hub.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, st); got != "" {
		t.Fatalf("fresh room holds %q", got)
	}

	// An editor writes; the watcher sees the whole state first, then the
	// editor's update and the server's, in order.
	w, err := env.hub.Watch(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := textOf(t, nextUpdate(t, w)); got != "" {
		t.Fatalf("watch began with %q", got)
	}
	a := env.dial(t, "p1", env.token(t, "ua", "p1", "editor"))
	readUntil(t, a, "sync step 1", isSync(collab.SyncStep1))
	ed := newEditor(21)
	write(t, a, collab.EncodeSync(collab.SyncUpdate, ed.insert(t, "take")))
	follow := crdt.NewDoc(nil)
	apply := func(u []byte) {
		if err := crdt.ApplyUpdate(follow, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	apply(nextUpdate(t, w))
	if got := follow.GetText("t").String(); got != "take" {
		t.Fatalf("watcher follows %q, want take", got)
	}

	// A server-side edit: durable when Apply returns, relayed to the
	// editor and to the watcher.
	srv := crdt.NewDoc(&crdt.DocOptions{ClientID: 99})
	if err := crdt.ApplyUpdate(srv, ed.updates[0], nil); err != nil {
		t.Fatal(err)
	}
	var edit []byte
	srv.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { edit = u })
	if err := srv.GetText("t").Insert(4, " 2"); err != nil {
		t.Fatal(err)
	}
	if err := env.hub.Apply(ctx, "p1", edit); err != nil {
		t.Fatal(err)
	}
	if got := storedText(t, env.store, "p1"); got != "take 2" {
		t.Errorf("store holds %q after Apply returned", got)
	}
	m := readUntil(t, a, "server edit", isSync(collab.SyncUpdate))
	if got := textOf(t, ed.updates[0], m.Payload); got != "take 2" {
		t.Errorf("editor sees %q", got)
	}
	apply(nextUpdate(t, w))
	if got := follow.GetText("t").String(); got != "take 2" {
		t.Errorf("watcher follows %q", got)
	}
	st, err = env.hub.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, st); got != "take 2" {
		t.Errorf("State = %q", got)
	}

	// Bad input is refused and changes nothing.
	if err := env.hub.Apply(ctx, "p1", []byte{0xff, 0xff, 0xff}); !errors.Is(err, crdt.ErrMalformedUpdate) {
		t.Errorf("Apply(garbage) = %v, want ErrMalformedUpdate", err)
	}
	if _, err := env.hub.State(ctx, "../etc"); err == nil {
		t.Error("State accepted an invalid room id")
	}

	// Close ends the watch with no error.
	w.Close()
	for range w.Updates() {
	}
	if w.Err() != nil {
		t.Errorf("after Close, Err = %v", w.Err())
	}
}

func TestHubWatchEndsOnShutdownAndSlowness(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	ctx := context.Background()
	slow, err := env.hub.Watch(ctx, "p2")
	if err != nil {
		t.Fatal(err)
	}
	// Never read from slow: more than WatchBuffer updates end it.
	ed := newEditor(5)
	for i := 0; i <= collab.WatchBuffer; i++ {
		if err := env.hub.Apply(ctx, "p2", ed.insert(t, "x")); err != nil {
			t.Fatal(err)
		}
	}
	for range slow.Updates() {
	}
	if !errors.Is(slow.Err(), collab.ErrSlowWatcher) {
		t.Errorf("slow watcher ended with %v", slow.Err())
	}
	if got := storedText(t, env.store, "p2"); len(got) != collab.WatchBuffer+1 {
		t.Errorf("store holds %d chars, want %d", len(got), collab.WatchBuffer+1)
	}

	w, err := env.hub.Watch(ctx, "p2")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := env.hub.Close(cctx); err != nil {
		t.Fatal(err)
	}
	for range w.Updates() {
	}
	if !errors.Is(w.Err(), collab.ErrHubClosed) {
		t.Errorf("watch ended with %v at shutdown", w.Err())
	}
	if _, err := env.hub.State(ctx, "p2"); !errors.Is(err, collab.ErrHubClosed) {
		t.Errorf("State after Close = %v", err)
	}
}

func TestHubInProcessUnloadableDoc(t *testing.T) {
	checkGoroutines(t)
	mem := collab.NewMemStore()
	if _, err := mem.Append(context.Background(), "p3", [][]byte{{0xff, 0xff}}); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, mem, nil)
	if _, err := env.hub.State(context.Background(), "p3"); !errors.Is(err, collab.ErrRoomUnavailable) {
		t.Errorf("State = %v, want ErrRoomUnavailable", err)
	}
	if _, err := env.hub.Watch(context.Background(), "p3"); !errors.Is(err, collab.ErrRoomUnavailable) {
		t.Errorf("Watch = %v, want ErrRoomUnavailable", err)
	}
	if err := env.hub.Apply(context.Background(), "p3", newEditor(1).insert(t, "x")); !errors.Is(err, collab.ErrRoomUnavailable) {
		t.Errorf("Apply = %v, want ErrRoomUnavailable", err)
	}
}
