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
	beforeState map[uint64]uint64
	afterState  map[uint64]uint64

	changed      map[*branch]*changeSet
	changedOrder []*branch
	parentEvents map[*branch][]Event
	parentOrder  []*branch

	mergeStructs []*Item
	meta         map[any]any

	needFormattingCleanup bool
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
	tx := &Transaction{
		doc:         d,
		origin:      origin,
		local:       local,
		beforeState: d.store.stateVector(),
	}
	d.tx = tx
	d.cleanups = append(d.cleanups, tx)
	defer func() {
		d.tx = nil
		if d.cleanups[0] == tx {
			d.cleanupTransactions()
		}
	}()
	f(tx)
}

// addChanged records that type b changed (a key, or its list).
func (tx *Transaction) addChanged(b *branch, hasSub bool, sub string) {
	it := b.item
	if it == nil || (it.id.Clock < tx.beforeState[it.id.Client] && !it.deleted()) {
		if tx.changed == nil {
			tx.changed = make(map[*branch]*changeSet)
		}
		cs := tx.changed[b]
		if cs == nil {
			cs = &changeSet{}
			tx.changed[b] = cs
			tx.changedOrder = append(tx.changedOrder, b)
		}
		if hasSub {
			cs.addKey(sub)
		} else {
			cs.list = true
		}
	}
}

func (tx *Transaction) removeChanged(b *branch) {
	if _, ok := tx.changed[b]; ok {
		delete(tx.changed, b)
		tx.changedOrder = removePtr(tx.changedOrder, b)
	}
}

// cleanupTransactions finishes every queued transaction in order (yjs
// cleanupTransactions): observers, GC, merging of structs, update events.
func (d *Doc) cleanupTransactions() {
	for i := 0; i < len(d.cleanups); i++ {
		d.cleanupTransaction(d.cleanups[i])
	}
	d.cleanups = d.cleanups[:0]
}

func (d *Doc) cleanupTransaction(tx *Transaction) {
	s := d.store
	ds := &tx.deleteSet
	ds.sortAndMerge()
	tx.afterState = s.stateVector()
	func() {
		// Observers run first; GC and merging run even if one panics.
		defer d.finishTransaction(tx)
		d.callObservers(tx)
		for _, h := range slices.Clone(d.afterTxHandlers) {
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
		tryGCDeleteSet(ds, s)
	}
	tryMergeDeleteSet(ds, s)
	for client, clock := range tx.afterState {
		before := tx.beforeState[client]
		if before == clock {
			continue
		}
		structs := s.clients[client]
		first := max(findIndex(structs, before), 1)
		for i := len(structs) - 1; i >= first; {
			i -= 1 + tryToMergeWithLefts(s, client, i)
			structs = s.clients[client]
		}
	}
	for i := len(tx.mergeStructs) - 1; i >= 0; i-- {
		id := tx.mergeStructs[i].id
		structs := s.clients[id.Client]
		pos := findIndex(structs, id.Clock)
		if pos < 0 {
			continue
		}
		if pos+1 < len(structs) {
			if tryToMergeWithLefts(s, id.Client, pos+1) > 1 {
				continue
			}
		}
		if pos > 0 {
			tryToMergeWithLefts(s, id.Client, pos)
		}
	}
	if !tx.local && tx.afterState[d.clientID] != tx.beforeState[d.clientID] {
		// Another client wrote with our id: pick a new one (yjs does the same).
		d.clientID = newClientID()
	}
	if len(d.updateHandlers) > 0 {
		if u := encodeTransactionUpdate(tx, false); u != nil {
			for _, h := range slices.Clone(d.updateHandlers) {
				h.f(u, tx.origin, tx)
			}
		}
	}
	if len(d.updateV2Handlers) > 0 {
		if u := encodeTransactionUpdate(tx, true); u != nil {
			for _, h := range slices.Clone(d.updateV2Handlers) {
				h.f(u, tx.origin, tx)
			}
		}
	}
}

// tryToMergeWithLefts merges structs[pos] into its left neighbours while
// possible and returns how many were merged (yjs tryToMergeWithLefts).
func tryToMergeWithLefts(s *structStore, client uint64, pos int) int {
	structs := s.clients[client]
	right := structs[pos]
	i := pos
	for ; i > 0; i-- {
		left := structs[i-1]
		if left.deleted() == right.deleted() && left.info&(itemGC|itemSkip) == right.info&(itemGC|itemSkip) {
			if left.mergeWith(right) {
				if right.isItem() && right.hasParentSub() && right.parent.keys[right.parentSub] == right {
					right.parent.keys[right.parentSub] = left
				}
				right = left
				continue
			}
		}
		break
	}
	merged := pos - i
	if merged > 0 {
		structs = append(structs[:pos+1-merged], structs[pos+1:]...)
		s.clients[client] = structs
	}
	return merged
}

// tryGCDeleteSet replaces the content of deleted items with
// ContentDeleted (yjs tryGcDeleteSet).
func tryGCDeleteSet(ds *deleteSet, s *structStore) {
	for client, dels := range ds.clients {
		structs := s.clients[client]
		for di := len(dels) - 1; di >= 0; di-- {
			d := dels[di]
			end := d.clock + d.len
			si := findIndex(structs, d.clock)
			if si < 0 {
				continue
			}
			for ; si < len(structs); si++ {
				st := structs[si]
				if st.id.Clock >= end {
					break
				}
				if st.isItem() && st.deleted() && !st.keep() {
					st.gc(s, false)
				}
				structs = s.clients[client]
			}
		}
	}
}

// tryMergeDeleteSet merges structs around deleted ranges (yjs
// tryMergeDeleteSet).
func tryMergeDeleteSet(ds *deleteSet, s *structStore) {
	for client, dels := range ds.clients {
		for di := len(dels) - 1; di >= 0; di-- {
			d := dels[di]
			structs := s.clients[client]
			if len(structs) == 0 {
				continue
			}
			last := findIndex(structs, d.clock+d.len-1)
			if last < 0 {
				last = len(structs) - 1
			}
			si := min(len(structs)-1, 1+last)
			for si > 0 && s.clients[client][si].id.Clock >= d.clock {
				si -= 1 + tryToMergeWithLefts(s, client, si)
			}
		}
	}
}

// callObservers builds the events of the changed types and calls their
// observers, then the deep observers of them and their ancestors.
func (d *Doc) callObservers(tx *Transaction) {
	for _, b := range tx.changedOrder {
		cs := tx.changed[b]
		if cs == nil {
			continue
		}
		if b.item != nil && b.item.deleted() {
			continue
		}
		if !tx.local {
			b.resetMarkers()
		}
		if (b.ref == typeText || b.ref == typeXMLText) && b.hasFormatting && !tx.local {
			tx.needFormattingCleanup = true
		}
		if !hasObservers(b) {
			continue
		}
		ev := newEvent(b, tx, cs)
		for t := b; ; {
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
		for _, o := range slices.Clone(b.observers) {
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
		for _, o := range slices.Clone(t.deepObservers) {
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
