package crdt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Content references, the low five bits of a struct's info byte
// (yjs structs/Item.js contentRefs).
const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// Type references of ContentType (yjs structs/ContentType.js).
const (
	typeArray       = 0
	typeMap         = 1
	typeText        = 2
	typeXMLElement  = 3
	typeXMLFragment = 4
	typeXMLHook     = 5
	typeXMLText     = 6
)

// content is what an Item holds: one of the content kinds of yjs.
// Lengths and offsets are clock units (UTF-16 code units for strings).
type content interface {
	// length is the number of clock units the content spans.
	length() uint64
	// countable reports whether the content counts towards a type's length.
	countable() bool
	// ref is the content reference written in the info byte.
	ref() uint8
	// values returns the elements the content holds, as yjs's getContent.
	values() []any
	// copy returns a fresh content with the same value (yjs copy).
	copy() content
	// splice cuts the content at offset (0 < offset < length): the receiver
	// keeps [0, offset) and the returned content holds the rest.
	splice(offset uint64) content
	// mergeWith appends right (of the same kind) and reports whether it could.
	mergeWith(right content) bool
	// integrate runs the content's side effects when its item is integrated.
	integrate(tx *Transaction, it *Item)
	// delete runs the content's side effects when its item is deleted.
	delete(tx *Transaction)
	// gc releases what the content references when its item is collected.
	gc(s *structStore)
	// write encodes the content, skipping the first offset clock units.
	write(enc updateEncoder, offset uint64)
}

// readContent reads the content with the given reference from dec.
// doc may be nil (Doc-less processing of updates); it is used only to
// create the nested types of ContentType.
func readContent(dec updateDecoder, ref uint8) (content, error) {
	switch ref {
	case refDeleted:
		n, err := dec.ReadLen()
		if err != nil {
			return nil, err
		}
		return &contentDeleted{n: n}, nil
	case refJSON:
		n, err := dec.ReadLen()
		if err != nil {
			return nil, err
		}
		c := &contentJSON{}
		for i := uint64(0); i < n; i++ {
			s, err := dec.ReadString()
			if err != nil {
				return nil, err
			}
			// yjs keeps JSON.parse(s) and writes JSON.stringify of it, so
			// keep the text in that normal form (key order, escapes,
			// numbers).
			if s != "undefined" {
				v, err := lib0.ParseJSON(s)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrMalformedUpdate, err)
				}
				if s, err = lib0.StringifyJSON(v); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrMalformedUpdate, err)
				}
			}
			c.vals = append(c.vals, s)
		}
		return c, nil
	case refBinary:
		b, err := dec.ReadBuf()
		if err != nil {
			return nil, err
		}
		// The decoder returns a view of the update; the document must not
		// keep the caller's buffer.
		return &contentBinary{b: bytes.Clone(b)}, nil
	case refString:
		s, err := dec.ReadString()
		if err != nil {
			return nil, err
		}
		return newContentString(s), nil
	case refEmbed:
		v, err := dec.ReadJSON()
		if err != nil {
			return nil, err
		}
		return &contentEmbed{v: v}, nil
	case refFormat:
		k, err := dec.ReadKey()
		if err != nil {
			return nil, err
		}
		v, err := dec.ReadJSON()
		if err != nil {
			return nil, err
		}
		return &contentFormat{key: k, v: v}, nil
	case refType:
		tr, err := dec.ReadTypeRef()
		if err != nil {
			return nil, err
		}
		if tr > typeXMLText {
			return nil, fmt.Errorf("%w: unknown type ref %d", ErrMalformedUpdate, tr)
		}
		b := &branch{ref: uint8(tr)} //nolint:gosec // G115: checked above
		switch tr {
		case typeArray, typeMap, typeText, typeXMLFragment, typeXMLText:
		case typeXMLElement, typeXMLHook:
			if b.name, err = dec.ReadKey(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: unknown type ref %d", ErrMalformedUpdate, tr)
		}
		newOwner(b)
		return &contentType{t: b}, nil
	case refAny:
		n, err := dec.ReadLen()
		if err != nil {
			return nil, err
		}
		c := &contentAny{}
		for i := uint64(0); i < n; i++ {
			v, err := dec.ReadAny()
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
		}
		return c, nil
	case refDoc:
		guid, err := dec.ReadString()
		if err != nil {
			return nil, err
		}
		opts, err := dec.ReadAny()
		if err != nil {
			return nil, err
		}
		// yjs builds the subdocument from the options as read, loading it
		// when they say shouldLoad or autoLoad, and keeps only the options
		// it writes back.
		o, _ := opts.(lib0.Object)
		sl, _ := o.Get("shouldLoad")
		al, _ := o.Get("autoLoad")
		return &contentDoc{guid: guid, opts: normalizeDocOpts(opts), load: jsTruthy(sl) || jsTruthy(al)}, nil
	}
	return nil, fmt.Errorf("%w: unknown content ref %d", ErrMalformedUpdate, ref)
}

