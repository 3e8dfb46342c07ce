package crdt

// Item flags (Item.info).
const (
	itemKeep           uint16 = 1 << 0
	itemCountable      uint16 = 1 << 1
	itemDeleted        uint16 = 1 << 2
	itemMarker         uint16 = 1 << 3
	itemHasOrigin      uint16 = 1 << 4
	itemHasRightOrigin uint16 = 1 << 5
	itemHasParentSub   uint16 = 1 << 6
	itemGC             uint16 = 1 << 7 // the struct is a GC struct, not an item
	itemSkip           uint16 = 1 << 8 // the struct is a Skip (only in updates)
	itemRedone         uint16 = 1 << 9 // the store's redone table has an entry for the item
)

// Item is one struct of a document: a run of content made by one client
// with consecutive clocks, linked into its parent type's list (or a map
// key's chain). GC and Skip structs are Items with a flag and no content,
// so that the store holds one pointer type.
type Item struct {
	id          ID
	len         uint64
	origin      ID // valid with itemHasOrigin
	rightOrigin ID // valid with itemHasRightOrigin
	left, right *Item
	parent      *branch    // nil for GC/Skip, or when the parent is unknown
	extra       *itemExtra // map key, unresolved parent; nil for most items
	content     content
	// yjs's redone link (set by the UndoManager) is not kept here but in
	// the store's redone table (flag itemRedone), so that items stay small.
	info uint16
}

func (it *Item) deleted() bool   { return it.info&(itemDeleted|itemGC|itemSkip) != 0 }
func (it *Item) countable() bool { return it.info&itemCountable != 0 }
func (it *Item) keep() bool      { return it.info&itemKeep != 0 }
func (it *Item) isGC() bool      { return it.info&itemGC != 0 }
func (it *Item) isSkip() bool    { return it.info&itemSkip != 0 }
func (it *Item) isItem() bool    { return it.info&(itemGC|itemSkip) == 0 }
func (it *Item) hasParentSub() bool {
	return it.info&itemHasParentSub != 0
}

// lastID is the id of the item's last clock unit.
func (it *Item) lastID() ID { return ID{it.id.Client, it.id.Clock + it.len - 1} }

// newItem makes an item for local insertion.
func newItem(id ID, left *Item, right *Item, parent *branch, parentSub *string, c content) *Item {
	return initItem(&Item{}, id, left, right, parent, parentSub, c)
}

// initItem fills a zero item for local insertion.
func initItem(it *Item, id ID, left *Item, right *Item, parent *branch, parentSub *string, c content) *Item {
	it.id, it.left, it.right, it.parent, it.content, it.len = id, left, right, parent, c, c.length()
	if left != nil {
		it.origin = left.lastID()
		it.info |= itemHasOrigin
	}
	if right != nil {
		it.rightOrigin = right.id
		it.info |= itemHasRightOrigin
	}
	if parentSub != nil {
		it.extra = &itemExtra{parentSub: *parentSub}
		it.info |= itemHasParentSub
	}
	if c.countable() {
		it.info |= itemCountable
	}
	return it
}

// itemExtra holds what only some items have. It is never changed once
// set, so split parts and lazily read copies may share it.
type itemExtra struct {
	parentSub   string // map key, valid with itemHasParentSub
	parentID    ID     // parent's item id until the item is integrated
	hasParentID bool
}

// sub returns the item's map key ("" when it has none).
func (it *Item) sub() string {
	if it.extra == nil {
		return ""
	}
	return it.extra.parentSub
}

// pid returns the id of the parent's item while it is unresolved, or nil.
func (it *Item) pid() *ID {
	if it.extra == nil || !it.extra.hasParentID {
		return nil
	}
	return &it.extra.parentID
}

// clearPID forgets the unresolved parent id, keeping the map key.
func (it *Item) clearPID() {
	if it.extra == nil || !it.extra.hasParentID {
		return
	}
	if it.extra.parentSub == "" {
		it.extra = nil
		return
	}
	it.extra = &itemExtra{parentSub: it.extra.parentSub}
}

// stringItem allocates an item and its string content together.
type stringItem struct {
	Item
	c contentString
}

func newGC(id ID, n uint64) *Item { return &Item{id: id, len: n, info: itemGC} }

// prev is the next non-deleted item to the left.
func (it *Item) prev() *Item {
	n := it.left
	for n != nil && n.deleted() {
		n = n.left
	}
	return n
}

