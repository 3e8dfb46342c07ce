// Package lib0 reads and writes the binary encodings of the JavaScript
// library lib0 (version 0.2.120), which yjs and y-protocols are built on:
// variable-length integers, strings, big-endian floats, the self-describing
// "any" values, and the run-length column codecs of the yjs update format v2.
//
// Every function follows lib0's JavaScript semantics byte for byte, with two
// deliberate differences on malformed input: where lib0 silently reads past
// the end of its input or returns an imprecise number, the decoders here
// return an error. Decoders never panic and never allocate more than the
// remaining input could describe.
//
// # Values
//
// The dynamic values of lib0's writeAny/readAny ("any") map to Go as follows.
//
//	JavaScript         Go (decoded)            also accepted when encoding
//	null               nil
//	undefined          Undefined
//	boolean            bool
//	number             float64 (-0 preserved)  int, int8…int64, uint, uint8…uint64, uintptr, float32
//	bigint             BigInt
//	string             string
//	Uint8Array         []byte
//	Array              []any                   []string, []float64, []int
//	Object             Object                  *Object, map[string]any
//
// A decoded JavaScript number is always a float64, as in JavaScript; the
// encoder chooses the wire form the way lib0 does (an integral value of
// magnitude at most 2^31-1 as a varInt, a value exactly representable as a
// float32 as float32, anything else as float64), so integers above 2^31-1
// travel as floats.
//
// Objects keep their keys in JavaScript property order: integer-like keys
// ("0", "1", … up to 2^32-2) first in ascending numeric order, then the
// other keys in insertion order. Object maintains that order as keys are
// set; a map[string]any is encoded with its integer-like keys ascending and
// the rest sorted lexicographically, which is the order a JavaScript object
// would have if built in that order.
//
// # Strings
//
// Go strings hold UTF-8. JavaScript strings are UTF-16 and may contain lone
// surrogates; this package represents a lone surrogate inside a Go string in
// its generalized UTF-8 (WTF-8) three-byte form, which appears only where
// the UTF-16 view of a v2 string column splits a surrogate pair. Writing a
// string converts it as JavaScript's TextEncoder does (a lone surrogate
// becomes U+FFFD); reading one fails on malformed UTF-8, as lib0's fatal
// TextDecoder does. Lengths in the v2 string column are
// UTF-16 code units, see UTF16Len.
package lib0

import (
	"cmp"
	"errors"
	"slices"
)

// MaxSafeInteger is 2^53-1, JavaScript's Number.MAX_SAFE_INTEGER: the
// largest varUint the decoders accept.
const MaxSafeInteger = 1<<53 - 1

// Errors returned by the decoders and encoders. Decoding errors may be
// wrapped with context; test with errors.Is.
var (
	// ErrUnexpectedEOF reports input that ends inside a value.
	ErrUnexpectedEOF = errors.New("lib0: unexpected end of input")
	// ErrIntegerOutOfRange reports a varUint or varInt above 2^53-1.
	ErrIntegerOutOfRange = errors.New("lib0: integer out of range")
	// ErrUnknownTag reports an any value with a type tag below 116.
	ErrUnknownTag = errors.New("lib0: unknown any type tag")
	// ErrTooDeep reports any values nested deeper than MaxDepth.
	ErrTooDeep = errors.New("lib0: value nested too deeply")
	// ErrUnsupportedType reports a Go value that WriteAny cannot encode.
	ErrUnsupportedType = errors.New("lib0: unsupported type for any")
	// ErrInvalidLength reports a length that the remaining input cannot hold.
	ErrInvalidLength = errors.New("lib0: length exceeds input")
	// ErrInvalidUTF8 reports a string that is not well-formed UTF-8.
	ErrInvalidUTF8 = errors.New("lib0: invalid UTF-8")
	// ErrInvalidJSON reports text that ParseJSON cannot parse.
	ErrInvalidJSON = errors.New("lib0: invalid JSON")
)

