package crdt

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

const undoCaptureFixtures = "testdata/undo/capture.json"

// TestYjsUndoCapture replays the capture-grouping scenarios recorded from
// yjs with an injected clock (testdata/yjs/undo.mjs): after every step the
// text's delta, the map, the stack lengths, the manager's events and the
// undo/redo results must be yjs's. -update re-records them (needs Node).
func TestYjsUndoCapture(t *testing.T) {
	if *updateFixtures {
		cmd := exec.Command("node", "undo.mjs", filepath.Join("..", "undo", "capture.json"))
		cmd.Dir = yjsDir
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("recording undo fixtures with node (run `npm ci` in %s first): %v", yjsDir, err)
		}
	}
	data, err := os.ReadFile(undoCaptureFixtures)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		At    int64          `json:"at"`
		Op    string         `json:"op"`
		Index int            `json:"index"`
		Len   int            `json:"len"`
		Text  string         `json:"text"`
		Key   string         `json:"key"`
		Value any            `json:"value"`
		Attrs map[string]any `json:"attrs"`
		Want  struct {
			Delta  any      `json:"delta"`
			Map    any      `json:"map"`
			Undo   int      `json:"undo"`
			Redo   int      `json:"redo"`
			Events []string `json:"events"`
			Result *bool    `json:"result"`
		} `json:"want"`
	}
	var scenarios []struct {
		Name           string `json:"name"`
		CaptureTimeout int64  `json:"captureTimeout"`
		Steps          []step `json:"steps"`
	}
	if err := json.Unmarshal(data, &scenarios); err != nil {
		t.Fatal(err)
	}
	if len(scenarios) < 3 {
		t.Fatalf("only %d scenarios in %s", len(scenarios), undoCaptureFixtures)
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			now := time.UnixMilli(1_000_000)
			timeout := time.Duration(sc.CaptureTimeout) * time.Millisecond
			if timeout == 0 {
				timeout = -1 // yjs captureTimeout 0: never merge
			}
			d := NewDoc(&DocOptions{ClientID: 1})
			text, m := d.GetText("t"), d.GetMap("m")
			um := NewUndoManager(d, &UndoManagerOptions{CaptureTimeout: timeout, Now: func() time.Time { return now }}, text, m)
			var events []string
			ev := func(name string) func(StackItemEvent) {
				return func(e StackItemEvent) {
					events = append(events, fmt.Sprintf("%s:%s:%d", name, e.Type, len(e.ChangedParentTypes)))
				}
			}
			um.OnStackItemAdded(ev("added"))
			um.OnStackItemUpdated(ev("updated"))
			um.OnStackItemPopped(ev("popped"))
			for i, st := range sc.Steps {
				now = time.UnixMilli(1_000_000 + st.At)
				events = []string{}
				var result *bool
				var err error
				attrs := lib0.Object{}
				for k, v := range st.Attrs {
					attrs.Set(k, v)
				}
				switch st.Op {
				case "insert":
					if st.Attrs != nil {
						err = text.InsertWithAttributes(st.Index, st.Text, attrs)
					} else {
						err = text.Insert(st.Index, st.Text)
					}
				case "delete":
					err = text.Delete(st.Index, st.Len)
				case "format":
					err = text.Format(st.Index, st.Len, attrs)
				case "set":
					err = m.Set(st.Key, st.Value)
				case "stop":
					um.StopCapturing()
				case "undo":
					result = ptr(um.Undo() != nil)
				case "redo":
					result = ptr(um.Redo() != nil)
				default:
					t.Fatalf("step %d: unknown op %q", i, st.Op)
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", i, st.Op, err)
				}
				if diff := cmp.Diff(jsonRoundTrip(t, st.Want.Delta), jsonRoundTrip(t, text.ToDelta())); diff != "" {
					t.Errorf("step %d %s at %d ms: delta (-yjs +go):\n%s", i, st.Op, st.At, diff)
				}
				if diff := cmp.Diff(jsonRoundTrip(t, st.Want.Map), jsonRoundTrip(t, m.ToJSON())); diff != "" {
					t.Errorf("step %d %s: map (-yjs +go):\n%s", i, st.Op, diff)
				}
				if got := len(um.UndoStack()); got != st.Want.Undo {
					t.Errorf("step %d %s at %d ms: undo stack %d, yjs %d", i, st.Op, st.At, got, st.Want.Undo)
				}
				if got := len(um.RedoStack()); got != st.Want.Redo {
					t.Errorf("step %d %s: redo stack %d, yjs %d", i, st.Op, got, st.Want.Redo)
				}
				if diff := cmp.Diff(st.Want.Events, events); diff != "" {
					t.Errorf("step %d %s: events (-yjs +go):\n%s", i, st.Op, diff)
				}
				if diff := cmp.Diff(st.Want.Result, result); diff != "" {
					t.Errorf("step %d %s: result (-yjs +go):\n%s", i, st.Op, diff)
				}
			}
		})
	}
}

func jsonRoundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUndoTrackedOrigins(t *testing.T) {
	type assistant struct{ name string }
	tests := []struct {
		name    string
		tracked []any
		origin  any
		want    bool
	}{
		{"default tracks nil", nil, nil, true},
		{"default ignores a string", nil, "remote", false},
		{"string origin", []any{"me"}, "me", true},
		{"other string", []any{"me"}, "you", false},
		{"tracked set without nil", []any{"me"}, nil, false},
		{"type-based", []any{reflect.TypeOf(&assistant{})}, &assistant{"clip-bot"}, true},
		{"type-based, other type", []any{reflect.TypeOf(&assistant{})}, "clip-bot", false},
		{"incomparable origin", []any{"me"}, map[string]int{"a": 1}, false},
		{"incomparable origin by type", []any{reflect.TypeOf(map[string]int{})}, map[string]int{"a": 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDoc(&DocOptions{ClientID: 1})
			text := d.GetText("t")
			um := NewUndoManager(d, &UndoManagerOptions{TrackedOrigins: tt.tracked}, text)
			d.Transact(func(*Transaction) { _ = text.Insert(0, "abc") }, tt.origin)
			if got := um.CanUndo(); got != tt.want {
				t.Fatalf("CanUndo after a change with origin %v = %v, want %v", tt.origin, got, tt.want)
			}
			um.Undo()
			want := "abc"
			if tt.want {
				want = ""
			}
			if got := text.String(); got != want {
				t.Errorf("after Undo: %q, want %q", got, want)
			}
		})
	}
	t.Run("add and remove", func(t *testing.T) {
		d := NewDoc(&DocOptions{ClientID: 1})
		text := d.GetText("t")
		um := NewUndoManager(d, nil, text)
		um.AddTrackedOrigin("bot")
		d.Transact(func(*Transaction) { _ = text.Insert(0, "a") }, "bot")
		um.RemoveTrackedOrigin("bot")
		um.StopCapturing()
		d.Transact(func(*Transaction) { _ = text.Insert(1, "b") }, "bot")
		if n := len(um.UndoStack()); n != 1 {
			t.Fatalf("undo stack %d, want 1", n)
		}
		um.Undo()
		if got := text.String(); got != "b" {
			t.Errorf("after Undo: %q, want %q", got, "b")
		}
	})
}

func TestUndoScope(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	text, arr, m := d.GetText("t"), d.GetArray("a"), d.GetMap("m")
	um := NewUndoManager(d, &UndoManagerOptions{CaptureTimeout: -1}, text)
	_ = arr.Push("out of scope")
	if um.CanUndo() {
		t.Fatal("a change outside the scope was recorded")
	}
	if err := um.AddToScope(arr); err != nil {
		t.Fatal(err)
	}
	_ = arr.Push("in scope")
	_ = text.Insert(0, "x")
	um.Undo()
	um.Undo()
	if got := fmt.Sprint(arr.ToJSON(), text.String()); got != "[out of scope]" {
		t.Errorf("after two undos: %s", got)
	}
	if err := um.AddToScope(NewDoc(nil).GetMap("m")); err == nil {
		t.Error("AddToScope accepted a type of another document")
	}
	if err := um.AddToScope(NewMap()); err == nil {
		t.Error("AddToScope accepted a prelim type")
	}
	// A nested type is in the scope of its ancestors.
	nested := NewMap()
	_ = m.Set("inner", nested)
	docUM := NewUndoManager(d, nil) // the whole document
	_ = nested.Set("k", "v")
	docUM.Undo()
	if _, ok := nested.Get("k"); ok {
		t.Error("undo of the whole document left a nested change")
	}
}