// split cuts the item at diff (0 < diff < len) and returns the right part,
// linked after it (yjs splitItem). The caller inserts it into the store s.
func (it *Item) split(s *structStore, tx *Transaction, diff uint64) *Item {
	r := &Item{
		id:          ID{it.id.Client, it.id.Clock + diff},
		len:         it.len - diff,
		origin:      ID{it.id.Client, it.id.Clock + diff - 1},
		rightOrigin: it.rightOrigin,
		left:        it,
		right:       it.right,
		parent:      it.parent,
		extra:       it.extra,
		content:     it.content.splice(diff),
		info:        itemHasOrigin | it.info&(itemHasRightOrigin|itemHasParentSub|itemCountable|itemDeleted|itemKeep),
	}
	if it.info&itemRedone != 0 {
		// yjs: rightItem.redone = (redone.client, redone.clock + diff)
		red := s.redone[it.id]
		s.setRedone(r, ID{red.Client, red.Clock + diff})
	}
	it.right = r
	if r.right != nil {
		r.right.left = r
	}
	if tx != nil {
		tx.mergeStructs = append(tx.mergeStructs, r)
	}
	if r.hasParentSub() && r.right == nil && r.parent != nil {
		// The right part is now the last entry of its key.
		r.parent.setKey(r.sub(), r)
	}
	it.len = diff
	return r
}

// idEqualOpt compares optional ids.
func optEqual(aok bool, a ID, bok bool, b ID) bool {
	return aok == bok && (!aok || a == b)
}

// getMissing resolves the item's references against the store. It
// returns the client of a missing dependency (and ok=true), or resolves
// left, right and parent (yjs Item.getMissing).
func (it *Item) getMissing(tx *Transaction, s *structStore) (uint64, bool) {
	if it.info&itemHasOrigin != 0 && it.origin.Client != it.id.Client && it.origin.Clock >= s.state(it.origin.Client) {
		return it.origin.Client, true
	}
	if it.info&itemHasRightOrigin != 0 && it.rightOrigin.Client != it.id.Client && it.rightOrigin.Clock >= s.state(it.rightOrigin.Client) {
		return it.rightOrigin.Client, true
	}
	if pid := it.pid(); pid != nil && it.id.Client != pid.Client && pid.Clock >= s.state(pid.Client) {
		return pid.Client, true
	}
	if it.info&itemHasOrigin != 0 {
		it.left = s.getItemCleanEnd(tx, it.origin)
		it.origin = it.left.lastID()
	}
	if it.info&itemHasRightOrigin != 0 {
		it.right = s.getItemCleanStart(tx, it.rightOrigin)
		it.rightOrigin = it.right.id
	}
	if (it.left != nil && it.left.isGC()) || (it.right != nil && it.right.isGC()) {
		it.parent = nil
		it.clearPID()
	} else if it.parent == nil && it.pid() == nil {
		if it.left != nil && it.left.isItem() {
			it.parent = it.left.parent
			it.extra = it.left.extra
			it.info = it.info&^itemHasParentSub | it.left.info&itemHasParentSub
		} else if it.right != nil && it.right.isItem() {
			it.parent = it.right.parent
			it.extra = it.right.extra
			it.info = it.info&^itemHasParentSub | it.right.info&itemHasParentSub
		}
	} else if pid := it.pid(); pid != nil {
		p := s.find(*pid)
		it.clearPID()
		if p == nil || !p.isItem() {
			it.parent = nil
		} else if ct, ok := p.content.(*contentType); ok {
			it.parent = ct.t
		} else {
			// The referenced parent holds no type: yjs would fail here; treat
			// the item as unparented (it becomes GC).
			it.parent = nil
		}
	}
	return 0, false
}

