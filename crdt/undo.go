package crdt

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// UndoManager undoes and redoes the changes made to a set of shared types
// (its scope), as yjs's UndoManager (utils/UndoManager.js): it records
// every transaction whose origin it tracks as a stack item, merges
// transactions made within CaptureTimeout of each other into one item,
// and undoes an item by deleting what it inserted and re-inserting what it
// deleted (as new items that remember, in the document, which item they
// redo, so that relative positions follow them).
//
// An UndoManager belongs to its document: like the Doc it is not safe for
// concurrent use, and its events run synchronously.
//
//	um := crdt.NewUndoManager(d, nil, d.GetText("t"))
//	_ = d.GetText("t").Insert(0, "abc")
//	um.Undo() // the text is empty again
type UndoManager struct {
	doc       *Doc
	scope     []*branch
	scopeDoc  bool // the whole document is in scope
	tracked   []any
	capture   func(tx *Transaction) bool
	filter    func(it *Item) bool
	ignoreMap bool
	timeout   int64 // ms; negative: never merge
	now       func() time.Time

	undoStack, redoStack []*StackItem
	undoing, redoing     bool
	curr                 *StackItem
	lastChange           int64 // ms, 0 = stopped capturing

	offAfterTx func()
	offDestroy func()
	destroyed  bool

	added, popped, updated []*stackItemHandler
	cleared                []*stackClearedHandler
}

// UndoManagerOptions configures an UndoManager. The zero value (or a nil
// *UndoManagerOptions) gives yjs's defaults.
type UndoManagerOptions struct {
	// CaptureTimeout is how close in time consecutive tracked transactions
	// must be to merge into one stack item. Zero means yjs's default,
	// 500 ms; a negative value never merges (yjs captureTimeout: 0).
	CaptureTimeout time.Duration
	// CaptureTransaction, when set, is asked about every transaction; a
	// false answer leaves the transaction out of the undo stack.
	CaptureTransaction func(tx *Transaction) bool
	// DeleteFilter, when set, is asked before undo or redo deletes an
	// item; a false answer keeps it.
	DeleteFilter func(it *Item) bool
	// TrackedOrigins are the transaction origins whose changes are
	// recorded. nil means {nil}: the changes made without an origin, which
	// is what every edit method of the shared types uses. A reflect.Type
	// in the list tracks every non-nil origin of that type (yjs tracks an
	// origin whose constructor is in the set). The UndoManager itself is
	// always tracked (its undo is redo's input).
	TrackedOrigins []any
	// IgnoreRemoteMapChanges lets undo and redo overwrite map keys (Map,
	// XML attributes) that other clients wrote since (yjs's experimental
	// option of the same name).
	IgnoreRemoteMapChanges bool
	// Now is the clock for CaptureTimeout; nil means time.Now. Tests
	// inject one to make grouping deterministic.
	Now func() time.Time
}

// StackItem is one entry of the undo or redo stack: what a group of
// transactions inserted and deleted.
type StackItem struct {
	insertions deleteSet
	deletions  deleteSet
	// Meta holds what the application wants to keep with the item, such as
	// a cursor position to restore when it is popped (yjs stackItem.meta).
	Meta map[any]any
}

// UndoRedo says which stack an event is about.
type UndoRedo string

// Stack kinds of a StackItemEvent.
const (
	StackUndo UndoRedo = "undo"
	StackRedo UndoRedo = "redo"
)

// StackItemEvent is the event of a stack item that was added to, updated
// on, or popped from a stack (yjs StackItemEvent).
type StackItemEvent struct {
	// StackItem is the item concerned.
	StackItem *StackItem
	// Origin is the origin of the transaction that added or updated the
	// item, or the UndoManager for a popped item.
	Origin any
	// Type is the stack the item was added to or popped from.
	Type UndoRedo
	// ChangedParentTypes maps every type the transaction changed, and each
	// of their ancestors, to the events of the changed types below it.
	ChangedParentTypes map[SharedType][]Event
}

type stackItemHandler struct{ f func(e StackItemEvent) }
type stackClearedHandler struct {
	f func(undoCleared, redoCleared bool)
}

