package crdt

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// ErrInvalidRelativePosition is returned for a relative position that
// cannot be decoded or names neither an item nor a type.
var ErrInvalidRelativePosition = errors.New("crdt: invalid relative position")

// RelativePosition is a position in a sequence type (Text, Array, XML)
// that survives concurrent edits (yjs RelativePosition): it names the item
// at the position (Item), or, at the end of the type, the type itself by
// root name (TName) or by the id of the item holding it (Type). Assoc ≥ 0
// sticks to the item on the right of the position, < 0 to the left.
type RelativePosition struct {
	Type  *ID     // id of the item holding a nested type, or nil
	TName *string // root type name, or nil
	Item  *ID     // id of the item at the position, or nil
	Assoc int
}

// AbsolutePosition is a RelativePosition resolved in one document: an
// index in a type (yjs AbsolutePosition). Type is nil when the position
// is in a root type the application has not defined yet (GetText, ...).
type AbsolutePosition struct {
	Type  SharedType
	Index int
	Assoc int
}

// CreateRelativePositionFromTypeIndex returns the relative position of
// index in t (yjs createRelativePositionFromTypeIndex). Indexes count
// UTF-16 code units in text and elements otherwise; an index beyond the
// end gives the end of the type, a negative one the start.
//
//	rpos := crdt.CreateRelativePositionFromTypeIndex(text, 5, 0)
//	// ... concurrent edits ...
//	abs, ok := crdt.CreateAbsolutePositionFromRelativePosition(rpos, d)
func CreateRelativePositionFromTypeIndex(t SharedType, index, assoc int) RelativePosition {
	b := t.shared()
	index = max(index, 0)
	if assoc < 0 {
		if index == 0 {
			return relativePositionOf(b, nil, assoc)
		}
		index--
	}
	for it := b.start; it != nil; it = it.right {
		if !it.deleted() && it.countable() {
			if it.ilen() > index {
				return relativePositionOf(b, &ID{it.id.Client, it.id.Clock + uintOf(index)}, assoc)
			}
			index -= it.ilen()
		}
		if it.right == nil && assoc < 0 {
			last := it.lastID()
			return relativePositionOf(b, &last, assoc)
		}
	}
	return relativePositionOf(b, nil, assoc)
}

func relativePositionOf(b *branch, item *ID, assoc int) RelativePosition {
	r := RelativePosition{Item: item, Assoc: assoc}
	if b.item == nil {
		name := b.name
		r.TName = &name
	} else {
		id := b.item.id
		r.Type = &id
	}
	return r
}

// CreateAbsolutePositionFromRelativePosition resolves r in d (yjs
// createAbsolutePositionFromRelativePosition). It reports false when d
// does not have the item or type r names yet, or when it was garbage
// collected. A position at a deleted item resolves to where the item was;
// when an UndoManager re-inserted the item, the position follows the new
// one (yjs followUndoneDeletions, its default).
func CreateAbsolutePositionFromRelativePosition(r RelativePosition, d *Doc) (AbsolutePosition, bool) {
	s := d.store
	var b *branch
	index := 0
	switch {
	case r.Item != nil:
		id := *r.Item
		if s.state(id.Client) <= id.Clock {
			return AbsolutePosition{}, false
		}
		// Follow the items that undo/redo re-inserted in place of the one
		// named (yjs followUndoneDeletions, on by default).
		right, rdiff := followRedone(s, id)
		if right == nil || !right.isItem() || right.parent == nil {
			return AbsolutePosition{}, false
		}
		diff := clockInt(rdiff)
		b = right.parent
		if b.item == nil || !b.item.deleted() {
			if !right.deleted() && right.countable() {
				index = diff
				if r.Assoc < 0 {
					index++
				}
			}
			for n := right.left; n != nil; n = n.left {
				if !n.deleted() && n.countable() {
					index += n.ilen()
				}
			}
		}
	case r.TName != nil || r.Type != nil:
		if r.TName != nil {
			b = d.root(*r.TName)
		} else {
			id := *r.Type
			if s.state(id.Client) <= id.Clock {
				return AbsolutePosition{}, false
			}
			it, _ := followRedone(s, id)
			if it == nil || !it.isItem() {
				return AbsolutePosition{}, false
			}
			ct, ok := it.content.(*contentType)
			if !ok {
				return AbsolutePosition{}, false
			}
			b = ct.t
		}
		if r.Assoc >= 0 {
			index = b.length
		}
	default:
		return AbsolutePosition{}, false
	}
	return AbsolutePosition{Type: b.owner, Index: index, Assoc: r.Assoc}, true
}