// integrate links the item into its parent (YATA, exactly as yjs
// Item.integrate). offset > 0 skips the first offset units, which the
// store already has.
func (it *Item) integrate(tx *Transaction, offset uint64) {
	s := tx.doc.store
	if offset > 0 {
		it.id.Clock += offset
		it.left = s.getItemCleanEnd(tx, ID{it.id.Client, it.id.Clock - 1})
		it.origin = it.left.lastID()
		it.info |= itemHasOrigin
		it.content = it.content.splice(offset)
		it.len -= offset
	}
	if it.isGC() {
		s.add(it)
		return
	}
	parent := it.parent
	if parent == nil {
		gc := newGC(it.id, it.len)
		s.add(gc)
		return
	}
	hasSub := it.hasParentSub()
	if (it.left == nil && (it.right == nil || it.right.left != nil)) || (it.left != nil && it.left.right != it.right) {
		left := it.left
		var o *Item
		if left != nil {
			o = left.right
		} else if hasSub {
			o = parent.keys[it.sub()]
			for o != nil && o.left != nil {
				o = o.left
			}
		} else {
			o = parent.start
		}
		// conflicting and beforeOrigin are sets of items; small slices are
		// faster than maps for the usual handful of concurrent items.
		var conflicting, beforeOrigin itemSet
		hasOrigin := it.info&itemHasOrigin != 0
		hasROrigin := it.info&itemHasRightOrigin != 0
		for o != nil && o != it.right {
			beforeOrigin.add(o)
			conflicting.add(o)
			if optEqual(hasOrigin, it.origin, o.info&itemHasOrigin != 0, o.origin) {
				if o.id.Client < it.id.Client {
					left = o
					conflicting.clear()
				} else if optEqual(hasROrigin, it.rightOrigin, o.info&itemHasRightOrigin != 0, o.rightOrigin) {
					break
				}
			} else if o.info&itemHasOrigin != 0 && beforeOrigin.has(s.find(o.origin)) {
				if !conflicting.has(s.find(o.origin)) {
					left = o
					conflicting.clear()
				}
			} else {
				break
			}
			o = o.right
		}
		it.left = left
	}
	if it.left != nil {
		it.right = it.left.right
		it.left.right = it
	} else {
		var r *Item
		if hasSub {
			r = parent.keys[it.sub()]
			for r != nil && r.left != nil {
				r = r.left
			}
		} else {
			r = parent.start
			parent.start = it
		}
		it.right = r
	}
	if it.right != nil {
		it.right.left = it
	} else if hasSub {
		parent.setKey(it.sub(), it)
		if it.left != nil {
			it.left.delete(tx)
		}
	}
	if !hasSub {
		if it.countable() && !it.deleted() {
			parent.length += it.ilen()
		}
		if len(parent.amarks) > 0 {
			parent.listChanged()
		}
	}
	s.add(it)
	it.content.integrate(tx, it)
	tx.addChanged(parent, hasSub, it.sub())
	if (parent.item != nil && parent.item.deleted()) || (hasSub && it.right != nil) {
		it.delete(tx)
	}
}

// itemSet is a small set of items.
type itemSet struct{ s []*Item }

func (x *itemSet) add(it *Item) {
	for _, v := range x.s {
		if v == it {
			return
		}
	}
	x.s = append(x.s, it)
}
func (x *itemSet) has(it *Item) bool {
	for _, v := range x.s {
		if v == it {
			return true
		}
	}
	return false
}
func (x *itemSet) clear() { x.s = x.s[:0] }

// mergeWith appends right to it when both can be one item (yjs
// Item.mergeWith).
func (it *Item) mergeWith(right *Item) bool {
	if it.isGC() || it.isSkip() {
		if it.info&(itemGC|itemSkip) != right.info&(itemGC|itemSkip) {
			return false
		}
		it.len += right.len
		return true
	}
	if !right.isItem() ||
		right.info&itemHasOrigin == 0 || right.origin != it.lastID() ||
		it.right != right ||
		!optEqual(it.info&itemHasRightOrigin != 0, it.rightOrigin, right.info&itemHasRightOrigin != 0, right.rightOrigin) ||
		it.id.Client != right.id.Client ||
		it.id.Clock+it.len != right.id.Clock ||
		it.deleted() != right.deleted() ||
		(it.info|right.info)&itemRedone != 0 ||
		it.content.ref() != right.content.ref() ||
		!it.content.mergeWith(right.content) {
		return false
	}
	if it.parent != nil && len(it.parent.markers) > 0 {
		for i := range it.parent.markers {
			m := &it.parent.markers[i]
			if m.p == right {
				m.p = it
				if !it.deleted() && it.countable() {
					m.index -= it.ilen()
				}
			}
		}
	}
	if it.parent != nil && len(it.parent.amarks) > 0 {
		it.parent.mergeAmarks(it, right)
	}
	if right.keep() {
		it.info |= itemKeep
	}
	it.right = right.right
	if it.right != nil {
		it.right.left = it
	}
	it.len += right.len
	return true
}

