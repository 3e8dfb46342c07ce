package crdt

// structStore holds every struct of a document, per client sorted by
// clock without gaps (yjs StructStore).
type structStore struct {
	clients map[uint64]*structList
	order   []uint64 // clients in the order they first appeared
	// pendingStructs is a v2 update with the structs that wait for missing
	// dependencies; pendingMissing maps client → lowest missing clock.
	pendingStructs []byte
	pendingMissing map[uint64]uint64
	// pendingDS is a v2 update (no structs) with delete ranges beyond the
	// current state.
	pendingDS []byte
	// redone maps the id of an item the UndoManager redid (flag
	// itemRedone) to the id of the item that redid it (yjs Item.redone).
	redone map[ID]ID
}

// setRedone records that it was redone as the item at id.
func (s *structStore) setRedone(it *Item, id ID) {
	if s.redone == nil {
		s.redone = make(map[ID]ID)
	}
	s.redone[it.id] = id
	it.info |= itemRedone
}

// redoneOf returns the id of the item that redid it, if any.
func (s *structStore) redoneOf(it *Item) (ID, bool) {
	if it.info&itemRedone == 0 {
		return ID{}, false
	}
	id, ok := s.redone[it.id]
	return id, ok
}

func newStructStore() *structStore {
	return &structStore{clients: make(map[uint64]*structList)}
}

// state is the next expected clock of client.
func (s *structStore) state(client uint64) uint64 {
	structs := s.clients[client]
	if structs == nil || structs.n == 0 {
		return 0
	}
	last := structs.last()
	return last.id.Clock + last.len
}

// stateVector returns client → next expected clock.
func (s *structStore) stateVector() map[uint64]uint64 {
	sv := make(map[uint64]uint64, len(s.clients))
	for c, structs := range s.clients {
		last := structs.last()
		sv[c] = last.id.Clock + last.len
	}
	return sv
}

// clientClock is one entry of a state vector.
type clientClock struct{ client, clock uint64 }

// stateVec is a snapshot of a state vector: a slice for the usual handful
// of clients, a map beyond.
type stateVec struct {
	small []clientClock
	m     map[uint64]uint64
}

// smallStateVec is the most clients a stateVec keeps in its slice: a
// lookup scans it, which beats a map's hashing (and its allocations, as
// every transaction takes two snapshots) for a room's few dozen clients.
const smallStateVec = 64

// snapshot returns the current state vector, using buf for small ones.
func (s *structStore) snapshot(buf []clientClock) stateVec {
	if len(s.order) <= smallStateVec {
		v := buf[:0]
		if cap(v) < len(s.order) {
			v = make([]clientClock, 0, len(s.order))
		}
		for _, c := range s.order {
			v = append(v, clientClock{c, s.state(c)})
		}
		return stateVec{small: v}
	}
	return stateVec{m: s.stateVector()}
}

// get returns the clock of client (0 if absent).
func (v *stateVec) get(client uint64) uint64 {
	c, _ := v.lookup(client)
	return c
}

func (v *stateVec) lookup(client uint64) (uint64, bool) {
	if v.m != nil {
		c, ok := v.m[client]
		return c, ok
	}
	for _, e := range v.small {
		if e.client == client {
			return e.clock, true
		}
	}
	return 0, false
}

// svLookup gives writeStructsFrom the clock a peer has of a client.
type svLookup interface {
	lookup(client uint64) (uint64, bool)
}

type svMap map[uint64]uint64

func (m svMap) lookup(client uint64) (uint64, bool) {
	c, ok := m[client]
	return c, ok
}

// add appends a struct; its clock must continue the client's structs.
func (s *structStore) add(it *Item) {
	structs := s.clients[it.id.Client]
	if structs == nil {
		structs = &structList{}
		s.clients[it.id.Client] = structs
		s.order = append(s.order, it.id.Client)
	} else if last := structs.last(); last.id.Clock+last.len != it.id.Clock {
		panic("crdt: struct store out of order")
	}
	structs.append(it)
}

// findIndex returns the index of the struct holding clock, or -1
// (yjs findIndexSS, with the same interpolated first pivot).
func findIndex(structs []*Item, clock uint64) int {
	left, right := 0, len(structs)-1
	if right < 0 {
		return -1
	}
	mid := structs[right]
	if mid.id.Clock == clock {
		return right
	}
	if end := mid.id.Clock + mid.len; clock >= end {
		return -1
	}
	midIndex := int(float64(clock) / float64(mid.id.Clock+mid.len-1) * float64(right))
	if midIndex > right {
		midIndex = right
	}
	for left <= right {
		mid = structs[midIndex]
		if mid.id.Clock <= clock {
			if clock < mid.id.Clock+mid.len {
				return midIndex
			}
			left = midIndex + 1
		} else {
			right = midIndex - 1
		}
		midIndex = (left + right) / 2
	}
	return -1
}

// find returns the struct holding id, or nil.
func (s *structStore) find(id ID) *Item {
	structs := s.clients[id.Client]
	i := structs.findIndex(id.Clock)
	if i < 0 {
		return nil
	}
	return structs.at(i)
}

// findIndexCleanStart returns the index of the struct starting at clock,
// splitting an item if needed.
func (s *structStore) findIndexCleanStart(tx *Transaction, client uint64, clock uint64) int {
	structs := s.clients[client]
	i := structs.findIndex(clock)
	if i < 0 {
		return -1
	}
	st := structs.at(i)
	if st.id.Clock < clock && st.isItem() {
		r := st.split(s, tx, clock-st.id.Clock)
		structs.insert(i+1, r)
		return i + 1
	}
	return i
}

// getItemCleanStart returns the struct starting at id, splitting if needed.
func (s *structStore) getItemCleanStart(tx *Transaction, id ID) *Item {
	i := s.findIndexCleanStart(tx, id.Client, id.Clock)
	if i < 0 {
		return nil
	}
	return s.clients[id.Client].at(i)
}

// getItemCleanEnd returns the struct ending at id, splitting if needed.
func (s *structStore) getItemCleanEnd(tx *Transaction, id ID) *Item {
	structs := s.clients[id.Client]
	i := structs.findIndex(id.Clock)
	if i < 0 {
		return nil
	}
	st := structs.at(i)
	if id.Clock != st.id.Clock+st.len-1 && !st.isGC() {
		r := st.split(s, tx, id.Clock-st.id.Clock+1)
		structs.insert(i+1, r)
	}
	return st
}

// replace puts newStruct in the place of old.
func (s *structStore) replace(old, newStruct *Item) {
	structs := s.clients[old.id.Client]
	i := structs.findIndex(old.id.Clock)
	if i >= 0 {
		structs.set(i, newStruct)
	}
}

// iterateStructs calls f for every struct in [clockStart, clockStart+n),
// splitting the structs at both ends.
func (s *structStore) iterateStructs(tx *Transaction, client uint64, clockStart, n uint64, f func(*Item)) {
	if n == 0 {
		return
	}
	clockEnd := clockStart + n
	i := s.findIndexCleanStart(tx, client, clockStart)
	if i < 0 {
		return
	}
	structs := s.clients[client]
	for {
		st := structs.at(i)
		i++
		if clockEnd < st.id.Clock+st.len {
			s.findIndexCleanStart(tx, client, clockEnd)
		}
		f(st)
		if i >= structs.n || structs.at(i).id.Clock >= clockEnd {
			return
		}
	}
}