// NewUndoManager returns an UndoManager for changes to the given types of
// d, or to the whole document when no type is given (yjs new
// UndoManager(doc)). Types must belong to d; NewUndoManager panics
// otherwise, as the types' own methods do on misuse of a root name.
func NewUndoManager(d *Doc, opts *UndoManagerOptions, scope ...SharedType) *UndoManager {
	var o UndoManagerOptions
	if opts != nil {
		o = *opts
	}
	um := &UndoManager{
		doc:       d,
		capture:   o.CaptureTransaction,
		filter:    o.DeleteFilter,
		ignoreMap: o.IgnoreRemoteMapChanges,
		now:       o.Now,
	}
	switch {
	case o.CaptureTimeout == 0:
		um.timeout = 500
	case o.CaptureTimeout < 0:
		um.timeout = -1
	default:
		um.timeout = o.CaptureTimeout.Milliseconds()
	}
	if um.now == nil {
		um.now = time.Now
	}
	if o.TrackedOrigins == nil {
		um.tracked = []any{nil}
	} else {
		um.tracked = slices.Clone(o.TrackedOrigins)
	}
	um.tracked = append(um.tracked, um)
	if len(scope) == 0 {
		um.scopeDoc = true
	} else if err := um.AddToScope(scope...); err != nil {
		panic(err)
	}
	d.trackParents++
	um.offAfterTx = d.OnAfterTransaction(um.afterTransaction)
	um.offDestroy = d.OnDestroy(func(*Doc) { um.Destroy() })
	return um
}

// ErrNotInDoc is returned when a shared type is used with a document it
// does not belong to (or with none, while it is prelim).
var ErrNotInDoc = fmt.Errorf("crdt: shared type is not part of this document")

// AddToScope extends the scope with more types of the same document.
func (um *UndoManager) AddToScope(types ...SharedType) error {
	for _, t := range types {
		if t == nil || t.shared() == nil || t.shared().doc != um.doc {
			return ErrNotInDoc
		}
	}
	for _, t := range types {
		if b := t.shared(); !slices.Contains(um.scope, b) {
			um.scope = append(um.scope, b)
		}
	}
	return nil
}

// AddDocToScope puts the whole document in scope (yjs addToScope(doc)):
// from then on every change to d is recorded, as if the manager had been
// made without types. d must be the manager's document; yjs only warns
// about another document, whose changes it then never records, while
// this returns ErrNotInDoc.
func (um *UndoManager) AddDocToScope(d *Doc) error {
	if d == nil || d != um.doc {
		return ErrNotInDoc
	}
	um.scopeDoc = true
	return nil
}

// Scope returns the types in scope in the order they were added, and
// whether the whole document is in scope (yjs um.scope, which lists the
// Doc among the types).
func (um *UndoManager) Scope() (types []SharedType, wholeDoc bool) {
	types = make([]SharedType, 0, len(um.scope))
	for _, b := range um.scope {
		types = append(types, b.owner)
	}
	return types, um.scopeDoc
}

// AddTrackedOrigin starts tracking the changes of transactions with the
// given origin (a reflect.Type tracks every origin of that type).
func (um *UndoManager) AddTrackedOrigin(origin any) {
	if !slices.ContainsFunc(um.tracked, func(o any) bool { return sameOrigin(o, origin) }) {
		um.tracked = append(um.tracked, origin)
	}
}

// RemoveTrackedOrigin stops tracking origin.
func (um *UndoManager) RemoveTrackedOrigin(origin any) {
	um.tracked = slices.DeleteFunc(um.tracked, func(o any) bool { return sameOrigin(o, origin) })
}

// sameOrigin compares origins without panicking on incomparable values
// (which are only ever the same when they are the same origin value).
func sameOrigin(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || !ta.Comparable() {
		return false
	}
	return a == b
}

// tracks reports whether the manager records transactions of origin.
func (um *UndoManager) tracks(origin any) bool {
	for _, o := range um.tracked {
		if sameOrigin(o, origin) {
			return true
		}
	}
	if origin == nil || !jsTruthyOrigin(origin) {
		return false
	}
	ot := reflect.TypeOf(origin)
	for _, o := range um.tracked {
		if t, ok := o.(reflect.Type); ok && t == ot {
			return true
		}
	}
	return false
}

// jsTruthyOrigin mirrors yjs's `transaction.origin &&` guard before it
// looks at the origin's constructor.
func jsTruthyOrigin(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0 && x == x
	}
	return true
}

