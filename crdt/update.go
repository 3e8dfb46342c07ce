package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Struct-count limits per byte of input: a v1 struct takes at least two
// bytes; v2 column encodings compress runs (a yjs v2 state of 20,000
// deleted single-character prepends is 42 bytes), so allow 8 per byte plus
// a floor, bounded so that a small hostile update cannot claim billions of
// structs.
const (
	maxStructsPerByteV1 = 1
	maxStructsPerByteV2 = 8
	maxStructsFloorV2   = 1 << 20
)

// structRefs are the decoded structs of one client, i of them consumed.
type structRefs struct {
	i    int
	refs []*Item
}

// readStructs decodes the struct section of an update (yjs
// readClientsStructRefs). Root parents are resolved with root (which may
// be nil: then a detached branch carrying the name stands in).
func readStructs(dec updateDecoder, root func(string) *branch, limit int) (map[uint64]*structRefs, error) {
	numClients, err := readRestVarUint(dec)
	if err != nil {
		return nil, err
	}
	refsByClient := make(map[uint64]*structRefs, min(numClients, 8))
	total := 0
	for c := uint64(0); c < numClients; c++ {
		n, err := readRestVarUint(dec)
		if err != nil {
			return nil, err
		}
		client, err := dec.ReadClient()
		if err != nil {
			return nil, err
		}
		clock, err := readRestVarUint(dec)
		if err != nil {
			return nil, err
		}
		sr := &structRefs{refs: make([]*Item, 0, min(n, 64))}
		refsByClient[client] = sr
		for i := uint64(0); i < n; i++ {
			total++
			if total > limit {
				return nil, fmt.Errorf("%w: too many structs for the update's size", ErrMalformedUpdate)
			}
			it, err := readStruct(dec, client, clock, root)
			if err != nil {
				return nil, err
			}
			if it.len == 0 {
				return nil, fmt.Errorf("%w: empty struct", ErrMalformedUpdate)
			}
			if clock+it.len > lib0.MaxSafeInteger || clock+it.len < clock {
				return nil, fmt.Errorf("%w: clock overflow", ErrMalformedUpdate)
			}
			sr.refs = append(sr.refs, it)
			clock += it.len
		}
	}
	return refsByClient, nil
}

// readStruct decodes one struct (GC, Skip or Item) at (client, clock).
func readStruct(dec updateDecoder, client, clock uint64, root func(string) *branch) (*Item, error) {
	info, err := dec.ReadInfo()
	if err != nil {
		return nil, err
	}
	id := ID{client, clock}
	switch info & 0x1f {
	case refGC:
		n, err := dec.ReadLen()
		if err != nil {
			return nil, err
		}
		return newGC(id, n), nil
	case refSkip:
		n, err := readRestVarUint(dec)
		if err != nil {
			return nil, err
		}
		return &Item{id: id, len: n, info: itemSkip}, nil
	}
	var it *Item
	var sc *contentString
	if info&0x1f == refString {
		si := &stringItem{}
		it, sc = &si.Item, &si.c
	} else {
		it = &Item{}
	}
	it.id = id
	if info&0x80 != 0 {
		if it.origin, err = dec.ReadLeftID(); err != nil {
			return nil, err
		}
		it.info |= itemHasOrigin
	}
	if info&0x40 != 0 {
		if it.rightOrigin, err = dec.ReadRightID(); err != nil {
			return nil, err
		}
		it.info |= itemHasRightOrigin
	}
	if info&0xc0 == 0 {
		isKey, err := dec.ReadParentInfo()
		if err != nil {
			return nil, err
		}
		if isKey {
			name, err := dec.ReadString()
			if err != nil {
				return nil, err
			}
			if root != nil {
				it.parent = root(name)
			} else {
				it.parent = &branch{name: name, ref: refUnknown}
			}
		} else {
			pid, err := dec.ReadLeftID()
			if err != nil {
				return nil, err
			}
			it.extra = &itemExtra{parentID: pid, hasParentID: true}
		}
		if info&0x20 != 0 {
			key, err := dec.ReadString()
			if err != nil {
				return nil, err
			}
			if it.extra == nil {
				it.extra = &itemExtra{}
			}
			it.extra.parentSub = key
			it.info |= itemHasParentSub
		}
	} else if info&0x20 != 0 {
		// The key is inferred from the neighbours; keep the bit so the item
		// is re-encoded with it.
		it.info |= itemHasParentSub
	}
	var c content
	if sc != nil {
		s, err := dec.ReadString()
		if err != nil {
			return nil, err
		}
		sc.s, sc.n = s, utf16Len(s)
		c = sc
	} else if c, err = readContent(dec, info&0x1f); err != nil {
		return nil, err
	}
	it.content = c
	it.len = c.length()
	// A struct can only reference structs its client made before it.
	if (it.info&itemHasOrigin != 0 && it.origin.Client == client && it.origin.Clock >= clock) ||
		(it.info&itemHasRightOrigin != 0 && it.rightOrigin.Client == client && it.rightOrigin.Clock >= clock) ||
		(it.pid() != nil && it.pid().Client == client && it.pid().Clock >= clock) {
		return nil, fmt.Errorf("%w: struct references a later struct of its own client", ErrMalformedUpdate)
	}
	if c.countable() {
		it.info |= itemCountable
	}
	return it, nil
}

