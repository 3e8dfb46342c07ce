package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Operations on encoded updates without a Doc (yjs utils/updates.js):
// merging, diffing against a state vector, reading a state vector or the
// clock ranges out of an update, and converting between formats. The
// results are byte-identical with yjs 13.6.33, including its quirks: items
// are never merged (only GC and Skip structs are), gaps are filled with
// Skip structs, and an item written without parent information loses its
// map-key bit, as yjs re-encodes lazily read items.

// Bounds on the structs a Doc-less operation reads: a v1 struct takes at
// least two bytes. In v2, runs of similar structs (GC, deleted content,
// clocks that step evenly) take no bytes at all, so legitimate compact
// updates (the document's own pending data among them) may hold many
// structs per byte: allow 8 per byte plus a floor of 2^20, so that a small
// hostile update cannot make a merge run for ever.
const (
	lazyStructsPerByteV1 = 1
	lazyStructsPerByteV2 = 8
	lazyStructsFloorV2   = 1 << 20
)

// lazyReader streams the structs of one update (yjs LazyStructReader). curr
// is the current struct, nil at the end; err is set when decoding failed.
type lazyReader struct {
	dec         updateDecoder
	filterSkips bool
	clientsLeft uint64
	structsLeft uint64
	client      uint64
	clock       uint64
	budget      int
	curr        *Item
	tie         int64 // order among readers at the same struct (mergeUpdates)
	tracked     *Item // curr as last counted in kindTies
}

func newLazyReader(dec updateDecoder, size int, v2, filterSkips bool) (*lazyReader, error) {
	r := &lazyReader{}
	return r, r.init(dec, size, v2, filterSkips)
}

// init starts reading dec, an update of size bytes.
func (r *lazyReader) init(dec updateDecoder, size int, v2, filterSkips bool) error {
	*r = lazyReader{dec: dec, filterSkips: filterSkips, budget: size * lazyStructsPerByteV1}
	if v2 {
		r.budget = size*lazyStructsPerByteV2 + lazyStructsFloorV2
	}
	n, err := readRestVarUint(dec)
	if err != nil {
		return err
	}
	r.clientsLeft = n
	return r.next()
}

// next advances to the next struct (skipping Skips if filterSkips).
func (r *lazyReader) next() error {
	for {
		if err := r.read(); err != nil {
			r.curr = nil
			return err
		}
		if r.curr == nil || !r.filterSkips || !r.curr.isSkip() {
			return nil
		}
	}
}

func (r *lazyReader) read() error {
	for r.structsLeft == 0 {
		if r.clientsLeft == 0 {
			r.curr = nil
			return nil
		}
		r.clientsLeft--
		n, err := readRestVarUint(r.dec)
		if err != nil {
			return err
		}
		if r.client, err = r.dec.ReadClient(); err != nil {
			return err
		}
		if r.clock, err = readRestVarUint(r.dec); err != nil {
			return err
		}
		r.structsLeft = n
	}
	r.budget--
	if r.budget < 0 {
		return fmt.Errorf("%w: too many structs for the update's size", ErrMalformedUpdate)
	}
	it, err := readStruct(r.dec, r.client, r.clock, nil)
	if err != nil {
		return err
	}
	if it.len == 0 {
		return fmt.Errorf("%w: empty struct", ErrMalformedUpdate)
	}
	if r.clock+it.len > lib0.MaxSafeInteger {
		return fmt.Errorf("%w: clock overflow", ErrMalformedUpdate)
	}
	// yjs keeps the map key of a lazily read item only when the parent is
	// written out (no origins); re-encoding then drops the key bit.
	if it.info&(itemHasOrigin|itemHasRightOrigin) != 0 {
		it.info &^= itemHasParentSub
	}
	r.structsLeft--
	r.clock += it.len
	r.curr = it
	return nil
}

// lazyWriter writes structs grouped by client (yjs LazyStructWriter): each
// client's structs are encoded into the rest stream, cut out, and written
// after the number of clients once all are known.
type lazyWriter struct {
	enc        updateEncoder
	currClient uint64
	written    uint64
	fragments  []lazyFragment
}

type lazyFragment struct {
	written uint64
	rest    []byte
}

func (w *lazyWriter) rest() *lib0.Encoder { return w.enc.(restEncoderOf).restEncoder() }