// inScope reports whether it belongs to a type in scope.
func (um *UndoManager) inScope(it *Item) bool {
	if um.scopeDoc {
		return true
	}
	for _, b := range um.scope {
		if isParentOf(b, it) {
			return true
		}
	}
	return false
}

// isParentOf reports whether it is in b or below it (yjs isParentOf).
func isParentOf(b *branch, it *Item) bool {
	for it != nil {
		if it.parent == b {
			return true
		}
		if it.parent == nil {
			return false
		}
		it = it.parent.item
	}
	return false
}

// keepItem marks it and its ancestors as kept (or no longer kept): kept
// deleted items keep their content through garbage collection (yjs
// keepItem).
func keepItem(it *Item, keep bool) {
	for it != nil && it.keep() != keep {
		if keep {
			it.info |= itemKeep
		} else {
			it.info &^= itemKeep
		}
		if it.parent == nil {
			return
		}
		it = it.parent.item
	}
}

// iterateDeleted calls f for every struct in ds, splitting structs at the
// range ends (yjs iterateDeletedStructs).
func iterateDeleted(tx *Transaction, ds *deleteSet, f func(*Item)) {
	s := tx.doc.store
	for _, e := range ds.entries {
		structs := s.clients[e.client]
		if structs == nil || structs.len() == 0 {
			continue
		}
		last := structs.last()
		state := last.id.Clock + last.len
		for _, d := range e.ranges {
			if d.clock >= state {
				break
			}
			s.iterateStructs(tx, e.client, d.clock, d.len, f)
		}
	}
}

// followRedone follows the redone links from id to the item that finally
// holds the content, and the offset of id's unit in it (yjs followRedone).
// It returns nil when the store does not have id.
func followRedone(s *structStore, id ID) (*Item, uint64) {
	next := id
	var diff uint64
	for {
		if diff > 0 {
			next = ID{next.Client, next.Clock + diff}
		}
		it := s.find(next)
		if it == nil {
			return nil, 0
		}
		diff = next.Clock - it.id.Clock
		red, ok := s.redoneOf(it)
		if !ok || !it.isItem() {
			return it, diff
		}
		next = red
	}
}

func (um *UndoManager) afterTransaction(tx *Transaction) {
	if um.capture != nil && !um.capture(tx) {
		return
	}
	in := um.scopeDoc
	for _, b := range um.scope {
		if _, ok := tx.changedParents[b]; ok {
			in = true
			break
		}
	}
	if !in || !um.tracks(tx.origin) {
		return
	}
	undoing, redoing := um.undoing, um.redoing
	stack := &um.undoStack
	if undoing {
		stack = &um.redoStack
		um.StopCapturing() // the next undo must not join this item
	} else if !redoing {
		um.ClearStacks(false, true) // a new change: nothing to redo
	}
	s := um.doc.store
	var insertions deleteSet
	for _, c := range s.order {
		end, ok := tx.afterState.lookup(c)
		if !ok {
			continue
		}
		if start := tx.beforeState.get(c); end > start {
			insertions.add(c, start, end-start)
		}
	}
	now := um.now().UnixMilli()
	didAdd := false
	if um.lastChange > 0 && now-um.lastChange < um.timeout && len(*stack) > 0 && !undoing && !redoing {
		last := (*stack)[len(*stack)-1]
		last.deletions = mergeDeleteSets(&last.deletions, &tx.deleteSet)
		last.insertions = mergeDeleteSets(&last.insertions, &insertions)
	} else {
		*stack = append(*stack, &StackItem{insertions: insertions, deletions: tx.deleteSet.clone(), Meta: map[any]any{}})
		didAdd = true
	}
	if !undoing && !redoing {
		um.lastChange = now
	}
	// Deleted content in scope must survive garbage collection.
	iterateDeleted(tx, &tx.deleteSet, func(it *Item) {
		if it.isItem() && um.inScope(it) {
			keepItem(it, true)
		}
	})
	kind := StackUndo
	if undoing {
		kind = StackRedo
	}
	ev := StackItemEvent{StackItem: (*stack)[len(*stack)-1], Origin: tx.origin, Type: kind, ChangedParentTypes: tx.changedParentTypes()}
	hs := um.updated
	if didAdd {
		hs = um.added
	}
	for _, h := range slices.Clone(hs) {
		h.f(ev)
	}
}

