package crdt

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Text is a shared text (yjs Y.Text). Indexes and lengths count UTF-16
// code units, as in JavaScript.
type Text struct{ *branch }

func (t *Text) shared() *branch { return t.branch }

// NewText returns a prelim Text to insert into an Array or Map (yjs
// new Y.Text()). Edits made before insertion are replayed when it is
// inserted.
//
//	m.Set("title", crdt.NewText())
func NewText() *Text {
	b := &branch{ref: typeText}
	return newOwner(b).(*Text)
}

// Len returns the length in UTF-16 code units.
func (t *Text) Len() int { return t.length }

// String returns the text without formatting.
func (t *Text) String() string {
	var sb strings.Builder
	for n := t.start; n != nil; n = n.right {
		if !n.deleted() && n.countable() {
			if c, ok := n.content.(*contentString); ok {
				sb.WriteString(c.s)
			}
		}
	}
	return sb.String()
}

// Insert inserts s at index (UTF-16 code units), taking the formatting in
// effect at index, like yjs text.insert(index, s). Invalid UTF-8 in s is
// replaced by U+FFFD. An index beyond Len is an error.
//
//	_ = t.Insert(0, "hello")
func (t *Text) Insert(index int, s string) error {
	return t.insert(index, s, nil, false)
}

// InsertWithAttributes inserts s at index with exactly the given
// formatting attributes (nil values remove an attribute), like yjs
// text.insert(index, s, attributes).
func (t *Text) InsertWithAttributes(index int, s string, attrs lib0.Object) error {
	return t.insert(index, s, objectAttrs(attrs), true)
}

