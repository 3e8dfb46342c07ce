package crdt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// The update encoders and decoders of yjs (utils/UpdateEncoder.js,
// utils/UpdateDecoder.js), one method per yjs method. Version 1 writes
// everything into one stream; version 2 spreads struct fields over
// run-length encoded columns and keeps the rest (struct group headers, Skip
// lengths, any values, binary content and the delete set) in a "rest"
// stream after them:
//
//	v2 := varUint(0) varUint8Array(keyClock) varUint8Array(client)
//	      varUint8Array(leftClock) varUint8Array(rightClock) varUint8Array(info)
//	      varUint8Array(string) varUint8Array(parentInfo) varUint8Array(typeRef)
//	      varUint8Array(len) rest
//
// Decoders return errors wrapping ErrMalformedUpdate (and the lib0 cause).

// ErrMalformedUpdate is returned for updates (and state vectors and delete
// sets) that are not valid encodings. The document is left unchanged,
// unless the error also wraps ErrDocDamaged.
var ErrMalformedUpdate = errors.New("crdt: malformed update")

// ErrDocDamaged is wrapped, together with ErrMalformedUpdate, in the error
// of an update whose integration failed part-way (an internal error, not
// bad input: decoding had accepted it). The document may then hold part
// of that update; rebuild it from its sources (the update log) rather
// than keep using it.
var ErrDocDamaged = errors.New("crdt: document may be partly changed")

// updateEncoder writes updates; implemented by updateEncoderV1 and
// updateEncoderV2 (yjs UpdateEncoderV1/V2). Struct group headers, Skip
// lengths and delete set headers go to the rest stream (writeRestVarUint).
type updateEncoder interface {
	dsEncoder
	WriteLeftID(ID)
	WriteRightID(ID)
	WriteClient(uint64)
	WriteInfo(byte)
	WriteString(string)
	WriteParentInfo(bool)
	WriteTypeRef(uint64)
	WriteLen(uint64)
	WriteAny(any)
	WriteBuf([]byte)
	WriteJSON(any)
	WriteKey(string)
}

// dsEncoder writes delete sets (yjs DSEncoderV1/V2).
type dsEncoder interface {
	ToBytes() []byte
	ResetDsCurVal()
	WriteDsClock(uint64)
	WriteDsLen(uint64)
}

// updateDecoder reads updates; implemented by updateDecoderV1 and
// updateDecoderV2 (yjs UpdateDecoderV1/V2). readRestVarUint reads the rest
// stream.
type updateDecoder interface {
	dsDecoder
	ReadLeftID() (ID, error)
	ReadRightID() (ID, error)
	ReadClient() (uint64, error)
	ReadInfo() (byte, error)
	ReadString() (string, error)
	ReadParentInfo() (bool, error)
	ReadTypeRef() (uint64, error)
	ReadLen() (uint64, error)
	ReadAny() (any, error)
	ReadBuf() ([]byte, error)
	ReadJSON() (any, error)
	ReadKey() (string, error)
}

// dsDecoder reads delete sets (yjs DSDecoderV1/V2).
type dsDecoder interface {
	ResetDsCurVal()
	ReadDsClock() (uint64, error)
	ReadDsLen() (uint64, error)
}

// newUpdateEncoder returns an empty update encoder for format v2 or v1.
func newUpdateEncoder(v2 bool) updateEncoder {
	if v2 {
		return &updateEncoderV2{}
	}
	return &updateEncoderV1{}
}

// newUpdateDecoder returns a decoder for update, in format v2 or v1. For v2
// it reads the column headers and fails if they are malformed.
func newUpdateDecoder(update []byte, v2 bool) (updateDecoder, error) {
	if v2 {
		return newUpdateDecoderV2(update)
	}
	return newUpdateDecoderV1(update), nil
}

// restEncoderOf and restDecoderOf give access to the rest stream, where
// struct group headers, Skip lengths and delete set headers are written
// directly (yjs encoder.restEncoder / decoder.restDecoder).
type restEncoderOf interface{ restEncoder() *lib0.Encoder }
type restDecoderOf interface{ restDecoder() *lib0.Decoder }

// writeRestVarUint writes v as a varUint to the rest stream of enc, an
// encoder made by newUpdateEncoder or newDSEncoder.
func writeRestVarUint(enc any, v uint64) {
	enc.(restEncoderOf).restEncoder().WriteVarUint(v)
}

