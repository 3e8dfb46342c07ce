package crdt

import (
	"errors"
	"testing"
)

func TestUndoManagerAddDocToScope(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	txt, m := d.GetText("t"), d.GetMap("m")
	um := NewUndoManager(d, &UndoManagerOptions{CaptureTimeout: -1}, txt)
	mustDo(t, m.Set("k", "v"))
	if um.CanUndo() {
		t.Fatal("a change outside the scope was recorded")
	}
	if err := um.AddDocToScope(NewDoc(nil)); !errors.Is(err, ErrNotInDoc) {
		t.Errorf("AddDocToScope(other doc) = %v, want ErrNotInDoc", err)
	}
	if err := um.AddDocToScope(nil); !errors.Is(err, ErrNotInDoc) {
		t.Errorf("AddDocToScope(nil) = %v, want ErrNotInDoc", err)
	}
	if err := um.AddDocToScope(d); err != nil {
		t.Fatal(err)
	}
	types, whole := um.Scope()
	if !whole || len(types) != 1 || types[0] != SharedType(txt) {
		t.Errorf("Scope() = %v, %v; want [t], true", types, whole)
	}
	mustDo(t, m.Set("k", "w"))
	if !um.CanUndo() {
		t.Fatal("a change to the document was not recorded after AddDocToScope")
	}
	um.Undo()
	if v, _ := m.Get("k"); v != "v" {
		t.Errorf("after undo k = %v, want v", v)
	}
}
