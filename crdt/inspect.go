package crdt

import (
	"fmt"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// StructInfo describes one struct of an encoded update, for debugging
// (yjs decodeUpdate / logUpdate).
type StructInfo struct {
	ID  ID
	Len uint64
	// Kind is "GC", "Skip" or the content kind of an item: "Deleted",
	// "JSON", "Binary", "String", "Embed", "Format", "Type", "Any", "Doc".
	Kind        string
	Origin      *ID     `json:",omitempty"`
	RightOrigin *ID     `json:",omitempty"`
	ParentRoot  *string `json:",omitempty"` // root type name, when written
	ParentID    *ID     `json:",omitempty"` // parent type's item, when written
	ParentSub   *string `json:",omitempty"` // map key, when written
	// Content holds the item's content: the string, the values, the
	// format key and value, the type ("Text", "XmlElement <p>", ...).
	Content any `json:",omitempty"`
}

// DeleteRange is one range of a delete set.
type DeleteRange struct {
	Client, Clock, Len uint64
}

// DecodedUpdate is the content of an update: its structs (clients
// descending, as encoded) and its delete set.
type DecodedUpdate struct {
	Structs   []StructInfo
	DeleteSet []DeleteRange
}

// DecodeUpdate decodes a v1 update for inspection.
//
//	u, err := crdt.DecodeUpdate(update)
//	for _, s := range u.Structs { fmt.Println(s.ID, s.Kind, s.Content) }
func DecodeUpdate(update []byte) (*DecodedUpdate, error) { return decodeUpdate(update, false) }

// DecodeUpdateV2 decodes a v2 update for inspection.
func DecodeUpdateV2(update []byte) (*DecodedUpdate, error) { return decodeUpdate(update, true) }

var contentKinds = [...]string{"GC", "Deleted", "JSON", "Binary", "String", "Embed", "Format", "Type", "Any", "Doc", "Skip"}

var typeNames = [...]string{"Array", "Map", "Text", "XmlElement", "XmlFragment", "XmlHook", "XmlText"}

func decodeUpdate(update []byte, v2 bool) (*DecodedUpdate, error) {
	dec, err := newUpdateDecoder(update, v2)
	if err != nil {
		return nil, asMalformed(err)
	}
	limit := len(update)*maxStructsPerByteV1 + 16
	if v2 {
		limit = len(update)*maxStructsPerByteV2 + maxStructsFloorV2
	}
	numClients, err := readRestVarUint(dec)
	if err != nil {
		return nil, asMalformed(err)
	}
	out := &DecodedUpdate{}
	total := 0
	for c := uint64(0); c < numClients; c++ {
		n, err := readRestVarUint(dec)
		if err != nil {
			return nil, asMalformed(err)
		}
		client, err := dec.ReadClient()
		if err != nil {
			return nil, asMalformed(err)
		}
		clock, err := readRestVarUint(dec)
		if err != nil {
			return nil, asMalformed(err)
		}
		for i := uint64(0); i < n; i++ {
			if total++; total > limit {
				return nil, fmt.Errorf("%w: too many structs for the update's size", ErrMalformedUpdate)
			}
			it, err := readStruct(dec, client, clock, nil)
			if err != nil {
				return nil, asMalformed(err)
			}
			out.Structs = append(out.Structs, describeStruct(it))
			clock += it.len
		}
	}
	clients, ranges, err := readDeleteSet(dec)
	if err != nil {
		return nil, asMalformed(err)
	}
	for i, c := range clients {
		for _, r := range ranges[i] {
			out.DeleteSet = append(out.DeleteSet, DeleteRange{c, r.clock, r.len})
		}
	}
	return out, nil
}

func describeStruct(it *Item) StructInfo {
	si := StructInfo{ID: it.id, Len: it.len}
	switch {
	case it.isGC():
		si.Kind = "GC"
		return si
	case it.isSkip():
		si.Kind = "Skip"
		return si
	}
	si.Kind = contentKinds[it.content.ref()]
	if it.info&itemHasOrigin != 0 {
		o := it.origin
		si.Origin = &o
	}
	if it.info&itemHasRightOrigin != 0 {
		o := it.rightOrigin
		si.RightOrigin = &o
	}
	if it.parent != nil {
		n := it.parent.name
		si.ParentRoot = &n
	}
	if it.pid() != nil {
		p := *it.pid()
		si.ParentID = &p
	}
	if it.hasParentSub() && it.info&(itemHasOrigin|itemHasRightOrigin) == 0 {
		k := it.sub()
		si.ParentSub = &k
	}
	switch c := it.content.(type) {
	case *contentString:
		si.Content = c.s
	case *contentFormat:
		si.Content = lib0.Object{{Key: c.key, Value: c.v}}
	case *contentType:
		name := typeNames[min(int(c.t.ref), len(typeNames)-1)]
		if c.t.ref == typeXMLElement || c.t.ref == typeXMLHook {
			name += " <" + c.t.name + ">"
		}
		si.Content = name
	case *contentDoc:
		si.Content = lib0.Object{{Key: "guid", Value: c.guid}, {Key: "opts", Value: c.opts}}
	case *contentDeleted:
	default:
		si.Content = c.values()
	}
	return si
}

// GuessKind returns the kind of root type name: its kind if the
// application asked for it, else a guess from its content (a list of
// strings and formats is a text, a list of XML nodes an XML fragment,
// another list an array, entries only a map). KindUnknown means the root
// is empty.
func (d *Doc) GuessKind(name string) RootKind {
	b := d.share[name]
	if b == nil {
		return KindUnknown
	}
	if b.ref != refUnknown {
		return kindOf(b.ref)
	}
	if b.start == nil {
		if len(b.keys) > 0 {
			return KindMap
		}
		return KindUnknown
	}
	for it := b.start; it != nil; it = it.right {
		switch c := it.content.(type) {
		case *contentString, *contentFormat, *contentEmbed:
			return KindText
		case *contentType:
			switch c.t.ref {
			case typeXMLElement, typeXMLText, typeXMLHook:
				return KindXmlFragment
			}
			return KindArray
		case *contentDeleted:
			continue
		default:
			return KindArray
		}
	}
	return KindArray
}

// JSON returns the JSON value of a shared type as yjs's toJSON gives it,
// with map keys in yjs's order (lib0.Object); encode it with
// lib0.StringifyJSON to get JSON.stringify's text.
func JSON(t SharedType) any {
	return orderedJSON(t.shared())
}

func orderedJSON(b *branch) any {
	switch b.ref {
	case typeArray:
		vals := b.listValues()
		for i, v := range vals {
			if st, ok := v.(SharedType); ok {
				vals[i] = orderedJSON(st.shared())
			}
		}
		return vals
	case typeMap, typeXMLHook:
		o := lib0.Object{}
		for _, k := range b.mapKeys() {
			v, _ := b.mapGet(k)
			if st, ok := v.(SharedType); ok {
				v = orderedJSON(st.shared())
			}
			o.Set(k, v)
		}
		return o
	}
	return typeToJSON(b)
}
