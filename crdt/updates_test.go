package crdt

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

func mustDecodeHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The text('t').insert(0,'hi') update of client 7 in both formats
// (shared/notes/yjs.md §2.6, verified against yjs).
const (
	hiV1 = "010107000401017402686900"
	hiV2 = "000001070000010406037468690102010100000101" + "0000"
)

func TestConvertUpdateFormatNotes(t *testing.T) {
	v2, err := ConvertUpdateFormatV1ToV2(mustDecodeHex(t, hiV1))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(v2); got != hiV2 {
		t.Errorf("V1ToV2 = %s, want %s", got, hiV2)
	}
	v1, err := ConvertUpdateFormatV2ToV1(mustDecodeHex(t, hiV2))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(v1); got != hiV1 {
		t.Errorf("V2ToV1 = %s, want %s", got, hiV1)
	}
	sv, err := EncodeStateVectorFromUpdate(mustDecodeHex(t, hiV1))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(sv); got != "010702" {
		t.Errorf("state vector = %s, want 010702", got)
	}
}

func TestUpdatesMalformed(t *testing.T) {
	bad := [][]byte{
		nil,
		{0x01},
		{0x01, 0x01, 0x07, 0x00, 0x04},
		mustDecodeHex(t, "01ffffffff0f07000401017402686900"),
	}
	for _, b := range bad {
		if _, err := ConvertUpdateFormatV1ToV2(b); !errors.Is(err, ErrMalformedUpdate) {
			t.Errorf("ConvertUpdateFormatV1ToV2(%x) = %v, want ErrMalformedUpdate", b, err)
		}
		if _, err := MergeUpdates([][]byte{b, mustDecodeHex(t, hiV1)}); !errors.Is(err, ErrMalformedUpdate) {
			t.Errorf("MergeUpdates(%x) = %v, want ErrMalformedUpdate", b, err)
		}
	}
	// A v2 update whose columns repeat forever must not make the reader
	// loop: the struct count is bounded (8 per byte plus 2^20).
	_, err := ConvertUpdateFormatV2ToV1(mustDecodeHex(t, "00"+"00"+"0107"+"00"+"00"+"0100"+"0100"+"00"+"00"+"0641ffffffff0f"+"01"+"8080808080808001"+"00"))
	if !errors.Is(err, ErrMalformedUpdate) || !strings.Contains(err.Error(), "too many structs") {
		t.Errorf("endless GC column: %v, want too many structs", err)
	}
}

// TestV8Sort checks the emulation of V8's sort (TimSort, any
// elements) against orders V8 produced with yjs's inconsistent
// comparator (testdata/yjs/v8sort.json, written by gen.mjs).
func TestV8Sort(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(yjsDir, "v8sort.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Input [][4]uint64 `json:"input"` // client, clock, kind (0 item, 1 gc, 2 skip), id
		Order []int       `json:"order"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	for i, c := range cases {
		readers := make([]*lazyReader, len(c.Input))
		for j, e := range c.Input {
			it := &Item{id: ID{e[0], e[1]}, len: 1}
			switch e[2] {
			case 1:
				it.info = itemGC
			case 2:
				it.info = itemSkip
			}
			readers[j] = &lazyReader{curr: it, tie: int64(e[3])}
		}
		v8Sort(readers, compareReadersJS)
		got := make([]int, len(readers))
		for j, r := range readers {
			got[j] = int(r.tie)
		}
		if diff := cmp.Diff(c.Order, got); diff != "" {
			t.Errorf("case %d (%d elements) order (-v8 +go):\n%s", i, len(c.Input), diff)
		}
	}
}

// TestMalformedStateVector: a truncated or oversized state vector is an
// error (it once recursed until the stack overflowed, killing the process).
func TestMalformedStateVector(t *testing.T) {
	u := mustDecodeHex(t, hiV1)
	for _, sv := range [][]byte{{0x05}, {0x01, 0x07}, {0x01, 0x80}, {0x01, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}} {
		if _, err := DiffUpdate(u, sv); !errors.Is(err, ErrMalformedUpdate) {
			t.Errorf("DiffUpdate with state vector %x: %v, want ErrMalformedUpdate", sv, err)
		}
		if _, err := DecodeStateVector(sv); !errors.Is(err, ErrMalformedUpdate) {
			t.Errorf("DecodeStateVector(%x): %v, want ErrMalformedUpdate", sv, err)
		}
	}
}

// TestCompactV2Pending: a document holding pending structs that encode to
// a very compact v2 update (runs of GC structs) still merges and encodes
// them; the Doc-less operations allow such legitimate compact updates.
func TestCompactV2Pending(t *testing.T) {
	gapGC := func(client uint64, n int) []byte {
		var e lib0.Encoder
		e.WriteVarUint(1)
		e.WriteVarUint(uint64(n))
		e.WriteVarUint(client)
		e.WriteVarUint(5) // clocks 0-4 missing: everything stays pending
		for range n {
			e.WriteUint8(0)
			e.WriteVarUint(1)
		}
		e.WriteVarUint(0)
		return e.Bytes()
	}
	d := NewDoc(&DocOptions{ClientID: 1})
	for _, c := range []uint64{9, 10} {
		if err := ApplyUpdate(d, gapGC(c, 10000), nil); err != nil {
			t.Fatalf("client %d: %v", c, err)
		}
	}
	if !d.HasPending() {
		t.Fatal("no pending structs")
	}
	for _, v2 := range []bool{false, true} {
		var err error
		if v2 {
			_, err = EncodeStateAsUpdateV2(d, nil)
		} else {
			_, err = EncodeStateAsUpdate(d, nil)
		}
		if err != nil {
			t.Errorf("encoding with pending data (v2=%v): %v", v2, err)
		}
	}
}
