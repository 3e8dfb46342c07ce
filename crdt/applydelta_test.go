package crdt

import (
	"errors"
	"fmt"
	"testing"
)

func TestApplyDelta(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	text := d.GetText("t")
	if err := text.ApplyDelta([]Delta{{Insert: "hello world\n"}}, nil); err != nil {
		t.Fatal(err)
	}
	err := text.ApplyDelta([]Delta{
		{Retain: 6, Attributes: map[string]any{"bold": true}},
		{Delete: 5},
		{Insert: "there", Attributes: map[string]any{"italic": true}},
		{},
		{Insert: map[string]any{"image": "a.png"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "[{hello  0 0 map[bold:true]} {there 0 0 map[italic:true]} {[{image a.png}] 0 0 map[]} {\n 0 0 map[]}]"
	if got := fmt.Sprint(text.ToDelta()); got != want {
		t.Fatalf("delta %s, want %s", got, want)
	}

	// A retain past the end pads with newlines, as yjs does.
	if err := text.ApplyDelta([]Delta{{Retain: text.Len() + 2, Attributes: map[string]any{"b": 1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := text.String(); got != "hello there\n\n\n" {
		t.Fatalf("after padding retain: %q", got)
	}

	// Unsanitized drops the trailing newline of a final insert at the end.
	u := NewDoc(nil).GetText("t")
	if err := u.ApplyDelta([]Delta{{Insert: "line\n"}}, &ApplyDeltaOptions{Unsanitized: true}); err != nil {
		t.Fatal(err)
	}
	if err := u.ApplyDelta([]Delta{{Insert: "a\n"}, {Insert: "b"}}, &ApplyDeltaOptions{Unsanitized: true}); err != nil {
		t.Fatal(err)
	}
	if got := u.String(); got != "a\nbline" {
		t.Fatalf("unsanitized: %q", got)
	}

	// A prelim text replays its delta when it is inserted.
	p := NewText()
	if err := p.ApplyDelta([]Delta{{Insert: "x", Attributes: map[string]any{"bold": true}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.GetArray("a").Insert(0, p); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.ToDelta()); got != "[{x 0 0 map[bold:true]}]" {
		t.Fatalf("prelim delta %s", got)
	}

	for _, bad := range [][]Delta{{{Retain: -1}}, {{Delete: -2}}, {{Insert: "x", Attributes: map[string]any{"f": func() {}}}}} {
		before := text.String()
		if err := text.ApplyDelta(bad, nil); err == nil {
			t.Fatalf("%v: no error", bad)
		}
		if text.String() != before {
			t.Fatalf("%v: a rejected delta changed the text", bad)
		}
	}
	if err := text.ApplyDelta([]Delta{{Insert: p}}, nil); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("inserting an integrated type: %v", err)
	}
}
