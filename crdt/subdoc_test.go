package crdt

import (
	"fmt"
	"strings"
	"testing"
)

func describeSubdocs(e SubdocsEvent) string {
	list := func(ds []*Doc) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.GUID())
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("A[%s] R[%s] L[%s]", list(e.Added), list(e.Removed), list(e.Loaded))
}

// TestSubdocs follows yjs's subdocument semantics: one document per track,
// loaded on demand on the other side, replaced, destroyed.
func TestSubdocs(t *testing.T) {
	project := NewDoc(&DocOptions{ClientID: 1, CollectionID: "p1"})
	var events []string
	project.OnSubdocs(func(e SubdocsEvent, _ *Transaction) { events = append(events, describeSubdocs(e)) })
	tracks := project.GetMap("tracks")
	drums := NewDoc(&DocOptions{GUID: "track-drums", Meta: map[string]any{"name": "Drums"}})
	bass := NewDoc(&DocOptions{GUID: "track-bass", AutoLoad: true, DisableGC: true})
	_ = tracks.Set("drums", drums)
	_ = tracks.Set("bass", bass)
	if err := tracks.Set("again", drums); err == nil {
		t.Error("the same Doc was accepted twice as a subdocument")
	}
	if got := strings.Join(events, " "); got != "A[track-drums] R[] L[track-drums] A[track-bass] R[] L[track-bass]" {
		t.Errorf("local events: %s", got)
	}
	if drums.ClientID() != project.ClientID() || drums.CollectionID() != "p1" || !drums.IsSubdoc() {
		t.Errorf("subdocument takes the parent's client id and collection: %d %q %v", drums.ClientID(), drums.CollectionID(), drums.IsSubdoc())
	}

	// The other side: only the auto-loading subdocument loads by itself.
	peer := NewDoc(&DocOptions{ClientID: 2})
	var peerEvents []string
	peer.OnSubdocs(func(e SubdocsEvent, _ *Transaction) { peerEvents = append(peerEvents, describeSubdocs(e)) })
	u, err := EncodeStateAsUpdate(project, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyUpdate(peer, u, "remote"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(peerEvents, " "); got != "A[track-drums,track-bass] R[] L[track-bass]" {
		t.Errorf("remote events: %s", got)
	}
	v, _ := peer.GetMap("tracks").Get("drums")
	rd := v.(*Doc)
	if rd.ShouldLoad() || fmt.Sprint(rd.Meta()) != "[{name Drums}]" {
		t.Errorf("remote drums: shouldLoad %v meta %v", rd.ShouldLoad(), rd.Meta())
	}
	if got := strings.Join(peer.SubdocGUIDs(), ","); got != "track-drums,track-bass" {
		t.Errorf("SubdocGUIDs = %s", got)
	}
	peerEvents = nil
	rd.Load()
	rd.Load() // once
	if got := strings.Join(peerEvents, " "); got != "A[] R[] L[track-drums]" {
		t.Errorf("load events: %s", got)
	}

	// Replacing a track: the old one is removed (and destroyed, which
	// yjs reports once more), the new one added.
	events = nil
	drums2 := NewDoc(&DocOptions{GUID: "track-drums"})
	_ = tracks.Set("drums", drums2)
	if got := strings.Join(events, " "); got != "A[track-drums] R[track-drums] L[track-drums] A[] R[track-drums] L[]" {
		t.Errorf("replace events: %s", got)
	}
	if !drums.Destroyed() || drums.IsSubdoc() {
		t.Error("the replaced subdocument was not destroyed")
	}
	// Destroying a subdocument puts a fresh unloaded one in its place.
	events = nil
	bass.Destroy()
	if got := strings.Join(events, " "); got != "A[track-bass] R[track-bass] L[]" {
		t.Errorf("destroy events: %s", got)
	}
	v, _ = tracks.Get("bass")
	if nb := v.(*Doc); nb == bass || nb.ShouldLoad() || !nb.AutoLoad() || nb.GC() {
		t.Errorf("replacement after destroy: same %v shouldLoad %v autoLoad %v gc %v", nb == bass, nb.ShouldLoad(), nb.AutoLoad(), nb.GC())
	}
	if n := len(project.Subdocs()); n != 2 {
		t.Errorf("%d subdocuments, want 2", n)
	}
}

// TestDestroyDropsHandlers: after Destroy the document's handlers are gone
// (yjs's Observable.destroy), so a destroyed document reports nothing.
func TestDestroyDropsHandlers(t *testing.T) {
	d := NewDoc(nil)
	updates, destroys := 0, 0
	d.OnUpdate(func([]byte, any, *Transaction) { updates++ })
	d.OnDestroy(func(*Doc) { destroys++ })
	if err := d.GetText("t").Insert(0, "a"); err != nil {
		t.Fatal(err)
	}
	d.Destroy()
	if destroys != 1 {
		t.Fatalf("destroy handler ran %d times", destroys)
	}
	if err := d.GetText("t").Insert(0, "b"); err != nil {
		t.Fatal(err)
	}
	d.Destroy()
	if updates != 1 || destroys != 1 {
		t.Fatalf("after Destroy: %d updates, %d destroys reported, want 1 and 1", updates, destroys)
	}
}
