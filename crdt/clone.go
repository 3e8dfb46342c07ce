package crdt

import (
	"slices"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Cloning. Every shared type has Clone (yjs clone()): a prelim copy of its
// current content that can be inserted anywhere, in the same document or
// another one. Nested types are cloned recursively. Inserting a clone
// writes the same structs, in the same order, as inserting yjs's clone of
// the same type, so the resulting updates are byte-identical.
//
//	copy := d.GetXmlFragment("verse").Clone()
//	_ = d.GetArray("drafts").Push(copy)
//
// Where Go differs from yjs it is because yjs reuses the original object:
// yjs's Text, XmlElement-attribute and XmlHook clones insert nested types
// and subdocuments themselves (which yjs cannot integrate twice), while
// Clone here clones nested types wherever they are, and refers to a
// subdocument through a new unloaded Doc with the same guid and options,
// as a peer receiving the reference would. A prelim type is cloned with
// the content its read methods return (yjs reads prelim types as empty; so
// does Text here).

// Clone returns a prelim copy of the text with its formatting and embeds
// (yjs YText.clone: applyDelta(toDelta())).
func (t *Text) Clone() *Text {
	c := NewText()
	cloneTextInto(c.branch, t.branch)
	return c
}

// Clone returns a prelim copy of the XML text with its formatting (yjs
// YXmlText.clone).
func (x *XmlText) Clone() *XmlText {
	c := NewXmlText()
	cloneTextInto(c.branch, x.branch)
	return c
}

// Clone returns a prelim copy of the array (yjs YArray.clone).
func (a *Array) Clone() *Array {
	c := NewArray()
	c.prelimList = cloneValues(a.ToArray())
	return c
}

// Clone returns a prelim copy of the map, with its keys in the order they
// were first set (yjs YMap.clone).
func (m *Map) Clone() *Map {
	c := NewMap()
	cloneEntriesInto(c.branch, m)
	return c
}

// Clone returns a prelim copy of the hook with its entries (yjs
// YXmlHook.clone).
func (x *XmlHook) Clone() *XmlHook {
	c := NewXmlHook(x.name)
	cloneEntriesInto(c.branch, &x.Map)
	return c
}

// Clone returns a prelim copy of the fragment and its children (yjs
// YXmlFragment.clone).
func (x *XmlFragment) Clone() *XmlFragment {
	c := NewXmlFragment()
	c.prelimList = cloneValues(x.ToArray())
	return c
}

// Clone returns a prelim copy of the element: its node name, attributes
// and children (yjs YXmlElement.clone). The attributes are set in
// JavaScript object order (integer-like names first), as yjs sets them
// from getAttributes().
func (x *XmlElement) Clone() *XmlElement {
	c := NewXmlElement(x.name)
	var attrs lib0.Object
	if x.doc == nil {
		if x.prelimMap != nil {
			for _, k := range x.prelimMap.keys {
				attrs.Set(k, x.prelimMap.vals[k])
			}
		}
	} else {
		for _, k := range x.mapKeys() {
			v, _ := x.mapGet(k)
			attrs.Set(k, v)
		}
	}
	if len(attrs) > 0 {
		c.prelimMap = &orderedAttrs{}
		for _, f := range attrs {
			c.prelimMap.set(f.Key, cloneValue(f.Value))
		}
	}
	c.prelimList = cloneValues(x.ToArray())
	return c
}

// cloneEntriesInto copies src's entries into the prelim map dst.
func cloneEntriesInto(dst *branch, src *Map) {
	for _, k := range src.Keys() {
		v, _ := src.Get(k)
		if dst.prelimMap == nil {
			dst.prelimMap = &orderedAttrs{}
		}
		dst.prelimMap.set(k, cloneValue(v))
	}
}

// cloneTextInto makes the prelim text dst insert src's current delta when
// it is integrated, as yjs's applyDelta does: one position walks from the
// start, and each insert brings its attributes and their negation.
func cloneTextInto(dst, src *branch) {
	ops := textDelta(src, nil, nil, nil)
	for i := range ops {
		if st, ok := ops[i].insert.(SharedType); ok {
			ops[i].insert = cloneShared(st)
		}
	}
	if len(ops) == 0 {
		return
	}
	dst.prelim = append(dst.prelim, func(tx *Transaction) {
		t := &Text{dst}
		pos := textPos{right: dst.start}
		for _, op := range ops {
			attrs := &orderedAttrs{}
			for _, f := range op.attrs {
				attrs.set(f.Key, f.Value)
			}
			var c content
			switch v := op.insert.(type) {
			case string:
				if v == "" {
					continue
				}
				c = &contentString{s: v, n: utf16Len(v)}
			case SharedType:
				c = &contentType{t: v.shared()}
			default:
				c = &contentEmbed{v: v}
			}
			t.insertText(tx, &pos, c, attrs)
		}
	})
}

// cloneValues clones every value of a list.
func cloneValues(vals []any) []any {
	if len(vals) == 0 {
		return nil
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = cloneValue(v)
	}
	return out
}

// cloneValue clones a value read from a shared type: nested types are
// cloned, a subdocument becomes a new Doc with its guid and options, and
// binary values are copied.
func cloneValue(v any) any {
	switch x := v.(type) {
	case SharedType:
		return cloneShared(x)
	case *Doc:
		return NewDoc(&DocOptions{
			GUID:         x.guid,
			CollectionID: x.collectionID,
			DisableGC:    !x.gc,
			Meta:         x.meta,
			AutoLoad:     x.autoLoad,
			DeferLoad:    !x.shouldLoad,
		})
	case []byte:
		return slices.Clone(x)
	}
	return v
}

// cloneShared clones a shared type of any kind.
func cloneShared(st SharedType) SharedType {
	switch x := st.(type) {
	case *Text:
		return x.Clone()
	case *Array:
		return x.Clone()
	case *Map:
		return x.Clone()
	case *XmlElement:
		return x.Clone()
	case *XmlFragment:
		return x.Clone()
	case *XmlText:
		return x.Clone()
	case *XmlHook:
		return x.Clone()
	}
	return st
}