// pendingResult is what integrateStructs could not integrate.
type pendingResult struct {
	missing map[uint64]uint64
	update  []byte // v2
}

// integrateStructs integrates decoded structs, chasing dependencies across
// clients; structs whose dependencies are missing are returned encoded as
// a v2 update (yjs integrateStructs).
func integrateStructs(tx *Transaction, s *structStore, refs map[uint64]*structRefs) *pendingResult {
	var stack []*Item
	var idsBuf [4]uint64
	ids := idsBuf[:0]
	for c := range refs {
		ids = append(ids, c)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	nextTarget := func() *structRefs {
		for len(ids) > 0 {
			t := refs[ids[len(ids)-1]]
			if t != nil && t.i < len(t.refs) {
				return t
			}
			ids = ids[:len(ids)-1]
		}
		return nil
	}
	cur := nextTarget()
	if cur == nil {
		return nil
	}
	var rest map[uint64][]*Item
	var missingSV map[uint64]uint64
	updateMissing := func(client, clock uint64) {
		if missingSV == nil {
			missingSV = make(map[uint64]uint64)
		}
		if m, ok := missingSV[client]; !ok || m > clock {
			missingSV[client] = clock
		}
	}
	head := cur.refs[cur.i]
	cur.i++
	var stateBuf [4]clientClock
	state := stateVec{small: stateBuf[:0]}
	setState := func(client, clock uint64) {
		if state.m != nil {
			state.m[client] = clock
			return
		}
		for i := range state.small {
			if state.small[i].client == client {
				state.small[i].clock = clock
				return
			}
		}
		if len(state.small) < smallStateVec {
			state.small = append(state.small, clientClock{client, clock})
			return
		}
		state.m = make(map[uint64]uint64, len(state.small)+1)
		for _, e := range state.small {
			state.m[e.client] = e.clock
		}
		state.m[client] = clock
	}
	addStackToRest := func() {
		if rest == nil {
			rest = make(map[uint64][]*Item)
		}
		for _, it := range stack {
			client := it.id.Client
			if inapplicable := refs[client]; inapplicable != nil {
				inapplicable.i--
				rest[client] = inapplicable.refs[inapplicable.i:]
				delete(refs, client)
				inapplicable.i = 0
				inapplicable.refs = nil
			} else {
				rest[client] = []*Item{it}
			}
			ids = slices.DeleteFunc(ids, func(c uint64) bool { return c == client })
		}
		stack = stack[:0]
	}
	for {
		if !head.isSkip() {
			localClock, ok := state.lookup(head.id.Client)
			if !ok {
				localClock = s.state(head.id.Client)
				setState(head.id.Client, localClock)
			}
			if localClock < head.id.Clock {
				stack = append(stack, head)
				updateMissing(head.id.Client, head.id.Clock-1)
				addStackToRest()
			} else {
				offset := localClock - head.id.Clock
				missing, isMissing := head.getMissing(tx, s)
				if isMissing {
					stack = append(stack, head)
					sr := refs[missing]
					if sr == nil || sr.i == len(sr.refs) {
						updateMissing(missing, s.state(missing))
						addStackToRest()
					} else {
						head = sr.refs[sr.i]
						sr.i++
						continue
					}
				} else if offset == 0 || offset < head.len {
					head.integrate(tx, offset)
					setState(head.id.Client, head.id.Clock+head.len)
				}
			}
		}
		if len(stack) > 0 {
			head = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		} else if cur != nil && cur.i < len(cur.refs) {
			head = cur.refs[cur.i]
			cur.i++
		} else {
			cur = nextTarget()
			if cur == nil {
				break
			}
			head = cur.refs[cur.i]
			cur.i++
		}
	}
	if len(rest) == 0 {
		return nil
	}
	enc := newUpdateEncoder(true)
	restLists := make(map[uint64]*structList, len(rest))
	for c, items := range rest {
		restLists[c] = newStructList(items)
	}
	writeStructsFrom(enc, restLists, nil)
	writeRestVarUint(enc, 0)
	return &pendingResult{missing: missingSV, update: enc.ToBytes()}
}

// readDeleteSet decodes a delete set (yjs readDeleteSet), keeping the
// ranges in encoded order.
func readDeleteSet(dec updateDecoder) (clients []uint64, ranges [][]deleteRange, err error) {
	n, err := readRestVarUint(dec)
	if err != nil {
		return nil, nil, err
	}
	for i := uint64(0); i < n; i++ {
		dec.ResetDsCurVal()
		client, err := readRestVarUint(dec)
		if err != nil {
			return nil, nil, err
		}
		k, err := readRestVarUint(dec)
		if err != nil {
			return nil, nil, err
		}
		var rs []deleteRange
		for j := uint64(0); j < k; j++ {
			clock, err := dec.ReadDsClock()
			if err != nil {
				return nil, nil, err
			}
			l, err := dec.ReadDsLen()
			if err != nil {
				return nil, nil, err
			}
			if clock+l > lib0.MaxSafeInteger || clock+l < clock {
				return nil, nil, fmt.Errorf("%w: delete range overflows", ErrMalformedUpdate)
			}
			rs = append(rs, deleteRange{clock, l})
		}
		clients = append(clients, client)
		ranges = append(ranges, rs)
	}
	return clients, ranges, nil
}

// applyDeleteSet deletes the given ranges and returns the ranges beyond the
// current state encoded as a v2 update, or nil (yjs readAndApplyDeleteSet).
func applyDeleteSet(tx *Transaction, s *structStore, clients []uint64, ranges [][]deleteRange) []byte {
	unapplied := newDeleteSet()
	for ci, client := range clients {
		state := s.state(client)
		for _, r := range ranges[ci] {
			clock, clockEnd := r.clock, r.clock+r.len
			if clock >= state {
				unapplied.add(client, clock, clockEnd-clock)
				continue
			}
			if state < clockEnd {
				unapplied.add(client, state, clockEnd-state)
			}
			structs := s.clients[client]
			index := structs.findIndex(clock)
			st := structs.at(index)
			if !st.deleted() && st.id.Clock < clock {
				structs.insert(index+1, st.split(s, tx, clock-st.id.Clock))
				index++
			}
			for index < structs.len() {
				st = structs.at(index)
				index++
				if st.id.Clock >= clockEnd {
					break
				}
				if !st.deleted() {
					if clockEnd < st.id.Clock+st.len {
						structs.insert(index, st.split(s, tx, clockEnd-st.id.Clock))
					}
					st.delete(tx)
				}
			}
		}
	}
	if unapplied.empty() {
		return nil
	}
	enc := newUpdateEncoder(true)
	writeRestVarUint(enc, 0)
	unapplied.write(enc)
	return enc.ToBytes()
}

// ApplyUpdate applies a v1 update (from OnUpdate, EncodeStateAsUpdate or a
// yjs peer) with the given transaction origin. Structs whose dependencies
// are missing are kept and applied once those arrive. A malformed update
// returns an error wrapping ErrMalformedUpdate and changes nothing.
//
//	if err := crdt.ApplyUpdate(d, update, "remote"); err != nil { ... }
func ApplyUpdate(d *Doc, update []byte, origin any) error {
	return applyUpdate(d, update, origin, false)
}

// ApplyUpdateV2 is ApplyUpdate for the v2 format.
func ApplyUpdateV2(d *Doc, update []byte, origin any) error {
	return applyUpdate(d, update, origin, true)
}

func applyUpdate(d *Doc, update []byte, origin any, v2 bool) error {
	var dec updateDecoder
	if v2 {
		var err error
		if dec, err = newUpdateDecoder(update, true); err != nil {
			return asMalformed(err)
		}
	} else {
		// Decoding finishes before integration starts, so a nested apply
		// (from an observer) may reuse the document's decoder.
		d.v1dec.rest.Reset(update)
		dec = &d.v1dec
	}
	limit := len(update)*maxStructsPerByteV1 + 16
	if v2 {
		limit = len(update)*maxStructsPerByteV2 + maxStructsFloorV2
	}
	// Decode everything before touching the document, so that a malformed
	// update changes nothing. Root types named by the update are created
	// only once it decoded.
	var roots []string
	refs, err := readStructs(dec, func(name string) *branch {
		if b := d.share[name]; b != nil {
			return b
		}
		roots = append(roots, name)
		return &branch{doc: d, name: name, ref: refUnknown}
	}, limit)
	if err != nil {
		return asMalformed(err)
	}
	dsClients, dsRanges, err := readDeleteSet(dec)
	if err != nil {
		return asMalformed(err)
	}
	if len(roots) > 0 {
		// Bind the placeholders to real roots (one per name).
		bound := make(map[string]*branch)
		for _, sr := range refs {
			for _, it := range sr.refs {
				if it.parent != nil && it.parent.item == nil && d.share[it.parent.name] != it.parent {
					b := bound[it.parent.name]
					if b == nil {
						b = d.root(it.parent.name)
						bound[it.parent.name] = b
					}
					it.parent = b
				}
			}
		}
	}
	return integrateSafely(d, origin, refs, dsClients, dsRanges)
}

// integrateFault, when set by a test, runs at the start of every
// integration (to simulate an internal failure).
var integrateFault func(*Transaction)

// integrateSafely integrates a decoded update. Decoding validated it, so
// integration does not fail; should a bug make it panic anyway, the panic
// is returned as an error instead of taking the caller down.
func integrateSafely(d *Doc, origin any, refs map[uint64]*structRefs, dsClients []uint64, dsRanges [][]deleteRange) (err error) {
	nested := d.tx != nil
	defer func() {
		if r := recover(); r != nil {
			if !nested {
				d.tx = nil
				d.cleanups = d.cleanups[:0]
			}
			err = fmt.Errorf("%w: %w: internal error while integrating: %v", ErrMalformedUpdate, ErrDocDamaged, r)
		}
	}()
	d.transact(func(tx *Transaction) {
		if integrateFault != nil {
			integrateFault(tx)
		}
		integrateUpdate(tx, refs, dsClients, dsRanges)
	}, origin, false)
	return nil
}

func asMalformed(err error) error {
	if errors.Is(err, ErrMalformedUpdate) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformedUpdate, err)
}

