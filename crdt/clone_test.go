package crdt

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

func TestCloneText(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	txt := d.GetText("t")
	mustDo(t, txt.Insert(0, "hello world"))
	mustDo(t, txt.Format(0, 5, lib0.Object{{Key: "bold", Value: true}}))
	mustDo(t, txt.InsertEmbed(5, lib0.Object{{Key: "image", Value: "a.png"}}, lib0.Object{{Key: "alt", Value: "x"}}))
	c := txt.Clone()
	if c.shared().doc != nil {
		t.Fatal("the clone is not prelim")
	}
	arr := d.GetArray("a")
	mustDo(t, arr.Push(c))
	if diff := cmp.Diff(txt.ToDelta(), c.ToDelta()); diff != "" {
		t.Errorf("clone delta (-original +clone):\n%s", diff)
	}
	// The clone is independent of the original.
	mustDo(t, txt.Delete(0, txt.Len()))
	if got := c.String(); got != "hello world" {
		t.Errorf("clone after deleting the original = %q", got)
	}
	// Cloning an empty or prelim text gives an empty text.
	if got := NewText().Clone(); got.Len() != 0 || len(got.prelim) != 0 {
		t.Errorf("clone of a prelim text has content")
	}
}

func TestCloneNested(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	m := d.GetMap("m")
	inner := NewArray()
	mustDo(t, inner.Push("x", []byte{1, 2}))
	mustDo(t, m.Set("list", inner))
	mustDo(t, m.Set("n", 3))
	nested := NewMap()
	mustDo(t, m.Set("nested", nested))
	txt := NewText()
	mustDo(t, nested.Set("title", txt))
	mustDo(t, txt.Insert(0, "song"))

	c := m.Clone()
	if got, want := c.Keys(), []string{"list", "n", "nested"}; !cmp.Equal(got, want) {
		t.Errorf("clone keys = %v, want %v", got, want)
	}
	d2 := NewDoc(&DocOptions{ClientID: 2})
	mustDo(t, d2.GetArray("a").Push(c))
	if diff := cmp.Diff(m.ToJSON(), c.ToJSON()); diff != "" {
		t.Errorf("clone JSON (-original +clone):\n%s", diff)
	}
	// Nested types are copies, not the originals.
	l, _ := c.Get("list")
	if l.(*Array) == inner {
		t.Fatal("the nested array was not cloned")
	}
	mustDo(t, inner.Push("y"))
	if got := l.(*Array).Len(); got != 2 {
		t.Errorf("cloned nested array has %d elements after the original grew, want 2", got)
	}
	b := l.(*Array).Get(1).([]byte)
	b[0] = 9
	if orig := inner.Get(1).([]byte); orig[0] != 1 {
		t.Error("binary values share memory with the original")
	}

	// A prelim array clones what it holds.
	p := NewArray()
	mustDo(t, p.Push(1, NewMap()))
	pc := p.Clone()
	if pc.Len() != 2 || pc.Get(1).(*Map) == p.Get(1).(*Map) {
		t.Errorf("prelim array clone = %v", pc.ToArray())
	}
}

func TestCloneXML(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	f := d.GetXmlFragment("x")
	el := NewXmlElement("p")
	mustDo(t, f.Insert(0, el))
	mustDo(t, el.SetAttribute("class", "verse"))
	mustDo(t, el.SetAttribute("2", "two"))
	xt := NewXmlText()
	hook := NewXmlHook("chord")
	mustDo(t, el.Insert(0, xt, hook))
	mustDo(t, xt.InsertWithAttributes(0, "la la", lib0.Object{{Key: "em", Value: true}}))
	mustDo(t, hook.Set("name", "Am7"))

	fc := f.Clone()
	ec := el.Clone()
	tc := xt.Clone()
	hc := hook.Clone()
	into := d.GetArray("copies")
	mustDo(t, into.Push(fc, ec, tc, hc))
	if got, want := fc.String(), f.String(); got != want {
		t.Errorf("fragment clone = %s, want %s", got, want)
	}
	if got, want := ec.String(), el.String(); got != want {
		t.Errorf("element clone = %s, want %s", got, want)
	}
	if got, want := tc.String(), xt.String(); got != want {
		t.Errorf("text clone = %s, want %s", got, want)
	}
	if got := hc.HookName(); got != "chord" {
		t.Errorf("hook clone name = %q", got)
	}
	if v, _ := hc.Get("name"); v != "Am7" {
		t.Errorf("hook clone entry = %v", v)
	}
	// yjs sets the attributes from getAttributes(): integer-like names
	// first, so "2" is written before "class".
	if got, want := ec.keyOrder, []string{"2", "class"}; !cmp.Equal(got, want) {
		t.Errorf("attribute write order = %v, want %v", got, want)
	}
}

func TestCloneSubdoc(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	arr := d.GetArray("a")
	sub := NewDoc(&DocOptions{GUID: "take-1", Meta: "drums", AutoLoad: true})
	mustDo(t, arr.Push(sub))
	c := arr.Clone()
	cs := c.Get(0).(*Doc)
	if cs == sub || cs.GUID() != "take-1" || cs.Meta() != "drums" || !cs.AutoLoad() {
		t.Fatalf("cloned subdocument = %p %q %v %v", cs, cs.GUID(), cs.Meta(), cs.AutoLoad())
	}
	mustDo(t, d.GetArray("b").Push(c))
	u1, err := EncodeStateAsUpdate(d, nil)
	mustDo(t, err)
	if !bytes.Contains(u1, []byte("take-1")) || len(d.Subdocs()) != 2 {
		t.Errorf("the clone's subdocument was not integrated: %d subdocs", len(d.Subdocs()))
	}
}