// readRestVarUint reads a varUint from the rest stream of dec, a decoder
// made by newUpdateDecoder or newDSDecoder.
func readRestVarUint(dec any) (uint64, error) {
	v, err := dec.(restDecoderOf).restDecoder().ReadVarUint()
	if err != nil {
		return 0, malformed(err)
	}
	return v, nil
}

func malformed(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformedUpdate, err)
}

// dsEncoderV1 writes delete sets in format v1 (yjs DSEncoderV1).
type dsEncoderV1 struct {
	rest lib0.Encoder
}

func (e *dsEncoderV1) restEncoder() *lib0.Encoder { return &e.rest }

// ToBytes returns the encoding.
func (e *dsEncoderV1) ToBytes() []byte { return e.rest.Bytes() }

// ResetDsCurVal does nothing in v1.
func (e *dsEncoderV1) ResetDsCurVal() {}

// WriteDsClock writes the start clock of a deleted range.
func (e *dsEncoderV1) WriteDsClock(clock uint64) { e.rest.WriteVarUint(clock) }

// WriteDsLen writes the length of a deleted range.
func (e *dsEncoderV1) WriteDsLen(n uint64) { e.rest.WriteVarUint(n) }

// updateEncoderV1 writes updates in format v1 (yjs UpdateEncoderV1).
type updateEncoderV1 struct {
	dsEncoderV1
}

// WriteLeftID writes an origin (or a parent's) ID.
func (e *updateEncoderV1) WriteLeftID(id ID) {
	e.rest.WriteVarUint(id.Client)
	e.rest.WriteVarUint(id.Clock)
}

// WriteRightID writes a right origin ID.
func (e *updateEncoderV1) WriteRightID(id ID) {
	e.rest.WriteVarUint(id.Client)
	e.rest.WriteVarUint(id.Clock)
}

// WriteClient writes the client of a struct group.
func (e *updateEncoderV1) WriteClient(client uint64) { e.rest.WriteVarUint(client) }

// WriteInfo writes a struct's info byte.
func (e *updateEncoderV1) WriteInfo(info byte) { e.rest.WriteUint8(info) }

// WriteString writes a string (root type name, map key, string content).
func (e *updateEncoderV1) WriteString(s string) { e.rest.WriteVarString(s) }

// WriteParentInfo writes whether the parent is a root type (named by a
// string) rather than a nested type (named by its item's ID).
func (e *updateEncoderV1) WriteParentInfo(isYKey bool) {
	if isYKey {
		e.rest.WriteVarUint(1)
	} else {
		e.rest.WriteVarUint(0)
	}
}

// WriteTypeRef writes the type reference of a ContentType.
func (e *updateEncoderV1) WriteTypeRef(ref uint64) { e.rest.WriteVarUint(ref) }

// WriteLen writes a length (GC, Deleted, element counts of Any and JSON).
func (e *updateEncoderV1) WriteLen(n uint64) { e.rest.WriteVarUint(n) }

// WriteAny writes a lib0 any value; see writeAnyTo.
func (e *updateEncoderV1) WriteAny(v any) { writeAnyTo(&e.rest, v) }

// WriteBuf writes binary content.
func (e *updateEncoderV1) WriteBuf(b []byte) { e.rest.WriteVarUint8Array(b) }

// WriteJSON writes an Embed or Format value as JSON text
// (JSON.stringify). A value JSON cannot hold (a BigInt, which makes
// JSON.stringify throw in JavaScript) is written as null.
func (e *updateEncoderV1) WriteJSON(v any) {
	s, err := lib0.StringifyJSON(v)
	if err != nil {
		s = "null"
	}
	e.rest.WriteVarString(s)
}

// WriteKey writes a Format key or an XML node or hook name.
func (e *updateEncoderV1) WriteKey(key string) { e.rest.WriteVarString(key) }

// writeAnyTo writes v as a lib0 any value. Values the any encoding cannot
// hold (Go types outside the lib0 value model; the shared types validate
// values before they get here) are written as undefined, as lib0 writes a
// JavaScript function or symbol.
func writeAnyTo(e *lib0.Encoder, v any) {
	if err := e.WriteAny(v); err != nil {
		e.WriteUint8(127)
	}
}

