package lib0

import (
	"fmt"
	"unicode/utf8"
)

// RleEncoder is lib0's RleEncoder for bytes (writeUint8): each run is the
// value followed by varUint(run length - 1), except that the last run omits
// its length. The zero value is ready to use.
type RleEncoder struct {
	enc   Encoder
	s     byte
	count uint64
}

// Write appends v.
func (e *RleEncoder) Write(v byte) {
	if e.count > 0 && e.s == v {
		e.count++
		return
	}
	if e.count > 0 {
		e.enc.WriteVarUint(e.count - 1)
	}
	e.count = 1
	e.enc.WriteUint8(v)
	e.s = v
}

// Bytes returns the encoding of the values written so far.
func (e *RleEncoder) Bytes() []byte { return e.enc.Bytes() }

// Reset empties the encoder.
func (e *RleEncoder) Reset() { e.enc.Reset(); e.count = 0 }

// RleDecoder reads what RleEncoder writes. After the last run it repeats
// the last value forever, as lib0 does.
type RleDecoder struct {
	dec   Decoder
	s     byte
	count int64 // -1: repeat s forever
}

// NewRleDecoder returns a decoder for b.
func NewRleDecoder(b []byte) *RleDecoder { return &RleDecoder{dec: Decoder{buf: b}} }

// Reset makes r decode b.
func (r *RleDecoder) Reset(b []byte) { *r = RleDecoder{dec: Decoder{buf: b}} }

// Read returns the next value.
func (r *RleDecoder) Read() (byte, error) {
	if r.count == 0 {
		s, err := r.dec.ReadUint8()
		if err != nil {
			return 0, err
		}
		r.s = s
		if r.dec.HasContent() {
			c, err := r.dec.ReadVarUint()
			if err != nil {
				return 0, err
			}
			r.count = int64(c) + 1 //nolint:gosec // G115: c is at most 2^53-1
		} else {
			r.count = -1
		}
	}
	if r.count > 0 {
		r.count--
	}
	return r.s, nil
}

// UintOptRleEncoder is lib0's UintOptRleEncoder: a run of one value v is
// varInt(v); a longer run is varInt(-v) (negative zero for 0) followed by
// varUint(run length - 2). The zero value is ready to use.
type UintOptRleEncoder struct {
	enc   Encoder
	s     uint64
	count uint64
}

// Write appends v.
func (e *UintOptRleEncoder) Write(v uint64) {
	if e.s == v && e.count > 0 {
		e.count++
		return
	}
	e.flush()
	e.count = 1
	e.s = v
}

func (e *UintOptRleEncoder) flush() {
	if e.count == 0 {
		return
	}
	e.enc.WriteVarIntSign(e.s, e.count > 1)
	if e.count > 1 {
		e.enc.WriteVarUint(e.count - 2)
	}
	e.count = 0
}

// Bytes flushes the pending run and returns the encoding.
func (e *UintOptRleEncoder) Bytes() []byte {
	e.flush()
	return e.enc.Bytes()
}

// Reset empties the encoder.
func (e *UintOptRleEncoder) Reset() { *e = UintOptRleEncoder{enc: Encoder{buf: e.enc.buf[:0]}} }

// UintOptRleDecoder reads what UintOptRleEncoder writes.
type UintOptRleDecoder struct {
	dec   Decoder
	s     uint64
	count uint64
}

// NewUintOptRleDecoder returns a decoder for b.
func NewUintOptRleDecoder(b []byte) *UintOptRleDecoder {
	return &UintOptRleDecoder{dec: Decoder{buf: b}}
}

// Reset makes r decode b.
func (r *UintOptRleDecoder) Reset(b []byte) { *r = UintOptRleDecoder{dec: Decoder{buf: b}} }

// Read returns the next value.
func (r *UintOptRleDecoder) Read() (uint64, error) {
	if r.count == 0 {
		v, neg, err := r.dec.ReadVarIntSign()
		if err != nil {
			return 0, err
		}
		r.s, r.count = v, 1
		if neg {
			c, err := r.dec.ReadVarUint()
			if err != nil {
				return 0, err
			}
			r.count = c + 2
		}
	}
	r.count--
	return r.s, nil
}

// IntDiffOptRleEncoder is lib0's IntDiffOptRleEncoder: runs of equal
// differences between consecutive values (starting from 0), each written
// as varInt(diff*2 + hasCount) and, when hasCount, varUint(run length - 2).
// The zero value is ready to use.
type IntDiffOptRleEncoder struct {
	enc   Encoder
	s     int64
	diff  int64
	count uint64
}

// Write appends v.
func (e *IntDiffOptRleEncoder) Write(v uint64) {
	d := int64(v) - e.s //nolint:gosec // G115: clocks are at most 2^53-1
	if e.diff == d {
		e.s = int64(v) //nolint:gosec // G115: clocks are at most 2^53-1
		e.count++
		return
	}
	e.flush()
	e.count = 1
	e.diff = d
	e.s = int64(v) //nolint:gosec // G115: clocks are at most 2^53-1
}

func (e *IntDiffOptRleEncoder) flush() {
	if e.count == 0 {
		return
	}
	x := e.diff * 2
	if e.count > 1 {
		x++
	}
	e.enc.WriteVarInt(x)
	if e.count > 1 {
		e.enc.WriteVarUint(e.count - 2)
	}
	e.count = 0
}