// changedParentTypes returns yjs's transaction.changedParentTypes (filled
// while the document has an UndoManager).
func (tx *Transaction) changedParentTypes() map[SharedType][]Event {
	out := make(map[SharedType][]Event, len(tx.changedParentOrder))
	for _, b := range tx.changedParentOrder {
		if b.owner != nil {
			out[b.owner] = tx.changedParents[b]
		}
	}
	return out
}

// clone returns a deep copy of ds.
func (ds *deleteSet) clone() deleteSet {
	out := deleteSet{entries: make([]dsEntry, len(ds.entries))}
	for i, e := range ds.entries {
		out.entries[i] = dsEntry{client: e.client, ranges: slices.Clone(e.ranges)}
	}
	if ds.index != nil {
		out.index = make(map[uint64]int, len(ds.index))
		for k, v := range ds.index {
			out.index[k] = v
		}
	}
	return out
}

// mergeDeleteSets merges a and b (yjs mergeDeleteSets([a, b])): clients
// of a in order, then the new clients of b, ranges sorted and merged.
func mergeDeleteSets(a, b *deleteSet) deleteSet {
	var out deleteSet
	emit := func(client uint64, withA bool) {
		var rs []deleteRange
		if withA {
			rs = append(rs, a.ranges(client)...)
		}
		rs = append(rs, b.ranges(client)...)
		out.addEntry(client, rs)
	}
	for _, e := range a.entries {
		emit(e.client, true)
	}
	for _, e := range b.entries {
		if a.find(e.client) < 0 {
			emit(e.client, false)
		}
	}
	out.sortAndMerge()
	return out
}

// addEntry appends the ranges of a client the set does not have yet.
func (ds *deleteSet) addEntry(client uint64, ranges []deleteRange) {
	ds.entries = append(ds.entries, dsEntry{client: client, ranges: ranges})
	if ds.index != nil {
		ds.index[client] = len(ds.entries) - 1
	} else if len(ds.entries) > dsIndexThreshold {
		ds.index = make(map[uint64]int, len(ds.entries))
		for k, e := range ds.entries {
			ds.index[e.client] = k
		}
	}
}

// Undo undoes the last stack item and returns it, or nil when there was
// nothing to undo (or nothing left that could be undone: items whose
// changes were all overwritten are skipped, as in yjs).
func (um *UndoManager) Undo() *StackItem {
	um.undoing = true
	defer func() { um.undoing = false }()
	return um.pop(&um.undoStack, StackUndo)
}

// Redo redoes the last undone stack item and returns it, or nil.
func (um *UndoManager) Redo() *StackItem {
	um.redoing = true
	defer func() { um.redoing = false }()
	return um.pop(&um.redoStack, StackRedo)
}

// CanUndo reports whether the undo stack holds an item.
func (um *UndoManager) CanUndo() bool { return len(um.undoStack) > 0 }

// CanRedo reports whether the redo stack holds an item.
func (um *UndoManager) CanRedo() bool { return len(um.redoStack) > 0 }

// UndoStack returns the undo stack, oldest item first.
func (um *UndoManager) UndoStack() []*StackItem { return slices.Clone(um.undoStack) }

// RedoStack returns the redo stack, oldest item first.
func (um *UndoManager) RedoStack() []*StackItem { return slices.Clone(um.redoStack) }

// Undoing reports whether the manager is inside Undo.
func (um *UndoManager) Undoing() bool { return um.undoing }

// Redoing reports whether the manager is inside Redo.
func (um *UndoManager) Redoing() bool { return um.redoing }

// StopCapturing makes the next tracked transaction start a new stack item
// even within CaptureTimeout of the last one.
func (um *UndoManager) StopCapturing() { um.lastChange = 0 }

// Clear empties both stacks (yjs clear()).
func (um *UndoManager) Clear() { um.ClearStacks(true, true) }

