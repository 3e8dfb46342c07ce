package lib0

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Encoder appends lib0 encodings to a byte buffer. The zero value is an
// empty encoder ready to use.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an empty encoder.
func NewEncoder() *Encoder { return &Encoder{} }

// Bytes returns the encoded bytes. The slice aliases the encoder's buffer
// until the next write.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes written.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder, keeping its buffer.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// WriteUint8 writes one byte.
func (e *Encoder) WriteUint8(b byte) { e.buf = append(e.buf, b) }

// WriteBytes writes p as is, without a length (lib0 writeUint8Array).
func (e *Encoder) WriteBytes(p []byte) { e.buf = append(e.buf, p...) }

// WriteVarUint writes v in 7-bit groups, least significant first, with the
// high bit of each byte set when more bytes follow.
func (e *Encoder) WriteVarUint(v uint64) {
	for v > 0x7f {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

// WriteVarInt writes v as a lib0 varInt: the first byte holds a continue
// bit, a sign bit and 6 bits of the magnitude, the following bytes 7 bits
// each. Use WriteVarIntSign to write negative zero.
func (e *Encoder) WriteVarInt(v int64) {
	if v < 0 {
		e.WriteVarIntSign(uint64(-v), true)
		return
	}
	e.WriteVarIntSign(uint64(v), false)
}

// WriteVarIntSign writes a varInt from its magnitude and sign, so that
// negative zero (abs 0, negative true; the byte 0x40) can be written.
func (e *Encoder) WriteVarIntSign(abs uint64, negative bool) {
	b := byte(abs & 0x3f)
	if negative {
		b |= 0x40
	}
	if abs > 0x3f {
		b |= 0x80
	}
	e.buf = append(e.buf, b)
	abs >>= 6
	for abs > 0 {
		b = byte(abs & 0x7f)
		if abs > 0x7f {
			b |= 0x80
		}
		e.buf = append(e.buf, b)
		abs >>= 7
	}
}

// WriteVarString writes the UTF-8 length of s as a varUint, then s as UTF-8
// (lone surrogates and malformed bytes become U+FFFD, as JavaScript's
// TextEncoder writes them).
func (e *Encoder) WriteVarString(s string) {
	if !utf8.ValidString(s) {
		s = jsUTF8(s)
	}
	e.WriteVarUint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// WriteVarUint8Array writes len(p) as a varUint, then p.
func (e *Encoder) WriteVarUint8Array(p []byte) {
	e.WriteVarUint(uint64(len(p)))
	e.buf = append(e.buf, p...)
}

// WriteFloat32 writes f big-endian.
func (e *Encoder) WriteFloat32(f float32) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, math.Float32bits(f))
}

// WriteFloat64 writes f big-endian.
func (e *Encoder) WriteFloat64(f float64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// WriteBigInt64 writes v big-endian (lib0 writeBigInt64).
func (e *Encoder) WriteBigInt64(v int64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) //nolint:gosec // G115: bit reinterpretation of an int64
}

// Type tags of any values.
const (
	tagUndefined = 127
	tagNull      = 126
	tagInteger   = 125
	tagFloat32   = 124
	tagFloat64   = 123
	tagBigInt    = 122
	tagFalse     = 121
	tagTrue      = 120
	tagString    = 119
	tagObject    = 118
	tagArray     = 117
	tagBytes     = 116
)

// WriteAny writes v as a lib0 any value; see the package documentation for
// the Go types it accepts. On error nothing is written.
func (e *Encoder) WriteAny(v any) error {
	start := len(e.buf)
	if err := e.writeAny(v, 0); err != nil {
		e.buf = e.buf[:start]
		return err
	}
	return nil
}

// WriteNumber writes f as a JavaScript number in the any encoding: tag 125
// with a varInt when f is integral with magnitude at most 2^31-1 (so -0 is
// written as the varInt -0), tag 124 when f is exactly a float32, else tag
// 123.
func (e *Encoder) WriteNumber(f float64) {
	if f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
		e.buf = append(e.buf, tagInteger)
		e.WriteVarIntSign(uint64(math.Abs(f)), math.Signbit(f))
		return
	}
	if f32 := float32(f); float64(f32) == f {
		e.buf = append(e.buf, tagFloat32)
		e.WriteFloat32(f32)
		return
	}
	e.buf = append(e.buf, tagFloat64)
	e.WriteFloat64(f)
}

func (e *Encoder) writeInt(v int64) {
	if v >= -math.MaxInt32 && v <= math.MaxInt32 {
		e.buf = append(e.buf, tagInteger)
		e.WriteVarInt(v)
		return
	}
	e.WriteNumber(float64(v))
}