// EncodeRelativePosition encodes r as yjs encodeRelativePosition does. A
// position that names neither an item nor a type encodes to nil.
func EncodeRelativePosition(r RelativePosition) []byte {
	e := lib0.NewEncoder()
	switch {
	case r.Item != nil:
		e.WriteVarUint(0)
		e.WriteVarUint(r.Item.Client)
		e.WriteVarUint(r.Item.Clock)
	case r.TName != nil:
		e.WriteUint8(1)
		e.WriteVarString(*r.TName)
	case r.Type != nil:
		e.WriteUint8(2)
		e.WriteVarUint(r.Type.Client)
		e.WriteVarUint(r.Type.Clock)
	default:
		return nil
	}
	e.WriteVarInt(int64(r.Assoc))
	return e.Bytes()
}

// DecodeRelativePosition decodes a relative position made by
// EncodeRelativePosition or yjs encodeRelativePosition.
func DecodeRelativePosition(b []byte) (RelativePosition, error) {
	d := lib0.NewDecoder(b)
	bad := func(err error) (RelativePosition, error) {
		return RelativePosition{}, fmt.Errorf("%w: %w", ErrInvalidRelativePosition, err)
	}
	readID := func() (*ID, error) {
		c, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		k, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		return &ID{c, k}, nil
	}
	var r RelativePosition
	kind, err := d.ReadVarUint()
	if err != nil {
		return bad(err)
	}
	switch kind {
	case 0:
		if r.Item, err = readID(); err != nil {
			return bad(err)
		}
	case 1:
		name, err := d.ReadVarString()
		if err != nil {
			return bad(err)
		}
		r.TName = &name
	case 2:
		if r.Type, err = readID(); err != nil {
			return bad(err)
		}
	default:
		return bad(fmt.Errorf("unknown kind %d", kind))
	}
	if d.HasContent() {
		a, err := d.ReadVarInt()
		if err != nil {
			return bad(err)
		}
		if a < -1<<31 || a > 1<<31-1 {
			return bad(lib0.ErrIntegerOutOfRange)
		}
		r.Assoc = int(a)
	}
	return r, nil
}

type jsonID struct {
	Client uint64 `json:"client"`
	Clock  uint64 `json:"clock"`
}

type jsonRelPos struct {
	Type  *jsonID `json:"type,omitempty"`
	TName *string `json:"tname,omitempty"`
	Item  *jsonID `json:"item,omitempty"`
	Assoc *int    `json:"assoc,omitempty"`
}

func toJSONID(id *ID) *jsonID {
	if id == nil {
		return nil
	}
	return &jsonID{id.Client, id.Clock}
}

func fromJSONID(id *jsonID) *ID {
	if id == nil {
		return nil
	}
	return &ID{id.Client, id.Clock}
}

// MarshalJSON writes r as yjs relativePositionToJSON does:
// {"type":{"client","clock"},"tname","item":{"client","clock"},"assoc"},
// leaving out what is absent (and an empty tname, as yjs does).
func (r RelativePosition) MarshalJSON() ([]byte, error) {
	j := jsonRelPos{Type: toJSONID(r.Type), Item: toJSONID(r.Item), Assoc: &r.Assoc}
	if r.TName != nil && *r.TName != "" {
		j.TName = r.TName
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the JSON form (yjs
// createRelativePositionFromJSON); a missing assoc is 0.
func (r *RelativePosition) UnmarshalJSON(b []byte) error {
	var j jsonRelPos
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRelativePosition, err)
	}
	*r = RelativePosition{Type: fromJSONID(j.Type), TName: j.TName, Item: fromJSONID(j.Item)}
	if j.Assoc != nil {
		r.Assoc = *j.Assoc
	}
	return nil
}