// integrateUpdate is the body of yjs readUpdateV2 after decoding.
func integrateUpdate(tx *Transaction, refs map[uint64]*structRefs, dsClients []uint64, dsRanges [][]deleteRange) {
	d := tx.doc
	s := d.store
	retry := false
	restStructs := integrateStructs(tx, s, refs)
	if s.pendingStructs != nil {
		for client, clock := range s.pendingMissing {
			if clock < s.state(client) {
				retry = true
				break
			}
		}
		if restStructs != nil {
			for client, clock := range restStructs.missing {
				if m, ok := s.pendingMissing[client]; !ok || m > clock {
					s.pendingMissing[client] = clock
				}
			}
			s.pendingStructs = mustMergeV2(s.pendingStructs, restStructs.update)
		}
	} else if restStructs != nil {
		s.pendingStructs = restStructs.update
		s.pendingMissing = restStructs.missing
	}
	dsRest := applyDeleteSet(tx, s, dsClients, dsRanges)
	if s.pendingDS != nil {
		dec, err := newUpdateDecoder(s.pendingDS, true)
		var dsRest2 []byte
		if err == nil {
			if _, err = readRestVarUint(dec); err == nil {
				var pc []uint64
				var pr [][]deleteRange
				if pc, pr, err = readDeleteSet(dec); err == nil {
					dsRest2 = applyDeleteSet(tx, s, pc, pr)
				}
			}
		}
		switch {
		case dsRest != nil && dsRest2 != nil:
			s.pendingDS = mustMergeV2(dsRest, dsRest2)
		case dsRest != nil:
			s.pendingDS = dsRest
		default:
			s.pendingDS = dsRest2
		}
	} else {
		s.pendingDS = dsRest
	}
	if retry {
		update := s.pendingStructs
		s.pendingStructs = nil
		s.pendingMissing = nil
		dec, err := newUpdateDecoder(update, true)
		if err != nil {
			return
		}
		r, err := readStructs(dec, d.root, len(update)*maxStructsPerByteV2+maxStructsFloorV2)
		if err != nil {
			return
		}
		c, rg, err := readDeleteSet(dec)
		if err != nil {
			return
		}
		integrateUpdate(tx, r, c, rg)
	}
}