func (e *Encoder) writeAny(v any, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, tagNull)
	case UndefinedValue:
		e.buf = append(e.buf, tagUndefined)
	case bool:
		if v {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case string:
		e.buf = append(e.buf, tagString)
		e.WriteVarString(v)
	case float64:
		e.WriteNumber(v)
	case float32:
		e.WriteNumber(float64(v))
	case int:
		e.writeInt(int64(v))
	case int8:
		e.writeInt(int64(v))
	case int16:
		e.writeInt(int64(v))
	case int32:
		e.writeInt(int64(v))
	case int64:
		e.writeInt(v)
	case uint:
		e.WriteNumber(float64(v))
	case uint8:
		e.writeInt(int64(v))
	case uint16:
		e.writeInt(int64(v))
	case uint32:
		e.writeInt(int64(v))
	case uint64:
		e.WriteNumber(float64(v))
	case uintptr:
		e.WriteNumber(float64(v))
	case BigInt:
		e.buf = append(e.buf, tagBigInt)
		e.WriteBigInt64(int64(v))
	case []byte:
		e.buf = append(e.buf, tagBytes)
		e.WriteVarUint8Array(v)
	case []any:
		e.buf = append(e.buf, tagArray)
		e.WriteVarUint(uint64(len(v)))
		for _, x := range v {
			if err := e.writeAny(x, depth+1); err != nil {
				return err
			}
		}
	case []string:
		e.buf = append(e.buf, tagArray)
		e.WriteVarUint(uint64(len(v)))
		for _, x := range v {
			e.buf = append(e.buf, tagString)
			e.WriteVarString(x)
		}
	case []float64:
		e.buf = append(e.buf, tagArray)
		e.WriteVarUint(uint64(len(v)))
		for _, x := range v {
			e.WriteNumber(x)
		}
	case []int:
		e.buf = append(e.buf, tagArray)
		e.WriteVarUint(uint64(len(v)))
		for _, x := range v {
			e.writeInt(int64(x))
		}
	case Object:
		return e.writeObject(jsOrder(v), depth)
	case *Object:
		if v == nil {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		return e.writeObject(jsOrder(*v), depth)
	case map[string]any:
		return e.writeObject(MapToObject(v), depth)
	default:
		return ErrUnsupportedType
	}
	return nil
}

func (e *Encoder) writeObject(o Object, depth int) error {
	e.buf = append(e.buf, tagObject)
	e.WriteVarUint(uint64(len(o)))
	for _, f := range o {
		e.WriteVarString(f.Key)
		if err := e.writeAny(f.Value, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// jsOrder returns o in JavaScript property order (integer-like keys first,
// ascending; later duplicates overwrite earlier values in place). It returns
// o itself when o is already in that order without duplicates.
func jsOrder(o Object) Object {
	ordered := true
	lastIdx, seenOther := int64(-1), false
	var seen map[string]struct{}
	if len(o) > 8 {
		seen = make(map[string]struct{}, len(o))
	}
	for i, f := range o {
		if idx, ok := arrayIndex(f.Key); ok {
			if seenOther || int64(idx) <= lastIdx { //nolint:gosec // G115: array indices are below 2^32
				ordered = false
				break
			}
			lastIdx = int64(idx) //nolint:gosec // G115: array indices are below 2^32
		} else {
			seenOther = true
		}
		if seen != nil {
			if _, dup := seen[f.Key]; dup {
				ordered = false
				break
			}
			seen[f.Key] = struct{}{}
		} else if slices.ContainsFunc(o[:i], func(g Field) bool { return g.Key == f.Key }) {
			ordered = false
			break
		}
	}
	if ordered {
		return o
	}
	var b objectBuilder
	for _, f := range o {
		b.set(f.Key, f.Value)
	}
	return b.object()
}

// MapToObject returns the properties of m as an Object in the order a
// JavaScript object gets when its keys are assigned in lexicographic order:
// integer-like keys ascending, then the other keys sorted.
func MapToObject(m map[string]any) Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ai, aok := arrayIndex(a)
		bi, bok := arrayIndex(b)
		switch {
		case aok && bok:
			if ai < bi {
				return -1
			}
			return 1
		case aok:
			return -1
		case bok:
			return 1
		}
		return strings.Compare(a, b)
	})
	o := make(Object, len(keys))
	for i, k := range keys {
		o[i] = Field{k, m[k]}
	}
	return o
}
