package crdt

import (
	"fmt"
)

// refUnknown marks a root type that was created by an update before the
// application asked for it with GetText, GetArray, ... (yjs AbstractType).
const refUnknown = 0xff

// branch is the state every shared type has (yjs AbstractType): the list
// of items (start), the map of keys to the last item of each key's chain,
// the countable length, and observers.
type branch struct {
	doc      *Doc
	item     *Item // the item holding this type, nil for a root type
	start    *Item
	keys     map[string]*Item
	keyOrder []string // keys in the order they were first set (JS Map order)
	length   int
	ref      uint8  // type ref (typeText, ...), or refUnknown
	name     string // root name; node name of an XML element or hook
	owner    SharedType

	markers       []marker
	markerClock   uint64 // orders the uses of markers and amarks (yjs's global timestamp; only order within a type matters)
	noMarkers     bool   // formatting disables search markers (yjs sets them null)
	hasFormatting bool
	// amarks are the positions a formatted text keeps in place of search
	// markers (see Text.findPosition); inTextOp is set while a text
	// operation maintains them itself.
	amarks   []amark
	inTextOp bool

	observers     []*observer
	deepObservers []*deepObserver

	// Edits made before integration: replayed text operations, the
	// elements of a prelim list, the entries of a prelim map.
	prelim     []func(tx *Transaction)
	prelimList []any
	prelimMap  *orderedAttrs
}

// SharedType is implemented by every shared type: Text, Array, Map and the
// XML types.
type SharedType interface {
	shared() *branch
}

// newOwner creates the user-facing value for b.
func newOwner(b *branch) SharedType {
	// Like yjs, only arrays and texts keep search markers; a text loses
	// them once it holds formatting.
	b.noMarkers = b.ref != typeArray && b.ref != typeText && b.ref != typeXMLText
	switch b.ref {
	case typeArray:
		b.owner = &Array{b}
	case typeMap:
		b.owner = &Map{b}
	case typeText:
		b.owner = &Text{b}
	case typeXMLElement:
		b.owner = &XmlElement{XmlFragment{b}}
	case typeXMLFragment:
		b.owner = &XmlFragment{b}
	case typeXMLHook:
		b.owner = &XmlHook{Map{b}}
	case typeXMLText:
		b.owner = &XmlText{Text{b}}
	default:
		b.owner = nil
	}
	return b.owner
}

// integrate binds a prelim type to its document and item and replays the
// edits made while it was prelim (yjs _integrate).
func (b *branch) integrate(tx *Transaction, it *Item) {
	b.doc = tx.doc
	b.item = it
	if list := b.prelimList; len(list) > 0 {
		b.prelimList = nil
		_ = b.listInsert(tx, 0, list)
	}
	if pm := b.prelimMap; pm != nil {
		b.prelimMap = nil
		for _, k := range pm.keys {
			b.mapSet(tx, k, pm.vals[k])
		}
	}
	p := b.prelim
	b.prelim = nil
	for _, f := range p {
		f(tx)
	}
}

func (b *branch) setKey(key string, it *Item) {
	if b.keys == nil {
		b.keys = make(map[string]*Item)
	}
	if _, ok := b.keys[key]; !ok {
		b.keyOrder = append(b.keyOrder, key)
	}
	b.keys[key] = it
}

// transact runs f in a transaction of b's document, or records it for
// integration when b is prelim.
func (b *branch) transact(f func(tx *Transaction)) {
	if b.doc == nil {
		b.prelim = append(b.prelim, f)
		return
	}
	b.doc.Transact(f, nil)
}

// marker caches the position of an item in a list (yjs ArraySearchMarker).
type marker struct {
	p     *Item
	index int
	ts    uint64
}

const maxSearchMarkers = 80

