package crdt

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// writeHiUpdate writes, field by field, the update yjs makes for
// text('t').insert(0, 'hi') by client 7 (shared/notes/yjs.md §2.6).
func writeHiUpdate(enc updateEncoder) {
	writeRestVarUint(enc, 1) // clients
	writeRestVarUint(enc, 1) // structs
	enc.WriteClient(7)
	writeRestVarUint(enc, 0) // start clock
	enc.WriteInfo(4)         // ContentString
	enc.WriteParentInfo(true)
	enc.WriteString("t")
	enc.WriteString("hi")
	writeRestVarUint(enc, 0) // delete set: no clients
}

func TestCodecNotesVectors(t *testing.T) {
	tests := []struct {
		name string
		v2   bool
		want string
	}{
		{"v1", false, "010107000401017402686900"},
		{"v2", true, "00" + "00" + "0107" + "00" + "00" + "0104" + "0603746869" + "0102" + "0101" + "00" + "00" + "01010000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := newUpdateEncoder(tt.v2)
			writeHiUpdate(enc)
			if got := hex.EncodeToString(enc.ToBytes()); got != tt.want {
				t.Errorf("encoded %s, want %s", got, tt.want)
			}
			b, _ := hex.DecodeString(tt.want)
			dec, err := newUpdateDecoder(b, tt.v2)
			if err != nil {
				t.Fatal(err)
			}
			var got []any
			read := func(v any, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			read(readRestVarUint(dec))
			read(readRestVarUint(dec))
			read(dec.ReadClient())
			read(readRestVarUint(dec))
			read(dec.ReadInfo())
			read(dec.ReadParentInfo())
			read(dec.ReadString())
			read(dec.ReadString())
			read(readRestVarUint(dec))
			want := []any{uint64(1), uint64(1), uint64(7), uint64(0), byte(4), true, "t", "hi", uint64(0)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCodecRoundTrip writes every field kind with both encoders and reads
// it back.
func TestCodecRoundTrip(t *testing.T) {
	obj := lib0.Object{{Key: "b", Value: 1.0}, {Key: "a", Value: "x"}}
	for _, v2 := range []bool{false, true} {
		enc := newUpdateEncoder(v2)
		enc.WriteInfo(0xc4)
		enc.WriteLeftID(ID{1 << 52, 5})
		enc.WriteRightID(ID{3, 1 << 40})
		enc.WriteClient(9)
		enc.WriteParentInfo(false)
		enc.WriteString("ab😀")
		enc.WriteTypeRef(5) // YXmlHook
		enc.WriteLen(42)
		enc.WriteAny(obj)
		enc.WriteBuf([]byte{1, 2, 3})
		enc.WriteJSON(lib0.Object{{Key: "bold", Value: true}})
		enc.WriteKey("bold")
		enc.WriteKey("bold")
		enc.ResetDsCurVal()
		enc.WriteDsClock(10)
		enc.WriteDsLen(3)
		enc.WriteDsClock(20)
		enc.WriteDsLen(1)

		dec, err := newUpdateDecoder(enc.ToBytes(), v2)
		if err != nil {
			t.Fatal(err)
		}
		var got []any
		add := func(v any, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("v2=%v: %v", v2, err)
			}
			got = append(got, v)
		}
		add(dec.ReadInfo())
		add(dec.ReadLeftID())
		add(dec.ReadRightID())
		add(dec.ReadClient())
		add(dec.ReadParentInfo())
		add(dec.ReadString())
		add(dec.ReadTypeRef())
		add(dec.ReadLen())
		add(dec.ReadAny())
		add(dec.ReadBuf())
		add(dec.ReadJSON())
		add(dec.ReadKey())
		add(dec.ReadKey())
		dec.ResetDsCurVal()
		add(dec.ReadDsClock())
		add(dec.ReadDsLen())
		add(dec.ReadDsClock())
		add(dec.ReadDsLen())
		want := []any{byte(0xc4), ID{1 << 52, 5}, ID{3, 1 << 40}, uint64(9), false, "ab😀", uint64(5), uint64(42),
			obj, []byte{1, 2, 3}, lib0.Object{{Key: "bold", Value: true}}, "bold", "bold",
			uint64(10), uint64(3), uint64(20), uint64(1)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("v2=%v (-want +got):\n%s", v2, diff)
		}
	}
}

// TestCodecV2KeyReuse decodes a key column that refers back to a key, which
// yjs 13.6 encoders never write but decoders must accept.
func TestCodecV2KeyReuse(t *testing.T) {
	var keyClock lib0.IntDiffOptRleEncoder
	for _, c := range []uint64{0, 1, 0, 1} {
		keyClock.Write(c)
	}
	var strs lib0.StringEncoder
	strs.Write("bold")
	strs.Write("italic")
	var e lib0.Encoder
	e.WriteVarUint(0)
	e.WriteVarUint8Array(keyClock.Bytes())
	for range 4 {
		e.WriteVarUint8Array(nil)
	}
	e.WriteVarUint8Array(strs.Bytes())
	for range 3 {
		e.WriteVarUint8Array(nil)
	}
	dec, err := newUpdateDecoder(e.Bytes(), true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		k, err := dec.ReadKey()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
	}
	if diff := cmp.Diff([]string{"bold", "italic", "bold", "italic"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestCodecMalformed(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		v2   bool
		read func(updateDecoder) error
	}{
		{"v1 truncated id", "05", false, func(d updateDecoder) error { _, err := d.ReadLeftID(); return err }},
		{"v1 empty info", "", false, func(d updateDecoder) error { _, err := d.ReadInfo(); return err }},
		{"v1 string too long", "8080808080808001", false, func(d updateDecoder) error { _, err := d.ReadString(); return err }},
		{"v1 json undefined", "09756e646566696e6564", false, func(d updateDecoder) error { _, err := d.ReadJSON(); return err }},
		{"v1 json invalid", "017b", false, func(d updateDecoder) error { _, err := d.ReadJSON(); return err }},
		{"v1 empty ds range", "00", false, func(d updateDecoder) error { _, err := d.ReadDsLen(); return err }},
		{"v1 ds ranges out of order", "0a0105", false, func(d updateDecoder) error {
			if _, err := d.ReadDsClock(); err != nil {
				return err
			}
			if _, err := d.ReadDsLen(); err != nil {
				return err
			}
			_, err := d.ReadDsClock()
			return err
		}},
		{"v2 empty column", "00" + "0000000000" + "0100" + "000000", true, func(d updateDecoder) error { _, err := d.ReadInfo(); return err }},
		{"v2 empty client column", "00" + "0000000000" + "0100" + "000000", true, func(d updateDecoder) error { _, err := d.ReadClient(); return err }},
		{"v2 ds clock overflow", "00" + "0000000000" + "0100" + "000000" + "ffffffffffffff0f" + "ffffffffffffff0f", true, func(d updateDecoder) error {
			if _, err := d.ReadDsClock(); err != nil {
				return err
			}
			_, err := d.ReadDsClock()
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			dec, err := newUpdateDecoder(b, tt.v2)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.read(dec); !errors.Is(err, ErrMalformedUpdate) {
				t.Errorf("got %v, want ErrMalformedUpdate", err)
			}
		})
	}
	for _, h := range []string{"", "00", "0005", "00" + "0000000000000000" + "05"} {
		b, _ := hex.DecodeString(h)
		if _, err := newUpdateDecoder(b, true); !errors.Is(err, ErrMalformedUpdate) {
			t.Errorf("newUpdateDecoder(%s, v2) = %v, want ErrMalformedUpdate", h, err)
		}
	}
}

// TestCodecV2StringBudget reads endless empty strings from a tiny v2
// update: the decoder stops after a bound proportional to the input.
func TestCodecV2StringBudget(t *testing.T) {
	var lens lib0.UintOptRleEncoder
	for range 1 << 20 {
		lens.Write(0)
	}
	var col lib0.Encoder
	col.WriteVarString("")
	col.WriteBytes(lens.Bytes())
	var e lib0.Encoder
	e.WriteVarUint(0)
	for range 5 {
		e.WriteVarUint8Array(nil)
	}
	e.WriteVarUint8Array(col.Bytes())
	for range 3 {
		e.WriteVarUint8Array(nil)
	}
	dec, err := newUpdateDecoder(e.Bytes(), true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := dec.ReadString(); err != nil {
			if !errors.Is(err, ErrMalformedUpdate) {
				t.Fatalf("got %v, want ErrMalformedUpdate", err)
			}
			if i > 16*e.Len()+64 {
				t.Fatalf("read %d strings from %d bytes", i, e.Len())
			}
			return
		}
	}
}
