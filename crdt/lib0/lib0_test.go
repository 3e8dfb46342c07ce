package lib0

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Byte vectors from shared/notes/yjs.md §1.1 and §2.1 (verified there
// against lib0 in Node).
func TestNotesVectors(t *testing.T) {
	varUints := []struct {
		v   uint64
		hex string
	}{{127, "7f"}, {128, "8001"}, {300, "ac02"}, {1 << 32, "8080808010"}}
	for _, tt := range varUints {
		var e Encoder
		e.WriteVarUint(tt.v)
		if got := hex.EncodeToString(e.Bytes()); got != tt.hex {
			t.Errorf("WriteVarUint(%d) = %s, want %s", tt.v, got, tt.hex)
		}
	}
	varInts := []struct {
		abs uint64
		neg bool
		hex string
	}{{0, false, "00"}, {0, true, "40"}, {63, false, "3f"}, {64, false, "8001"}, {64, true, "c001"}, {8192, false, "808001"}}
	for _, tt := range varInts {
		var e Encoder
		e.WriteVarIntSign(tt.abs, tt.neg)
		if got := hex.EncodeToString(e.Bytes()); got != tt.hex {
			t.Errorf("WriteVarIntSign(%d, %v) = %s, want %s", tt.abs, tt.neg, got, tt.hex)
		}
	}
	anys := []struct {
		name string
		v    any
		hex  string
	}{
		{"zero", 0, "7d00"},
		{"negative zero", math.Copysign(0, -1), "7d40"},
		{"minus one", -1, "7d41"},
		{"300", 300, "7dac04"},
		{"max int32", int32(math.MaxInt32), "7dbfffffff0f"},
		{"2^32 as float32", uint64(1 << 32), "7c4f800000"},
		{"2^32 from int", 1 << 32, "7c4f800000"},
		{"half", 0.5, "7c3f000000"},
		{"float32 half", float32(0.5), "7c3f000000"},
		{"tenth", 0.1, "7b3fb999999999999a"},
		{"2^53-1", float64(1<<53 - 1), "7b433fffffffffffff"},
		{"integral float", 42.0, "7d2a"},
		{"uint8", uint8(200), "7d8803"},
		{"undefined", Undefined, "7f"},
		{"null", nil, "7e"},
		{"true", true, "78"},
		{"false", false, "79"},
		{"bigint", BigInt(-2), "7afffffffffffffffe"},
		{"bytes", []byte{1, 2}, "74020102"},
		{"strings", []string{"a"}, "75017701" + "61"},
		{"ints", []int{1, 2}, "75027d017d02"},
		// {b:1,a:…,2:…,1:…} encodes keys 1,2,b,a (yjs.md §2.1 pitfall c).
		{"object order", Object{{"b", 1}, {"a", 2}, {"2", 3}, {"1", 4}}, "7604" + "0131" + "7d04" + "0132" + "7d03" + "0162" + "7d01" + "0161" + "7d02"},
		{"map order", map[string]any{"b": 1, "a": 2, "10": 3, "9": 4}, "7604" + "0139" + "7d04" + "023130" + "7d03" + "0161" + "7d02" + "0162" + "7d01"},
	}
	for _, tt := range anys {
		t.Run(tt.name, func(t *testing.T) {
			var e Encoder
			if err := e.WriteAny(tt.v); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(e.Bytes()); got != tt.hex {
				t.Errorf("WriteAny(%v) = %s, want %s", tt.v, got, tt.hex)
			}
		})
	}
	// Column codecs (yjs.md §2.6).
	var rle RleEncoder
	for _, v := range []byte{4, 4, 4, 7} {
		rle.Write(v)
	}
	var uor UintOptRleEncoder
	for _, v := range []uint64{1, 2, 3, 3, 3, 0, 0} {
		uor.Write(v)
	}
	var idr IntDiffOptRleEncoder
	for _, v := range []uint64{1, 2, 3, 2} {
		idr.Write(v)
	}
	var se StringEncoder
	for _, s := range []string{"ab", "😀", "c"} {
		se.Write(s)
	}
	cols := []struct {
		name string
		got  []byte
		want string
	}{
		{"rle", rle.Bytes(), "040207"},
		{"uintOptRle", uor.Bytes(), "010243014000"},
		{"intDiffOptRle", idr.Bytes(), "030142"},
		{"string", se.Bytes(), "076162f09f9880634200" + "01"},
	}
	for _, c := range cols {
		if got := hex.EncodeToString(c.got); got != c.want {
			t.Errorf("%s = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestObjectSet(t *testing.T) {
	var o Object
	for _, k := range []string{"b", "10", "a", "2", "01", "4294967295", "4294967294", "b"} {
		o.Set(k, k)
	}
	want := []string{"2", "10", "4294967294", "b", "a", "01", "4294967295"}
	if diff := cmp.Diff(want, o.Keys()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	o.Delete("a")
	if _, ok := o.Get("a"); ok {
		t.Error("a still present after Delete")
	}
	if v, ok := o.Get("10"); !ok || v != "10" {
		t.Errorf(`Get("10") = %v, %v`, v, ok)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		read func(*Decoder) error
		want error
	}{
		{"varUint EOF", "80", func(d *Decoder) error { _, err := d.ReadVarUint(); return err }, ErrUnexpectedEOF},
		{"varUint empty", "", func(d *Decoder) error { _, err := d.ReadVarUint(); return err }, ErrUnexpectedEOF},
		{"varUint 2^53", "80808080808080808001", func(d *Decoder) error { _, err := d.ReadVarUint(); return err }, ErrIntegerOutOfRange},
		{"varUint 2^53 short", "8080808080808010", func(d *Decoder) error { _, err := d.ReadVarUint(); return err }, ErrIntegerOutOfRange},
		{"varUint 2^64 wrap", "ffffffffffffffffff01", func(d *Decoder) error { _, err := d.ReadVarUint(); return err }, ErrIntegerOutOfRange},
		{"varInt EOF", "c0", func(d *Decoder) error { _, err := d.ReadVarInt(); return err }, ErrUnexpectedEOF},
		{"varInt too big", "ffffffffffffffff7f", func(d *Decoder) error { _, err := d.ReadVarInt(); return err }, ErrIntegerOutOfRange},
		{"string too long", "0561", func(d *Decoder) error { _, err := d.ReadVarString(); return err }, ErrUnexpectedEOF},
		{"string 2^50", "8080808080808001", func(d *Decoder) error { _, err := d.ReadVarString(); return err }, ErrUnexpectedEOF},
		{"string bad utf8", "01ff", func(d *Decoder) error { _, err := d.ReadVarString(); return err }, ErrInvalidUTF8},
		{"float64 short", "3fb9", func(d *Decoder) error { _, err := d.ReadFloat64(); return err }, ErrUnexpectedEOF},
		{"any unknown tag", "73", func(d *Decoder) error { _, err := d.ReadAny(); return err }, ErrUnknownTag},
		{"any array 2^50", "75" + "8080808080808001", func(d *Decoder) error { _, err := d.ReadAny(); return err }, ErrInvalidLength},
		{"any object 2^50", "76" + "8080808080808001", func(d *Decoder) error { _, err := d.ReadAny(); return err }, ErrInvalidLength},
		{"any truncated array", "75027d01", func(d *Decoder) error { _, err := d.ReadAny(); return err }, ErrUnexpectedEOF},
		{"any bytes 2^50", "74" + "8080808080808001", func(d *Decoder) error { _, err := d.ReadAny(); return err }, ErrUnexpectedEOF},
		{"any deep", string(bytes.Repeat([]byte("7501"), MaxDepth+2)) + "7e", func(d *Decoder) error { _, err := d.ReadAny(); return err }, ErrTooDeep},
		{"string column bad", "05616263", func(d *Decoder) error { _, err := NewStringDecoder(d.ReadRest()); return err }, ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(hexBytes(t, tt.hex))
			if err := tt.read(d); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestColumnDecodersPastEnd(t *testing.T) {
	if _, err := NewUintOptRleDecoder(nil).Read(); !errors.Is(err, ErrUnexpectedEOF) {
		t.Errorf("UintOptRleDecoder on empty input: %v", err)
	}
	if _, err := NewIntDiffOptRleDecoder(nil).Read(); !errors.Is(err, ErrUnexpectedEOF) {
		t.Errorf("IntDiffOptRleDecoder on empty input: %v", err)
	}
	if _, err := NewIntDiffOptRleDecoder([]byte{0x42}).Read(); !errors.Is(err, ErrIntegerOutOfRange) {
		t.Errorf("IntDiffOptRleDecoder below zero: %v", err)
	}
	if _, err := NewRleDecoder(nil).Read(); !errors.Is(err, ErrUnexpectedEOF) {
		t.Errorf("RleDecoder on empty input: %v", err)
	}
	// The last run of an RleDecoder repeats forever.
	r := NewRleDecoder([]byte{4, 2, 7})
	var got []byte
	for range 6 {
		b, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if diff := cmp.Diff([]byte{4, 4, 4, 7, 7, 7}, got); diff != "" {
		t.Errorf("RleDecoder (-want +got):\n%s", diff)
	}
	sd, err := NewStringDecoder(hexBytes(t, "02616203"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sd.Read(); !errors.Is(err, ErrInvalidLength) {
		t.Errorf("StringDecoder length past the column: %v", err)
	}
}

func TestUTF16(t *testing.T) {
	tests := []struct {
		s    string
		want []uint16
	}{
		{"", []uint16{}},
		{"abc", []uint16{'a', 'b', 'c'}},
		{"é😀", []uint16{0xe9, 0xd83d, 0xde00}},
		{"\xed\xa0\xbd", []uint16{0xd83d}}, // WTF-8 lone high surrogate
		{"\xff", []uint16{0xfffd}},
	}
	for _, tt := range tests {
		got := AppendUTF16([]uint16{}, tt.s)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("AppendUTF16(%q) (-want +got):\n%s", tt.s, diff)
		}
		if n := UTF16Len(tt.s); n != len(tt.want) {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.s, n, len(tt.want))
		}
	}
	// Splitting a pair and joining it again restores it.
	u := AppendUTF16(nil, "a😀b")
	left, right := StringFromUTF16(u[:2]), StringFromUTF16(u[2:])
	if got := StringFromUTF16(AppendUTF16(AppendUTF16(nil, left), right)); got != "a😀b" {
		t.Errorf("rejoined = %q", got)
	}
	var e Encoder
	e.WriteVarString(left)
	if got := hex.EncodeToString(e.Bytes()); got != "0461efbfbd" {
		t.Errorf("WriteVarString(lone high surrogate) = %s, want 0461efbfbd", got)
	}
}

func TestWriteAnyUnsupported(t *testing.T) {
	var e Encoder
	e.WriteUint8(1)
	if err := e.WriteAny([]any{1, struct{}{}}); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("got %v, want ErrUnsupportedType", err)
	}
	if e.Len() != 1 {
		t.Errorf("partial write left %d bytes, want 1", e.Len())
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, text := range []string{"", "{", "[1,]", `"abc`, "01", "1.", "tru", `{"a" 1}`, "1 2", "\"\x01\"", `"\x"`, `"\u12"`} {
		if _, err := ParseJSON(text); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("ParseJSON(%q) = %v, want ErrInvalidJSON", text, err)
		}
	}
}

// TestIntDiffOptRleExtremes round-trips clocks whose differences need
// more than 53 bits once doubled.
func TestIntDiffOptRleExtremes(t *testing.T) {
	vals := []uint64{MaxSafeInteger, 0, MaxSafeInteger, MaxSafeInteger, 1, 0}
	var e IntDiffOptRleEncoder
	for _, v := range vals {
		e.Write(v)
	}
	d := NewIntDiffOptRleDecoder(e.Bytes())
	for i, want := range vals {
		got, err := d.Read()
		if err != nil || got != want {
			t.Fatalf("value %d = %d, %v; want %d", i, got, err, want)
		}
	}
}

// TestLargeObjectOrder decodes and parses objects with many keys,
// duplicates and integer-like keys (built in O(n log n), in JavaScript
// property order).
func TestLargeObjectOrder(t *testing.T) {
	const n = 20000
	var e Encoder
	e.WriteUint8(tagObject)
	e.WriteVarUint(n + 3)
	var text strings.Builder
	text.WriteString("{")
	for i := range n {
		k := "k" + strconv.Itoa(i)
		if i%2 == 1 {
			k = strconv.Itoa(n - i) // integer-like, descending
		}
		e.WriteVarString(k)
		e.WriteNumber(float64(i))
		fmt.Fprintf(&text, "%q:%d,", k, i)
	}
	for _, k := range []string{"k0", "1", "__proto__"} { // duplicates overwrite; __proto__ is dropped by readAny
		e.WriteVarString(k)
		e.WriteNumber(-1)
		fmt.Fprintf(&text, "%q:-1,", k)
	}
	text.WriteString(`"z":0}`)
	v, err := NewDecoder(e.Bytes()).ReadAny()
	if err != nil {
		t.Fatal(err)
	}
	o := v.(Object)
	if len(o) != n {
		t.Fatalf("%d keys, want %d", len(o), n)
	}
	if o[0].Key != "1" || o[0].Value != -1.0 || o[n/2-1].Key != strconv.Itoa(n-1) || o[n/2].Key != "k0" || o[n/2].Value != -1.0 {
		t.Errorf("order: %v %v %v %v", o[0], o[n/2-1], o[n/2], o[n-1])
	}
	p, err := ParseJSON(text.String())
	if err != nil {
		t.Fatal(err)
	}
	po := p.(Object)
	if len(po) != n+2 || po[0].Key != "1" || po[len(po)-2].Key != "__proto__" || po[len(po)-1].Key != "z" {
		t.Errorf("parsed: %d keys, first %v, last %v", len(po), po[0], po[len(po)-1])
	}
}
