package lib0

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Decoder reads lib0 encodings from a byte slice. It never panics: reading
// past the end returns ErrUnexpectedEOF and leaves the position unchanged
// for that read.
type Decoder struct {
	buf []byte
	pos int
}

// NewDecoder returns a decoder reading b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Reset makes d read b from its start.
func (d *Decoder) Reset(b []byte) { d.buf, d.pos = b, 0 }

// Pos returns the number of bytes consumed.
func (d *Decoder) Pos() int { return d.pos }

// Len returns the number of bytes left.
func (d *Decoder) Len() int { return len(d.buf) - d.pos }

// HasContent reports whether bytes are left.
func (d *Decoder) HasContent() bool { return d.pos < len(d.buf) }

// ReadUint8 reads one byte.
func (d *Decoder) ReadUint8() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, ErrUnexpectedEOF
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// ReadBytes returns the next n bytes (a view into the input, not a copy).
func (d *Decoder) ReadBytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.buf)-d.pos) { //nolint:gosec // G115: len-pos is never negative
		return nil, ErrUnexpectedEOF
	}
	b := d.buf[d.pos : d.pos+int(n) : d.pos+int(n)] //nolint:gosec // G115: n is at most len-pos, checked above
	d.pos += int(n)                                 //nolint:gosec // G115: n is at most len-pos, checked above
	return b, nil
}

// ReadRest returns all bytes left (a view) and consumes them.
func (d *Decoder) ReadRest() []byte {
	b := d.buf[d.pos:]
	d.pos = len(d.buf)
	return b
}

// ReadVarUint reads a varUint. Values above 2^53-1 are rejected with
// ErrIntegerOutOfRange, as JavaScript numbers cannot hold them exactly.
func (d *Decoder) ReadVarUint() (uint64, error) {
	// Fast path: one byte.
	if d.pos < len(d.buf) && d.buf[d.pos] < 0x80 {
		v := uint64(d.buf[d.pos])
		d.pos++
		return v, nil
	}
	var v uint64
	var shift uint
	for i := d.pos; i < len(d.buf); i++ {
		b := d.buf[i]
		if p := uint64(b & 0x7f); p != 0 {
			if shift >= 53 || p > MaxSafeInteger>>shift {
				return 0, ErrIntegerOutOfRange
			}
			v += p << shift
			if v > MaxSafeInteger {
				return 0, ErrIntegerOutOfRange
			}
		}
		if b < 0x80 {
			d.pos = i + 1
			return v, nil
		}
		shift += 7
	}
	return 0, ErrUnexpectedEOF
}

// ReadVarInt reads a varInt. Negative zero reads as 0; use ReadVarIntSign
// to tell it apart.
func (d *Decoder) ReadVarInt() (int64, error) {
	abs, neg, err := d.ReadVarIntSign()
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(abs), nil //nolint:gosec // G115: abs is at most 2^53-1
	}
	return int64(abs), nil //nolint:gosec // G115: abs is at most 2^53-1
}

// ReadVarIntSign reads a varInt as its magnitude and sign bit.
func (d *Decoder) ReadVarIntSign() (abs uint64, negative bool, err error) {
	return d.readVarIntSign(MaxSafeInteger)
}

// readVarIntSign reads a varInt whose magnitude is at most limit (below
// 2^63).
func (d *Decoder) readVarIntSign(limit uint64) (abs uint64, negative bool, err error) {
	if d.pos >= len(d.buf) {
		return 0, false, ErrUnexpectedEOF
	}
	b := d.buf[d.pos]
	v := uint64(b & 0x3f)
	negative = b&0x40 != 0
	if b < 0x80 {
		d.pos++
		return v, negative, nil
	}
	shift := uint(6)
	for i := d.pos + 1; i < len(d.buf); i++ {
		b = d.buf[i]
		if p := uint64(b & 0x7f); p != 0 {
			if shift >= 63 || p > limit>>shift {
				return 0, false, ErrIntegerOutOfRange
			}
			v += p << shift
			if v > limit {
				return 0, false, ErrIntegerOutOfRange
			}
		}
		if b < 0x80 {
			d.pos = i + 1
			return v, negative, nil
		}
		shift += 7
	}
	return 0, false, ErrUnexpectedEOF
}

