package crdt

import (
	"slices"
	"sort"
)

// Transaction groups changes to a document: observers and update handlers
// run once per transaction, after it ends.
type Transaction struct {
	doc    *Doc
	origin any
	local  bool

	deleteSet   deleteSet
	beforeState stateVec
	afterState  stateVec
	svBuf       [2][2]clientClock // backing arrays of small state vectors

	changed      []changedType // in the order the types first changed
	changedIdx   map[*branch]int
	changedBuf   [1]changedType
	dsBuf        [1]dsEntry
	rangeBuf     [2]deleteRange
	clientsBuf   [2]uint64
	parentEvents map[*branch][]Event
	parentOrder  []*branch
	// changedParents is yjs's transaction.changedParentTypes: every
	// changed type and its ancestors with their events. It is only
	// filled while the document has an UndoManager (Doc.trackParents).
	changedParents     map[*branch][]Event
	changedParentOrder []*branch

	mergeStructs []*Item
	meta         map[any]any

	needFormattingCleanup bool

	// Subdocuments added, removed and loaded, in order (JS Sets).
	subdocsAdded, subdocsRemoved, subdocsLoaded []*Doc
}

type changedType struct {
	b  *branch
	cs changeSet
}

// changeSet records what changed in one type: its list (list) and keys.
type changeSet struct {
	list bool
	keys []string
}

func (c *changeSet) addKey(k string) {
	if !slices.Contains(c.keys, k) {
		c.keys = append(c.keys, k)
	}
}

// Doc returns the transaction's document.
func (tx *Transaction) Doc() *Doc { return tx.doc }

// Origin returns the origin given to Transact or ApplyUpdate.
func (tx *Transaction) Origin() any { return tx.origin }

// Local reports whether the transaction was made locally (not by applying
// an update).
func (tx *Transaction) Local() bool { return tx.local }

// Meta returns a map the application may use to pass data between
// observers of the transaction.
func (tx *Transaction) Meta() map[any]any {
	if tx.meta == nil {
		tx.meta = make(map[any]any)
	}
	return tx.meta
}

// Transact runs f in a transaction with the given origin. Calls nested in
// f (directly, or through edits of shared types) join the same
// transaction; observers and update handlers run when the outermost call
// returns.
//
//	d.Transact(func(tx *crdt.Transaction) {
//		_ = text.Insert(0, "a")
//		_ = text.Insert(1, "b")
//	}, "my-origin") // one update event for both inserts
func (d *Doc) Transact(f func(tx *Transaction), origin any) {
	d.transact(f, origin, true)
}

func (d *Doc) transact(f func(tx *Transaction), origin any, local bool) {
	if d.tx != nil {
		f(d.tx)
		return
	}
	tx := d.begin(origin, local)
	defer d.end(tx)
	f(tx)
}

// enter returns the running transaction, or starts one (own = true; the
// caller must then call end, deferred).
func (d *Doc) enter() (tx *Transaction, own bool) {
	if d.tx != nil {
		return d.tx, false
	}
	return d.begin(nil, true), true
}

// begin starts a transaction; the caller must call end (deferred).
func (d *Doc) begin(origin any, local bool) *Transaction {
	tx := &Transaction{doc: d, origin: origin, local: local}
	tx.deleteSet.entries = tx.dsBuf[:0]
	tx.beforeState = d.store.snapshot(tx.svBuf[0][:0])
	d.tx = tx
	d.cleanups = append(d.cleanups, tx)
	return tx
}

func (d *Doc) end(tx *Transaction) {
	d.tx = nil
	if d.cleanups[0] == tx {
		d.cleanupTransactions()
	}
}

// addChanged records that type b changed (a key, or its list).
func (tx *Transaction) addChanged(b *branch, hasSub bool, sub string) {
	it := b.item
	if it == nil || (it.id.Clock < tx.beforeState.get(it.id.Client) && !it.deleted()) {
		cs := tx.changedSet(b)
		if cs == nil {
			if tx.changed == nil {
				tx.changed = tx.changedBuf[:0]
			}
			tx.changed = append(tx.changed, changedType{b: b})
			cs = &tx.changed[len(tx.changed)-1].cs
			if tx.changedIdx != nil {
				tx.changedIdx[b] = len(tx.changed) - 1
			} else if len(tx.changed) > 8 {
				tx.changedIdx = make(map[*branch]int, len(tx.changed))
				for i, c := range tx.changed {
					tx.changedIdx[c.b] = i
				}
			}
		}
		if hasSub {
			cs.addKey(sub)
		} else {
			cs.list = true
		}
	}
}

