package crdt

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const relposFixtures = "testdata/relpos/relpos.json"

// relposTypeKey names a type: its root name or the id of its item.
type relposTypeKey struct {
	Root *string `json:"root"`
	Item *struct {
		Client uint64 `json:"client"`
		Clock  uint64 `json:"clock"`
	} `json:"item"`
}

// relposHistory is one history written by testdata/yjs/relpos.mjs.
type relposHistory struct {
	Name      string `json:"name"`
	GC        bool   `json:"gc"`
	Base      string `json:"base"`
	Final     string `json:"final"`
	Positions []struct {
		Type     relposTypeKey `json:"type"`
		Index    int           `json:"index"`
		Assoc    int           `json:"assoc"`
		Bytes    string        `json:"bytes"`
		JSON     string        `json:"json"`
		Resolved *struct {
			Type  relposTypeKey `json:"type"`
			Index int           `json:"index"`
		} `json:"resolved"`
	} `json:"positions"`
}

func loadRelposFixtures(t *testing.T) []relposHistory {
	t.Helper()
	if *updateFixtures {
		cmd := exec.Command("node", "relpos.mjs", filepath.Join("..", "relpos", "relpos.json"))
		cmd.Dir = yjsDir
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("recording relative position fixtures with node (run `npm ci` in %s first): %v", yjsDir, err)
		}
	}
	data, err := os.ReadFile(relposFixtures)
	if err != nil {
		t.Fatal(err)
	}
	var hs []relposHistory
	if err := json.Unmarshal(data, &hs); err != nil {
		t.Fatal(err)
	}
	if len(hs) < 3 {
		t.Fatalf("only %d histories in %s", len(hs), relposFixtures)
	}
	return hs
}

// branchOf finds the type a relposTypeKey names in d.
func branchOf(t *testing.T, d *Doc, k relposTypeKey) *branch {
	t.Helper()
	if k.Root != nil {
		b := d.share[*k.Root]
		if b == nil {
			t.Fatalf("no root %q", *k.Root)
		}
		return b
	}
	it := d.store.find(ID{k.Item.Client, k.Item.Clock})
	if it == nil {
		t.Fatalf("no item %+v", *k.Item)
	}
	ct, ok := it.content.(*contentType)
	if !ok {
		t.Fatalf("item %+v holds no type", *k.Item)
	}
	return ct.t
}

// TestYjsRelativePositions checks positions against yjs 13.6.33 both ways:
// Go creates, at every index of every sequence type, the position yjs
// created (same bytes and JSON), and after concurrent edits resolves the
// positions yjs encoded to the index yjs resolved them to.
func TestYjsRelativePositions(t *testing.T) {
	for _, h := range loadRelposFixtures(t) {
		t.Run(h.Name, func(t *testing.T) {
			d := NewDoc(&DocOptions{ClientID: receiverClient, DisableGC: !h.GC})
			d.GetText("t")
			d.GetArray("a")
			d.GetXmlFragment("x")
			if err := ApplyUpdate(d, unhex(t, h.Base), nil); err != nil {
				t.Fatal(err)
			}
			created := make([]RelativePosition, len(h.Positions))
			for i, p := range h.Positions {
				b := branchOf(t, d, p.Type)
				r := CreateRelativePositionFromTypeIndex(b.owner, p.Index, p.Assoc)
				created[i] = r
				checkBytes(t, "EncodeRelativePosition", p.Bytes)(EncodeRelativePosition(r), nil)
				js, err := json.Marshal(r)
				if err != nil || string(js) != p.JSON {
					t.Errorf("position %d: JSON = %s, %v; want %s", i, js, err, p.JSON)
				}
				dec, err := DecodeRelativePosition(unhex(t, p.Bytes))
				if err != nil {
					t.Fatalf("position %d: %v", i, err)
				}
				// The binary form keeps the type only at the end of a type
				// (as in yjs), so compare by re-encoding.
				checkBytes(t, "re-encoded", p.Bytes)(EncodeRelativePosition(dec), nil)
				if diff := cmp.Diff(r.Item, dec.Item); diff != "" || dec.Assoc != r.Assoc {
					t.Errorf("position %d: decoded item/assoc differ: %s %d %d", i, diff, dec.Assoc, r.Assoc)
				}
				var fromJSON RelativePosition
				if err := json.Unmarshal([]byte(p.JSON), &fromJSON); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(r, fromJSON); diff != "" {
					t.Errorf("position %d: from JSON (-created +json):\n%s", i, diff)
				}
				// Before any edit a position resolves to its own index
				// (clamped to the end, as yjs does).
				abs, ok := CreateAbsolutePositionFromRelativePosition(r, d)
				if want := min(p.Index, b.length); !ok || abs.Index != want || abs.Type.shared() != b {
					t.Errorf("position %d (index %d assoc %d): resolves before edits to %v %+v; want index %d", i, p.Index, p.Assoc, ok, abs, want)
				}
			}
			if err := ApplyUpdate(d, unhex(t, h.Final), nil); err != nil {
				t.Fatal(err)
			}
			for i, p := range h.Positions {
				dec, err := DecodeRelativePosition(unhex(t, p.Bytes))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range []RelativePosition{dec, created[i]} {
					abs, ok := CreateAbsolutePositionFromRelativePosition(r, d)
					if p.Resolved == nil {
						if ok {
							t.Errorf("position %d (%s): resolved to index %d, yjs gives null", i, p.JSON, abs.Index)
						}
						continue
					}
					if !ok {
						t.Errorf("position %d (%s): not resolved, yjs gives index %d", i, p.JSON, p.Resolved.Index)
						continue
					}
					if abs.Index != p.Resolved.Index || abs.Type.shared() != branchOf(t, d, p.Resolved.Type) || abs.Assoc != p.Assoc {
						t.Errorf("position %d (%s): resolved to index %d, yjs gives %d", i, p.JSON, abs.Index, p.Resolved.Index)
					}
				}
			}
		})
	}
}

func TestRelativePositionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown kind", []byte{3, 0}},
		{"truncated id", []byte{0, 1}},
		{"truncated name", []byte{1, 5, 'a'}},
		{"assoc too large", []byte{2, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x7f}},
	} {
		if _, err := DecodeRelativePosition(tc.b); !errors.Is(err, ErrInvalidRelativePosition) {
			t.Errorf("DecodeRelativePosition(%s): err = %v, want ErrInvalidRelativePosition", tc.name, err)
		}
	}
	var r RelativePosition
	if err := json.Unmarshal([]byte(`{"item":5}`), &r); !errors.Is(err, ErrInvalidRelativePosition) {
		t.Errorf("UnmarshalJSON: err = %v, want ErrInvalidRelativePosition", err)
	}
	if b := EncodeRelativePosition(RelativePosition{}); b != nil {
		t.Errorf("EncodeRelativePosition(empty) = %x, want nil", b)
	}
	d := NewDoc(&DocOptions{ClientID: 1})
	if _, ok := CreateAbsolutePositionFromRelativePosition(RelativePosition{Item: &ID{9, 0}}, d); ok {
		t.Error("a position at an unknown item resolved")
	}
	if _, ok := CreateAbsolutePositionFromRelativePosition(RelativePosition{}, d); ok {
		t.Error("an empty position resolved")
	}
}

func TestRelativePositionNegativeIndex(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 1})
	text := d.GetText("t")
	if err := text.Insert(0, "abc"); err != nil {
		t.Fatal(err)
	}
	for _, assoc := range []int{0, -1} {
		got := CreateRelativePositionFromTypeIndex(text, -5, assoc)
		want := CreateRelativePositionFromTypeIndex(text, 0, assoc)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("assoc %d: index -5 (-index 0 +index -5):\n%s", assoc, diff)
		}
	}
}

// FuzzDecodeRelativePosition checks that any input decodes or fails with
// ErrInvalidRelativePosition, and that decoded positions re-encode to a
// position that decodes the same and resolves without panicking.
func FuzzDecodeRelativePosition(f *testing.F) {
	for _, seed := range []string{"00010000", "010174" + "00", "02011d41", "0001"} {
		f.Add(unhex(f, seed))
	}
	d := NewDoc(&DocOptions{ClientID: 1})
	_ = d.GetText("t").Insert(0, "hello")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRelativePosition(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidRelativePosition) {
				t.Fatalf("error %v does not wrap ErrInvalidRelativePosition", err)
			}
			return
		}
		again, err := DecodeRelativePosition(EncodeRelativePosition(r))
		if err != nil {
			t.Fatalf("re-encoded position does not decode: %v", err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		CreateAbsolutePositionFromRelativePosition(r, d)
	})
}