// contentDeleted stands for n deleted clock units whose content is gone.
type contentDeleted struct{ n uint64 }

func (c *contentDeleted) length() uint64  { return c.n }
func (c *contentDeleted) countable() bool { return false }
func (c *contentDeleted) ref() uint8      { return refDeleted }
func (c *contentDeleted) values() []any   { return nil }
func (c *contentDeleted) copy() content   { return &contentDeleted{n: c.n} }
func (c *contentDeleted) splice(offset uint64) content {
	r := &contentDeleted{n: c.n - offset}
	c.n = offset
	return r
}
func (c *contentDeleted) mergeWith(right content) bool {
	c.n += right.(*contentDeleted).n
	return true
}
func (c *contentDeleted) integrate(tx *Transaction, it *Item) {
	tx.deleteSet.addWithBuf(it.id.Client, it.id.Clock, c.n, tx.rangeBuf[:])
	it.info |= itemDeleted
}
func (c *contentDeleted) delete(*Transaction) {}
func (c *contentDeleted) gc(*structStore)     {}
func (c *contentDeleted) write(enc updateEncoder, offset uint64) {
	enc.WriteLen(c.n - offset)
}

// contentJSON is the legacy JSON content: one JSON text per element, kept
// as the text it was read as ("undefined" for undefined), and parsed on
// demand.
type contentJSON struct{ vals []string }

func (c *contentJSON) length() uint64  { return uint64(len(c.vals)) }
func (c *contentJSON) countable() bool { return true }
func (c *contentJSON) ref() uint8      { return refJSON }
func (c *contentJSON) values() []any {
	out := make([]any, len(c.vals))
	for i, s := range c.vals {
		out[i] = parseJSONText(s)
	}
	return out
}
func (c *contentJSON) copy() content { return &contentJSON{vals: c.vals} }
func (c *contentJSON) splice(offset uint64) content {
	r := &contentJSON{vals: append([]string(nil), c.vals[offset:]...)}
	c.vals = c.vals[:offset:offset]
	return r
}
func (c *contentJSON) mergeWith(right content) bool {
	c.vals = append(c.vals[:len(c.vals):len(c.vals)], right.(*contentJSON).vals...)
	return true
}
func (c *contentJSON) integrate(*Transaction, *Item) {}
func (c *contentJSON) delete(*Transaction)           {}
func (c *contentJSON) gc(*structStore)               {}
func (c *contentJSON) write(enc updateEncoder, offset uint64) {
	enc.WriteLen(uint64(len(c.vals)) - offset)
	for _, s := range c.vals[offset:] {
		enc.WriteString(s)
	}
}

// parseJSONText turns one element of legacy JSON content into a value.
func parseJSONText(s string) any {
	if s == "undefined" {
		return lib0.Undefined
	}
	v, err := lib0.ParseJSON(s)
	if err != nil {
		return nil
	}
	return v
}

// contentBinary is one binary blob.
type contentBinary struct{ b []byte }