func (b *branch) markPosition(p *Item, index int) *marker {
	b.markerClock++
	if len(b.markers) >= maxSearchMarkers {
		oldest := 0
		for i := range b.markers {
			if b.markers[i].ts < b.markers[oldest].ts {
				oldest = i
			}
		}
		m := &b.markers[oldest]
		m.p.info &^= itemMarker
		m.p, m.index, m.ts = p, index, b.markerClock
		p.info |= itemMarker
		return m
	}
	p.info |= itemMarker
	b.markers = append(b.markers, marker{p: p, index: index, ts: b.markerClock})
	return &b.markers[len(b.markers)-1]
}

// findMarker returns a marker at or near index, walking from the closest
// cached one (yjs findMarker). It returns nil when markers are off.
func (b *branch) findMarker(index int) *marker {
	if b.start == nil || index == 0 || b.noMarkers {
		return nil
	}
	// The closest marker; on ties the later one (yjs reduce).
	var m *marker
	for i := range b.markers {
		if m == nil || abs(index-b.markers[i].index) <= abs(index-m.index) {
			m = &b.markers[i]
		}
	}
	p := b.start
	pindex := 0
	if m != nil {
		p, pindex = m.p, m.index
		b.markerClock++
		m.ts = b.markerClock
	}
	for p.right != nil && pindex < index {
		if !p.deleted() && p.countable() {
			if index < pindex+p.ilen() {
				break
			}
			pindex += p.ilen()
		}
		p = p.right
	}
	for p.left != nil && pindex > index {
		p = p.left
		if !p.deleted() && p.countable() {
			pindex -= p.ilen()
		}
	}
	for p.left != nil && p.left.id.Client == p.id.Client && p.left.id.Clock+p.left.len == p.id.Clock {
		p = p.left
		if !p.deleted() && p.countable() {
			pindex -= p.ilen()
		}
	}
	if m != nil && float64(abs(m.index-pindex)) < float64(b.length)/maxSearchMarkers {
		m.p.info &^= itemMarker
		m.p, m.index = p, pindex
		p.info |= itemMarker
		b.markerClock++
		m.ts = b.markerClock
		return m
	}
	return b.markPosition(p, pindex)
}

// updateMarkers shifts the markers after an insertion (n > 0) or deletion
// (n < 0) of |n| units at index (yjs updateMarkerChanges).
func (b *branch) updateMarkers(index, n int) {
	for i := len(b.markers) - 1; i >= 0; i-- {
		m := &b.markers[i]
		if n > 0 {
			p := m.p
			p.info &^= itemMarker
			for p != nil && (p.deleted() || !p.countable()) {
				p = p.left
				if p != nil && !p.deleted() && p.countable() {
					m.index -= p.ilen()
				}
			}
			if p == nil || p.info&itemMarker != 0 {
				b.markers = append(b.markers[:i], b.markers[i+1:]...)
				continue
			}
			m.p = p
			p.info |= itemMarker
		}
		if index < m.index || (n > 0 && index == m.index) {
			m.index = max(index, m.index+n)
		}
	}
}

// resetMarkers drops every marker (remote changes invalidate them).
func (b *branch) resetMarkers() {
	for _, m := range b.markers {
		m.p.info &^= itemMarker
	}
	b.markers = b.markers[:0]
	b.amarks = b.amarks[:0]
}

// mergeAmarks moves the amarks at right to it, which right is being
// merged into (it is not a format: formats do not merge).
func (b *branch) mergeAmarks(it, right *Item) {
	n := 0
	for i := range b.amarks {
		if m := &b.amarks[i]; m.p == it {
			n++
		}
	}
	keep := b.amarks[:0]
	for _, m := range b.amarks {
		if m.p == right {
			if n > 0 {
				continue // it has one already
			}
			n++
			m.p = it
			if !it.deleted() && it.countable() {
				m.index -= it.ilen()
			}
		}
		keep = append(keep, m)
	}
	clear(b.amarks[len(keep):])
	b.amarks = keep
}