// mustMergeV2 merges two v2 updates this package produced itself.
func mustMergeV2(a, b []byte) []byte {
	m, err := mergeUpdatesV2([][]byte{a, b})
	if err != nil {
		panic(fmt.Sprintf("crdt: merging pending updates: %v", err))
	}
	return m
}

// writeStructsFrom writes the structs of every client from the clock in
// sv (0 when absent), clients descending (yjs writeClientsStructs). Only
// clients with something new are written.
func writeStructsFrom(enc updateEncoder, clients map[uint64]*structList, sv svLookup) {
	type start struct{ client, clock uint64 }
	var buf [4]start
	starts := buf[:0]
	for c, structs := range clients {
		if structs.len() == 0 {
			continue
		}
		last := structs.last()
		state := last.id.Clock + last.len
		var clock uint64
		var ok bool
		if sv != nil {
			clock, ok = sv.lookup(c)
		}
		if ok && state <= clock {
			continue
		}
		starts = append(starts, start{c, clock})
	}
	slices.SortFunc(starts, func(a, b start) int { return cmpU64(b.client, a.client) })
	writeRestVarUint(enc, uint64(len(starts)))
	for _, st := range starts {
		structs := clients[st.client]
		clock := max(st.clock, structs.first().id.Clock)
		first := structs.findIndex(clock)
		writeRestVarUint(enc, uintOf(structs.len()-first))
		enc.WriteClient(st.client)
		writeRestVarUint(enc, clock)
		for i, it := range structs.from(first) {
			if i == first {
				it.write(enc, clock-it.id.Clock)
			} else {
				it.write(enc, 0)
			}
		}
	}
}