// dsEncoderV2 writes delete sets in format v2 (yjs DSEncoderV2): clocks as
// differences from the end of the previous range, lengths minus one.
type dsEncoderV2 struct {
	rest     lib0.Encoder
	dsCurVal uint64
}

func (e *dsEncoderV2) restEncoder() *lib0.Encoder { return &e.rest }

// ToBytes returns the encoding of the rest stream.
func (e *dsEncoderV2) ToBytes() []byte { return e.rest.Bytes() }

// ResetDsCurVal starts the clock differences of a new client at 0.
func (e *dsEncoderV2) ResetDsCurVal() { e.dsCurVal = 0 }

// WriteDsClock writes the start clock of a deleted range (clocks of one
// client ascend).
func (e *dsEncoderV2) WriteDsClock(clock uint64) {
	e.rest.WriteVarUint(clock - e.dsCurVal)
	e.dsCurVal = clock
}

// WriteDsLen writes the length of a deleted range, which must be
// positive (yjs throws on 0; delete sets never hold empty ranges, the
// decoders reject them).
func (e *dsEncoderV2) WriteDsLen(n uint64) {
	if n == 0 {
		n = 1
	}
	e.rest.WriteVarUint(n - 1)
	e.dsCurVal += n
}

// updateEncoderV2 writes updates in format v2 (yjs UpdateEncoderV2). Like
// yjs 13.6, it never reuses keys: each WriteKey writes a new key clock and
// the key itself.
type updateEncoderV2 struct {
	dsEncoderV2
	keyClock     uint64
	keyClockEnc  lib0.IntDiffOptRleEncoder
	clientEnc    lib0.UintOptRleEncoder
	leftClockEnc lib0.IntDiffOptRleEncoder
	rightClkEnc  lib0.IntDiffOptRleEncoder
	infoEnc      lib0.RleEncoder
	stringEnc    lib0.StringEncoder
	parentEnc    lib0.RleEncoder
	typeRefEnc   lib0.UintOptRleEncoder
	lenEnc       lib0.UintOptRleEncoder
}

// ToBytes returns the whole update: feature flag, columns, rest.
func (e *updateEncoderV2) ToBytes() []byte {
	var out lib0.Encoder
	out.WriteVarUint(0) // feature flag, unused
	out.WriteVarUint8Array(e.keyClockEnc.Bytes())
	out.WriteVarUint8Array(e.clientEnc.Bytes())
	out.WriteVarUint8Array(e.leftClockEnc.Bytes())
	out.WriteVarUint8Array(e.rightClkEnc.Bytes())
	out.WriteVarUint8Array(e.infoEnc.Bytes())
	out.WriteVarUint8Array(e.stringEnc.Bytes())
	out.WriteVarUint8Array(e.parentEnc.Bytes())
	out.WriteVarUint8Array(e.typeRefEnc.Bytes())
	out.WriteVarUint8Array(e.lenEnc.Bytes())
	out.WriteBytes(e.rest.Bytes())
	return out.Bytes()
}

// WriteLeftID writes an origin (or a parent's) ID.
func (e *updateEncoderV2) WriteLeftID(id ID) {
	e.clientEnc.Write(id.Client)
	e.leftClockEnc.Write(id.Clock)
}

// WriteRightID writes a right origin ID.
func (e *updateEncoderV2) WriteRightID(id ID) {
	e.clientEnc.Write(id.Client)
	e.rightClkEnc.Write(id.Clock)
}

// WriteClient writes the client of a struct group.
func (e *updateEncoderV2) WriteClient(client uint64) { e.clientEnc.Write(client) }

// WriteInfo writes a struct's info byte.
func (e *updateEncoderV2) WriteInfo(info byte) { e.infoEnc.Write(info) }

// WriteString writes a string (root type name, map key, string content).
func (e *updateEncoderV2) WriteString(s string) { e.stringEnc.Write(s) }

// WriteParentInfo writes whether the parent is a root type.
func (e *updateEncoderV2) WriteParentInfo(isYKey bool) {
	if isYKey {
		e.parentEnc.Write(1)
	} else {
		e.parentEnc.Write(0)
	}
}

// WriteTypeRef writes the type reference of a ContentType.
func (e *updateEncoderV2) WriteTypeRef(ref uint64) { e.typeRefEnc.Write(ref) }

// WriteLen writes a length (GC, Deleted, element counts of Any and JSON).
func (e *updateEncoderV2) WriteLen(n uint64) { e.lenEnc.Write(n) }