// listChanged is called when an item of b's list is integrated or
// deleted: a change that no text operation accounts for invalidates the
// attribute markers.
func (b *branch) listChanged() {
	if !b.inTextOp {
		b.amarks = b.amarks[:0]
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ErrIndexOutOfRange is returned by edits at an index or with a length
// beyond the type's length.
var ErrIndexOutOfRange = fmt.Errorf("crdt: index out of range")

// ErrInvalidValue is returned when a value cannot be stored in a shared
// type.
var ErrInvalidValue = fmt.Errorf("crdt: invalid value")

// listInsertAfter inserts values after ref (nil = at the start), packing
// runs of plain values into one item (yjs typeListInsertGenericsAfter).
func (b *branch) listInsertAfter(tx *Transaction, ref *Item, values []any) {
	left := ref
	var right *Item
	if ref == nil {
		right = b.start
	} else {
		right = ref.right
	}
	doc := tx.doc
	var plain []any
	insert := func(c content) {
		id := ID{doc.clientID, doc.store.state(doc.clientID)}
		left = newItem(id, left, right, b, nil, c)
		left.integrate(tx, 0)
	}
	flush := func() {
		if len(plain) > 0 {
			insert(&contentAny{vals: plain})
			plain = nil
		}
	}
	for _, v := range values {
		switch x := v.(type) {
		case []byte:
			flush()
			insert(&contentBinary{b: x})
		case SharedType:
			flush()
			insert(&contentType{t: x.shared()})
		case *Doc:
			flush()
			insert(newContentDoc(x))
		default:
			plain = append(plain, normalizeAny(v))
		}
	}
	flush()
}

// checkValues reports whether every value can be inserted.
func checkValues(values []any) error {
	for _, v := range values {
		if st, ok := v.(SharedType); ok {
			if st == nil || st.shared() == nil {
				return fmt.Errorf("%w: nil shared type", ErrInvalidValue)
			}
			if b := st.shared(); b.doc != nil || b.item != nil {
				return fmt.Errorf("%w: the shared type is already part of a document", ErrInvalidValue)
			}
			continue
		}
		if sub, ok := v.(*Doc); ok {
			if err := checkSubdoc(sub); err != nil {
				return err
			}
			continue
		}
		if err := checkAny(v); err != nil {
			return err
		}
	}
	return nil
}

// listInsert inserts values at index (yjs typeListInsertGenerics).
func (b *branch) listInsert(tx *Transaction, index int, values []any) error {
	if index < 0 || index > b.length {
		return fmt.Errorf("%w: insert at %d, length %d", ErrIndexOutOfRange, index, b.length)
	}
	if index == 0 {
		if len(b.markers) > 0 {
			b.updateMarkers(index, len(values))
		}
		b.listInsertAfter(tx, nil, values)
		return nil
	}
	startIndex := index
	m := b.findMarker(index)
	n := b.start
	if m != nil {
		n = m.p
		index -= m.index
		if index == 0 {
			n = n.prev()
			if n != nil && n.countable() && !n.deleted() {
				index += n.ilen()
			}
		}
	}
	for ; n != nil; n = n.right {
		if !n.deleted() && n.countable() {
			if index <= n.ilen() {
				if index < n.ilen() {
					tx.doc.store.getItemCleanStart(tx, ID{n.id.Client, n.id.Clock + uintOf(index)})
				}
				break
			}
			index -= n.ilen()
		}
	}
	if len(b.markers) > 0 {
		b.updateMarkers(startIndex, len(values))
	}
	b.listInsertAfter(tx, n, values)
	return nil
}

// listPush appends values at the end (yjs typeListPushGenerics).
func (b *branch) listPush(tx *Transaction, values []any) {
	n := b.start
	best := -1
	for i := range b.markers {
		if b.markers[i].index > best {
			best = b.markers[i].index
			n = b.markers[i].p
		}
	}
	if n != nil {
		for n.right != nil {
			n = n.right
		}
	}
	b.listInsertAfter(tx, n, values)
}

// listDelete deletes n units from index (yjs typeListDelete).
func (b *branch) listDelete(tx *Transaction, index, length int) error {
	if length == 0 {
		return nil
	}
	if index < 0 || length < 0 || index+length > b.length {
		return fmt.Errorf("%w: delete %d at %d, length %d", ErrIndexOutOfRange, length, index, b.length)
	}
	startIndex, startLength := index, length
	m := b.findMarker(index)
	n := b.start
	if m != nil {
		n = m.p
		index -= m.index
	}
	s := tx.doc.store
	for ; n != nil && index > 0; n = n.right {
		if !n.deleted() && n.countable() {
			if index < n.ilen() {
				s.getItemCleanStart(tx, ID{n.id.Client, n.id.Clock + uintOf(index)})
			}
			index -= n.ilen()
		}
	}
	for length > 0 && n != nil {
		if !n.deleted() {
			if length < n.ilen() {
				s.getItemCleanStart(tx, ID{n.id.Client, n.id.Clock + uintOf(length)})
			}
			n.delete(tx)
			length -= n.ilen()
		}
		n = n.right
	}
	if len(b.markers) > 0 {
		b.updateMarkers(startIndex, -startLength+length)
	}
	return nil
}

// listGet returns the element at index.
func (b *branch) listGet(index int) (any, bool) {
	if index < 0 || index >= b.length {
		return nil, false
	}
	m := b.findMarker(index)
	n := b.start
	if m != nil {
		n = m.p
		index -= m.index
	}
	for ; n != nil; n = n.right {
		if !n.deleted() && n.countable() {
			if index < n.ilen() {
				return n.content.values()[index], true
			}
			index -= n.ilen()
		}
	}
	return nil, false
}

// listSlice returns the elements in [start, end).
func (b *branch) listSlice(start, end int) []any {
	if start < 0 {
		start = b.length + start
	}
	if end < 0 {
		end = b.length + end
	}
	n := end - start
	out := []any{}
	for it := b.start; it != nil && n > 0; it = it.right {
		if it.countable() && !it.deleted() {
			c := it.content.values()
			if len(c) <= start {
				start -= len(c)
			} else {
				for i := start; i < len(c) && n > 0; i++ {
					out = append(out, c[i])
					n--
				}
				start = 0
			}
		}
	}
	return out
}

// listValues returns every element.
func (b *branch) listValues() []any {
	out := make([]any, 0, b.length)
	for it := b.start; it != nil; it = it.right {
		if it.countable() && !it.deleted() {
			out = append(out, it.content.values()...)
		}
	}
	return out
}

// mapSet writes key (yjs typeMapSet).
func (b *branch) mapSet(tx *Transaction, key string, value any) {
	left := b.keys[key]
	var c content
	switch x := value.(type) {
	case []byte:
		c = &contentBinary{b: x}
	case SharedType:
		c = &contentType{t: x.shared()}
	case *Doc:
		c = newContentDoc(x)
	default:
		c = &contentAny{vals: []any{normalizeAny(value)}}
	}
	doc := tx.doc
	k := key
	it := newItem(ID{doc.clientID, doc.store.state(doc.clientID)}, left, nil, b, &k, c)
	it.integrate(tx, 0)
}

// mapDelete deletes key (yjs typeMapDelete).
func (b *branch) mapDelete(tx *Transaction, key string) {
	if it := b.keys[key]; it != nil {
		it.delete(tx)
	}
}

// mapGet returns the value of key.
func (b *branch) mapGet(key string) (any, bool) {
	it := b.keys[key]
	if it == nil || it.deleted() {
		return nil, false
	}
	v := it.content.values()
	return v[it.len-1], true
}

// mapKeys returns the live keys in insertion order.
func (b *branch) mapKeys() []string {
	out := []string{}
	for _, k := range b.keyOrder {
		if it := b.keys[k]; it != nil && !it.deleted() {
			out = append(out, k)
		}
	}
	return out
}