func TestUndoDeleteFilterAndMeta(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	arr := d.GetArray("a")
	um := NewUndoManager(d, &UndoManagerOptions{
		DeleteFilter: func(it *Item) bool {
			v := it.Content()
			return len(v) == 0 || v[0] != "keep"
		},
	}, arr)
	um.OnStackItemAdded(func(e StackItemEvent) { e.StackItem.Meta["cursor"] = 7 })
	var restored any
	um.OnStackItemPopped(func(e StackItemEvent) {
		restored = e.StackItem.Meta["cursor"]
		if e.Origin != um || e.Type != StackUndo {
			t.Errorf("popped event origin %v type %s", e.Origin, e.Type)
		}
		if _, ok := e.ChangedParentTypes[arr]; !ok {
			t.Errorf("popped event without the array in ChangedParentTypes: %v", e.ChangedParentTypes)
		}
	})
	_ = arr.Push("keep", []byte("drop")) // two items: a filter sees whole items
	if um.Undo() == nil {
		t.Fatal("Undo did nothing")
	}
	if got := fmt.Sprint(arr.ToJSON()); got != "[keep]" {
		t.Errorf("after undo with a delete filter: %s", got)
	}
	if restored != 7 {
		t.Errorf("meta restored %v, want 7", restored)
	}
	var cleared []bool
	um.OnStackCleared(func(u, r bool) { cleared = append(cleared, u, r) })
	um.Clear()
	if um.CanUndo() || um.CanRedo() || fmt.Sprint(cleared) != "[true true]" {
		t.Errorf("after Clear: CanUndo %v CanRedo %v cleared %v", um.CanUndo(), um.CanRedo(), cleared)
	}
	um.Destroy()
	_ = arr.Push("after destroy")
	if um.CanUndo() {
		t.Error("a destroyed manager recorded a change")
	}
}

// TestUndoKeepsContentThroughGC checks that undo restores content that
// garbage collection would have dropped, and that a relative position
// into deleted text follows the re-inserted items (yjs followRedone).
func TestUndoKeepsContentThroughGC(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	text := d.GetText("t")
	um := NewUndoManager(d, nil, text)
	_ = text.Insert(0, "hello world")
	um.StopCapturing()
	rp := CreateRelativePositionFromTypeIndex(text, 8, 0) // before "r"
	_ = text.Delete(5, 6)
	if abs, _ := CreateAbsolutePositionFromRelativePosition(rp, d); abs.Index != 5 {
		t.Errorf("position in deleted text at %d, want 5", abs.Index)
	}
	um.Undo()
	if got := text.String(); got != "hello world" {
		t.Fatalf("after undo: %q", got)
	}
	if abs, _ := CreateAbsolutePositionFromRelativePosition(rp, d); abs.Index != 8 {
		t.Errorf("position after undo at %d, want 8 (following the redone item)", abs.Index)
	}
	// A second peer sees the same text.
	peer := NewDoc(&DocOptions{ClientID: 2})
	u, err := EncodeStateAsUpdate(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyUpdate(peer, u, nil); err != nil {
		t.Fatal(err)
	}
	if got := peer.GetText("t").String(); got != "hello world" {
		t.Errorf("peer: %q", got)
	}
	um.Redo()
	if got := text.String(); got != "hello" {
		t.Errorf("after redo: %q", got)
	}
}

func TestUndoXML(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	frag := d.GetXmlFragment("x")
	um := NewUndoManager(d, nil, frag)
	p := NewXmlElement("p")
	_ = frag.Insert(0, p)
	um.StopCapturing()
	if err := p.SetAttribute("class", "a"); err != nil {
		t.Fatal(err)
	}
	txt := NewXmlText()
	_ = p.Insert(0, txt)
	_ = txt.InsertWithAttributes(0, "hi", lib0.Object{{Key: "bold", Value: true}})
	um.StopCapturing()
	_ = frag.Delete(0, 1)
	if got := frag.String(); got != "" {
		t.Fatalf("after delete: %q", got)
	}
	um.Undo() // the deletion: the element comes back as a new item, with its content
	want := `<p class="a"><bold>hi</bold></p>`
	if got := frag.String(); got != want {
		t.Errorf("after undoing the delete: %q, want %q", got, want)
	}
	um.Undo() // attribute and text
	if got := frag.String(); got != "<p></p>" {
		t.Errorf("after the second undo: %q", got)
	}
	um.Redo()
	if got := frag.String(); got != want {
		t.Errorf("after redo: %q, want %q", got, want)
	}
}

func TestUndoManagerEndsWithItsDoc(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	text := d.GetText("t")
	um := NewUndoManager(d, nil, text)
	d.Destroy()
	_ = text.Insert(0, "x")
	if um.CanUndo() {
		t.Error("the manager of a destroyed document still records changes")
	}
	um.Destroy() // a second Destroy is harmless
}
