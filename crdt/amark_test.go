package crdt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// editor makes the edits of someone working in a formatted text: runs of
// typing at a cursor, backspaces, deletes forward, jumps, formatting a
// selection near the cursor, embeds, and inserts with their own
// attributes. Formatted texts find their positions from amarks, and such
// local runs are what amarks serve.
type editor struct {
	rng    *rand.Rand
	cursor int
	// bmp leaves out astral characters: a delete inside a surrogate pair
	// leaves different texts on different peers (yjs issue #248), which
	// a convergence check must not see.
	bmp bool
}

var editorAttrs = []lib0.Object{
	{{Key: "bold", Value: true}},
	{{Key: "bold", Value: nil}},
	{{Key: "italic", Value: true}},
	{{Key: "color", Value: "red"}},
	{{Key: "color", Value: "blue"}},
	{{Key: "link", Value: "https://example.com/a"}, {Key: "bold", Value: true}},
	{{Key: "italic", Value: nil}, {Key: "color", Value: nil}},
}

// pick returns one of ss, never an astral one with bmp.
func (e *editor) pick(ss []string) string {
	for {
		s := ss[e.rng.IntN(len(ss))]
		if !e.bmp || utf16Len(s) == uint64(utf8.RuneCountInString(s)) {
			return s
		}
	}
}

// next returns the next edit of a text of n units, on root "t".
func (e *editor) next(peer, n int) liveOp {
	e.cursor = min(e.cursor, n)
	op := liveOp{Peer: peer, Path: []any{"t"}}
	x := e.rng.IntN(100)
	switch {
	case n == 0 || x < 55:
		op.Kind, op.Index = "textInsert", e.cursor
		op.Text = string(rune('a' + e.rng.IntN(26)))
		if e.rng.IntN(6) == 0 {
			op.Text += e.pick([]string{" ", "😀", "é"})
		}
		if e.rng.IntN(8) == 0 {
			op.Attrs = jsonObject(editorAttrs[e.rng.IntN(len(editorAttrs))])
		}
		e.cursor += int(utf16Len(op.Text))
	case x < 70 && e.cursor > 0:
		l := 1 + e.rng.IntN(min(3, e.cursor))
		op.Kind, op.Index, op.Len = "textDelete", e.cursor-l, l
		e.cursor -= l
	case x < 75 && e.cursor < n:
		op.Kind, op.Index, op.Len = "textDelete", e.cursor, 1+e.rng.IntN(min(3, n-e.cursor))
	case x < 88:
		from := max(0, e.cursor-e.rng.IntN(12))
		op.Kind, op.Index = "textFormat", from
		op.Len = 1 + e.rng.IntN(max(1, min(16, n-from)))
		op.Attrs = jsonObject(editorAttrs[e.rng.IntN(len(editorAttrs))])
	case x < 94:
		op.Kind, op.Delta, op.Unsanitized = "textDelta", e.delta(n), e.rng.IntN(4) == 0
	case x < 97:
		op.Kind, op.Index = "textEmbed", e.cursor
		op.Embed = map[string]any{"image": "i.png"}
		e.cursor++
	default:
		e.cursor = e.rng.IntN(n + 1)
		return e.next(peer, n)
	}
	return op
}

// delta makes a delta over a text of n units: a retain to near the
// cursor, then formatting, inserts (with attributes, embeds, a final
// newline) and deletes.
func (e *editor) delta(n int) []Delta {
	attrs := func() map[string]any {
		if e.rng.IntN(2) == 0 {
			return nil
		}
		m := map[string]any{}
		for _, f := range editorAttrs[e.rng.IntN(len(editorAttrs))] {
			m[f.Key] = f.Value
		}
		return m
	}
	var d []Delta
	at := min(n, max(0, e.cursor-e.rng.IntN(4)))
	if at > 0 {
		d = append(d, Delta{Retain: at})
	}
	for range 1 + e.rng.IntN(4) {
		switch e.rng.IntN(5) {
		case 0, 1:
			d = append(d, Delta{Insert: e.pick([]string{"x", "yz", "\n", "😀", "w\n"}), Attributes: attrs()})
		case 2:
			d = append(d, Delta{Insert: map[string]any{"image": "j.png"}, Attributes: attrs()})
		case 3:
			d = append(d, Delta{Retain: 1 + e.rng.IntN(6), Attributes: attrs()})
		default:
			d = append(d, Delta{Delete: 1 + e.rng.IntN(3)})
		}
	}
	return d
}

// checkAmarks holds every amark of t to the walk from the start of t.
func checkAmarks(t *Text) error {
	for _, m := range t.amarks {
		var walk textPos
		r := t.start
		for ; r != nil && r != m.p; r = r.right {
			if r.deleted() {
				continue
			}
			if r.info&itemCountable != 0 {
				walk.index += r.ilen()
			} else if f, ok := r.content.(*contentFormat); ok {
				walk.updateAttrs(f)
			}
		}
		if r == nil {
			return fmt.Errorf("amark at %d: item %v is not in the text", m.index, m.p.id)
		}
		if walk.index != m.index {
			return fmt.Errorf("amark at item %v: index %d, the walk counts %d", m.p.id, m.index, walk.index)
		}
		if !slices.EqualFunc(walk.attrs, m.attrs, func(a, b attrKV) bool { return a.key == b.key && anyEqualFlat(a.v, b.v) }) {
			return fmt.Errorf("amark at %d: attributes %v, the walk holds %v", m.index, m.attrs, walk.attrs)
		}
	}
	return nil
}

