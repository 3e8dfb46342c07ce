package crdt

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// ErrGCEnabled is returned by CreateDocFromSnapshot when the origin
// document collects garbage: the content of deleted items may be gone, so
// an earlier state cannot be rebuilt (yjs throws for the same reason).
var ErrGCEnabled = errors.New("crdt: garbage collection must be disabled in the origin document")

// ErrInvalidSnapshot is returned when a snapshot cannot be decoded or names
// clocks the document does not have.
var ErrInvalidSnapshot = errors.New("crdt: invalid snapshot")

// IDRange is a run of clocks of one client (a delete set entry of a
// Snapshot).
type IDRange struct {
	Clock, Len uint64
}

// Snapshot is the state of a document at one moment (yjs Snapshot): which
// structs existed (StateVector, client → next clock) and which of them were
// deleted (DeleteSet, client → ranges sorted by clock). Take one with
// SnapshotOf; with garbage collection off, CreateDocFromSnapshot rebuilds
// the document as it was.
type Snapshot struct {
	DeleteSet   map[uint64][]IDRange
	StateVector map[uint64]uint64
}

// EmptySnapshot returns the snapshot of an empty document (yjs
// emptySnapshot).
func EmptySnapshot() Snapshot {
	return Snapshot{DeleteSet: map[uint64][]IDRange{}, StateVector: map[uint64]uint64{}}
}

// SnapshotOf returns the current snapshot of d (yjs snapshot(doc)).
//
//	before := crdt.SnapshotOf(d)
//	_ = d.GetText("t").Insert(0, "x")
//	crdt.EqualSnapshots(before, crdt.SnapshotOf(d)) // false
func SnapshotOf(d *Doc) Snapshot {
	ds := deleteSetFromStore(d.store)
	out := Snapshot{DeleteSet: make(map[uint64][]IDRange, len(ds.entries)), StateVector: d.store.stateVector()}
	for _, e := range ds.entries {
		rs := make([]IDRange, len(e.ranges))
		for i, r := range e.ranges {
			rs[i] = IDRange{r.clock, r.len}
		}
		out.DeleteSet[e.client] = rs
	}
	return out
}

// EqualSnapshots reports whether a and b hold the same state vector and
// delete set, range by range (yjs equalSnapshots).
func EqualSnapshots(a, b Snapshot) bool {
	if len(a.StateVector) != len(b.StateVector) || len(a.DeleteSet) != len(b.DeleteSet) {
		return false
	}
	for c, clock := range a.StateVector {
		if other, ok := b.StateVector[c]; !ok || other != clock {
			return false
		}
	}
	for c, rs := range a.DeleteSet {
		if !slices.Equal(rs, b.DeleteSet[c]) {
			return false
		}
	}
	return true
}

// Contains reports whether the struct with id existed and was not deleted
// in the snapshot (yjs isVisible for an item).
func (s Snapshot) Contains(id ID) bool {
	clock, ok := s.StateVector[id.Client]
	return ok && clock > id.Clock && !dsRangesContain(s.DeleteSet[id.Client], id.Clock)
}