// encodeTransactionUpdate encodes the changes of a transaction, or returns
// nil if it changed nothing (yjs writeUpdateMessageFromTransaction).
func encodeTransactionUpdate(tx *Transaction, v2 bool) []byte {
	if tx.deleteSet.empty() && len(tx.changedClients()) == 0 {
		return nil
	}
	if !v2 {
		// Reuse the document's v1 encoder buffer; hand out an exact copy.
		d := tx.doc
		if d.v1enc == nil {
			d.v1enc = &updateEncoderV1{}
		}
		enc := d.v1enc
		enc.rest.Reset()
		writeStructsFrom(enc, d.store.clients, &tx.beforeState)
		tx.deleteSet.write(enc)
		return bytes.Clone(enc.ToBytes())
	}
	enc := newUpdateEncoder(v2)
	writeStructsFrom(enc, tx.doc.store.clients, &tx.beforeState)
	tx.deleteSet.write(enc)
	return enc.ToBytes()
}

// EncodeStateAsUpdate encodes everything in d that a peer with state
// vector sv (from EncodeStateVector; nil or empty = nothing) lacks, as a v1
// update. Pending structs and deletions are included, as yjs does.
//
//	full, err := crdt.EncodeStateAsUpdate(d, nil)
func EncodeStateAsUpdate(d *Doc, sv []byte) ([]byte, error) {
	return encodeStateAsUpdate(d, sv, false)
}