func (t *Text) insert(index int, s string, attrs *orderedAttrs, withAttrs bool) error {
	if s == "" {
		return nil
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if t.doc != nil && (index < 0 || index > t.length) {
		return fmt.Errorf("%w: insert at %d, length %d", ErrIndexOutOfRange, index, t.length)
	}
	if err := attrs.check(); err != nil {
		return err
	}
	if t.doc == nil {
		t.prelim = append(t.prelim, func(tx *Transaction) { t.insertAt(tx, index, s, attrs, withAttrs) })
		return nil
	}
	tx, own := t.doc.enter()
	if own {
		defer t.doc.end(tx)
	}
	t.insertAt(tx, index, s, attrs, withAttrs)
	return nil
}

func (t *Text) insertAt(tx *Transaction, index int, s string, attrs *orderedAttrs, withAttrs bool) {
	if index > t.length {
		index = t.length
	}
	pos := t.findPosition(tx, index, !withAttrs)
	defer t.endOp(t.beginOp(&pos))
	var a orderedAttrs
	if withAttrs {
		a = *attrs.clone()
	} else {
		for _, kv := range pos.attrs {
			a.set(kv.key, kv.v)
		}
	}
	si := &stringItem{c: contentString{s: s, n: utf16Len(s)}}
	t.insertTextItem(tx, &pos, &si.c, &a, &si.Item)
}

// InsertEmbed inserts an embedded value (or a prelim shared type) at index.
func (t *Text) InsertEmbed(index int, embed any, attrs lib0.Object) error {
	if t.doc != nil && (index < 0 || index > t.length) {
		return fmt.Errorf("%w: insert at %d, length %d", ErrIndexOutOfRange, index, t.length)
	}
	var c content
	if st, ok := embed.(SharedType); ok {
		if err := checkValues([]any{st}); err != nil {
			return err
		}
		c = &contentType{t: st.shared()}
	} else {
		if err := checkAny(embed); err != nil {
			return err
		}
		c = &contentEmbed{v: normalizeAny(embed)}
	}
	oa := objectAttrs(attrs)
	if err := oa.check(); err != nil {
		return err
	}
	t.transact(func(tx *Transaction) {
		pos := t.findPosition(tx, index, false)
		defer t.endOp(t.beginOp(&pos))
		t.insertText(tx, &pos, c, oa.clone())
	})
	return nil
}

// Delete deletes length UTF-16 code units from index. A range beyond Len
// is an error.
//
//	_ = t.Delete(0, 2)
func (t *Text) Delete(index, length int) error {
	if length == 0 {
		return nil
	}
	if t.doc != nil && (index < 0 || length < 0 || index+length > t.length) {
		return fmt.Errorf("%w: delete %d at %d, length %d", ErrIndexOutOfRange, length, index, t.length)
	}
	if t.doc == nil {
		t.prelim = append(t.prelim, func(tx *Transaction) {
			if index >= 0 && length > 0 && index+length <= t.length {
				pos := t.findPosition(tx, index, true)
				t.deleteText(tx, &pos, length)
			}
		})
		return nil
	}
	tx, own := t.doc.enter()
	if own {
		defer t.doc.end(tx)
	}
	pos := t.findPosition(tx, index, true)
	defer t.endOp(t.beginOp(&pos))
	t.deleteText(tx, &pos, length)
	return nil
}

// Format sets attributes on length code units from index (nil values
// remove an attribute), like yjs text.format.
func (t *Text) Format(index, length int, attrs lib0.Object) error {
	if length == 0 {
		return nil
	}
	oa := objectAttrs(attrs)
	if err := oa.check(); err != nil {
		return err
	}
	t.transact(func(tx *Transaction) {
		pos := t.findPosition(tx, index, false)
		if pos.right == nil {
			return
		}
		defer t.endOp(t.beginOp(&pos))
		t.formatText(tx, &pos, length, oa.clone())
	})
	return nil
}

// ApplyDeltaOptions are the options of ApplyDelta.
type ApplyDeltaOptions struct {
	// Unsanitized is yjs's {sanitize: false}: a final string insert that
	// ends the text loses its trailing "\n" (Quill's closing paragraph).
	Unsanitized bool
}

// ApplyDelta applies a delta in one transaction, like yjs
// text.applyDelta: an insert (a string, an embedded value or a prelim
// shared type) with its attributes, a retain that sets the attributes
// given on that many units (past the end it pads with "\n", as yjs), or a
// delete. An operation with none of them is skipped. opts may be nil.
//
// yjs applies an operation's attributes in the key order of its object;
// a Go map has none, so ApplyDelta applies them in sorted key order, which
// is yjs's whenever the JavaScript delta lists its keys sorted.
//
//	_ = t.ApplyDelta([]crdt.Delta{{Retain: 5, Attributes: map[string]any{"bold": true}}, {Insert: "!"}}, nil)
func (t *Text) ApplyDelta(delta []Delta, opts *ApplyDeltaOptions) error {
	type step struct {
		c      content // an insert
		retain int
		delete int
		attrs  *orderedAttrs
		dropNL bool // Unsanitized: drop the final "\n" if this insert ends the text
	}
	steps := make([]step, 0, len(delta))
	for i, op := range delta {
		if op.Retain < 0 || op.Delete < 0 {
			return fmt.Errorf("crdt: delta op %d: negative retain or delete", i)
		}
		keys := slices.Sorted(maps.Keys(op.Attributes))
		attrs := &orderedAttrs{}
		for _, k := range keys {
			attrs.set(k, normalizeAny(op.Attributes[k]))
		}
		if err := attrs.check(); err != nil {
			return fmt.Errorf("crdt: delta op %d: %w", i, err)
		}
		st := step{attrs: attrs}
		switch v := op.Insert.(type) {
		case nil:
			switch {
			case op.Retain > 0:
				st.retain = op.Retain
			case op.Delete > 0:
				st.delete = op.Delete
			default:
				continue
			}
		case string:
			if !utf8.ValidString(v) {
				v = strings.ToValidUTF8(v, "\uFFFD")
			}
			// yjs replays a prelim text's delta with the default options.
			st.dropNL = opts != nil && opts.Unsanitized && t.doc != nil && i == len(delta)-1 && strings.HasSuffix(v, "\n")
			st.c = newContentString(v)
		case SharedType:
			if err := checkValues([]any{v}); err != nil {
				return fmt.Errorf("crdt: delta op %d: %w", i, err)
			}
			st.c = &contentType{t: v.shared()}
		default:
			if err := checkAny(v); err != nil {
				return fmt.Errorf("crdt: delta op %d: %w", i, err)
			}
			st.c = &contentEmbed{v: normalizeAny(v)}
		}
		steps = append(steps, st)
	}
	apply := func(tx *Transaction) {
		pos := textPos{right: t.start}
		for _, st := range steps {
			switch {
			case st.c != nil:
				c := st.c
				if st.dropNL && pos.right == nil {
					cs := c.(*contentString)
					c = newContentString(cs.s[:len(cs.s)-1])
				}
				if c.length() > 0 || st.c.ref() != refString {
					t.insertText(tx, &pos, c, st.attrs)
				}
			case st.retain > 0:
				t.formatText(tx, &pos, st.retain, st.attrs)
			case st.delete > 0:
				t.deleteText(tx, &pos, st.delete)
			}
		}
	}
	if t.doc == nil {
		t.prelim = append(t.prelim, apply)
		return nil
	}
	t.transact(apply)
	return nil
}

// Observe registers f for the changes of this text. It returns a function
// that removes f.
//
//	off := t.Observe(func(e *crdt.TextEvent, tx *crdt.Transaction) { fmt.Println(e.Delta()) })
func (t *Text) Observe(f func(e *TextEvent, tx *Transaction)) (unsubscribe func()) {
	return t.observe(func(e Event, tx *Transaction) { f(e.(*TextEvent), tx) })
}

// ObserveDeep registers f for the changes of this text and of the types
// nested in it (embedded types).
func (t *Text) ObserveDeep(f func(events []Event, tx *Transaction)) (unsubscribe func()) {
	return t.observeDeep(f)
}

// textPos is a position in a text while editing (yjs ItemTextListPosition).
type textPos struct {
	left, right *Item
	index       int
	// attrs are the current attributes in the order they were set (a JS
	// Map); a slice, as a text has few attribute keys.
	attrs []attrKV
}

type attrKV struct {
	key string
	v   any
}

func (p *textPos) setAttr(key string, v any) {
	for i := range p.attrs {
		if p.attrs[i].key == key {
			p.attrs[i].v = v
			return
		}
	}
	p.attrs = append(p.attrs, attrKV{key, v})
}

func (p *textPos) delAttr(key string) {
	for i := range p.attrs {
		if p.attrs[i].key == key {
			p.attrs = append(p.attrs[:i], p.attrs[i+1:]...)
			return
		}
	}
}

// attrOrNull is currentAttributes.get(key) ?? null.
func (p *textPos) attrOrNull(key string) any {
	for _, kv := range p.attrs {
		if kv.key == key {
			if isUndefined(kv.v) {
				return nil
			}
			return kv.v
		}
	}
	return nil
}

// attrMap copies the current attributes into a map.
func (p *textPos) attrMap() map[string]any {
	m := make(map[string]any, len(p.attrs))
	for _, kv := range p.attrs {
		m[kv.key] = kv.v
	}
	return m
}

// updateAttrs applies a format marker to current attributes.
func (p *textPos) updateAttrs(f *contentFormat) {
	if f.v == nil {
		p.delAttr(f.key)
	} else {
		p.setAttr(f.key, f.v)
	}
}

func (p *textPos) forward() {
	r := p.right
	if f, ok := r.content.(*contentFormat); ok {
		if !r.deleted() {
			p.updateAttrs(f)
		}
	} else if !r.deleted() {
		p.index += r.ilen()
	}
	p.left = r
	p.right = r.right
}

func (t *Text) findNextPosition(tx *Transaction, pos *textPos, count int) {
	t.walk(tx, pos, count, false)
}

// amarkStride is how many items a walk in a formatted text passes between
// the amarks it leaves behind.
const amarkStride = 256

// walk is findNextPosition; with mark it leaves an amark every
// amarkStride items (each one a state the walk passes with units still to
// count, so before the operation's position).
func (t *Text) walk(tx *Transaction, pos *textPos, count int, mark bool) {
	s := tx.doc.store
	left, r := pos.left, pos.right
	steps := 0
	for r != nil && count > 0 {
		if mark {
			if steps++; steps == amarkStride {
				steps = 0
				var attrs []attrKV // the walk goes on changing pos.attrs
				if len(pos.attrs) > 0 {
					attrs = slices.Clone(pos.attrs)
				}
				t.addAmark(r, pos.index, attrs)
			}
		}
		// Live items that do not count are formats (deleted items hold
		// no format that applies).
		if !r.deleted() {
			if r.info&itemCountable != 0 {
				if count < r.ilen() {
					s.getItemCleanStart(tx, ID{r.id.Client, r.id.Clock + uintOf(count)})
				}
				pos.index += r.ilen()
				count -= r.ilen()
			} else if f, ok := r.content.(*contentFormat); ok {
				pos.updateAttrs(f)
			}
		}
		left, r = r, r.right
	}
	pos.left, pos.right = left, r
}

func (t *Text) findPosition(tx *Transaction, index int, useMarker bool) textPos {
	if useMarker {
		if m := t.findMarker(index); m != nil {
			pos := textPos{left: m.p.left, right: m.p, index: m.index}
			t.findNextPosition(tx, &pos, index-m.index)
			return pos
		}
	}
	if !t.noMarkers {
		pos := textPos{right: t.start}
		t.findNextPosition(tx, &pos, index)
		return pos
	}
	pos := textPos{right: t.start}
	if m := t.nearestAmark(index); m != nil {
		pos = textPos{left: m.p.left, right: m.p, index: m.index}
		if len(m.attrs) > 0 {
			pos.attrs = append([]attrKV(nil), m.attrs...)
		}
	}
	t.walk(tx, &pos, index-pos.index, true)
	return pos
}

// amark is a position in a formatted text: the walk from the start of the
// text that arrives at p (with p on its right) has counted index units
// and holds attrs, in their order.
//
// yjs drops its search markers once a text holds formatting, because they
// do not carry the attributes in force, and walks every operation from
// the start. A walk that starts at an amark whose index is below the
// target passes p in the same state as the walk from the start, so it
// ends in the same place with the same attributes: the result, down to
// the bytes of the update, is the one yjs computes, without the walk.
type amark struct {
	p     *Item
	index int
	attrs []attrKV
	ts    uint64
}

// maxAttrMarkers bounds the amarks of one text.
const maxAttrMarkers = 48

// nearestAmark returns the amark closest below index, or nil.
func (t *Text) nearestAmark(index int) *amark {
	var m *amark
	for i := range t.amarks {
		if a := &t.amarks[i]; a.index < index && (m == nil || a.index > m.index) {
			m = a
		}
	}
	if m != nil {
		t.markerClock++
		m.ts = t.markerClock
	}
	return m
}

// textOp is the state an operation found its position in: after left,
// at index, with attrs.
type textOp struct {
	left  *Item
	index int
	attrs []attrKV
}

// beginOp marks the start of an operation at pos: from here until endOp
// the text keeps its amarks itself.
func (t *Text) beginOp(pos *textPos) textOp {
	t.inTextOp = true
	op := textOp{left: pos.left, index: pos.index}
	if len(pos.attrs) > 0 {
		op.attrs = append([]attrKV(nil), pos.attrs...)
	}
	return op
}

// endOp keeps the amarks true after an operation that began at op. Every
// change an operation makes is after op.left: a walk that arrives at an
// item up to op.left is unchanged, and such an item is one that a walk
// reaches with fewer than op.index units (the units counted only grow
// along the walk). Those amarks stay, the others go, and the item now
// after op.left becomes an amark with the operation's own state.
func (t *Text) endOp(op textOp) {
	b := t.branch
	b.inTextOp = false
	if !b.noMarkers {
		// Unformatted texts use yjs's search markers.
		b.amarks = b.amarks[:0]
		return
	}
	keep := b.amarks[:0]
	for _, m := range b.amarks {
		if m.index < op.index {
			keep = append(keep, m)
		}
	}
	clear(b.amarks[len(keep):])
	b.amarks = keep
	if op.left == nil || op.left.right == nil || op.index == 0 {
		return
	}
	t.addAmark(op.left.right, op.index, op.attrs)
}

// addAmark adds an amark that keeps attrs (the caller's own copy),
// replacing the least recently used one when full.
func (t *Text) addAmark(p *Item, index int, attrs []attrKV) {
	b := t.branch
	b.markerClock++
	m := amark{p: p, index: index, attrs: attrs, ts: b.markerClock}
	if len(b.amarks) < maxAttrMarkers {
		b.amarks = append(b.amarks, m)
		return
	}
	oldest := 0
	for i := range b.amarks {
		if b.amarks[i].ts < b.amarks[oldest].ts {
			oldest = i
		}
	}
	b.amarks[oldest] = m
}

// equalAttr compares attribute values as yjs equalAttrs does (identity,
// or flat equality of objects).
func equalAttr(a, b any) bool {
	return anyEqualFlat(a, b)
}

// attrOrNullO is attributes[key] ?? null for ordered attributes.
func attrOrNullO(attrs *orderedAttrs, key string) any {
	if v, ok := attrs.get(key); ok && !isUndefined(v) {
		return v
	}
	return nil
}

func attrOrNull(attrs map[string]any, key string) any {
	if v, ok := attrs[key]; ok && !isUndefined(v) {
		return v
	}
	return nil
}

func (t *Text) newItemAt(tx *Transaction, pos *textPos, c content) *Item {
	d := tx.doc
	it := newItem(ID{d.clientID, d.store.state(d.clientID)}, pos.left, pos.right, t.branch, nil, c)
	it.integrate(tx, 0)
	return it
}

func (t *Text) insertNegatedAttributes(tx *Transaction, pos *textPos, negated *orderedAttrs) {
	for pos.right != nil {
		r := pos.right
		if !r.deleted() {
			f, ok := r.content.(*contentFormat)
			if !ok {
				break
			}
			v, has := negated.get(f.key)
			if !has || !equalAttr(v, f.v) {
				break
			}
			negated.del(f.key)
		}
		pos.forward()
	}
	for _, k := range negated.keys {
		pos.right = t.newItemAt(tx, pos, &contentFormat{key: k, v: negated.vals[k]})
		pos.forward()
	}
}

func (t *Text) minimizeAttributeChanges(pos *textPos, attrs *orderedAttrs) {
	for pos.right != nil {
		r := pos.right
		if r.deleted() {
			pos.forward()
			continue
		}
		if f, ok := r.content.(*contentFormat); ok && equalAttr(attrOrNullO(attrs, f.key), f.v) {
			pos.forward()
			continue
		}
		break
	}
}

// orderedAttrs is a small insertion-ordered map (JS Map semantics).
type orderedAttrs struct {
	keys []string
	vals map[string]any
}

func (o *orderedAttrs) set(k string, v any) {
	if o.vals == nil {
		o.vals = make(map[string]any)
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}
func (o *orderedAttrs) get(k string) (any, bool) { v, ok := o.vals[k]; return v, ok }
func (o *orderedAttrs) del(k string) {
	if _, ok := o.vals[k]; ok {
		delete(o.vals, k)
		for i, x := range o.keys {
			if x == k {
				o.keys = append(o.keys[:i], o.keys[i+1:]...)
				break
			}
		}
	}
}

// objectAttrs turns attributes given as an object into ordered
// attributes (JavaScript property order).
func objectAttrs(o lib0.Object) *orderedAttrs {
	oa := &orderedAttrs{}
	for _, f := range o {
		oa.set(f.Key, normalizeAny(f.Value))
	}
	return oa
}

func (o *orderedAttrs) clone() *orderedAttrs {
	c := &orderedAttrs{}
	if o == nil {
		return c
	}
	for _, k := range o.keys {
		c.set(k, o.vals[k])
	}
	return c
}

func (o *orderedAttrs) check() error {
	if o == nil {
		return nil
	}
	for _, k := range o.keys {
		if err := checkAny(o.vals[k]); err != nil {
			return fmt.Errorf("attribute %q: %w", k, err)
		}
	}
	return nil
}

func (t *Text) insertAttributes(tx *Transaction, pos *textPos, attrs *orderedAttrs) orderedAttrs {
	var negated orderedAttrs
	for _, k := range attrs.keys {
		v := attrs.vals[k]
		cur := pos.attrOrNull(k)
		if !equalAttr(cur, v) {
			negated.set(k, cur)
			pos.right = t.newItemAt(tx, pos, &contentFormat{key: k, v: v})
			pos.forward()
		}
	}
	return negated
}

func (t *Text) insertText(tx *Transaction, pos *textPos, c content, attrs *orderedAttrs) {
	t.insertTextItem(tx, pos, c, attrs, nil)
}

// insertTextItem is insertText; pre, if not nil, is the zero item to use
// (allocated together with its content).
func (t *Text) insertTextItem(tx *Transaction, pos *textPos, c content, attrs *orderedAttrs, pre *Item) {
	for _, kv := range pos.attrs {
		if v, ok := attrs.get(kv.key); !ok || isUndefined(v) {
			attrs.set(kv.key, nil)
		}
	}
	t.minimizeAttributeChanges(pos, attrs)
	negated := t.insertAttributes(tx, pos, attrs)
	if len(t.markers) > 0 {
		t.updateMarkers(pos.index, clockInt(c.length()))
	}
	index := pos.index
	if pre != nil {
		d := tx.doc
		pos.right = initItem(pre, ID{d.clientID, d.store.state(d.clientID)}, pos.left, pos.right, t.branch, nil, c)
		pos.right.integrate(tx, 0)
	} else {
		pos.right = t.newItemAt(tx, pos, c)
	}
	pos.index = index
	pos.forward()
	t.insertNegatedAttributes(tx, pos, &negated)
}

func (t *Text) formatText(tx *Transaction, pos *textPos, length int, attrs *orderedAttrs) {
	t.minimizeAttributeChanges(pos, attrs)
	negated := t.insertAttributes(tx, pos, attrs)
	s := tx.doc.store
loop:
	for pos.right != nil && (length > 0 || (len(negated.keys) > 0 && (pos.right.deleted() || isFormat(pos.right)))) {
		r := pos.right
		if !r.deleted() {
			if f, ok := r.content.(*contentFormat); ok {
				if av, has := attrs.get(f.key); has && !isUndefined(av) {
					if equalAttr(av, f.v) {
						negated.del(f.key)
					} else {
						if length == 0 {
							break loop
						}
						negated.set(f.key, f.v)
					}
					r.delete(tx)
				} else {
					pos.setAttr(f.key, f.v)
				}
			} else {
				if length < r.ilen() {
					s.getItemCleanStart(tx, ID{r.id.Client, r.id.Clock + uintOf(length)})
				}
				length -= r.ilen()
			}
		}
		pos.forward()
	}
	if length > 0 {
		pos.right = t.newItemAt(tx, pos, newContentString(strings.Repeat("\n", length)))
		pos.forward()
	}
	t.insertNegatedAttributes(tx, pos, &negated)
}

func isFormat(it *Item) bool {
	_, ok := it.content.(*contentFormat)
	return ok
}

// cleanupFormattingGap deletes redundant format markers between start and
// curr (yjs cleanupFormattingGap).
func (t *Text) cleanupFormattingGap(tx *Transaction, start, curr *Item, startAttrs map[string]any, cur *textPos) int {
	end := start
	endFormats := make(map[string]*contentFormat)
	for end != nil && (!end.countable() || end.deleted()) {
		if !end.deleted() {
			if f, ok := end.content.(*contentFormat); ok {
				endFormats[f.key] = f
			}
		}
		end = end.right
	}
	cleanups := 0
	reachedCurr := false
	for start != end {
		if curr == start {
			reachedCurr = true
		}
		if !start.deleted() {
			if f, ok := start.content.(*contentFormat); ok {
				startVal := attrOrNull(startAttrs, f.key)
				if endFormats[f.key] != f || equalIdentity(startVal, f.v) {
					start.delete(tx)
					cleanups++
					if !reachedCurr && equalIdentity(cur.attrOrNull(f.key), f.v) && !equalIdentity(startVal, f.v) {
						if startVal == nil {
							cur.delAttr(f.key)
						} else {
							cur.setAttr(f.key, startVal)
						}
					}
				}
				if !reachedCurr && !start.deleted() {
					cur.updateAttrs(f)
				}
			}
		}
		start = start.right
	}
	return cleanups
}

// equalIdentity approximates JavaScript's === for attribute values:
// primitives by value, objects never equal unless both nil.
func equalIdentity(a, b any) bool {
	switch a.(type) {
	case nil, bool, float64, string, lib0.UndefinedValue, int, int64:
		return anyEqualFlat(a, b) && sameKind(a, b)
	}
	return false
}

func (t *Text) deleteText(tx *Transaction, pos *textPos, length int) *textPos {
	startLength := length
	startAttrs := pos.attrMap()
	start := pos.right
	s := tx.doc.store
	for length > 0 && pos.right != nil {
		r := pos.right
		if !r.deleted() {
			switch r.content.(type) {
			case *contentType, *contentEmbed, *contentString:
				if length < r.ilen() {
					s.getItemCleanStart(tx, ID{r.id.Client, r.id.Clock + uintOf(length)})
				}
				length -= r.ilen()
				r.delete(tx)
			}
		}
		pos.forward()
	}
	if start != nil {
		t.cleanupFormattingGap(tx, start, pos.right, startAttrs, pos)
	}
	if len(t.markers) > 0 {
		t.updateMarkers(pos.index, -startLength+length)
	}
	return pos
}

// ToDelta returns the text as a yjs delta: inserts of strings (or embeds)
// with their formatting attributes.
//
//	for _, op := range t.ToDelta() { fmt.Println(op.Insert, op.Attributes) }
func (t *Text) ToDelta() []Delta {
	ops := []Delta{}
	cur := &orderedAttrs{}
	var sb strings.Builder
	attrsCopy := func() map[string]any {
		if len(cur.keys) == 0 {
			return nil
		}
		m := make(map[string]any, len(cur.keys))
		for _, k := range cur.keys {
			m[k] = cur.vals[k]
		}
		return m
	}
	pack := func() {
		if sb.Len() > 0 {
			ops = append(ops, Delta{Insert: sb.String(), Attributes: attrsCopy()})
			sb.Reset()
		}
	}
	for n := t.start; n != nil; n = n.right {
		if n.deleted() {
			continue
		}
		switch c := n.content.(type) {
		case *contentString:
			sb.WriteString(c.s)
		case *contentType, *contentEmbed:
			pack()
			ops = append(ops, Delta{Insert: c.values()[0], Attributes: attrsCopy()})
		case *contentFormat:
			pack()
			if c.v == nil {
				cur.del(c.key)
			} else {
				cur.set(c.key, c.v)
			}
		}
	}
	pack()
	return ops
}

// Delta returns the text change with formatting (yjs YTextEvent.delta).
func (e *TextEvent) Delta() []Delta {
	if e.delta != nil {
		return e.delta
	}
	if !e.cs.list {
		e.delta = []Delta{}
		return e.delta
	}
	delta := []Delta{}
	cur := &orderedAttrs{}
	old := &orderedAttrs{}
	attrs := &orderedAttrs{}
	action := ""
	var insert strings.Builder
	var insertEmbed any
	retain, del := 0, 0
	addOp := func() {
		if action == "" {
			return
		}
		switch action {
		case "delete":
			if del > 0 {
				delta = append(delta, Delta{Delete: del})
			}
			del = 0
		case "insert":
			if insertEmbed != nil || insert.Len() > 0 {
				op := Delta{}
				if insertEmbed != nil {
					op.Insert = insertEmbed
				} else {
					op.Insert = insert.String()
				}
				var a map[string]any
				for _, k := range cur.keys {
					if v := cur.vals[k]; v != nil {
						if a == nil {
							a = map[string]any{}
						}
						a[k] = v
					}
				}
				if len(cur.keys) > 0 && a == nil {
					a = map[string]any{}
				}
				op.Attributes = a
				delta = append(delta, op)
			}
			insert.Reset()
			insertEmbed = nil
		case "retain":
			if retain > 0 {
				op := Delta{Retain: retain}
				if len(attrs.keys) > 0 {
					op.Attributes = make(map[string]any, len(attrs.keys))
					for _, k := range attrs.keys {
						op.Attributes[k] = attrs.vals[k]
					}
				}
				delta = append(delta, op)
			}
			retain = 0
		}
		action = ""
	}
	e.tx.doc.transact(func(tx *Transaction) {
		for it := e.target.start; it != nil; it = it.right {
			switch c := it.content.(type) {
			case *contentType, *contentEmbed:
				if e.adds(it) {
					if !e.deletes(it) {
						addOp()
						action = "insert"
						insertEmbed = c.values()[0]
						addOp()
					}
				} else if e.deletes(it) {
					if action != "delete" {
						addOp()
						action = "delete"
					}
					del++
				} else if !it.deleted() {
					if action != "retain" {
						addOp()
						action = "retain"
					}
					retain++
				}
			case *contentString:
				if e.adds(it) {
					if !e.deletes(it) {
						if action != "insert" {
							addOp()
							action = "insert"
						}
						insert.WriteString(c.s)
					}
				} else if e.deletes(it) {
					if action != "delete" {
						addOp()
						action = "delete"
					}
					del += it.ilen()
				} else if !it.deleted() {
					if action != "retain" {
						addOp()
						action = "retain"
					}
					retain += it.ilen()
				}
			case *contentFormat:
				key, value := c.key, c.v
				if e.adds(it) {
					if !e.deletes(it) {
						curVal, _ := cur.get(key)
						if !equalAttr(curVal, value) {
							if action == "retain" {
								addOp()
							}
							oldVal, _ := old.get(key)
							if equalAttr(value, oldVal) {
								attrs.del(key)
							} else {
								attrs.set(key, value)
							}
						} else if value != nil {
							it.delete(tx)
						}
					}
				} else if e.deletes(it) {
					old.set(key, value)
					curVal, _ := cur.get(key)
					if !equalAttr(curVal, value) {
						if action == "retain" {
							addOp()
						}
						attrs.set(key, curVal)
					}
				} else if !it.deleted() {
					old.set(key, value)
					if av, has := attrs.get(key); has {
						if !equalAttr(av, value) {
							if action == "retain" {
								addOp()
							}
							if value == nil {
								attrs.del(key)
							} else {
								attrs.set(key, value)
							}
						} else if av != nil {
							it.delete(tx)
						}
					}
				}
				if !it.deleted() {
					if action == "insert" {
						addOp()
					}
					if value == nil {
						cur.del(key)
					} else {
						cur.set(key, value)
					}
				}
			}
		}
	}, nil, true)
	addOp()
	for len(delta) > 0 {
		last := delta[len(delta)-1]
		if last.Retain > 0 && last.Attributes == nil {
			delta = delta[:len(delta)-1]
			continue
		}
		break
	}
	e.delta = delta
	return delta
}

// cleanupTextsAfterTransaction removes format markers made redundant by
// concurrent formatting, in a new transaction (yjs
// cleanupYTextAfterTransaction).
func cleanupTextsAfterTransaction(tx *Transaction) {
	d := tx.doc
	var full []*branch
	addFull := func(b *branch) {
		for _, x := range full {
			if x == b {
				return
			}
		}
		full = append(full, b)
	}
	isFull := func(b *branch) bool {
		for _, x := range full {
			if x == b {
				return true
			}
		}
		return false
	}
	for _, client := range tx.changedClients() {
		clock := tx.beforeState.get(client)
		afterClock := tx.afterState.get(client)
		// yjs passes afterClock as the length; the walk stops at the end.
		d.store.iterateStructs(tx, client, clock, afterClock, func(it *Item) {
			if !it.deleted() && it.isItem() && isFormat(it) {
				addFull(it.parent)
			}
		})
	}
	d.transact(func(t *Transaction) {
		for _, e := range tx.deleteSet.entries {
			client := e.client
			structs := d.store.clients[client]
			if structs.len() == 0 {
				continue
			}
			state := d.store.state(client)
			for _, del := range e.ranges {
				if del.clock >= state {
					break
				}
				d.store.iterateStructs(tx, client, del.clock, del.len, func(it *Item) {
					if !it.isItem() || !it.parent.hasFormatting || isFull(it.parent) {
						return
					}
					if isFormat(it) {
						addFull(it.parent)
					} else {
						cleanupContextlessFormattingGap(t, it)
					}
				})
			}
		}
		for _, b := range full {
			cleanupTextFormatting(t, &Text{b})
		}
	}, nil, true)
}

// cleanupContextlessFormattingGap deletes duplicate format markers around
// a deleted item (yjs cleanupContextlessFormattingGap).
func cleanupContextlessFormattingGap(tx *Transaction, it *Item) {
	for it != nil && it.right != nil && (it.right.deleted() || !it.right.countable()) {
		it = it.right
	}
	seen := map[string]bool{}
	for it != nil && (it.deleted() || !it.countable()) {
		if !it.deleted() {
			if f, ok := it.content.(*contentFormat); ok {
				if seen[f.key] {
					it.delete(tx)
				} else {
					seen[f.key] = true
				}
			}
		}
		it = it.left
	}
}

// cleanupTextFormatting removes every redundant format marker of a text
// (yjs cleanupYTextFormatting).
func cleanupTextFormatting(tx *Transaction, t *Text) int {
	res := 0
	start := t.start
	end := t.start
	startAttrs := map[string]any{}
	cur := &textPos{}
	for end != nil {
		if !end.deleted() {
			if f, ok := end.content.(*contentFormat); ok {
				cur.updateAttrs(f)
			} else {
				res += t.cleanupFormattingGap(tx, start, end, startAttrs, cur)
				startAttrs = cur.attrMap()
				start = end
			}
		}
		end = end.right
	}
	return res
}
