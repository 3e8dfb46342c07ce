package crdt

import (
	"errors"
	"fmt"
	"testing"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// TestXMLString checks toString against output recorded from yjs 13.6.33:
// attributes sorted by key in UTF-16 order (not by `key="value"`),
// formatting nested by node name, string and array values rendered as
// indexed attributes.
func TestXMLString(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	x := d.GetXmlFragment("x")
	el := NewXmlElement("Div")
	if err := x.Insert(0, el); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b", "a", "a1", "\uE000", "😀", "A"} {
		if err := el.SetAttribute(k, k+"v"); err != nil {
			t.Fatal(err)
		}
	}
	txt := NewXmlText()
	_ = el.Insert(0, txt)
	attrs := lib0.Object{
		{Key: "link", Value: lib0.Object{{Key: "href", Value: "x"}, {Key: "a1", Value: "1"}, {Key: "a", Value: "0"}}},
		{Key: "bold", Value: "abcdefghijkl"},
		{Key: "em", Value: []any{1.0, "x", nil}},
	}
	if err := txt.InsertWithAttributes(0, "hi", attrs); err != nil {
		t.Fatal(err)
	}
	_ = txt.Insert(2, "there")
	_ = txt.Format(0, 1, lib0.Object{{Key: "z", Value: true}})
	// node -e: same edits in yjs, then JSON.stringify(x.toString())
	want := `<div A="Av" a="av" a1="a1v" b="bv" 😀="😀v" ` + "\uE000=\"\uE000v\"" + `><bold 0="a" 1="b" 10="k" 11="l" 2="c" 3="d" 4="e" 5="f" 6="g" 7="h" 8="i" 9="j"><em 0="1" 1="x" 2="null"><link a="0" a1="1" href="x"><z>h</z></link></em></bold><bold 0="a" 1="b" 10="k" 11="l" 2="c" 3="d" 4="e" 5="f" 6="g" 7="h" 8="i" 9="j"><em 0="1" 1="x" 2="null"><link a="0" a1="1" href="x">ithere</link></em></bold></div>`
	if got := x.String(); got != want {
		t.Errorf("toString:\n got %q\nwant %q", got, want)
	}
	if got := x.ToJSON(); got != want {
		t.Errorf("ToJSON differs from String: %s", got)
	}
}

func TestXMLEditing(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	x := d.GetXmlFragment("x")
	p := NewXmlElement("p")
	_ = p.SetAttribute("class", "c")
	_ = p.SetAttribute("id", "i")
	p.RemoveAttribute("id") // prelim
	a, b := NewXmlElement("a"), NewXmlElement("b")
	_ = p.Push(b)
	if err := p.InsertAfter(nil, a); err != nil { // prelim: at the start
		t.Fatal(err)
	}
	if err := p.InsertAfter(NewXmlText(), a); !errors.Is(err, ErrNotAChild) {
		t.Errorf("prelim InsertAfter with a foreign ref: %v", err)
	}
	if p.Len() != 2 || p.HasAttribute("id") {
		t.Errorf("prelim: len %d, id %v", p.Len(), p.HasAttribute("id"))
	}
	_ = x.Push(p)
	txt := NewXmlText()
	_ = x.Unshift(txt)
	_ = txt.Insert(0, "t")
	hook := NewXmlHook("h")
	if err := x.InsertAfter(p, hook); err != nil {
		t.Fatal(err)
	}
	if err := x.InsertAfter(a, NewXmlText()); !errors.Is(err, ErrNotAChild) {
		t.Errorf("InsertAfter with a grandchild as ref: %v", err)
	}
	if got, want := x.String(), `t<p class="c"><a></a><b></b></p>[object Object]`; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	if x.FirstChild() != txt || p.PrevSibling() != txt || p.NextSibling() != hook || txt.NextSibling() != p || txt.PrevSibling() != nil {
		t.Error("first child or siblings wrong")
	}
	if a.NextSibling() != b || b.NextSibling() != nil {
		t.Error("siblings of nested elements wrong")
	}
	if got := len(x.Slice(1, 3)); got != 2 || x.Get(2) != hook {
		t.Errorf("Slice(1,3) has %d nodes; Get(2) = %v", got, x.Get(2))
	}
	var names []string
	w := x.CreateTreeWalker(nil)
	for n, ok := w.Next(); ok; n, ok = w.Next() {
		names = append(names, xmlDesc(n))
	}
	if got, want := len(names), 5; got != want {
		t.Errorf("tree walker visited %v, want %d nodes", names, want)
	}
	if x.QuerySelector("B") != b || len(x.QuerySelectorAll("a")) != 1 || x.QuerySelector("nope") != nil {
		t.Error("query selectors")
	}
	var ev *XmlEvent
	var class KeyChange
	p.Observe(func(e *XmlEvent, _ *Transaction) { ev, class = e, e.Keys()["class"] })
	d.Transact(func(*Transaction) {
		p.RemoveAttribute("class")
		_ = p.SetAttribute("title", "x")
		_ = p.Delete(0, 1)
	}, nil)
	if ev == nil || !ev.ChildListChanged() || len(ev.AttributesChanged()) != 2 {
		t.Fatalf("event: %+v", ev)
	}
	if class.Action != KeyDelete || class.OldValue != "c" {
		t.Errorf("keys[class] = %+v", class)
	}
	if got := p.String(); got != `<p title="x"><b></b></p>` {
		t.Errorf("after edits: %s", got)
	}
}

// TestXmlHookToJSON: a hook is a YMap to yjs's toJSON (it renders as
// "[object Object]" only inside an XML string).
func TestXmlHookToJSON(t *testing.T) {
	d := NewDoc(nil)
	h := NewXmlHook("h")
	if err := h.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := d.GetArray("a").Push(h); err != nil {
		t.Fatal(err)
	}
	got := d.GetArray("a").ToJSON()
	if len(got) != 1 || fmt.Sprint(got[0]) != "map[k:v]" {
		t.Fatalf("array JSON %v, want the hook's map JSON", got)
	}
	f := d.GetXmlFragment("x")
	h2 := NewXmlHook("h")
	if err := f.Push(h2); err != nil {
		t.Fatal(err)
	}
	if s := f.String(); s != "[object Object]" {
		t.Fatalf("XML string %q", s)
	}
}