func (c *contentBinary) length() uint64                    { return 1 }
func (c *contentBinary) countable() bool                   { return true }
func (c *contentBinary) ref() uint8                        { return refBinary }
func (c *contentBinary) values() []any                     { return []any{c.b} }
func (c *contentBinary) copy() content                     { return &contentBinary{b: c.b} }
func (c *contentBinary) splice(uint64) content             { panic("crdt: splice of binary content") }
func (c *contentBinary) mergeWith(content) bool            { return false }
func (c *contentBinary) integrate(*Transaction, *Item)     {}
func (c *contentBinary) delete(*Transaction)               {}
func (c *contentBinary) gc(*structStore)                   {}
func (c *contentBinary) write(enc updateEncoder, _ uint64) { enc.WriteBuf(c.b) }

// contentString is a run of text. s is UTF-8; n is its length in UTF-16
// code units, the clock length.
type contentString struct {
	s string
	n uint64
}

func newContentString(s string) *contentString {
	return &contentString{s: s, n: utf16Len(s)}
}

func (c *contentString) length() uint64  { return c.n }
func (c *contentString) countable() bool { return true }
func (c *contentString) ref() uint8      { return refString }
func (c *contentString) values() []any {
	// yjs returns str.split(''): one element per UTF-16 code unit.
	out := make([]any, 0, c.n)
	if uint64(len(c.s)) == c.n {
		for i := 0; i < len(c.s); i++ {
			out = append(out, c.s[i:i+1])
		}
		return out
	}
	for _, u := range lib0.AppendUTF16(nil, c.s) {
		out = append(out, lib0.StringFromUTF16([]uint16{u}))
	}
	return out
}
func (c *contentString) copy() content { return &contentString{s: c.s, n: c.n} }

// splice cuts at a UTF-16 offset. Cutting inside a surrogate pair leaves
// U+FFFD on both sides, as yjs does.
func (c *contentString) splice(offset uint64) content {
	if uint64(len(c.s)) == c.n { // ASCII
		r := &contentString{s: c.s[offset:], n: c.n - offset}
		c.s, c.n = c.s[:offset], offset
		return r
	}
	if i, ok := lib0.UTF16Index(c.s, int(offset)); ok { //nolint:gosec // G115: offset < c.n, a string length
		r := &contentString{s: c.s[i:], n: c.n - offset}
		c.s, c.n = c.s[:i], offset
		return r
	}
	// A surrogate pair is split: both halves become U+FFFD, as in yjs.
	u := lib0.AppendUTF16(nil, c.s)
	left := u[:offset:offset]
	right := append([]uint16(nil), u[offset:]...)
	if h := left[offset-1]; h >= 0xD800 && h <= 0xDBFF {
		left = append(left[:offset-1:offset-1], 0xFFFD)
		if len(right) > 0 {
			right[0] = 0xFFFD
		}
	}
	r := &contentString{s: lib0.StringFromUTF16(right), n: c.n - offset}
	c.s, c.n = lib0.StringFromUTF16(left), offset
	return r
}
func (c *contentString) mergeWith(right content) bool {
	r := right.(*contentString)
	c.s += r.s
	c.n += r.n
	return true
}
func (c *contentString) integrate(*Transaction, *Item) {}
func (c *contentString) delete(*Transaction)           {}
func (c *contentString) gc(*structStore)               {}
func (c *contentString) write(enc updateEncoder, offset uint64) {
	switch {
	case offset == 0:
		enc.WriteString(c.s)
	case uint64(len(c.s)) == c.n:
		enc.WriteString(c.s[offset:])
	default:
		if i, ok := lib0.UTF16Index(c.s, int(offset)); ok { //nolint:gosec // G115: offset < c.n
			enc.WriteString(c.s[i:])
			return
		}
		enc.WriteString(lib0.StringFromUTF16(lib0.AppendUTF16(nil, c.s)[offset:]))
	}
}

// utf16Len is the length of s in UTF-16 code units (JavaScript's length).
func utf16Len(s string) uint64 {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return uintOf(lib0.UTF16Len(s))
		}
	}
	return uint64(len(s))
}

// contentEmbed is one embedded value in a text.
type contentEmbed struct{ v any }