// changedSet returns the change set of b, or nil.
func (tx *Transaction) changedSet(b *branch) *changeSet {
	if tx.changedIdx != nil {
		if i, ok := tx.changedIdx[b]; ok {
			return &tx.changed[i].cs
		}
		return nil
	}
	for i := range tx.changed {
		if tx.changed[i].b == b {
			return &tx.changed[i].cs
		}
	}
	return nil
}

// removeChanged forgets the changes of b (a deleted nested type).
func (tx *Transaction) removeChanged(b *branch) {
	for i, c := range tx.changed {
		if c.b == b {
			tx.changed = append(tx.changed[:i:i], tx.changed[i+1:]...)
			if tx.changedIdx != nil {
				tx.changedIdx = make(map[*branch]int, len(tx.changed))
				for k, c := range tx.changed {
					tx.changedIdx[c.b] = k
				}
			}
			return
		}
	}
}

// cleanupTransactions finishes every queued transaction in order (yjs
// cleanupTransactions): observers, GC, merging of structs, update events.
func (d *Doc) cleanupTransactions() {
	// Reset the queue even if an observer panics, so that the document
	// keeps working afterwards.
	defer func() { d.cleanups = d.cleanups[:0] }()
	for i := 0; i < len(d.cleanups); i++ {
		d.cleanupTransaction(d.cleanups[i])
	}
}

func (d *Doc) cleanupTransaction(tx *Transaction) {
	s := d.store
	ds := &tx.deleteSet
	ds.sortAndMerge()
	tx.afterState = s.snapshot(tx.svBuf[1][:0])
	func() {
		// Observers run first; GC and merging run even if one panics.
		defer d.finishTransaction(tx)
		d.callObservers(tx)
		for _, h := range d.afterTxHandlers {
			h.f(tx)
		}
		if tx.needFormattingCleanup {
			cleanupTextsAfterTransaction(tx)
		}
	}()
}

func (d *Doc) finishTransaction(tx *Transaction) {
	s := d.store
	ds := &tx.deleteSet
	if d.gc {
		tryGCDeleteSet(ds, s, d.gcFilter)
	}
	tryMergeDeleteSet(ds, s)
	for _, client := range tx.changedClients() {
		before := tx.beforeState.get(client)
		structs := s.clients[client]
		first := max(structs.findIndex(before), 1)
		for i := structs.len() - 1; i >= first; {
			i -= 1 + tryToMergeWithLefts(s, client, i)
		}
	}
	for i := len(tx.mergeStructs) - 1; i >= 0; i-- {
		id := tx.mergeStructs[i].id
		structs := s.clients[id.Client]
		pos := structs.findIndex(id.Clock)
		if pos < 0 {
			continue
		}
		if pos+1 < structs.len() {
			if tryToMergeWithLefts(s, id.Client, pos+1) > 1 {
				continue
			}
		}
		if pos > 0 {
			tryToMergeWithLefts(s, id.Client, pos)
		}
	}
	if !tx.local && tx.afterState.get(d.clientID) != tx.beforeState.get(d.clientID) {
		// Another client wrote with our id: pick a new one (yjs does the same).
		d.clientID = newClientID()
	}
	if len(d.updateHandlers) > 0 {
		if u := encodeTransactionUpdate(tx, false); u != nil {
			for _, h := range d.updateHandlers {
				h.f(u, tx.origin, tx)
			}
		}
	}
	if len(d.updateV2Handlers) > 0 {
		if u := encodeTransactionUpdate(tx, true); u != nil {
			for _, h := range d.updateV2Handlers {
				h.f(u, tx.origin, tx)
			}
		}
	}
	if len(tx.subdocsAdded) > 0 || len(tx.subdocsRemoved) > 0 || len(tx.subdocsLoaded) > 0 {
		d.finishSubdocs(tx)
	}
}

// tryToMergeWithLefts merges structs[pos] into its left neighbours while
// possible and returns how many were merged (yjs tryToMergeWithLefts).
func tryToMergeWithLefts(s *structStore, client uint64, pos int) int {
	structs := s.clients[client]
	right := structs.at(pos)
	i := pos
	for ; i > 0; i-- {
		left := structs.at(i - 1)
		if left.deleted() == right.deleted() && left.info&(itemGC|itemSkip) == right.info&(itemGC|itemSkip) {
			if left.mergeWith(right) {
				if right.isItem() && right.hasParentSub() && right.parent.keys[right.sub()] == right {
					right.parent.keys[right.sub()] = left
				}
				right = left
				continue
			}
		}
		break
	}
	merged := pos - i
	if merged > 0 {
		structs.remove(pos+1-merged, merged)
	}
	return merged
}