// WriteAny writes a lib0 any value to the rest stream.
func (e *updateEncoderV2) WriteAny(v any) { writeAnyTo(&e.rest, v) }

// WriteBuf writes binary content to the rest stream.
func (e *updateEncoderV2) WriteBuf(b []byte) { e.rest.WriteVarUint8Array(b) }

// WriteJSON writes an Embed or Format value as a lib0 any value.
func (e *updateEncoderV2) WriteJSON(v any) { writeAnyTo(&e.rest, v) }

// WriteKey writes a Format key or an XML node or hook name.
func (e *updateEncoderV2) WriteKey(key string) {
	e.keyClockEnc.Write(e.keyClock)
	e.keyClock++
	e.stringEnc.Write(key)
}

// dsDecoderV1 reads delete sets in format v1 (yjs DSDecoderV1). Unlike
// yjs it rejects the ranges of a client out of order or overlapping (yjs
// never writes them; format v2 cannot express them, so they could not be
// kept as pending deletions).
type dsDecoderV1 struct {
	rest     lib0.Decoder
	dsCurVal uint64
}

func (d *dsDecoderV1) restDecoder() *lib0.Decoder { return &d.rest }

// ResetDsCurVal starts the ranges of a new client.
func (d *dsDecoderV1) ResetDsCurVal() { d.dsCurVal = 0 }

// ReadDsClock reads the start clock of a deleted range.
func (d *dsDecoderV1) ReadDsClock() (uint64, error) {
	clock, err := d.readVarUint()
	if err != nil {
		return 0, err
	}
	if clock < d.dsCurVal {
		return 0, fmt.Errorf("%w: delete ranges out of order", ErrMalformedUpdate)
	}
	d.dsCurVal = clock
	return clock, nil
}

// ReadDsLen reads the length of a deleted range; 0 is rejected.
func (d *dsDecoderV1) ReadDsLen() (uint64, error) {
	n, err := d.readVarUint()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: empty delete range", ErrMalformedUpdate)
	}
	d.dsCurVal += n
	if d.dsCurVal > lib0.MaxSafeInteger {
		return 0, malformed(lib0.ErrIntegerOutOfRange)
	}
	return n, nil
}

func (d *dsDecoderV1) readVarUint() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, malformed(err)
	}
	return v, nil
}

// updateDecoderV1 reads updates in format v1 (yjs UpdateDecoderV1).
type updateDecoderV1 struct {
	dsDecoderV1
}

func newUpdateDecoderV1(b []byte) *updateDecoderV1 {
	d := &updateDecoderV1{}
	d.rest.Reset(b)
	return d
}

func (d *updateDecoderV1) readID() (ID, error) {
	client, err := d.readVarUint()
	if err != nil {
		return ID{}, err
	}
	clock, err := d.readVarUint()
	if err != nil {
		return ID{}, err
	}
	return ID{client, clock}, nil
}

// ReadLeftID reads an origin (or a parent's) ID.
func (d *updateDecoderV1) ReadLeftID() (ID, error) { return d.readID() }

// ReadRightID reads a right origin ID.
func (d *updateDecoderV1) ReadRightID() (ID, error) { return d.readID() }

// ReadClient reads the client of a struct group.
func (d *updateDecoderV1) ReadClient() (uint64, error) { return d.readVarUint() }

// ReadInfo reads a struct's info byte.
func (d *updateDecoderV1) ReadInfo() (byte, error) {
	b, err := d.rest.ReadUint8()
	if err != nil {
		return 0, malformed(err)
	}
	return b, nil
}

// ReadString reads a string.
func (d *updateDecoderV1) ReadString() (string, error) {
	s, err := d.rest.ReadVarString()
	if err != nil {
		return "", malformed(err)
	}
	return s, nil
}

// ReadParentInfo reads whether the parent is a root type (varUint 1).
func (d *updateDecoderV1) ReadParentInfo() (bool, error) {
	v, err := d.readVarUint()
	return v == 1, err
}

// ReadTypeRef reads the type reference of a ContentType.
func (d *updateDecoderV1) ReadTypeRef() (uint64, error) { return d.readVarUint() }

// ReadLen reads a length.
func (d *updateDecoderV1) ReadLen() (uint64, error) { return d.readVarUint() }