func (c *contentEmbed) length() uint64                    { return 1 }
func (c *contentEmbed) countable() bool                   { return true }
func (c *contentEmbed) ref() uint8                        { return refEmbed }
func (c *contentEmbed) values() []any                     { return []any{c.v} }
func (c *contentEmbed) copy() content                     { return &contentEmbed{v: c.v} }
func (c *contentEmbed) splice(uint64) content             { panic("crdt: splice of embed content") }
func (c *contentEmbed) mergeWith(content) bool            { return false }
func (c *contentEmbed) integrate(*Transaction, *Item)     {}
func (c *contentEmbed) delete(*Transaction)               {}
func (c *contentEmbed) gc(*structStore)                   {}
func (c *contentEmbed) write(enc updateEncoder, _ uint64) { enc.WriteJSON(c.v) }

// contentFormat is a formatting marker in a text: from here on, key has
// value v (nil ends the attribute).
type contentFormat struct {
	key string
	v   any
}

func (c *contentFormat) length() uint64        { return 1 }
func (c *contentFormat) countable() bool       { return false }
func (c *contentFormat) ref() uint8            { return refFormat }
func (c *contentFormat) values() []any         { return nil }
func (c *contentFormat) copy() content         { return &contentFormat{key: c.key, v: c.v} }
func (c *contentFormat) splice(uint64) content { panic("crdt: splice of format content") }
func (c *contentFormat) mergeWith(content) bool {
	return false
}
func (c *contentFormat) integrate(_ *Transaction, it *Item) {
	p := it.parent
	p.markers = nil
	p.noMarkers = true
	p.hasFormatting = true
}
func (c *contentFormat) delete(*Transaction) {}
func (c *contentFormat) gc(*structStore)     {}
func (c *contentFormat) write(enc updateEncoder, _ uint64) {
	enc.WriteKey(c.key)
	enc.WriteJSON(c.v)
}

// contentType holds a nested shared type.
type contentType struct{ t *branch }

func (c *contentType) length() uint64  { return 1 }
func (c *contentType) countable() bool { return true }
func (c *contentType) ref() uint8      { return refType }
func (c *contentType) values() []any   { return []any{c.t.owner} }
func (c *contentType) copy() content {
	b := &branch{ref: c.t.ref, name: c.t.name}
	newOwner(b)
	return &contentType{t: b}
}
func (c *contentType) splice(uint64) content  { panic("crdt: splice of type content") }
func (c *contentType) mergeWith(content) bool { return false }
func (c *contentType) integrate(tx *Transaction, it *Item) {
	c.t.integrate(tx, it)
}

// delete deletes every child of the nested type (yjs ContentType.delete).
func (c *contentType) delete(tx *Transaction) {
	for it := c.t.start; it != nil; it = it.right {
		if !it.deleted() {
			it.delete(tx)
		} else if it.id.Clock < tx.beforeState.get(it.id.Client) {
			tx.mergeStructs = append(tx.mergeStructs, it)
		}
	}
	for _, k := range c.t.keyOrder {
		it := c.t.keys[k]
		if !it.deleted() {
			it.delete(tx)
		} else if it.id.Clock < tx.beforeState.get(it.id.Client) {
			tx.mergeStructs = append(tx.mergeStructs, it)
		}
	}
	tx.removeChanged(c.t)
}

// gc turns every child into a GC struct and empties the type.
func (c *contentType) gc(s *structStore) {
	for it := c.t.start; it != nil; it = it.right {
		it.gc(s, true)
	}
	c.t.start = nil
	for _, k := range c.t.keyOrder {
		for it := c.t.keys[k]; it != nil; it = it.left {
			it.gc(s, true)
		}
	}
	c.t.keys = nil
	c.t.keyOrder = nil
}
func (c *contentType) write(enc updateEncoder, _ uint64) {
	enc.WriteTypeRef(uint64(c.t.ref))
	if c.t.ref == typeXMLElement || c.t.ref == typeXMLHook {
		enc.WriteKey(c.t.name)
	}
}

// contentAny is a run of JSON-like values (lib0 any).
type contentAny struct{ vals []any }