// ClearStacks empties the undo stack, the redo stack or both, and lets
// the garbage collector have the deleted content they kept.
func (um *UndoManager) ClearStacks(undoStack, redoStack bool) {
	if (!undoStack || !um.CanUndo()) && (!redoStack || !um.CanRedo()) {
		return
	}
	um.doc.Transact(func(tx *Transaction) {
		clearItem := func(si *StackItem) {
			iterateDeleted(tx, &si.deletions, func(it *Item) {
				if it.isItem() && um.inScope(it) {
					keepItem(it, false)
				}
			})
		}
		if undoStack {
			for _, si := range um.undoStack {
				clearItem(si)
			}
			um.undoStack = nil
		}
		if redoStack {
			for _, si := range um.redoStack {
				clearItem(si)
			}
			um.redoStack = nil
		}
		for _, h := range slices.Clone(um.cleared) {
			h.f(undoStack, redoStack)
		}
	}, nil)
}

// Destroy detaches the manager from its document (destroying the
// document does it too).
func (um *UndoManager) Destroy() {
	if um.destroyed {
		return
	}
	um.destroyed = true
	um.RemoveTrackedOrigin(um)
	um.offAfterTx()
	um.offDestroy()
	um.doc.trackParents--
}

// OnStackItemAdded registers f for items added to either stack (yjs
// 'stack-item-added'); set StackItem.Meta there to keep data with it.
func (um *UndoManager) OnStackItemAdded(f func(e StackItemEvent)) (unsubscribe func()) {
	h := &stackItemHandler{f: f}
	um.added = append(um.added, h)
	return func() { um.added = removePtr(um.added, h) }
}

// OnStackItemUpdated registers f for transactions merged into the last
// stack item (yjs 'stack-item-updated').
func (um *UndoManager) OnStackItemUpdated(f func(e StackItemEvent)) (unsubscribe func()) {
	h := &stackItemHandler{f: f}
	um.updated = append(um.updated, h)
	return func() { um.updated = removePtr(um.updated, h) }
}

// OnStackItemPopped registers f for items undone or redone (yjs
// 'stack-item-popped'); read StackItem.Meta there to restore data.
func (um *UndoManager) OnStackItemPopped(f func(e StackItemEvent)) (unsubscribe func()) {
	h := &stackItemHandler{f: f}
	um.popped = append(um.popped, h)
	return func() { um.popped = removePtr(um.popped, h) }
}

// OnStackCleared registers f for ClearStacks (yjs 'stack-cleared').
func (um *UndoManager) OnStackCleared(f func(undoCleared, redoCleared bool)) (unsubscribe func()) {
	h := &stackClearedHandler{f: f}
	um.cleared = append(um.cleared, h)
	return func() { um.cleared = removePtr(um.cleared, h) }
}

// pop undoes the top item of stack that changes something (yjs
// popStackItem).
func (um *UndoManager) pop(stack *[]*StackItem, kind UndoRedo) *StackItem {
	d := um.doc
	var tr *Transaction
	d.Transact(func(tx *Transaction) {
		s := d.store
		for len(*stack) > 0 && um.curr == nil {
			si := (*stack)[len(*stack)-1]
			*stack = (*stack)[:len(*stack)-1]
			var toRedo []*Item
			redoSet := map[*Item]bool{}
			var toDelete []*Item
			performed := false
			iterateDeleted(tx, &si.insertions, func(st *Item) {
				if !st.isItem() {
					return
				}
				if st.info&itemRedone != 0 {
					it, diff := followRedone(s, st.id)
					if it == nil {
						return
					}
					if diff > 0 {
						it = s.getItemCleanStart(tx, ID{it.id.Client, it.id.Clock + diff})
					}
					st = it
				}
				if !st.deleted() && um.inScope(st) {
					toDelete = append(toDelete, st)
				}
			})
			iterateDeleted(tx, &si.deletions, func(st *Item) {
				// Never redo what the item inserted: it was created and
				// deleted in the same capture interval.
				if st.isItem() && um.inScope(st) && !si.insertions.contains(st.id) && !redoSet[st] {
					redoSet[st] = true
					toRedo = append(toRedo, st)
				}
			})
			for _, st := range toRedo {
				if redoItem(tx, st, redoSet, &si.insertions, um.ignoreMap, um) != nil {
					performed = true
				}
			}
			// Delete in reverse order: children before their parents, so
			// that the filter sees them while their parents still stand.
			for i := len(toDelete) - 1; i >= 0; i-- {
				it := toDelete[i]
				if um.filter == nil || um.filter(it) {
					it.delete(tx)
					performed = true
				}
			}
			if performed {
				um.curr = si
			}
		}
		for _, c := range tx.changed {
			if c.cs.list {
				c.b.resetMarkers()
			}
		}
		tr = tx
	}, um)
	res := um.curr
	if res != nil {
		ev := StackItemEvent{StackItem: res, Origin: um, Type: kind, ChangedParentTypes: tr.changedParentTypes()}
		for _, h := range slices.Clone(um.popped) {
			h.f(ev)
		}
		um.curr = nil
	}
	return res
}