// MaxDepth bounds the nesting of arrays and objects in any values (and in
// ParseJSON), so that hostile input cannot exhaust the stack.
const MaxDepth = 1000

// UndefinedValue is the type of Undefined.
type UndefinedValue struct{}

// Undefined is JavaScript's undefined as an any value (tag 127). It is
// distinct from nil, which is null.
var Undefined = UndefinedValue{}

// String returns "undefined".
func (UndefinedValue) String() string { return "undefined" }

// BigInt is a JavaScript bigint as an any value (tag 122). lib0 writes it as
// a big-endian signed 64-bit integer.
type BigInt int64

// Field is one property of an Object.
type Field struct {
	Key   string
	Value any
}

// Object is a JavaScript object as an any value (tag 118): its properties in
// JavaScript property order. Build one with Set, which keeps that order; an
// Object literal in another order is reordered when encoded.
type Object []Field

// Get returns the value of key and whether it is present.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Keys returns the keys in order.
func (o Object) Keys() []string {
	keys := make([]string, len(o))
	for i, f := range o {
		keys[i] = f.Key
	}
	return keys
}

// Set sets key to value as a JavaScript assignment would: an existing key
// keeps its place, a new integer-like key goes among the integer-like keys
// in ascending order, any other new key goes last.
func (o *Object) Set(key string, value any) {
	s := *o
	for i := range s {
		if s[i].Key == key {
			s[i].Value = value
			return
		}
	}
	idx, ok := arrayIndex(key)
	if !ok {
		*o = append(s, Field{key, value})
		return
	}
	pos := 0
	for pos < len(s) {
		j, isIdx := arrayIndex(s[pos].Key)
		if !isIdx || j > idx {
			break
		}
		pos++
	}
	s = append(s, Field{})
	copy(s[pos+1:], s[pos:])
	s[pos] = Field{key, value}
	*o = s
}

// Delete removes key if present.
func (o *Object) Delete(key string) {
	s := *o
	for i := range s {
		if s[i].Key == key {
			*o = append(s[:i], s[i+1:]...)
			return
		}
	}
}

// arrayIndex reports whether key is a JavaScript array index (a canonical
// decimal integer below 2^32-1), which objects order before other keys.
func arrayIndex(key string) (uint64, bool) {
	n := len(key)
	if n == 0 || n > 10 || (key[0] == '0' && n > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < n; i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v >= 1<<32-1 {
		return 0, false
	}
	return v, true
}

// objectBuilder collects properties in JavaScript assignment semantics in
// O(n log n): later duplicates overwrite in place, integer-like keys are
// ordered first, numerically.
type objectBuilder struct {
	idx, other       Object
	idxPos, otherPos map[string]int
	idxVal           []uint64
}

func (b *objectBuilder) set(key string, value any) {
	if n, ok := arrayIndex(key); ok {
		if b.idxPos == nil {
			b.idxPos = make(map[string]int)
		}
		if i, ok := b.idxPos[key]; ok {
			b.idx[i].Value = value
			return
		}
		b.idxPos[key] = len(b.idx)
		b.idx = append(b.idx, Field{key, value})
		b.idxVal = append(b.idxVal, n)
		return
	}
	if b.otherPos == nil {
		b.otherPos = make(map[string]int)
	}
	if i, ok := b.otherPos[key]; ok {
		b.other[i].Value = value
		return
	}
	b.otherPos[key] = len(b.other)
	b.other = append(b.other, Field{key, value})
}

func (b *objectBuilder) object() Object {
	if len(b.idx) == 0 {
		if b.other == nil {
			return Object{}
		}
		return b.other
	}
	order := make([]int, len(b.idx))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(b.idxVal[x], b.idxVal[y]) })
	out := make(Object, 0, len(b.idx)+len(b.other))
	for _, i := range order {
		out = append(out, b.idx[i])
	}
	return append(out, b.other...)
}