// tryGCDeleteSet replaces the content of deleted items with
// ContentDeleted (yjs tryGcDeleteSet), except for items that filter (the
// document's GCFilter, nil for none) keeps.
func tryGCDeleteSet(ds *deleteSet, s *structStore, filter func(it *Item) bool) {
	for _, e := range ds.entries {
		client, dels := e.client, e.ranges
		structs := s.clients[client]
		for di := len(dels) - 1; di >= 0; di-- {
			d := dels[di]
			end := d.clock + d.len
			si := structs.findIndex(d.clock)
			if si < 0 {
				continue
			}
			for ; si < structs.len(); si++ {
				st := structs.at(si)
				if st.id.Clock >= end {
					break
				}
				if st.isItem() && st.deleted() && !st.keep() && (filter == nil || filter(st)) {
					st.gc(s, false)
				}
			}
		}
	}
}

// tryMergeDeleteSet merges structs around deleted ranges (yjs
// tryMergeDeleteSet).
func tryMergeDeleteSet(ds *deleteSet, s *structStore) {
	for _, e := range ds.entries {
		client, dels := e.client, e.ranges
		for di := len(dels) - 1; di >= 0; di-- {
			d := dels[di]
			structs := s.clients[client]
			if structs.len() == 0 {
				continue
			}
			last := structs.findIndex(d.clock + d.len - 1)
			if last < 0 {
				last = structs.len() - 1
			}
			si := min(structs.len()-1, 1+last)
			for si > 0 && structs.at(si).id.Clock >= d.clock {
				si -= 1 + tryToMergeWithLefts(s, client, si)
			}
		}
	}
}

// callObservers builds the events of the changed types and calls their
// observers, then the deep observers of them and their ancestors.
func (d *Doc) callObservers(tx *Transaction) {
	for i := range tx.changed {
		b, cs := tx.changed[i].b, &tx.changed[i].cs
		if b.item != nil && b.item.deleted() {
			continue
		}
		if !tx.local {
			b.resetMarkers()
		}
		if (b.ref == typeText || b.ref == typeXMLText) && b.hasFormatting && !tx.local {
			tx.needFormattingCleanup = true
		}
		track := d.trackParents > 0 && b.ref != refUnknown
		if !track && !hasObservers(b) {
			continue
		}
		ev := newEvent(b, tx, cs)
		for t := b; ; {
			if track {
				if tx.changedParents == nil {
					tx.changedParents = make(map[*branch][]Event)
				}
				if _, ok := tx.changedParents[t]; !ok {
					tx.changedParentOrder = append(tx.changedParentOrder, t)
				}
				tx.changedParents[t] = append(tx.changedParents[t], ev)
			}
			if len(t.deepObservers) > 0 {
				if tx.parentEvents == nil {
					tx.parentEvents = make(map[*branch][]Event)
				}
				if _, ok := tx.parentEvents[t]; !ok {
					tx.parentOrder = append(tx.parentOrder, t)
				}
				tx.parentEvents[t] = append(tx.parentEvents[t], ev)
			}
			if t.item == nil || t.item.parent == nil {
				break
			}
			t = t.item.parent
		}
		for _, o := range b.observers {
			o.f(ev, tx)
		}
	}
	for _, t := range tx.parentOrder {
		if t.item != nil && t.item.deleted() {
			continue
		}
		var evs []Event
		for _, ev := range tx.parentEvents[t] {
			eb := ev.base()
			if eb.target.item == nil || !eb.target.item.deleted() {
				eb.currentTarget = t
				eb.path = nil
				evs = append(evs, ev)
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return len(evs[i].Path()) < len(evs[j].Path()) })
		for _, o := range t.deepObservers {
			o.f(evs, tx)
		}
	}
}

// hasObservers reports whether b or an ancestor has observers that an
// event of b would reach.
func hasObservers(b *branch) bool {
	if len(b.observers) > 0 {
		return true
	}
	for t := b; ; {
		if len(t.deepObservers) > 0 {
			return true
		}
		if t.item == nil || t.item.parent == nil {
			return false
		}
		t = t.item.parent
	}
}

// changedClients returns the clients whose state the transaction advanced.
func (tx *Transaction) changedClients() []uint64 {
	out := tx.clientsBuf[:0]
	each := func(c, clock uint64) {
		if tx.beforeState.get(c) != clock {
			out = append(out, c)
		}
	}
	if tx.afterState.m != nil {
		for c, clock := range tx.afterState.m {
			each(c, clock)
		}
	} else {
		for _, e := range tx.afterState.small {
			each(e.client, e.clock)
		}
	}
	return out
}