func (w *lazyWriter) flush() {
	if w.written > 0 {
		r := w.rest()
		w.fragments = append(w.fragments, lazyFragment{w.written, bytes.Clone(r.Bytes())})
		r.Reset()
		w.written = 0
	}
}

// write writes s, skipping its first offset clock units.
func (w *lazyWriter) write(s *Item, offset uint64) {
	if w.written > 0 && w.currClient != s.id.Client {
		w.flush()
	}
	if w.written == 0 {
		w.currClient = s.id.Client
		w.enc.WriteClient(s.id.Client)
		w.rest().WriteVarUint(s.id.Clock + offset)
	}
	s.write(w.enc, offset)
	w.written++
}

// finish writes the client count and the fragments to the rest stream.
func (w *lazyWriter) finish() {
	w.flush()
	r := w.rest()
	r.WriteVarUint(uint64(len(w.fragments)))
	for _, f := range w.fragments {
		r.WriteVarUint(f.written)
		r.WriteBytes(f.rest)
	}
}

// lazyDeleteSet is a delete set as yjs's readDeleteSet builds it: clients
// without ranges are left out. A client listed twice is rejected (yjs
// would append the lists, and write them out of order, which format v2
// cannot express).
type lazyDeleteSet []lazyDeleteEntry

type lazyDeleteEntry struct {
	client uint64
	ranges []deleteRange
}

func readLazyDeleteSet(dec updateDecoder) (lazyDeleteSet, error) {
	clients, ranges, err := readDeleteSet(dec)
	if err != nil {
		return nil, err
	}
	var ds lazyDeleteSet
	for i, c := range clients {
		if len(ranges[i]) == 0 {
			continue
		}
		for _, e := range ds {
			if e.client == c {
				return nil, fmt.Errorf("%w: client %d listed twice in the delete set", ErrMalformedUpdate, c)
			}
		}
		ds = append(ds, lazyDeleteEntry{c, ranges[i]})
	}
	return ds, nil
}

// write encodes the delete set, clients descending, ranges as they are
// (yjs writeDeleteSet).
func (ds lazyDeleteSet) write(enc updateEncoder) {
	slices.SortFunc(ds, func(a, b lazyDeleteEntry) int { return cmpU64(b.client, a.client) })
	rest := enc.(restEncoderOf).restEncoder()
	rest.WriteVarUint(uint64(len(ds)))
	for _, e := range ds {
		enc.ResetDsCurVal()
		rest.WriteVarUint(e.client)
		rest.WriteVarUint(uint64(len(e.ranges)))
		for _, r := range e.ranges {
			enc.WriteDsClock(r.clock)
			enc.WriteDsLen(r.len)
		}
	}
}

// mergeLazyDeleteSets concatenates the ranges of every client in order,
// then sorts and merges them (yjs mergeDeleteSets, sortAndMergeDeleteSet).
func mergeLazyDeleteSets(dss []lazyDeleteSet) lazyDeleteSet {
	index := make(map[uint64]int)
	var merged lazyDeleteSet
	for _, ds := range dss {
		for _, e := range ds {
			i, ok := index[e.client]
			if !ok {
				i = len(merged)
				index[e.client] = i
				merged = append(merged, lazyDeleteEntry{client: e.client})
			}
			merged[i].ranges = append(merged[i].ranges, e.ranges...)
		}
	}
	for k := range merged {
		rs := merged[k].ranges
		slices.SortStableFunc(rs, func(a, b deleteRange) int { return cmpU64(a.clock, b.clock) })
		j := 1
		for i := 1; i < len(rs); i++ {
			left, right := rs[j-1], rs[i]
			if left.clock+left.len >= right.clock {
				rs[j-1] = deleteRange{left.clock, max(left.len, right.clock+right.len-left.clock)}
			} else {
				rs[j] = right
				j++
			}
		}
		merged[k].ranges = rs[:j]
	}
	return merged
}

// sliceStruct returns s without its first diff clock units (yjs
// sliceStruct). It splices the content of an item, so s itself keeps only
// [0, diff) afterwards.
func sliceStruct(s *Item, diff uint64) *Item {
	id := ID{s.id.Client, s.id.Clock + diff}
	switch {
	case s.isGC():
		return newGC(id, s.len-diff)
	case s.isSkip():
		return &Item{id: id, len: s.len - diff, info: itemSkip}
	}
	return &Item{
		id:          id,
		len:         s.len - diff,
		origin:      ID{s.id.Client, s.id.Clock + diff - 1},
		rightOrigin: s.rightOrigin,
		parent:      s.parent,
		extra:       s.extra,
		content:     s.content.splice(diff),
		info:        itemHasOrigin | s.info&(itemHasRightOrigin|itemHasParentSub|itemCountable),
	}
}

