package crdt

import (
	"slices"
	"testing"
	"time"
)

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestDocLoadSync(t *testing.T) {
	d := NewDoc(nil)
	var log []string
	d.OnLoad(func(*Doc) { log = append(log, "load") })
	off := d.OnSync(func(s bool, d *Doc) {
		if s {
			log = append(log, "sync")
		} else {
			log = append(log, "unsync")
		}
	})
	loaded, synced := d.WhenLoaded(), d.WhenSynced()
	if d.IsLoaded() || d.IsSynced() || isClosed(loaded) || isClosed(synced) {
		t.Fatal("a new document is loaded or synced")
	}
	done := make(chan struct{})
	go func() {
		<-synced
		close(done)
	}()

	// A first sync loads the document too, before the sync handlers run.
	d.EmitSync(true)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WhenSynced did not fire")
	}
	if !d.IsLoaded() || !d.IsSynced() || !isClosed(loaded) {
		t.Fatal("EmitSync(true) did not load and sync")
	}
	// Losing the connection starts a new WhenSynced.
	d.EmitSync(false)
	again := d.WhenSynced()
	if d.IsSynced() || isClosed(again) || !d.IsLoaded() {
		t.Fatal("EmitSync(false) did not reset the sync state")
	}
	d.EmitSync(false) // not synced: nothing new
	if d.WhenSynced() != again {
		t.Fatal("a second EmitSync(false) replaced WhenSynced")
	}
	d.EmitLoad()
	d.EmitSync(true)
	if !isClosed(again) {
		t.Fatal("the second WhenSynced did not close")
	}
	off()
	d.EmitSync(true)
	if want := []string{"load", "sync", "unsync", "unsync", "load", "sync"}; !slices.Equal(log, want) {
		t.Errorf("events = %v, want %v", log, want)
	}

	// A destroyed document ignores the signals, as yjs drops its handlers.
	d2 := NewDoc(nil)
	d2.Destroy()
	d2.EmitLoad()
	d2.EmitSync(true)
	if d2.IsLoaded() || d2.IsSynced() || isClosed(d2.WhenLoaded()) {
		t.Error("a destroyed document took a load or sync signal")
	}
}

func TestGCFilter(t *testing.T) {
	var asked []ID
	d := NewDoc(&DocOptions{ClientID: 1, GCFilter: func(it *Item) bool {
		asked = append(asked, it.ID())
		_, keep := it.content.(*contentString)
		return !keep
	}})
	txt := d.GetText("t")
	arr := d.GetArray("a")
	mustDo(t, txt.Insert(0, "abc"))
	mustDo(t, arr.Push(1, 2))
	d.Transact(func(*Transaction) {
		mustDo(t, txt.Delete(0, 3))
		mustDo(t, arr.Delete(0, 2))
	}, nil)
	if want := []ID{{1, 0}, {1, 3}}; !slices.Equal(asked, want) {
		t.Errorf("filter asked about %v, want %v", asked, want)
	}
	kept := map[uint64]string{}
	for _, it := range d.store.clients[1].all() {
		switch it.content.(type) {
		case *contentString:
			kept[it.id.Clock] = "string"
		case *contentDeleted:
			kept[it.id.Clock] = "deleted"
		}
	}
	if kept[0] != "string" || kept[3] != "deleted" {
		t.Errorf("contents after gc = %v: want the string kept, the array run collected", kept)
	}
	if txt.String() != "" || arr.Len() != 0 {
		t.Error("kept items came back to life")
	}

	// Without GC the filter is not asked.
	asked = nil
	nd := NewDoc(&DocOptions{DisableGC: true, GCFilter: func(it *Item) bool { asked = append(asked, it.ID()); return true }})
	mustDo(t, nd.GetText("t").Insert(0, "x"))
	mustDo(t, nd.GetText("t").Delete(0, 1))
	if len(asked) != 0 {
		t.Errorf("filter asked with gc off: %v", asked)
	}
}