func (c *contentAny) length() uint64  { return uint64(len(c.vals)) }
func (c *contentAny) countable() bool { return true }
func (c *contentAny) ref() uint8      { return refAny }
func (c *contentAny) values() []any   { return c.vals }
func (c *contentAny) copy() content   { return &contentAny{vals: c.vals} }
func (c *contentAny) splice(offset uint64) content {
	r := &contentAny{vals: append([]any(nil), c.vals[offset:]...)}
	c.vals = c.vals[:offset:offset]
	return r
}
func (c *contentAny) mergeWith(right content) bool {
	c.vals = append(c.vals[:len(c.vals):len(c.vals)], right.(*contentAny).vals...)
	return true
}
func (c *contentAny) integrate(*Transaction, *Item) {}
func (c *contentAny) delete(*Transaction)           {}
func (c *contentAny) gc(*structStore)               {}
func (c *contentAny) write(enc updateEncoder, offset uint64) {
	enc.WriteLen(uint64(len(c.vals)) - offset)
	for _, v := range c.vals[offset:] {
		enc.WriteAny(v)
	}
}

// contentDoc is a subdocument: its guid and its options object (only
// non-default options: gc, autoLoad, meta), and the Doc, made when the
// content is first used (Doc-less update processing never needs it).
type contentDoc struct {
	guid string
	opts lib0.Object
	load bool // the options read said shouldLoad or autoLoad
	doc  *Doc
}

// subdoc returns the content's Doc, making it if needed (yjs
// createDocFromOpts).
func (c *contentDoc) subdoc() *Doc {
	if c.doc == nil {
		c.doc = docFromOpts(c.guid, c.opts, c.load)
	}
	return c.doc
}

func (c *contentDoc) length() uint64  { return 1 }
func (c *contentDoc) countable() bool { return true }
func (c *contentDoc) ref() uint8      { return refDoc }
func (c *contentDoc) values() []any   { return []any{c.subdoc()} }
func (c *contentDoc) copy() content {
	al, _ := c.opts.Get("autoLoad")
	return &contentDoc{guid: c.guid, opts: c.opts, load: jsTruthy(al)}
}
func (c *contentDoc) splice(uint64) content  { panic("crdt: splice of doc content") }
func (c *contentDoc) mergeWith(content) bool { return false }

// integrate makes the subdocument part of the transaction's document.
func (c *contentDoc) integrate(tx *Transaction, it *Item) {
	d := c.subdoc()
	d.item = it
	tx.subdocsAdded = addDoc(tx.subdocsAdded, d)
	if d.shouldLoad {
		tx.subdocsLoaded = addDoc(tx.subdocsLoaded, d)
	}
}

// delete removes the subdocument (or forgets it was added in the same
// transaction).
func (c *contentDoc) delete(tx *Transaction) {
	d := c.subdoc()
	if slices.Contains(tx.subdocsAdded, d) {
		tx.subdocsAdded = removePtr(tx.subdocsAdded, d)
	} else {
		tx.subdocsRemoved = addDoc(tx.subdocsRemoved, d)
	}
}
func (c *contentDoc) gc(*structStore) {}
func (c *contentDoc) write(enc updateEncoder, _ uint64) {
	enc.WriteString(c.guid)
	enc.WriteAny(c.opts)
}

// normalizeDocOpts returns the options object yjs writes for a subdocument
// read with opts: yjs builds a Doc from them and writes back only gc:false,
// autoLoad:true and meta, in that order.
func normalizeDocOpts(opts any) lib0.Object {
	out := lib0.Object{}
	o, _ := opts.(lib0.Object)
	if v, ok := o.Get("gc"); ok && !isUndefined(v) && !jsTruthy(v) {
		out = append(out, lib0.Field{Key: "gc", Value: false})
	}
	if v, ok := o.Get("autoLoad"); ok && jsTruthy(v) {
		out = append(out, lib0.Field{Key: "autoLoad", Value: true})
	}
	if v, ok := o.Get("meta"); ok && v != nil && !isUndefined(v) {
		out = append(out, lib0.Field{Key: "meta", Value: v})
	}
	return out
}

// jsTruthy is JavaScript's truthiness of a decoded any value.
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil, lib0.UndefinedValue:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case string:
		return x != ""
	case lib0.BigInt:
		return x != 0
	}
	return true
}
