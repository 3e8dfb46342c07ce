package crdt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"sync"
	"testing"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestTextInsertBytes(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 7})
	var got []byte
	d.OnUpdate(func(u []byte, _ any, _ *Transaction) { got = u })
	if err := d.GetText("t").Insert(0, "hi"); err != nil {
		t.Fatal(err)
	}
	if want := "010107000401017402686900"; hex.EncodeToString(got) != want {
		t.Fatalf("update %x, want %s", got, want)
	}
	full, err := EncodeStateAsUpdate(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "010107000401017402686900"; hex.EncodeToString(full) != want {
		t.Fatalf("state %x, want %s", full, want)
	}
	v2, err := EncodeStateAsUpdateV2(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0000010700000104060374686901020101000001010000"; hex.EncodeToString(v2) != want {
		t.Fatalf("v2 %x, want %s", v2, want)
	}
	if sv := EncodeStateVector(d); hex.EncodeToString(sv) != "010702" {
		t.Fatalf("sv %x", sv)
	}
}

func TestSurrogatePairUpdate(t *testing.T) {
	// yjs.md §2.7 (verified against yjs 13.6.33).
	d := NewDoc(&DocOptions{ClientID: 300})
	txt := d.GetText("t")
	for _, step := range []func() error{
		func() error { return txt.Insert(0, "ab😀") },
		func() error { return txt.Insert(1, "X") },
		func() error { return txt.Delete(0, 1) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := EncodeStateAsUpdate(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "0103ac0200010101740184ac020005" + "62f09f9880" + "c4ac0200ac0201015801ac02010001"
	if hex.EncodeToString(got) != want {
		t.Fatalf("got  %x\nwant %s", got, want)
	}
	if s := txt.String(); s != "Xb😀" || txt.Len() != 4 {
		t.Fatalf("text %q len %d", s, txt.Len())
	}
}

func TestSplitInsideSurrogatePair(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	txt := d.GetText("t")
	if err := txt.Insert(0, "😀"); err != nil {
		t.Fatal(err)
	}
	if err := txt.Insert(1, "X"); err != nil {
		t.Fatal(err)
	}
	if s := txt.String(); s != "\uFFFDX\uFFFD" || txt.Len() != 3 {
		t.Fatalf("text %q len %d, want U+FFFD X U+FFFD (as yjs)", s, txt.Len())
	}
}

func TestOutOfRange(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	txt, arr := d.GetText("t"), d.GetArray("a")
	tests := []struct {
		name string
		err  error
	}{
		{"text insert", txt.Insert(1, "x")},
		{"text insert negative", txt.Insert(-1, "x")},
		{"text delete", txt.Delete(0, 1)},
		{"array insert", arr.Insert(2, 1.0)},
		{"array delete", arr.Delete(0, 1)},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrIndexOutOfRange) {
			t.Errorf("%s: err %v, want ErrIndexOutOfRange", tt.name, tt.err)
		}
	}
	if err := arr.Insert(0, struct{}{}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("array insert of a struct: err %v, want ErrInvalidValue", err)
	}
	if sv := EncodeStateVector(d); !bytes.Equal(sv, []byte{0}) {
		t.Errorf("failed edits changed the document: sv %x", sv)
	}
}

func TestMalformedUpdates(t *testing.T) {
	good := mustHex(t, "010107000401017402686900")
	tests := []struct {
		name   string
		update []byte
		v2     bool
	}{
		{"empty", nil, false},
		{"truncated", good[:len(good)-3], false},
		{"huge struct count", mustHex(t, "0180808080808020070000"), false},
		{"unknown content ref", mustHex(t, "010107000b01017400"), false},
		{"own later origin", mustHex(t, "0101070084070501780100"), false},
		{"v1 bytes as v2", good, true},
		{"zero-length string", mustHex(t, "0101070004010174000100"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDoc(&DocOptions{ClientID: 9})
			_ = d.GetText("t").Insert(0, "z")
			before, _ := EncodeStateAsUpdate(d, nil)
			var err error
			if tt.v2 {
				err = ApplyUpdateV2(d, tt.update, nil)
			} else {
				err = ApplyUpdate(d, tt.update, nil)
			}
			if !errors.Is(err, ErrMalformedUpdate) {
				t.Fatalf("err %v, want ErrMalformedUpdate", err)
			}
			after, _ := EncodeStateAsUpdate(d, nil)
			if !bytes.Equal(before, after) {
				t.Fatalf("document changed: %x → %x", before, after)
			}
		})
	}
}

func TestConcurrentTieBreaks(t *testing.T) {
	// Concurrent inserts at one position order by ascending client id;
	// concurrent map writes resolve to the higher client id (yjs.md §3.2).
	a := NewDoc(&DocOptions{ClientID: 5})
	b := NewDoc(&DocOptions{ClientID: 3})
	_ = a.GetText("t").Insert(0, "C5")
	_ = b.GetText("t").Insert(0, "D3")
	_ = a.GetMap("m").Set("k", "five")
	_ = b.GetMap("m").Set("k", "three")
	syncDocs(t, a, b)
	for _, d := range []*Doc{a, b} {
		if s := d.GetText("t").String(); s != "D3C5" {
			t.Errorf("text %q, want D3C5", s)
		}
		if v, _ := d.GetMap("m").Get("k"); v != "five" {
			t.Errorf("map value %v, want five", v)
		}
	}
}

func syncDocs(t *testing.T, docs ...*Doc) {
	t.Helper()
	for _, from := range docs {
		for _, to := range docs {
			if from == to {
				continue
			}
			u, err := EncodeStateAsUpdate(from, EncodeStateVector(to))
			if err != nil {
				t.Fatal(err)
			}
			if err := ApplyUpdate(to, u, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestBigClientIDs(t *testing.T) {
	const id = 1<<53 - 1
	a := NewDoc(&DocOptions{ClientID: id})
	_ = a.GetArray("a").Push("x")
	b := NewDoc(&DocOptions{ClientID: 1})
	syncDocs(t, a, b)
	sv, err := DecodeStateVector(EncodeStateVector(b))
	if err != nil || sv[id] != 1 {
		t.Fatalf("sv %v, %v", sv, err)
	}
}

func TestClientIDCollision(t *testing.T) {
	a := NewDoc(&DocOptions{ClientID: 4})
	b := NewDoc(&DocOptions{ClientID: 4})
	_ = a.GetText("t").Insert(0, "a")
	u, _ := EncodeStateAsUpdate(a, nil)
	if err := ApplyUpdate(b, u, nil); err != nil {
		t.Fatal(err)
	}
	if b.ClientID() == 4 {
		t.Fatal("client id kept after a remote update used it")
	}
	if err := b.GetText("t").Insert(1, "b"); err != nil {
		t.Fatal(err)
	}
	syncDocs(t, a, b)
	if a.GetText("t").String() != "ab" {
		t.Fatalf("got %q", a.GetText("t").String())
	}
}

func TestNestedDeleteAndGC(t *testing.T) {
	for _, gc := range []bool{true, false} {
		d := NewDoc(&DocOptions{ClientID: 1, DisableGC: !gc})
		arr := d.GetArray("a")
		m := NewMap()
		_ = m.Set("k", "secret")
		inner := NewText()
		_ = inner.Insert(0, "words")
		_ = m.Set("text", inner)
		_ = arr.Push(m)
		if err := arr.Delete(0, 1); err != nil {
			t.Fatal(err)
		}
		u, _ := EncodeStateAsUpdate(d, nil)
		kept := bytes.Contains(u, []byte("secret")) && bytes.Contains(u, []byte("words"))
		if kept == gc {
			t.Errorf("gc=%v: deleted content kept=%v in %x", gc, kept, u)
		}
		// Every nested item is in the delete set: a fresh peer sees nothing.
		p := NewDoc(nil)
		if err := ApplyUpdate(p, u, nil); err != nil {
			t.Fatal(err)
		}
		if n := p.GetArray("a").Len(); n != 0 {
			t.Errorf("gc=%v: array len %d", gc, n)
		}
	}
}

func TestPrelimTypes(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	txt := NewText()
	_ = txt.Insert(0, "world")
	_ = txt.Insert(0, "hello ")
	arr := NewArray()
	_ = arr.Push(1, 2, 3)
	_ = arr.Delete(1, 1)
	m := NewMap()
	_ = m.Set("a", 1)
	_ = m.Set("a", 2)
	_ = d.GetMap("m").Set("t", txt)
	_ = d.GetMap("m").Set("arr", arr)
	_ = d.GetMap("m").Set("m", m)
	got := d.GetMap("m").ToJSON()
	if got["t"] != "hello world" || len(got["arr"].([]any)) != 2 || got["m"].(map[string]any)["a"] != 2.0 {
		t.Fatalf("got %v", got)
	}
	// The prelim map set "a" twice but writes one item, as yjs does.
	u, _ := EncodeStateAsUpdate(d, nil)
	p := NewDoc(nil)
	if err := ApplyUpdate(p, u, nil); err != nil {
		t.Fatal(err)
	}
	if p.store.state(1) != 11+1+1+2+1+1 {
		t.Fatalf("clock %d", p.store.state(1))
	}
}

func TestObserverPanicKeepsDocUsable(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	txt := d.GetText("t")
	off := txt.Observe(func(*TextEvent, *Transaction) { panic("observer bug") })
	func() {
		defer func() { _ = recover() }()
		_ = txt.Insert(0, "a")
	}()
	off()
	updates := 0
	d.OnUpdate(func([]byte, any, *Transaction) { updates++ })
	if err := txt.Insert(1, "b"); err != nil {
		t.Fatal(err)
	}
	if txt.String() != "ab" || updates != 1 {
		t.Fatalf("text %q, %d updates after a panicking observer", txt.String(), updates)
	}
}

func TestPrelimXMLRange(t *testing.T) {
	f := NewXmlFragment()
	if err := f.Insert(1, NewXmlText()); !errors.Is(err, ErrIndexOutOfRange) {
		t.Fatalf("err %v", err)
	}
	if err := f.Insert(0, NewXmlElement("p"), NewXmlText()); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(1, 2); !errors.Is(err, ErrIndexOutOfRange) {
		t.Fatalf("err %v", err)
	}
	d := NewDoc(&DocOptions{ClientID: 1})
	if err := d.GetArray("a").Push(f); err != nil {
		t.Fatal(err)
	}
	if got := f.String(); got != "<p></p>" {
		t.Fatalf("got %q", got)
	}
}

// TestUpdateV2Events checks per-transaction v2 updates against yjs
// 13.6.33 (recorded with doc.on('updateV2') for the same edits).
func TestUpdateV2Events(t *testing.T) {
	want := []string{
		"000001070000010409067468656c6c6f01050101000001010000",
		"00000247010102010401c4040258590200000001010500",
		"00000000000001000000000001070201000301",
		"000001070000012805026d6b41000101000101010107760101617d0100",
		"00000107000001080301610101010001030101087d017d0277017800",
		"000200020247020104020006034600c60b08626f6c64626f6c64440000000001020b787e00",
	}
	d := NewDoc(&DocOptions{ClientID: 7})
	var got []string
	d.OnUpdateV2(func(u []byte, _ any, _ *Transaction) { got = append(got, hex.EncodeToString(u)) })
	txt := d.GetText("t")
	_ = txt.Insert(0, "hello")
	_ = txt.Insert(2, "XY")
	_ = txt.Delete(1, 3)
	_ = d.GetMap("m").Set("k", map[string]any{"a": 1})
	_ = d.GetArray("a").Insert(0, 1, 2, "x")
	_ = txt.Format(0, 2, lib0.Object{{Key: "bold", Value: true}})
	if len(got) != len(want) {
		t.Fatalf("got %d updates, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("update %d\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestSubdocRefBytes(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 7})
	ref := NewDoc(&DocOptions{GUID: "g1", Meta: map[string]any{"x": 1}, AutoLoad: true, DisableGC: true})
	if err := d.GetArray("a").Push(ref); err != nil {
		t.Fatal(err)
	}
	got, _ := EncodeStateAsUpdate(d, nil)
	// yjs: doc.getArray('a').push([new Y.Doc({guid:'g1', autoLoad:true, gc:false, meta:{x:1}})])
	const want = "0101070009010161026731760302676379086175746f4c6f616478046d657461760101787d0100"
	if hex.EncodeToString(got) != want {
		t.Fatalf("got  %x\nwant %s", got, want)
	}
}

func TestBinaryDoesNotAliasUpdate(t *testing.T) {
	a := NewDoc(&DocOptions{ClientID: 1})
	_ = a.GetArray("a").Push([]byte{1, 2, 3})
	u, _ := EncodeStateAsUpdate(a, nil)
	b := NewDoc(&DocOptions{ClientID: 2})
	if err := ApplyUpdate(b, u, nil); err != nil {
		t.Fatal(err)
	}
	for i := range u {
		u[i] = 0xff // the caller reuses its buffer
	}
	if got := b.GetArray("a").Get(0).([]byte); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("binary content changed with the caller's buffer: %v", got)
	}
}

// TestDocsInParallel edits separate documents from separate goroutines
// (as the hub's rooms do): under -race this finds any state the documents
// share, such as a package-level marker clock.
func TestDocsInParallel(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := NewDoc(&DocOptions{ClientID: uint64(g + 1)})
			a, txt := d.GetArray("a"), d.GetText("t")
			for i := range 300 {
				if err := a.Insert(i/2, i); err != nil {
					t.Error(err)
					return
				}
				if err := txt.Insert(i/3, "x"); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					if err := txt.Format(0, 1+i/10, lib0.Object{{Key: "b", Value: true}}); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if a.Len() != 300 || txt.Len() != 300 {
				t.Errorf("doc %d: lengths %d, %d", g, a.Len(), txt.Len())
			}
		}()
	}
	wg.Wait()
}
