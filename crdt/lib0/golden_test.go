package lib0

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "re-record testdata/vectors.json with lib0 in Node (needs node and npm ci in crdt/testdata/yjs)")

const vectorsFile = "testdata/vectors.json"

// vector is one record of testdata/vectors.json, written by
// crdt/testdata/yjs/lib0vectors.mjs with the real lib0.
type vector struct {
	Kind          string     `json:"kind"`
	Value         any        `json:"value"`
	Hex           string     `json:"hex"`
	UTF16         []uint16   `json:"utf16"`
	Decoded       any        `json:"decoded"`
	Repr          string     `json:"repr"`
	Reencoded     string     `json:"reencoded"`
	Values        []float64  `json:"values"`
	Strings       [][]uint16 `json:"strings"`
	AnyHex        string     `json:"anyhex"`
	JSON          string     `json:"json"`
	ParsedHex     string     `json:"parsedhex"`
	Restringified string     `json:"restringified"`
	Str           string     `json:"str"`
	Float64       string     `json:"float64"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	if *update {
		script, err := filepath.Abs("../testdata/yjs/lib0vectors.mjs")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("node", script)
		cmd.Dir = filepath.Dir(script)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("recording vectors with node: %v", err)
		}
		if err := os.WriteFile(vectorsFile, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 100 {
		t.Fatalf("only %d vectors in %s", len(vs), vectorsFile)
	}
	return vs
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// repr describes v the way lib0vectors.mjs describes a JavaScript value.
func repr(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case UndefinedValue:
		return "undefined"
	case float64:
		if v == 0 && math.Signbit(v) {
			return "num:-0"
		}
		return "num:" + FormatNumber(v)
	case BigInt:
		return "big:" + strconv.FormatInt(int64(v), 10)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return "str:" + unitsJSON(v)
	case []byte:
		return "bytes:" + hex.EncodeToString(v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = repr(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case Object:
		parts := make([]string, len(v))
		for i, f := range v {
			parts[i] = unitsJSON(f.Key) + ":" + repr(f.Value)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("?%T", v)
}

func unitsJSON(s string) string {
	u := AppendUTF16([]uint16{}, s)
	parts := make([]string, len(u))
	for i, c := range u {
		parts[i] = strconv.Itoa(int(c))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func toUnits(v any) []uint16 {
	arr, _ := v.([]any)
	u := make([]uint16, len(arr))
	for i, x := range arr {
		u[i] = uint16(x.(float64))
	}
	return u
}

func TestGoldenVectors(t *testing.T) {
	for i, v := range loadVectors(t) {
		name := fmt.Sprintf("%03d_%s", i, v.Kind)
		t.Run(name, func(t *testing.T) {
			checkVector(t, v)
		})
	}
}

func checkVector(t *testing.T, v vector) {
	t.Helper()
	want := mustHex(t, v.Hex)
	switch v.Kind {
	case "varUint":
		n, err := strconv.ParseUint(v.Value.(string), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		var e Encoder
		e.WriteVarUint(n)
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("WriteVarUint(%d) = %x, want %x", n, e.Bytes(), want)
		}
		got, err := NewDecoder(want).ReadVarUint()
		if err != nil || got != n {
			t.Errorf("ReadVarUint(%x) = %d, %v; want %d", want, got, err, n)
		}
	case "varInt":
		s := v.Value.(string)
		neg := strings.HasPrefix(s, "-")
		abs, err := strconv.ParseUint(strings.TrimPrefix(s, "-"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		var e Encoder
		e.WriteVarIntSign(abs, neg)
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("WriteVarIntSign(%d, %v) = %x, want %x", abs, neg, e.Bytes(), want)
		}
		gotAbs, gotNeg, err := NewDecoder(want).ReadVarIntSign()
		if err != nil || gotAbs != abs || gotNeg != neg {
			t.Errorf("ReadVarIntSign(%x) = %d, %v, %v; want %d, %v", want, gotAbs, gotNeg, err, abs, neg)
		}
		if abs != 0 || !neg {
			n := int64(abs)
			if neg {
				n = -n
			}
			e.Reset()
			e.WriteVarInt(n)
			if !bytes.Equal(e.Bytes(), want) {
				t.Errorf("WriteVarInt(%d) = %x, want %x", n, e.Bytes(), want)
			}
		}
	case "varString":
		s := StringFromUTF16(v.UTF16)
		var e Encoder
		e.WriteVarString(s)
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("WriteVarString(%q) = %x, want %x", s, e.Bytes(), want)
		}
		got, err := NewDecoder(want).ReadVarString()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(toUnits(v.Decoded), AppendUTF16([]uint16{}, got)); diff != "" {
			t.Errorf("ReadVarString(%x) UTF-16 (-want +got):\n%s", want, diff)
		}
	case "readVarString":
		got, err := NewDecoder(want).ReadVarString()
		if v.Decoded == nil {
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Errorf("ReadVarString(%x) = %q, %v; want ErrInvalidUTF8", want, got, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(toUnits(v.Decoded), AppendUTF16([]uint16{}, got)); diff != "" {
			t.Errorf("ReadVarString(%x) UTF-16 (-want +got):\n%s", want, diff)
		}
	case "float32", "float64", "bigint64":
		var e Encoder
		d := NewDecoder(want)
		switch v.Kind {
		case "float32":
			f, _ := strconv.ParseFloat(v.Value.(string), 32)
			e.WriteFloat32(float32(f))
			if got, err := d.ReadFloat32(); err != nil || got != float32(f) {
				t.Errorf("ReadFloat32 = %v, %v; want %v", got, err, f)
			}
		case "float64":
			f, _ := strconv.ParseFloat(v.Value.(string), 64)
			e.WriteFloat64(f)
			if got, err := d.ReadFloat64(); err != nil || got != f {
				t.Errorf("ReadFloat64 = %v, %v; want %v", got, err, f)
			}
		case "bigint64":
			n, _ := strconv.ParseInt(v.Value.(string), 10, 64)
			e.WriteBigInt64(n)
			if got, err := d.ReadBigInt64(); err != nil || got != n {
				t.Errorf("ReadBigInt64 = %v, %v; want %v", got, err, n)
			}
		}
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("write %s %v = %x, want %x", v.Kind, v.Value, e.Bytes(), want)
		}
	case "any", "readAny":
		d := NewDecoder(want)
		got, err := d.ReadAny()
		if err != nil {
			t.Fatalf("ReadAny(%x): %v", want, err)
		}
		if d.HasContent() {
			t.Errorf("ReadAny(%x) left %d bytes", want, d.Len())
		}
		if r := repr(got); r != v.Repr {
			t.Errorf("ReadAny(%x) = %s, want %s", want, r, v.Repr)
		}
		reWant := want
		if v.Kind == "readAny" {
			reWant = mustHex(t, v.Reencoded)
		}
		var e Encoder
		if err := e.WriteAny(got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Bytes(), reWant) {
			t.Errorf("WriteAny(%s) = %x, want %x", v.Repr, e.Bytes(), reWant)
		}
	case "rle":
		var e RleEncoder
		for _, x := range v.Values {
			e.Write(byte(x))
		}
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("RleEncoder(%v) = %x, want %x", v.Values, e.Bytes(), want)
		}
		d := NewRleDecoder(want)
		for i, x := range v.Values {
			if got, err := d.Read(); err != nil || got != byte(x) {
				t.Fatalf("RleDecoder value %d = %d, %v; want %v", i, got, err, x)
			}
		}
	case "uintOptRle":
		var e UintOptRleEncoder
		for _, x := range v.Values {
			e.Write(uint64(x))
		}
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("UintOptRleEncoder(%v) = %x, want %x", v.Values, e.Bytes(), want)
		}
		d := NewUintOptRleDecoder(want)
		for i, x := range v.Values {
			if got, err := d.Read(); err != nil || got != uint64(x) {
				t.Fatalf("UintOptRleDecoder value %d = %d, %v; want %v", i, got, err, x)
			}
		}
		if _, err := d.Read(); len(v.Values) > 0 && err == nil {
			t.Errorf("UintOptRleDecoder read past the end without error")
		}
	case "intDiffOptRle":
		var e IntDiffOptRleEncoder
		for _, x := range v.Values {
			e.Write(uint64(x))
		}
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("IntDiffOptRleEncoder(%v) = %x, want %x", v.Values, e.Bytes(), want)
		}
		d := NewIntDiffOptRleDecoder(want)
		for i, x := range v.Values {
			if got, err := d.Read(); err != nil || got != uint64(x) {
				t.Fatalf("IntDiffOptRleDecoder value %d = %d, %v; want %v", i, got, err, x)
			}
		}
	case "stringColumn":
		var e StringEncoder
		for _, u := range v.Strings {
			e.Write(StringFromUTF16(u))
		}
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("StringEncoder = %x, want %x", e.Bytes(), want)
		}
		d, err := NewStringDecoder(want)
		if err != nil {
			t.Fatal(err)
		}
		decoded, _ := v.Decoded.([]any)
		for i := range v.Strings {
			got, err := d.Read()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(toUnits(decoded[i]), AppendUTF16([]uint16{}, got)); diff != "" {
				t.Errorf("StringDecoder string %d (-want +got):\n%s", i, diff)
			}
		}
	case "json":
		val, err := NewDecoder(mustHex(t, v.AnyHex)).ReadAny()
		if err != nil {
			t.Fatal(err)
		}
		if v.UTF16 != nil {
			val = StringFromUTF16(v.UTF16)
		}
		got, err := StringifyJSON(val)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.JSON {
			t.Errorf("StringifyJSON(%s) = %s, want %s", repr(val), got, v.JSON)
		}
		checkParse(t, v.JSON, v.ParsedHex)
	case "parseJSON":
		val := checkParse(t, v.JSON, v.ParsedHex)
		got, err := StringifyJSON(val)
		if err != nil || got != v.Restringified {
			t.Errorf("StringifyJSON(ParseJSON(%s)) = %s, %v; want %s", v.JSON, got, err, v.Restringified)
		}
	case "numberString":
		f, err := NewDecoder(mustHex(t, v.Float64)).ReadFloat64()
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatNumber(f); got != v.Str {
			t.Errorf("FormatNumber(%v) = %s, want %s", f, got, v.Str)
		}
	default:
		t.Fatalf("unknown vector kind %q", v.Kind)
	}
}

func checkParse(t *testing.T, text, wantHex string) any {
	t.Helper()
	val, err := ParseJSON(text)
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", text, err)
	}
	var e Encoder
	if err := e.WriteAny(val); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(e.Bytes()); got != wantHex {
		t.Errorf("WriteAny(ParseJSON(%s)) = %s, want %s", text, got, wantHex)
	}
	return val
}