// Bytes flushes the pending run and returns the encoding.
func (e *IntDiffOptRleEncoder) Bytes() []byte {
	e.flush()
	return e.enc.Bytes()
}

// Reset empties the encoder.
func (e *IntDiffOptRleEncoder) Reset() {
	*e = IntDiffOptRleEncoder{enc: Encoder{buf: e.enc.buf[:0]}}
}

// IntDiffOptRleDecoder reads what IntDiffOptRleEncoder writes. Values must
// stay within 0…2^53-1 (differences may span the whole range).
type IntDiffOptRleDecoder struct {
	dec   Decoder
	s     int64
	diff  int64
	count uint64
}

// NewIntDiffOptRleDecoder returns a decoder for b.
func NewIntDiffOptRleDecoder(b []byte) *IntDiffOptRleDecoder {
	return &IntDiffOptRleDecoder{dec: Decoder{buf: b}}
}

// Reset makes r decode b.
func (r *IntDiffOptRleDecoder) Reset(b []byte) { *r = IntDiffOptRleDecoder{dec: Decoder{buf: b}} }

// Read returns the next value.
func (r *IntDiffOptRleDecoder) Read() (uint64, error) {
	if r.count == 0 {
		// diff*2+hasCount of clocks up to 2^53 needs up to 2^55.
		abs, neg, err := r.dec.readVarIntSign(1 << 55)
		if err != nil {
			return 0, err
		}
		x := int64(abs) //nolint:gosec // G115: abs is at most 2^55
		if neg {
			x = -x
		}
		r.diff, r.count = x>>1, 1
		if x&1 != 0 {
			c, err := r.dec.ReadVarUint()
			if err != nil {
				return 0, err
			}
			r.count = c + 2
		}
	}
	s := r.s + r.diff
	if s < 0 || s > MaxSafeInteger {
		return 0, ErrIntegerOutOfRange
	}
	r.s = s
	r.count--
	return uint64(s), nil
}

// StringEncoder is lib0's StringEncoder: all strings concatenated (in
// UTF-16, so a surrogate pair split across two strings joins again) and
// written as one varString, followed by a UintOptRle column of the
// strings' UTF-16 lengths. The zero value is ready to use.
type StringEncoder struct {
	buf  []byte
	lens UintOptRleEncoder
}

// Write appends s.
func (e *StringEncoder) Write(s string) {
	e.buf = append(e.buf, s...)
	e.lens.Write(uint64(UTF16Len(s))) //nolint:gosec // G115: a length is never negative
}

// Bytes returns the encoding of the strings written so far.
func (e *StringEncoder) Bytes() []byte {
	s := e.buf
	if !utf8.Valid(s) {
		s = []byte(jsUTF8(string(s)))
	}
	var out Encoder
	out.buf = make([]byte, 0, len(s)+10+e.lens.enc.Len()+8)
	out.WriteVarUint8Array(s)
	out.WriteBytes(e.lens.Bytes())
	return out.buf
}

// Reset empties the encoder.
func (e *StringEncoder) Reset() { e.buf = e.buf[:0]; e.lens.Reset() }

// StringDecoder reads what StringEncoder writes: it decodes the whole
// concatenation to UTF-16 first and slices it by the recorded lengths.
type StringDecoder struct {
	str  string   // the column when it is ASCII
	u16  []uint16 // the column in UTF-16 otherwise
	pos  int
	lens UintOptRleDecoder
}

// NewStringDecoder returns a decoder for b.
func NewStringDecoder(b []byte) (*StringDecoder, error) {
	r := &StringDecoder{}
	return r, r.Reset(b)
}

// Reset makes r decode b.
func (r *StringDecoder) Reset(b []byte) error {
	d := Decoder{buf: b}
	raw, err := d.ReadVarUint8Array()
	if err != nil {
		return fmt.Errorf("string column: %w", err)
	}
	if !utf8.Valid(raw) {
		return fmt.Errorf("string column: %w", ErrInvalidUTF8)
	}
	*r = StringDecoder{}
	r.lens.Reset(d.ReadRest())
	ascii := true
	for _, c := range raw {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		r.str = string(raw)
	} else {
		r.u16 = appendWireUTF16(make([]uint16, 0, len(raw)), raw)
	}
	return nil
}

// Read returns the next string.
func (r *StringDecoder) Read() (string, error) {
	n, err := r.lens.Read()
	if err != nil {
		return "", err
	}
	if r.u16 == nil {
		if n > uint64(len(r.str)-r.pos) { //nolint:gosec // G115: len-pos is never negative
			return "", fmt.Errorf("string of length %d: %w", n, ErrInvalidLength)
		}
		s := r.str[r.pos : r.pos+int(n)] //nolint:gosec // G115: n is at most len-pos, checked above
		r.pos += int(n)                  //nolint:gosec // G115: n is at most len-pos, checked above
		return s, nil
	}
	if n > uint64(len(r.u16)-r.pos) { //nolint:gosec // G115: len-pos is never negative
		return "", fmt.Errorf("string of length %d: %w", n, ErrInvalidLength)
	}
	s := StringFromUTF16(r.u16[r.pos : r.pos+int(n)]) //nolint:gosec // G115: n is at most len-pos, checked above
	r.pos += int(n)                                   //nolint:gosec // G115: n is at most len-pos, checked above
	return s, nil
}