// deletedByStack reports whether an item of stack deleted id.
func deletedByStack(stack []*StackItem, id ID) bool {
	for _, si := range stack {
		if si.deletions.contains(id) {
			return true
		}
	}
	return false
}

// parentItemOf is the item holding st's parent type (nil for a root), and
// false for a struct without a parent.
func parentItemOf(st *Item) (*Item, bool) {
	if !st.isItem() || st.parent == nil {
		return nil, false
	}
	return st.parent.item, true
}

// redoItem re-inserts the content of the deleted item it as a new item of
// this client, where it was (yjs redoItem). It returns the new item (or
// the one that redid it already), or nil when it cannot be redone.
func redoItem(tx *Transaction, it *Item, redoSet map[*Item]bool, itemsToDelete *deleteSet, ignoreRemoteMapChanges bool, um *UndoManager) *Item {
	d := tx.doc
	s := d.store
	if red, ok := s.redoneOf(it); ok {
		return s.getItemCleanStart(tx, red)
	}
	if it.parent == nil {
		return nil
	}
	parentItem := it.parent.item
	// The parent must stand: redo it too if this undo redoes it anyway.
	if parentItem != nil && parentItem.deleted() {
		if parentItem.info&itemRedone == 0 && (!redoSet[parentItem] || redoItem(tx, parentItem, redoSet, itemsToDelete, ignoreRemoteMapChanges, um) == nil) {
			return nil
		}
		for {
			red, ok := s.redoneOf(parentItem)
			if !ok {
				break
			}
			parentItem = s.getItemCleanStart(tx, red)
		}
	}
	parentType := it.parent
	if parentItem != nil {
		ct, ok := parentItem.content.(*contentType)
		if !ok {
			return nil
		}
		parentType = ct.t
	}
	// trace follows the redone links of x until it is in parentItem.
	trace := func(x *Item) *Item {
		for x != nil {
			if p, ok := parentItemOf(x); ok && p == parentItem {
				return x
			}
			red, ok := s.redoneOf(x)
			if !ok {
				return nil
			}
			x = s.getItemCleanStart(tx, red)
		}
		return nil
	}
	var left, right *Item
	var sub *string
	if !it.hasParentSub() {
		// A list item: insert it where it was, between the nearest
		// neighbours that are (or were redone) in the same parent.
		left, right = it.left, it
		for left != nil {
			if t := trace(left); t != nil {
				left = t
				break
			}
			left = left.left
		}
		for right != nil {
			if t := trace(right); t != nil {
				right = t
				break
			}
			right = right.right
		}
	} else {
		k := it.sub()
		sub = &k
		right = nil
		if it.right != nil && !ignoreRemoteMapChanges {
			left = it
			// Walk right over entries this undo deletes or redoes anyway.
			for left != nil && left.right != nil && (left.right.info&itemRedone != 0 || itemsToDelete.contains(left.right.id) ||
				deletedByStack(um.undoStack, left.right.id) || deletedByStack(um.redoStack, left.right.id)) {
				left = left.right
				for {
					red, ok := s.redoneOf(left)
					if !ok {
						break
					}
					left = s.getItemCleanStart(tx, red)
				}
			}
			if left != nil && left.right != nil {
				// Another client changed the key since: keep its value.
				return nil
			}
		} else {
			left = parentType.keys[k]
		}
		// A left neighbour in another parent would mislead remote peers
		// about the parent (yjs #757).
		if left != nil {
			if p, ok := parentItemOf(left); !ok || p != parentItem {
				left = parentType.keys[k]
			}
		}
	}
	next := ID{d.clientID, s.state(d.clientID)}
	redone := newItem(next, left, right, parentType, sub, it.content.copy())
	s.setRedone(it, next)
	keepItem(redone, true)
	redone.integrate(tx, 0)
	return redone
}