// delete marks the item deleted and records it in the transaction.
func (it *Item) delete(tx *Transaction) {
	if it.deleted() {
		return
	}
	parent := it.parent
	hasSub := it.hasParentSub()
	if !hasSub {
		if it.countable() {
			parent.length -= it.ilen()
		}
		if len(parent.amarks) > 0 {
			parent.listChanged()
		}
	}
	it.info |= itemDeleted
	tx.deleteSet.addWithBuf(it.id.Client, it.id.Clock, it.len, tx.rangeBuf[:])
	tx.addChanged(parent, hasSub, it.sub())
	it.content.delete(tx)
}

// gc drops the content of a deleted item; with parentGCd the item is
// replaced by a GC struct in the store.
func (it *Item) gc(s *structStore, parentGCd bool) {
	if !it.deleted() || !it.isItem() {
		return
	}
	it.content.gc(s)
	if parentGCd {
		s.replace(it, newGC(it.id, it.len))
	} else {
		it.content = &contentDeleted{n: it.len}
		it.info &^= itemCountable
	}
}

// write encodes the struct, skipping its first offset units.
func (it *Item) write(enc updateEncoder, offset uint64) {
	if it.isGC() {
		enc.WriteInfo(refGC)
		enc.WriteLen(it.len - offset)
		return
	}
	if it.isSkip() {
		enc.WriteInfo(refSkip)
		writeRestVarUint(enc, it.len-offset)
		return
	}
	hasOrigin := it.info&itemHasOrigin != 0
	origin := it.origin
	if offset > 0 {
		hasOrigin = true
		origin = ID{it.id.Client, it.id.Clock + offset - 1}
	}
	hasROrigin := it.info&itemHasRightOrigin != 0
	info := it.content.ref() & 0x1f
	if hasOrigin {
		info |= 0x80
	}
	if hasROrigin {
		info |= 0x40
	}
	if it.hasParentSub() {
		info |= 0x20
	}
	enc.WriteInfo(info)
	if hasOrigin {
		enc.WriteLeftID(origin)
	}
	if hasROrigin {
		enc.WriteRightID(it.rightOrigin)
	}
	if !hasOrigin && !hasROrigin {
		switch {
		case it.parent != nil && it.parent.item != nil:
			enc.WriteParentInfo(false)
			enc.WriteLeftID(it.parent.item.id)
		case it.parent != nil:
			enc.WriteParentInfo(true)
			enc.WriteString(it.parent.name)
		case it.pid() != nil:
			enc.WriteParentInfo(false)
			enc.WriteLeftID(*it.pid())
		default:
			// An item without a known parent is never written by yjs (it
			// became GC); write an empty root key to stay decodable.
			enc.WriteParentInfo(true)
			enc.WriteString("")
		}
		if it.hasParentSub() {
			enc.WriteString(it.sub())
		}
	}
	it.content.write(enc, offset)
}

// ilen is the item's length as an int, for index arithmetic. Lengths are
// at most 2^53 (decoding rejects larger clocks), so this never overflows.
func (it *Item) ilen() int { return clockInt(it.len) }

// clockInt converts a clock or length (at most 2^53) to int.
func clockInt(v uint64) int {
	return int(v) //nolint:gosec // G115: clocks and lengths are at most 2^53
}

// uintOf converts a non-negative index or length to uint64.
func uintOf(v int) uint64 {
	return uint64(v) //nolint:gosec // G115: callers pass non-negative values
}

// ID returns the id of the item's first clock unit.
func (it *Item) ID() ID { return it.id }

// Deleted reports whether the item is deleted.
func (it *Item) Deleted() bool { return it.deleted() }

// Content returns the values the item holds: characters of a string one
// UTF-16 unit each, elements of an array run, an embed, a nested shared
// type. Deleted and formatting content has none.
func (it *Item) Content() []any {
	if !it.isItem() || it.content == nil {
		return nil
	}
	return it.content.values()
}

// Parent returns the shared type the item is in, or nil when it has none
// (garbage-collected structs).
func (it *Item) Parent() SharedType {
	if !it.isItem() || it.parent == nil {
		return nil
	}
	return it.parent.owner
}

// Key returns the map key the item is the value of, and false for list
// items.
func (it *Item) Key() (string, bool) { return it.sub(), it.hasParentSub() }