func dsRangesContain(rs []IDRange, clock uint64) bool {
	i, _ := slices.BinarySearchFunc(rs, clock, func(r IDRange, c uint64) int {
		if r.Clock+r.Len <= c {
			return -1
		}
		if r.Clock > c {
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].Clock <= clock && clock < rs[i].Clock+rs[i].Len
}

// EncodeSnapshot encodes s as yjs encodeSnapshot does: the delete set in
// format v1, then the state vector.
//
//	b := crdt.EncodeSnapshot(crdt.SnapshotOf(d))
//	s, err := crdt.DecodeSnapshot(b)
func EncodeSnapshot(s Snapshot) []byte {
	enc := &dsEncoderV1{}
	writeSnapshot(enc, &enc.rest, s)
	return enc.ToBytes()
}

// EncodeSnapshotV2 encodes s as yjs encodeSnapshotV2 does (delete set in
// format v2).
func EncodeSnapshotV2(s Snapshot) []byte {
	enc := &dsEncoderV2{}
	writeSnapshot(enc, &enc.rest, s)
	return enc.ToBytes()
}

func writeSnapshot(enc dsEncoder, rest *lib0.Encoder, s Snapshot) {
	ds := s.deleteSet()
	ds.write(enc)
	clients := slices.SortedFunc(maps.Keys(s.StateVector), func(a, b uint64) int { return cmpU64(b, a) })
	rest.WriteVarUint(uint64(len(clients)))
	for _, c := range clients {
		rest.WriteVarUint(c)
		rest.WriteVarUint(s.StateVector[c])
	}
}

// deleteSet converts the snapshot's delete set, ranges kept as they are.
func (s Snapshot) deleteSet() deleteSet {
	ds := newDeleteSet()
	for _, c := range slices.Sorted(maps.Keys(s.DeleteSet)) {
		rs := s.DeleteSet[c]
		if len(rs) == 0 {
			continue
		}
		e := dsEntry{client: c, ranges: make([]deleteRange, len(rs))}
		for i, r := range rs {
			e.ranges[i] = deleteRange{r.Clock, r.Len}
		}
		ds.entries = append(ds.entries, e)
	}
	return ds
}

// DecodeSnapshot decodes a snapshot made by EncodeSnapshot or yjs
// encodeSnapshot.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	dec := &dsDecoderV1{}
	dec.rest.Reset(b)
	return readSnapshot(dec, &dec.rest)
}

// DecodeSnapshotV2 decodes a snapshot made by EncodeSnapshotV2 or yjs
// encodeSnapshotV2.
func DecodeSnapshotV2(b []byte) (Snapshot, error) {
	dec := &dsDecoderV2{}
	dec.rest.Reset(b)
	return readSnapshot(dec, &dec.rest)
}

func readSnapshot(dec dsDecoder, rest *lib0.Decoder) (Snapshot, error) {
	s := EmptySnapshot()
	bad := func(err error) (Snapshot, error) {
		return Snapshot{}, fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	n, err := rest.ReadVarUint()
	if err != nil {
		return bad(err)
	}
	for i := uint64(0); i < n; i++ {
		dec.ResetDsCurVal()
		client, err := rest.ReadVarUint()
		if err != nil {
			return bad(err)
		}
		if _, dup := s.DeleteSet[client]; dup {
			return bad(fmt.Errorf("client %d listed twice in the delete set", client))
		}
		k, err := rest.ReadVarUint()
		if err != nil {
			return bad(err)
		}
		if k > uintOf(rest.Len()) { // every range takes at least one byte
			return bad(lib0.ErrUnexpectedEOF)
		}
		for j := uint64(0); j < k; j++ {
			clock, err := dec.ReadDsClock()
			if err != nil {
				return bad(err)
			}
			l, err := dec.ReadDsLen()
			if err != nil {
				return bad(err)
			}
			s.DeleteSet[client] = append(s.DeleteSet[client], IDRange{clock, l})
		}
	}
	n, err = rest.ReadVarUint()
	if err != nil {
		return bad(err)
	}
	for i := uint64(0); i < n; i++ {
		client, err := rest.ReadVarUint()
		if err != nil {
			return bad(err)
		}
		clock, err := rest.ReadVarUint()
		if err != nil {
			return bad(err)
		}
		s.StateVector[client] = clock
	}
	return s, nil
}

// CreateDocFromSnapshot builds a new document holding origin's content as
// it was at snapshot s (yjs createDocFromSnapshot). origin must have been
// made with DisableGC; opts configures the new document.
//
//	old, err := crdt.CreateDocFromSnapshot(d, snap, nil)
func CreateDocFromSnapshot(origin *Doc, s Snapshot, opts *DocOptions) (*Doc, error) {
	if origin.gc {
		return nil, ErrGCEnabled
	}
	clients := slices.SortedFunc(maps.Keys(s.StateVector), func(a, b uint64) int { return cmpU64(b, a) })
	for _, c := range clients {
		if clock := s.StateVector[c]; clock > origin.store.state(c) {
			return nil, fmt.Errorf("%w: client %d at clock %d, the document has %d", ErrInvalidSnapshot, c, clock, origin.store.state(c))
		}
	}
	enc := &updateEncoderV2{}
	origin.transact(func(tx *Transaction) {
		n := 0
		for _, c := range clients {
			if s.StateVector[c] > 0 {
				n++
			}
		}
		writeRestVarUint(enc, uint64(n))
		for _, c := range clients {
			clock := s.StateVector[c]
			if clock == 0 {
				continue
			}
			if clock < origin.store.state(c) {
				origin.store.getItemCleanStart(tx, ID{c, clock})
			}
			structs := origin.store.clients[c]
			last := structs.findIndex(clock - 1)
			writeRestVarUint(enc, uintOf(last+1))
			enc.WriteClient(c)
			writeRestVarUint(enc, 0)
			for i, it := range structs.all() {
				if i > last {
					break
				}
				it.write(enc, 0)
			}
		}
		ds := s.deleteSet()
		ds.write(enc)
	}, nil, true)
	d := NewDoc(opts)
	if err := ApplyUpdateV2(d, enc.ToBytes(), "snapshot"); err != nil {
		return nil, err
	}
	return d, nil
}

// SnapshotContainsUpdate reports whether everything a v1 update adds
// (structs and deletions) is already in s (yjs snapshotContainsUpdate).
func SnapshotContainsUpdate(s Snapshot, update []byte) (bool, error) {
	return snapshotContainsUpdate(s, update, false)
}

// SnapshotContainsUpdateV2 is SnapshotContainsUpdate for a v2 update.
func SnapshotContainsUpdateV2(s Snapshot, update []byte) (bool, error) {
	return snapshotContainsUpdate(s, update, true)
}

func snapshotContainsUpdate(s Snapshot, update []byte, v2 bool) (bool, error) {
	dec, err := newUpdateDecoder(update, v2)
	if err != nil {
		return false, err
	}
	r, err := newLazyReader(dec, len(update), v2, false)
	for ; err == nil && r.curr != nil; err = r.next() {
		if s.StateVector[r.curr.id.Client] < r.curr.id.Clock+r.curr.len {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	clients, ranges, err := readDeleteSet(dec)
	if err != nil {
		return false, err
	}
	// mergeDeleteSets([s.ds, updateDS]) must equal s.ds.
	merged := make(map[uint64][]deleteRange, len(s.DeleteSet)+len(clients))
	for c, rs := range s.DeleteSet {
		for _, r := range rs {
			merged[c] = append(merged[c], deleteRange{r.Clock, r.Len})
		}
	}
	for i, c := range clients {
		merged[c] = append(merged[c], ranges[i]...)
	}
	nonEmpty := 0
	for c, rs := range merged {
		if len(rs) == 0 {
			continue
		}
		nonEmpty++
		ds := deleteSet{entries: []dsEntry{{client: c, ranges: rs}}}
		ds.sortAndMerge()
		want := s.DeleteSet[c]
		got := ds.entries[0].ranges
		if len(got) != len(want) {
			return false, nil
		}
		for j := range got {
			if got[j].clock != want[j].Clock || got[j].len != want[j].Len {
				return false, nil
			}
		}
	}
	return nonEmpty == len(s.DeleteSet), nil
}

// visibleIn reports whether it is visible in s, or, for a nil s, whether
// it is not deleted now (yjs isVisible).
func visibleIn(it *Item, s *Snapshot) bool {
	if s == nil {
		return !it.deleted()
	}
	return s.Contains(it.id)
}

// splitSnapshotAffectedStructs splits the structs at the edges of s (its
// state vector and deleted ranges), so that every struct is wholly in or
// out of it (yjs splitSnapshotAffectedStructs). The transaction merges
// them again when it ends.
func splitSnapshotAffectedStructs(tx *Transaction, s *Snapshot) {
	store := tx.doc.store
	for _, client := range slices.Sorted(maps.Keys(s.StateVector)) {
		if clock := s.StateVector[client]; clock < store.state(client) {
			store.getItemCleanStart(tx, ID{client, clock})
		}
	}
	ds := s.deleteSet()
	iterateDeleted(tx, &ds, func(*Item) {})
}

// YChangeFunc describes a change for Text.ToDeltaAt: action is "added" or
// "removed" and id names the first unit of the text item concerned. Its
// result becomes the "ychange" attribute of the delta ops (yjs
// computeYChange).
type YChangeFunc func(action string, id ID) any

// ToDeltaAt returns the text as it was at snapshot, as a delta (yjs
// toDelta(snapshot, prevSnapshot, computeYChange)). With prevSnapshot
// also given, text that only one of the two has is included too and
// marked with a "ychange" attribute: computeYChange("removed", id) for
// text deleted by snapshot, computeYChange("added", id) for text added
// since prevSnapshot; a nil computeYChange marks with {"type": "removed"}
// or {"type": "added"}. Formatting is the one in force at snapshot. A nil
// snapshot stands for the current state (then deleted text of
// prevSnapshot shows as added, as in yjs). Reading at a snapshot runs a
// transaction (origin "cleanup") that splits the structs at the
// snapshot's edges and merges them again, so it cannot run inside an
// observer of a transaction; with both snapshots nil it is ToDelta.
// Snapshots need the document's history: use a document made with
// DisableGC.
//
//	old := t.ToDeltaAt(&before, nil, nil)
//	diff := t.ToDeltaAt(&after, &before, nil) // what changed, with ychange marks
func (t *Text) ToDeltaAt(snapshot, prevSnapshot *Snapshot, computeYChange YChangeFunc) []Delta {
	var ops []deltaOp
	if t.doc != nil && (snapshot != nil || prevSnapshot != nil) {
		t.doc.transact(func(tx *Transaction) {
			if snapshot != nil {
				splitSnapshotAffectedStructs(tx, snapshot)
			}
			if prevSnapshot != nil {
				splitSnapshotAffectedStructs(tx, prevSnapshot)
			}
			ops = textDelta(t.branch, snapshot, prevSnapshot, computeYChange)
		}, "cleanup", true)
	} else {
		ops = textDelta(t.branch, snapshot, prevSnapshot, computeYChange)
	}
	out := make([]Delta, len(ops))
	for i, op := range ops {
		out[i].Insert = op.insert
		if op.attrs != nil {
			out[i].Attributes = make(map[string]any, len(op.attrs))
			for _, f := range op.attrs {
				out[i].Attributes[f.Key] = f.Value
			}
		}
	}
	return out
}

// deltaOp is an insert of a text delta with its attributes in JavaScript
// object order (nil: no attributes).
type deltaOp struct {
	insert any
	attrs  lib0.Object
}

// textDelta computes yjs's YText toDelta(snapshot, prevSnapshot,
// computeYChange) over b's items; the structs must already be split at
// the snapshots' edges.
func textDelta(b *branch, snapshot, prevSnapshot *Snapshot, computeYChange YChangeFunc) []deltaOp {
	ops := []deltaOp{}
	cur := &orderedAttrs{}
	attrs := func() lib0.Object {
		if len(cur.keys) == 0 {
			return nil
		}
		o := make(lib0.Object, 0, len(cur.keys))
		for _, k := range cur.keys {
			o.Set(k, cur.vals[k])
		}
		return o
	}
	var sb strings.Builder
	pack := func() {
		if sb.Len() > 0 {
			ops = append(ops, deltaOp{insert: sb.String(), attrs: attrs()})
			sb.Reset()
		}
	}
	ychange := func(action string, id ID) any {
		if computeYChange == nil {
			return lib0.Object{{Key: "type", Value: action}}
		}
		return normalizeAny(computeYChange(action, id))
	}
	for n := b.start; n != nil; n = n.right {
		if !visibleIn(n, snapshot) && (prevSnapshot == nil || !visibleIn(n, prevSnapshot)) {
			continue
		}
		switch c := n.content.(type) {
		case *contentString:
			v, has := cur.get("ychange")
			has = has && !isUndefined(v)
			switch {
			case snapshot != nil && !visibleIn(n, snapshot):
				if !has || !ychangeIs(v, n.id.Client, "removed") {
					pack()
					cur.set("ychange", ychange("removed", n.id))
				}
			case prevSnapshot != nil && !visibleIn(n, prevSnapshot):
				if !has || !ychangeIs(v, n.id.Client, "added") {
					pack()
					cur.set("ychange", ychange("added", n.id))
				}
			case has:
				pack()
				cur.del("ychange")
			}
			sb.WriteString(c.s)
		case *contentType, *contentEmbed:
			pack()
			ops = append(ops, deltaOp{insert: c.values()[0], attrs: attrs()})
		case *contentFormat:
			if visibleIn(n, snapshot) {
				pack()
				if c.v == nil {
					cur.del(c.key)
				} else {
					cur.set(c.key, c.v)
				}
			}
		}
	}
	pack()
	return ops
}

// ychangeIs is yjs's `cur.user === client && cur.type === action` on a
// ychange attribute value (false for values without those fields).
func ychangeIs(v any, client uint64, action string) bool {
	o, ok := v.(lib0.Object)
	if !ok {
		return false
	}
	user, ok := o.Get("user")
	if f, isNum := user.(float64); !ok || !isNum || f != float64(client) {
		return false
	}
	typ, ok := o.Get("type")
	return ok && typ == action
}