// lazyMergeWith is yjs's struct mergeWith for lazily read structs: GC and
// Skip absorb a right neighbour of their own kind; items never merge (yjs
// requires left.right === right, never true for structs read lazily).
func lazyMergeWith(left, right *Item) bool {
	if (left.isGC() && right.isGC()) || (left.isSkip() && right.isSkip()) {
		left.len += right.len
		return true
	}
	return false
}

func (it *Item) end() uint64 { return it.id.Clock + it.len }

// readerQueue is a binary min-heap of lazy readers by (client descending,
// clock ascending, tie ascending).
type readerQueue struct{ items []*lazyReader }

func (q *readerQueue) less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if a.curr.id.Client != b.curr.id.Client {
		return a.curr.id.Client > b.curr.id.Client
	}
	if a.curr.id.Clock != b.curr.id.Clock {
		return a.curr.id.Clock < b.curr.id.Clock
	}
	return a.tie < b.tie
}

func (q *readerQueue) init() {
	for i := len(q.items)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *readerQueue) down(i int) {
	n := len(q.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
}

func (q *readerQueue) fixRoot() { q.down(0) }

func (q *readerQueue) popRoot() {
	n := len(q.items) - 1
	q.items[0] = q.items[n]
	q.items[n] = nil
	q.items = q.items[:n]
	if n > 0 {
		q.down(0)
	}
}

// kindTies counts, per struct start, the readers whose current struct is
// an item or a GC there; conflicts is the number of starts with both. It
// starts counting (active) once a reader meets a GC struct.
type kindTies struct {
	active    bool
	counts    map[ID][2]int32
	conflicts int
}

// activate starts counting the current structs of readers.
func (k *kindTies) activate(readers []*lazyReader) {
	k.active = true
	for _, r := range readers {
		k.add(r)
	}
}

func (k *kindTies) add(r *lazyReader) {
	r.tracked = r.curr
	if r.curr == nil {
		return
	}
	if k.counts == nil {
		k.counts = make(map[ID][2]int32)
	}
	c := k.counts[r.curr.id]
	before := c[0] > 0 && c[1] > 0
	if r.curr.isGC() {
		c[1]++
	} else {
		c[0]++
	}
	k.counts[r.curr.id] = c
	if !before && c[0] > 0 && c[1] > 0 {
		k.conflicts++
	}
}

func (k *kindTies) remove(r *lazyReader) {
	s := r.tracked
	if s == nil {
		return
	}
	c := k.counts[s.id]
	before := c[0] > 0 && c[1] > 0
	if s.isGC() {
		c[1]--
	} else {
		c[0]--
	}
	if c[0] == 0 && c[1] == 0 {
		delete(k.counts, s.id)
	} else {
		k.counts[s.id] = c
	}
	if before && (c[0] <= 0 || c[1] <= 0) {
		k.conflicts--
	}
	r.tracked = nil
}

// compareReadersJS is yjs's comparator of struct readers in mergeUpdates,
// inconsistency included: structs of different kinds at the same clock
// compare as -1 both ways (Skip as 1).
func compareReadersJS(a, b *lazyReader) int {
	x, y := a.curr, b.curr
	if x.id.Client != y.id.Client {
		return cmpU64(y.id.Client, x.id.Client)
	}
	if x.id.Clock != y.id.Clock {
		return cmpU64(x.id.Clock, y.id.Clock)
	}
	if structKind(x) == structKind(y) {
		return 0
	}
	if x.isSkip() {
		return 1
	}
	return -1
}

func structKind(s *Item) int {
	switch {
	case s.isGC():
		return 1
	case s.isSkip():
		return 2
	}
	return 0
}

// MergeUpdates merges v1 updates into one v1 update (yjs mergeUpdates).
// Structs known from several updates are written once, missing ranges
// become Skip structs, and the delete sets are merged. A single update is
// returned as is.
//
//	merged, err := crdt.MergeUpdates([][]byte{a, b})
func MergeUpdates(updates [][]byte) ([]byte, error) {
	return mergeUpdates(updates, false)
}

// MergeUpdatesV2 is MergeUpdates for v2 updates.
func MergeUpdatesV2(updates [][]byte) ([]byte, error) {
	return mergeUpdates(updates, true)
}

// errNeedV8Order makes mergeUpdates start over sorting exactly as V8 does.
var errNeedV8Order = errors.New("crdt: merge needs V8's sort order")

func mergeUpdates(updates [][]byte, v2 bool) ([]byte, error) {
	if len(updates) == 1 {
		return updates[0], nil
	}
	out, err := mergeUpdatesOrdered(updates, v2, false)
	if errors.Is(err, errNeedV8Order) {
		return mergeUpdatesOrdered(updates, v2, true)
	}
	return out, err
}

// mergeUpdatesOrdered is yjs's mergeUpdatesV2. yjs filters and re-sorts
// its readers on every step (by client descending, then clock ascending; a
// GC and an item at the same clock compare as "less" both ways, so the
// order then depends on V8's sort algorithm). With v8Order, or below 64
// readers, every step sorts with an emulation of V8's sort. Otherwise a
// priority queue gives the same order in O(log n) per step: only the first
// reader moves in a step, so ties go to the reader that moved most
// recently, then to the earlier update, as a stable sort keeps them. That
// holds while no GC and item share a clock; if they do, it returns
// errNeedV8Order. (yjs's own merge re-sorts everything on every step and
// does not finish B4's 259,778 updates.)
func mergeUpdatesOrdered(updates [][]byte, v2, v8Order bool) ([]byte, error) {
	decoders := make([]updateDecoder, len(updates))
	readers := make([]*lazyReader, len(updates))
	readerSlab := make([]lazyReader, len(updates))
	var v1Slab []updateDecoderV1
	if !v2 {
		v1Slab = make([]updateDecoderV1, len(updates))
	}
	for i, u := range updates {
		if v2 {
			dec, err := newUpdateDecoderV2(u)
			if err != nil {
				return nil, fmt.Errorf("update %d: %w", i, err)
			}
			decoders[i] = dec
		} else {
			v1Slab[i].rest.Reset(u)
			decoders[i] = &v1Slab[i]
		}
		readers[i] = &readerSlab[i]
		if err := readers[i].init(decoders[i], len(u), v2, true); err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
	}
	enc := newUpdateEncoder(v2)
	w := &lazyWriter{enc: enc}
	var currWrite *Item
	useQueue := len(readers) >= 64 && !v8Order
	q := &readerQueue{}
	var ties kindTies
	var arr []*lazyReader
	for i, r := range readers {
		if r.curr != nil {
			r.tie = int64(i)
			q.items = append(q.items, r)
		}
	}
	if useQueue {
		q.init()
		for _, r := range q.items {
			if r.curr.isGC() {
				ties.activate(q.items)
				break
			}
		}
		if ties.conflicts > 0 {
			return nil, errNeedV8Order
		}
	} else {
		arr, q.items = q.items, nil
	}
	var moves int64
	var prev *lazyReader
	for {
		var cd *lazyReader
		if useQueue {
			if prev != nil {
				if ties.active {
					ties.remove(prev)
					ties.add(prev)
				} else if prev.curr != nil && prev.curr.isGC() {
					ties.activate(q.items)
				}
				if ties.conflicts > 0 {
					return nil, errNeedV8Order
				}
				if prev.curr == nil {
					q.popRoot()
				} else {
					moves++
					prev.tie = -moves
					q.fixRoot()
				}
			}
			if len(q.items) == 0 {
				break
			}
			cd = q.items[0]
		} else {
			arr = slices.DeleteFunc(arr, func(r *lazyReader) bool { return r.curr == nil })
			if len(arr) == 0 {
				break
			}
			v8Sort(arr, compareReadersJS)
			cd = arr[0]
		}
		prev = cd
		firstClient := cd.curr.id.Client
		if currWrite != nil {
			curr := cd.curr
			iterated := false
			// Skip what was written already (higher clients come first).
			for curr != nil && curr.end() <= currWrite.end() && curr.id.Client >= currWrite.id.Client {
				if err := cd.next(); err != nil {
					return nil, err
				}
				curr = cd.curr
				iterated = true
			}
			if curr == nil || curr.id.Client != firstClient || (iterated && curr.id.Clock > currWrite.end()) {
				continue
			}
			if firstClient != currWrite.id.Client {
				w.write(currWrite, 0)
				currWrite = curr
				if err := cd.next(); err != nil {
					return nil, err
				}
			} else if currWrite.end() < curr.id.Clock {
				if currWrite.isSkip() {
					// yjs extends the Skip over curr as well.
					currWrite.len = curr.end() - currWrite.id.Clock
				} else {
					w.write(currWrite, 0)
					diff := curr.id.Clock - currWrite.end()
					currWrite = &Item{id: ID{firstClient, currWrite.end()}, len: diff, info: itemSkip}
				}
			} else {
				if diff := currWrite.end() - curr.id.Clock; diff > 0 {
					if currWrite.isSkip() {
						currWrite.len -= diff
					} else {
						curr = sliceStruct(curr, diff)
					}
				}
				if !lazyMergeWith(currWrite, curr) {
					w.write(currWrite, 0)
					currWrite = curr
					if err := cd.next(); err != nil {
						return nil, err
					}
				}
			}
		} else {
			currWrite = cd.curr
			if err := cd.next(); err != nil {
				return nil, err
			}
		}
		for next := cd.curr; next != nil && next.id.Client == firstClient && next.id.Clock == currWrite.end() && !next.isSkip(); next = cd.curr {
			w.write(currWrite, 0)
			currWrite = next
			if err := cd.next(); err != nil {
				return nil, err
			}
		}
	}
	if currWrite != nil {
		w.write(currWrite, 0)
	}
	w.finish()
	dss := make([]lazyDeleteSet, len(decoders))
	for i, dec := range decoders {
		ds, err := readLazyDeleteSet(dec)
		if err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		dss[i] = ds
	}
	mergeLazyDeleteSets(dss).write(enc)
	return enc.ToBytes(), nil
}

// DiffUpdate returns the part of a v1 update that a peer with state vector
// sv lacks (yjs diffUpdate): structs the state vector covers are dropped,
// the first partly covered struct of a client is cut, and the whole delete
// set is kept.
//
//	missing, err := crdt.DiffUpdate(stored, remoteStateVector)
func DiffUpdate(update, sv []byte) ([]byte, error) {
	return diffUpdate(update, sv, false)
}

// DiffUpdateV2 is DiffUpdate for v2 updates.
func DiffUpdateV2(update, sv []byte) ([]byte, error) {
	return diffUpdate(update, sv, true)
}

func diffUpdate(update, svBytes []byte, v2 bool) ([]byte, error) {
	state, err := DecodeStateVector(svBytes)
	if err != nil {
		return nil, err
	}
	enc := newUpdateEncoder(v2)
	w := &lazyWriter{enc: enc}
	dec, err := newUpdateDecoder(update, v2)
	if err != nil {
		return nil, err
	}
	r, err := newLazyReader(dec, len(update), v2, false)
	if err != nil {
		return nil, err
	}
	for r.curr != nil {
		curr := r.curr
		client := curr.id.Client
		svClock := state[client]
		if curr.isSkip() {
			// The first written struct must not be a Skip.
			if err := r.next(); err != nil {
				return nil, err
			}
			continue
		}
		if curr.end() > svClock {
			var offset uint64
			if svClock > curr.id.Clock {
				offset = svClock - curr.id.Clock
			}
			w.write(curr, offset)
			if err := r.next(); err != nil {
				return nil, err
			}
			for r.curr != nil && r.curr.id.Client == client {
				w.write(r.curr, 0)
				if err := r.next(); err != nil {
					return nil, err
				}
			}
		} else {
			for r.curr != nil && r.curr.id.Client == client && r.curr.end() <= svClock {
				if err := r.next(); err != nil {
					return nil, err
				}
			}
		}
	}
	w.finish()
	ds, err := readLazyDeleteSet(dec)
	if err != nil {
		return nil, err
	}
	ds.write(enc)
	return enc.ToBytes(), nil
}

// EncodeStateVectorFromUpdate returns the state vector of a v1 update (yjs
// encodeStateVectorFromUpdate): per client, the end of the run of structs
// that starts at clock 0 without gaps or Skips. Clients whose structs do
// not start at 0 are left out.
func EncodeStateVectorFromUpdate(update []byte) ([]byte, error) {
	return encodeStateVectorFromUpdate(update, false)
}

// EncodeStateVectorFromUpdateV2 is EncodeStateVectorFromUpdate for a v2
// update.
func EncodeStateVectorFromUpdateV2(update []byte) ([]byte, error) {
	return encodeStateVectorFromUpdate(update, true)
}

func encodeStateVectorFromUpdate(update []byte, v2 bool) ([]byte, error) {
	dec, err := newUpdateDecoder(update, v2)
	if err != nil {
		return nil, err
	}
	r, err := newLazyReader(dec, len(update), v2, false)
	if err != nil {
		return nil, err
	}
	curr := r.curr
	if curr == nil {
		return []byte{0}, nil
	}
	var body lib0.Encoder
	size := uint64(0)
	currClient := curr.id.Client
	stopCounting := curr.id.Clock != 0
	var currClock uint64
	if !stopCounting {
		currClock = curr.end()
	}
	for ; curr != nil; curr = r.curr {
		if currClient != curr.id.Client {
			if currClock != 0 {
				size++
				body.WriteVarUint(currClient)
				body.WriteVarUint(currClock)
			}
			currClient = curr.id.Client
			currClock = 0
			stopCounting = curr.id.Clock != 0
		}
		if curr.isSkip() {
			stopCounting = true
		}
		if !stopCounting {
			currClock = curr.end()
		}
		if err := r.next(); err != nil {
			return nil, err
		}
	}
	if currClock != 0 {
		size++
		body.WriteVarUint(currClient)
		body.WriteVarUint(currClock)
	}
	var out lib0.Encoder
	out.WriteVarUint(size)
	out.WriteBytes(body.Bytes())
	return out.Bytes(), nil
}

// UpdateMeta is the range of clocks an update holds per client: From is
// the clock of the client's first struct, To the end of its last.
type UpdateMeta struct {
	From map[uint64]uint64
	To   map[uint64]uint64
}

// ParseUpdateMeta returns the clock ranges of a v1 update (yjs
// parseUpdateMeta).
func ParseUpdateMeta(update []byte) (UpdateMeta, error) {
	return parseUpdateMeta(update, false)
}

// ParseUpdateMetaV2 is ParseUpdateMeta for a v2 update.
func ParseUpdateMetaV2(update []byte) (UpdateMeta, error) {
	return parseUpdateMeta(update, true)
}

func parseUpdateMeta(update []byte, v2 bool) (UpdateMeta, error) {
	meta := UpdateMeta{From: map[uint64]uint64{}, To: map[uint64]uint64{}}
	dec, err := newUpdateDecoder(update, v2)
	if err != nil {
		return UpdateMeta{}, err
	}
	r, err := newLazyReader(dec, len(update), v2, false)
	if err != nil {
		return UpdateMeta{}, err
	}
	curr := r.curr
	if curr == nil {
		return meta, nil
	}
	currClient, currClock := curr.id.Client, curr.id.Clock
	meta.From[currClient] = currClock
	for ; curr != nil; curr = r.curr {
		if currClient != curr.id.Client {
			meta.To[currClient] = currClock
			meta.From[curr.id.Client] = curr.id.Clock
			currClient = curr.id.Client
		}
		currClock = curr.end()
		if err := r.next(); err != nil {
			return UpdateMeta{}, err
		}
	}
	meta.To[currClient] = currClock
	return meta, nil
}

// ConvertUpdateFormatV1ToV2 re-encodes a v1 update in format v2 (yjs
// convertUpdateFormatV1ToV2).
func ConvertUpdateFormatV1ToV2(update []byte) ([]byte, error) {
	return convertUpdateFormat(update, false, true)
}

// ConvertUpdateFormatV2ToV1 re-encodes a v2 update in format v1 (yjs
// convertUpdateFormatV2ToV1).
func ConvertUpdateFormatV2ToV1(update []byte) ([]byte, error) {
	return convertUpdateFormat(update, true, false)
}

func convertUpdateFormat(update []byte, fromV2, toV2 bool) ([]byte, error) {
	dec, err := newUpdateDecoder(update, fromV2)
	if err != nil {
		return nil, err
	}
	r, err := newLazyReader(dec, len(update), fromV2, false)
	if err != nil {
		return nil, err
	}
	enc := newUpdateEncoder(toV2)
	w := &lazyWriter{enc: enc}
	for r.curr != nil {
		w.write(r.curr, 0)
		if err := r.next(); err != nil {
			return nil, err
		}
	}
	w.finish()
	ds, err := readLazyDeleteSet(dec)
	if err != nil {
		return nil, err
	}
	ds.write(enc)
	return enc.ToBytes(), nil
}