// ReadAny reads a lib0 any value.
func (d *updateDecoderV1) ReadAny() (any, error) {
	v, err := d.rest.ReadAny()
	if err != nil {
		return nil, malformed(err)
	}
	return v, nil
}

// ReadBuf reads binary content (a copy).
func (d *updateDecoderV1) ReadBuf() ([]byte, error) {
	b, err := d.rest.ReadVarUint8Array()
	if err != nil {
		return nil, malformed(err)
	}
	return bytes.Clone(b), nil
}

// ReadJSON reads an Embed or Format value written as JSON text.
func (d *updateDecoderV1) ReadJSON() (any, error) {
	s, err := d.ReadString()
	if err != nil {
		return nil, err
	}
	if s == "undefined" { // JSON.parse throws on it
		return nil, fmt.Errorf("%w: %w", ErrMalformedUpdate, lib0.ErrInvalidJSON)
	}
	v, err := lib0.ParseJSON(s)
	if err != nil {
		return nil, malformed(err)
	}
	return v, nil
}

// ReadKey reads a Format key or an XML node or hook name.
func (d *updateDecoderV1) ReadKey() (string, error) { return d.ReadString() }

// dsDecoderV2 reads delete sets in format v2 (yjs DSDecoderV2).
type dsDecoderV2 struct {
	rest     lib0.Decoder
	dsCurVal uint64
}

func (d *dsDecoderV2) restDecoder() *lib0.Decoder { return &d.rest }

// ResetDsCurVal starts the clock differences of a new client at 0.
func (d *dsDecoderV2) ResetDsCurVal() { d.dsCurVal = 0 }

// ReadDsClock reads the start clock of a deleted range.
func (d *dsDecoderV2) ReadDsClock() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, malformed(err)
	}
	d.dsCurVal += v
	if d.dsCurVal > lib0.MaxSafeInteger {
		return 0, malformed(lib0.ErrIntegerOutOfRange)
	}
	return d.dsCurVal, nil
}

// ReadDsLen reads the length of a deleted range.
func (d *dsDecoderV2) ReadDsLen() (uint64, error) {
	v, err := d.rest.ReadVarUint()
	if err != nil {
		return 0, malformed(err)
	}
	n := v + 1
	d.dsCurVal += n
	if d.dsCurVal > lib0.MaxSafeInteger {
		return 0, malformed(lib0.ErrIntegerOutOfRange)
	}
	return n, nil
}

// updateDecoderV2 reads updates in format v2 (yjs UpdateDecoderV2).
type updateDecoderV2 struct {
	dsDecoderV2
	// strings bounds the strings read: the string column can describe any
	// number of empty strings in a few bytes, and ContentJSON reads as many
	// as its length says.
	strings      int
	keys         []string
	keyClockDec  lib0.IntDiffOptRleDecoder
	clientDec    lib0.UintOptRleDecoder
	leftClockDec lib0.IntDiffOptRleDecoder
	rightClkDec  lib0.IntDiffOptRleDecoder
	infoDec      lib0.RleDecoder
	stringDec    lib0.StringDecoder
	parentDec    lib0.RleDecoder
	typeRefDec   lib0.UintOptRleDecoder
	lenDec       lib0.UintOptRleDecoder
}

func newUpdateDecoderV2(b []byte) (*updateDecoderV2, error) {
	d := &updateDecoderV2{strings: 16*len(b) + 64}
	r := lib0.NewDecoder(b)
	if _, err := r.ReadVarUint(); err != nil { // feature flag, unused
		return nil, malformed(err)
	}
	var cols [9][]byte
	for i := range cols {
		col, err := r.ReadVarUint8Array()
		if err != nil {
			return nil, fmt.Errorf("%w: column %d: %w", ErrMalformedUpdate, i, err)
		}
		cols[i] = col
	}
	d.keyClockDec.Reset(cols[0])
	d.clientDec.Reset(cols[1])
	d.leftClockDec.Reset(cols[2])
	d.rightClkDec.Reset(cols[3])
	d.infoDec.Reset(cols[4])
	if err := d.stringDec.Reset(cols[5]); err != nil {
		return nil, malformed(err)
	}
	d.parentDec.Reset(cols[6])
	d.typeRefDec.Reset(cols[7])
	d.lenDec.Reset(cols[8])
	d.rest.Reset(r.ReadRest())
	return d, nil
}

