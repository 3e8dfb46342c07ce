package crdt

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// The expected values below were printed by yjs 13.6.33 for the same
// edits (text.toDelta(snapshot, prevSnapshot, computeYChange) and
// xmlElement.getAttributes(snapshot)).

func TestTextToDeltaAt(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1, DisableGC: true})
	txt := d.GetText("t")
	mustDo(t, txt.Insert(0, "hello world"))
	s1 := SnapshotOf(d)
	mustDo(t, txt.Delete(0, 6))
	mustDo(t, txt.InsertWithAttributes(5, "!", lib0.Object{{Key: "bold", Value: true}}))
	s2 := SnapshotOf(d)
	before, err := EncodeStateAsUpdate(d, nil)
	mustDo(t, err)

	tests := []struct {
		name     string
		snap     *Snapshot
		prev     *Snapshot
		yc       YChangeFunc
		want     []Delta
		wantSame bool // the same as ToDelta
	}{
		{name: "at s1", snap: &s1, want: []Delta{{Insert: "hello world"}}},
		{name: "current", wantSame: true},
		{name: "s2 against s1", snap: &s2, prev: &s1, want: []Delta{
			{Insert: "hello ", Attributes: map[string]any{"ychange": lib0.Object{{Key: "type", Value: "removed"}}}},
			{Insert: "world"},
			{Insert: "!", Attributes: map[string]any{"bold": true, "ychange": lib0.Object{{Key: "type", Value: "added"}}}},
		}},
		{name: "s2 against s1 with users", snap: &s2, prev: &s1,
			yc: func(action string, id ID) any { return map[string]any{"type": action, "user": id.Client} },
			want: []Delta{
				{Insert: "hello ", Attributes: map[string]any{"ychange": lib0.Object{{Key: "type", Value: "removed"}, {Key: "user", Value: 1.0}}}},
				{Insert: "world"},
				{Insert: "!", Attributes: map[string]any{"bold": true, "ychange": lib0.Object{{Key: "type", Value: "added"}, {Key: "user", Value: 1.0}}}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if tt.wantSame {
				want = txt.ToDelta()
			}
			got := txt.ToDeltaAt(tt.snap, tt.prev, tt.yc)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ToDeltaAt (-want +got):\n%s", diff)
			}
		})
	}
	// The reads split structs at the snapshots' edges and merge them back.
	after, err := EncodeStateAsUpdate(d, nil)
	mustDo(t, err)
	if string(before) != string(after) {
		t.Errorf("state changed by the reads:\n before %x\n after  %x", before, after)
	}
	if got := NewText().ToDeltaAt(&s1, nil, nil); len(got) != 0 {
		t.Errorf("prelim text at a snapshot = %v, want empty", got)
	}
}

func TestXmlElementGetAttributesAt(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1, DisableGC: true})
	mustDo(t, d.GetText("t").Insert(0, "hello world"))
	el := NewXmlElement("p")
	mustDo(t, d.GetXmlFragment("x").Insert(0, el))
	empty := SnapshotOf(d)
	mustDo(t, el.SetAttribute("a", "1"))
	s3 := SnapshotOf(d)
	mustDo(t, el.SetAttribute("a", "2"))
	mustDo(t, el.SetAttribute("b", "3"))
	el.RemoveAttribute("a")
	tests := []struct {
		name string
		s    Snapshot
		want map[string]any
	}{
		{"before any attribute", empty, map[string]any{}},
		// yjs merges the two deleted writes of "a" into one item that
		// started before s3 and reads its last value: "2", not "1".
		{"s3", s3, map[string]any{"a": "2"}},
		{"now", SnapshotOf(d), map[string]any{"b": "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, el.GetAttributesAt(tt.s)); diff != "" {
				t.Errorf("GetAttributesAt (-want +got):\n%s", diff)
			}
		})
	}
	if got := NewXmlElement("p").GetAttributesAt(s3); len(got) != 0 {
		t.Errorf("prelim element = %v, want none", got)
	}
}