// EncodeStateAsUpdateV2 is EncodeStateAsUpdate in the v2 format.
func EncodeStateAsUpdateV2(d *Doc, sv []byte) ([]byte, error) {
	return encodeStateAsUpdate(d, sv, true)
}

func encodeStateAsUpdate(d *Doc, svBytes []byte, v2 bool) ([]byte, error) {
	if len(svBytes) == 0 {
		svBytes = []byte{0}
	}
	sv, err := DecodeStateVector(svBytes)
	if err != nil {
		return nil, err
	}
	enc := newUpdateEncoder(v2)
	writeStructsFrom(enc, d.store.clients, svMap(sv))
	ds := deleteSetFromStore(d.store)
	ds.write(enc)
	updates := [][]byte{enc.ToBytes()}
	if d.store.pendingDS != nil {
		updates = append(updates, d.store.pendingDS)
	}
	if d.store.pendingStructs != nil {
		diff, err := diffUpdateV2(d.store.pendingStructs, svBytes)
		if err != nil {
			return nil, err
		}
		updates = append(updates, diff)
	}
	if len(updates) == 1 {
		return updates[0], nil
	}
	if v2 {
		return mergeUpdatesV2(updates)
	}
	for i := 1; i < len(updates); i++ {
		u, err := convertUpdateFormatV2ToV1(updates[i])
		if err != nil {
			return nil, err
		}
		updates[i] = u
	}
	return mergeUpdatesV1(updates)
}

// EncodeStateVector encodes d's state vector: for every client the next
// clock d expects, clients descending.
//
//	sv := crdt.EncodeStateVector(d)
//	diff, _ := crdt.EncodeStateAsUpdate(other, sv) // what d lacks
func EncodeStateVector(d *Doc) []byte {
	return EncodeStateVectorMap(d.store.stateVector())
}

// EncodeStateVectorMap encodes a state vector given as client → clock.
func EncodeStateVectorMap(sv map[uint64]uint64) []byte {
	clients := make([]uint64, 0, len(sv))
	for c := range sv {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b uint64) int { return cmpU64(b, a) })
	e := lib0.NewEncoder()
	e.WriteVarUint(uint64(len(clients)))
	for _, c := range clients {
		e.WriteVarUint(c)
		e.WriteVarUint(sv[c])
	}
	return e.Bytes()
}

// DecodeStateVector decodes a state vector into client → clock.
func DecodeStateVector(b []byte) (map[uint64]uint64, error) {
	d := lib0.NewDecoder(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, asMalformed(err)
	}
	sv := make(map[uint64]uint64, min(n, uint64(len(b))))
	for i := uint64(0); i < n; i++ {
		c, err := d.ReadVarUint()
		if err != nil {
			return nil, asMalformed(err)
		}
		clock, err := d.ReadVarUint()
		if err != nil {
			return nil, asMalformed(err)
		}
		sv[c] = clock
	}
	return sv, nil
}