// ReadLeftID reads an origin (or a parent's) ID.
func (d *updateDecoderV2) ReadLeftID() (ID, error) {
	client, err := d.clientDec.Read()
	if err != nil {
		return ID{}, malformed(err)
	}
	clock, err := d.leftClockDec.Read()
	if err != nil {
		return ID{}, malformed(err)
	}
	return ID{client, clock}, nil
}

// ReadRightID reads a right origin ID.
func (d *updateDecoderV2) ReadRightID() (ID, error) {
	client, err := d.clientDec.Read()
	if err != nil {
		return ID{}, malformed(err)
	}
	clock, err := d.rightClkDec.Read()
	if err != nil {
		return ID{}, malformed(err)
	}
	return ID{client, clock}, nil
}

// ReadClient reads the client of a struct group.
func (d *updateDecoderV2) ReadClient() (uint64, error) {
	c, err := d.clientDec.Read()
	if err != nil {
		return 0, malformed(err)
	}
	if c > lib0.MaxSafeInteger {
		return 0, malformed(lib0.ErrIntegerOutOfRange)
	}
	return c, nil
}

// ReadInfo reads a struct's info byte.
func (d *updateDecoderV2) ReadInfo() (byte, error) {
	b, err := d.infoDec.Read()
	if err != nil {
		return 0, malformed(err)
	}
	return b, nil
}

// ReadString reads a string.
func (d *updateDecoderV2) ReadString() (string, error) {
	d.strings--
	if d.strings < 0 {
		return "", fmt.Errorf("%w: too many strings for the update's size", ErrMalformedUpdate)
	}
	s, err := d.stringDec.Read()
	if err != nil {
		return "", malformed(err)
	}
	return s, nil
}

// ReadParentInfo reads whether the parent is a root type.
func (d *updateDecoderV2) ReadParentInfo() (bool, error) {
	b, err := d.parentDec.Read()
	if err != nil {
		return false, malformed(err)
	}
	return b == 1, nil
}

// ReadTypeRef reads the type reference of a ContentType.
func (d *updateDecoderV2) ReadTypeRef() (uint64, error) {
	v, err := d.typeRefDec.Read()
	if err != nil {
		return 0, malformed(err)
	}
	return v, nil
}

// ReadLen reads a length.
func (d *updateDecoderV2) ReadLen() (uint64, error) {
	v, err := d.lenDec.Read()
	if err != nil {
		return 0, malformed(err)
	}
	return v, nil
}

// ReadAny reads a lib0 any value from the rest stream.
func (d *updateDecoderV2) ReadAny() (any, error) {
	v, err := d.rest.ReadAny()
	if err != nil {
		return nil, malformed(err)
	}
	return v, nil
}

// ReadBuf reads binary content from the rest stream (a copy).
func (d *updateDecoderV2) ReadBuf() ([]byte, error) {
	b, err := d.rest.ReadVarUint8Array()
	if err != nil {
		return nil, malformed(err)
	}
	return bytes.Clone(b), nil
}

// ReadJSON reads an Embed or Format value (a lib0 any value in v2).
func (d *updateDecoderV2) ReadJSON() (any, error) { return d.ReadAny() }

// ReadKey reads a Format key or an XML node or hook name: a key clock
// below the number of keys read so far reuses that key, any other reads a
// new key from the string column.
func (d *updateDecoderV2) ReadKey() (string, error) {
	kc, err := d.keyClockDec.Read()
	if err != nil {
		return "", malformed(err)
	}
	if kc < uint64(len(d.keys)) {
		return d.keys[kc], nil
	}
	key, err := d.ReadString()
	if err != nil {
		return "", err
	}
	d.keys = append(d.keys, key)
	return key, nil
}

// Interface guards.
var (
	_ updateEncoder = (*updateEncoderV1)(nil)
	_ updateEncoder = (*updateEncoderV2)(nil)
	_ updateDecoder = (*updateDecoderV1)(nil)
	_ updateDecoder = (*updateDecoderV2)(nil)
	_ dsEncoder     = (*dsEncoderV1)(nil)
	_ dsEncoder     = (*dsEncoderV2)(nil)
	_ dsDecoder     = (*dsDecoderV1)(nil)
	_ dsDecoder     = (*dsDecoderV2)(nil)
	_ restEncoderOf = (*updateEncoderV2)(nil)
	_ restDecoderOf = (*updateDecoderV2)(nil)
)