// ReadVarUint8Array reads a varUint length and that many bytes (a view).
func (d *Decoder) ReadVarUint8Array() ([]byte, error) {
	start := d.pos
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	b, err := d.ReadBytes(n)
	if err != nil {
		d.pos = start
		return nil, err
	}
	return b, nil
}

// ReadVarString reads a varUint byte length and that many bytes of UTF-8.
// Malformed UTF-8 is an error (ErrInvalidUTF8), as lib0 decodes strings
// with a fatal TextDecoder.
func (d *Decoder) ReadVarString() (string, error) {
	start := d.pos
	b, err := d.ReadVarUint8Array()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		d.pos = start
		return "", ErrInvalidUTF8
	}
	return string(b), nil
}

// ReadFloat32 reads a big-endian float32.
func (d *Decoder) ReadFloat32() (float32, error) {
	b, err := d.ReadBytes(4)
	if err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}

// ReadFloat64 reads a big-endian float64.
func (d *Decoder) ReadFloat64() (float64, error) {
	b, err := d.ReadBytes(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

// ReadBigInt64 reads a big-endian signed 64-bit integer.
func (d *Decoder) ReadBigInt64() (int64, error) {
	b, err := d.ReadBytes(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil //nolint:gosec // G115: bit reinterpretation of a big-endian int64
}

// ReadAny reads a lib0 any value; see the package documentation for the Go
// types it returns. As in JavaScript, an object's later duplicate key
// overwrites the earlier value, integer-like keys are ordered first, and a
// "__proto__" key is dropped (assigning it sets the prototype instead).
func (d *Decoder) ReadAny() (any, error) {
	return d.readAny(0)
}

func (d *Decoder) readAny(depth int) (any, error) {
	start := d.pos
	tag, err := d.ReadUint8()
	if err != nil {
		return nil, err
	}
	v, err := d.readAnyBody(tag, depth)
	if err != nil {
		d.pos = start
		return nil, err
	}
	return v, nil
}

func (d *Decoder) readAnyBody(tag byte, depth int) (any, error) {
	switch tag {
	case tagUndefined:
		return Undefined, nil
	case tagNull:
		return nil, nil
	case tagInteger:
		abs, neg, err := d.ReadVarIntSign()
		if err != nil {
			return nil, err
		}
		f := float64(abs)
		if neg {
			f = -f
		}
		return f, nil
	case tagFloat32:
		f, err := d.ReadFloat32()
		return float64(f), err
	case tagFloat64:
		return d.ReadFloat64()
	case tagBigInt:
		v, err := d.ReadBigInt64()
		return BigInt(v), err
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		return d.ReadVarString()
	case tagObject:
		if depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		// Each property takes at least two bytes (empty key, tag).
		if n > uint64(d.Len())/2 { //nolint:gosec // G115: Len is never negative
			return nil, fmt.Errorf("object of %d properties: %w", n, ErrInvalidLength)
		}
		var o objectBuilder
		for range n {
			k, err := d.ReadVarString()
			if err != nil {
				return nil, err
			}
			v, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			if k == "__proto__" {
				continue
			}
			o.set(k, v)
		}
		return o.object(), nil
	case tagArray:
		if depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.Len()) { //nolint:gosec // G115: Len is never negative
			return nil, fmt.Errorf("array of %d elements: %w", n, ErrInvalidLength)
		}
		// Grow as elements arrive: nested arrays that each claim the rest
		// of the input must not allocate it again at every level.
		a := make([]any, 0, min(n, 64))
		for range n {
			v, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case tagBytes:
		b, err := d.ReadVarUint8Array()
		if err != nil {
			return nil, err
		}
		return bytes.Clone(b), nil
	}
	return nil, fmt.Errorf("tag %d: %w", tag, ErrUnknownTag)
}