// TestAmarks edits a formatted text locally (with a second peer's edits
// arriving now and then, several edits in one transaction, undo) and
// checks after every transaction that each amark is the state of the walk
// from the start, and at the end that a replay of the updates gives the
// same text.
func TestAmarks(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 0xa3a7))
		a := NewDoc(&DocOptions{ClientID: 1, DisableGC: seed%2 == 0})
		b := NewDoc(&DocOptions{ClientID: 2})
		var updates [][]byte
		a.OnUpdate(func(u []byte, _ any, _ *Transaction) { updates = append(updates, u) })
		ta, tb := a.GetText("t"), b.GetText("t")
		um := NewUndoManager(a, nil, ta)
		ea, eb := &editor{rng: rng, bmp: true}, &editor{rng: rng, bmp: true}
		used := 0
		for step := range 1500 {
			switch x := rng.IntN(100); {
			case x < 3:
				syncDocs(t, a, b)
			case x < 6:
				um.Undo()
			case x < 10:
				a.Transact(func(*Transaction) {
					for range 1 + rng.IntN(4) {
						applyEditor(t, ta, ea.next(0, ta.Len()))
					}
				}, nil)
			case x < 15:
				applyEditor(t, tb, eb.next(1, tb.Len()))
			default:
				applyEditor(t, ta, ea.next(0, ta.Len()))
			}
			used += len(ta.amarks)
			if err := checkAmarks(ta); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		}
		if used == 0 {
			t.Fatalf("seed %d: no amark was ever kept", seed)
		}
		c := NewDoc(&DocOptions{ClientID: 3})
		for _, u := range updates {
			if err := ApplyUpdate(c, u, nil); err != nil {
				t.Fatal(err)
			}
		}
		syncDocs(t, a, b, c)
		if got, want := fmt.Sprint(c.GetText("t").ToDelta()), fmt.Sprint(ta.ToDelta()); got != want {
			t.Fatalf("seed %d: replayed delta\n%s\nwant\n%s", seed, got, want)
		}
	}
}

func applyEditor(t *testing.T, text *Text, op liveOp) {
	t.Helper()
	var err error
	switch op.Kind {
	case "textInsert":
		if op.Attrs != nil {
			err = text.InsertWithAttributes(op.Index, op.Text, lib0.Object(op.Attrs))
		} else {
			err = text.Insert(op.Index, op.Text)
		}
	case "textDelete":
		err = text.Delete(op.Index, op.Len)
	case "textFormat":
		err = text.Format(op.Index, op.Len, lib0.Object(op.Attrs))
	case "textEmbed":
		err = text.InsertEmbed(op.Index, op.Embed, nil)
	case "textDelta":
		err = text.ApplyDelta(op.Delta, &ApplyDeltaOptions{Unsanitized: op.Unsanitized})
	}
	if err != nil {
		t.Fatalf("%s at %d: %v", op.Kind, op.Index, err)
	}
}

// TestYjsRichEditing drives the editor against yjs: two peers, most edits
// on peer 0, every update both sides emit compared byte for byte (v1 and
// v2), syncs now and then, and the whole state at the end. In formatted
// text yjs walks every operation from the start of the text, Go from an
// amark: the bytes show that both find the same positions.
func TestYjsRichEditing(t *testing.T) {
	requireYjs(t)
	p := startYjsPeer(t)
	for seed := range uint64(12) {
		if err := runRichEditing(p, seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

func runRichEditing(p *yjsPeer, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x71c4))
	r, err := newLiveRun(p, rng, []uint64{100 + seed, 7}, seed%3 != 0, false, false, nil)
	if err != nil {
		return err
	}
	eds := []*editor{{rng: rng}, {rng: rng}}
	for round := range 60 {
		ops := make([]liveOp, 0, 16)
		for range 1 + rng.IntN(16) {
			peer := 0
			if rng.IntN(8) == 0 {
				peer = 1
			}
			op := eds[peer].next(peer, r.docs[peer].GetText("t").Len())
			if err := r.applyGo(op); err != nil {
				return fmt.Errorf("round %d: go %s: %w", round, op.Kind, err)
			}
			ops = append(ops, op)
		}
		reply, err := r.p.call(map[string]any{"cmd": "ops", "ops": ops})
		if err != nil {
			return err
		}
		if err := r.collect(reply); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		var syncs [][2]int
		if rng.IntN(4) == 0 {
			syncs = [][2]int{{0, 1}, {1, 0}}
		}
		if err := r.deliver(syncs, false); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
	}
	if err := r.deliver([][2]int{{0, 1}, {1, 0}}, true); err != nil {
		return err
	}
	return r.checkState()
}
