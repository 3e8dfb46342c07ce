package crdt

import (
	"slices"
	"sort"
)

// deleteRange is a run of deleted clocks of one client.
type deleteRange struct {
	clock, len uint64
}

// deleteSet maps client → deleted ranges (yjs DeleteSet). After
// sortAndMerge the ranges are sorted by clock and disjoint.
type deleteSet struct {
	clients map[uint64][]deleteRange
	order   []uint64 // clients in the order they were first added (JS Map order)
}

func newDeleteSet() deleteSet { return deleteSet{clients: make(map[uint64][]deleteRange)} }

func (ds *deleteSet) add(client, clock, n uint64) {
	if ds.clients == nil {
		ds.clients = make(map[uint64][]deleteRange)
	}
	dels, ok := ds.clients[client]
	if !ok {
		ds.order = append(ds.order, client)
	}
	ds.clients[client] = append(dels, deleteRange{clock, n})
}

// sortAndMerge sorts every client's ranges and merges overlapping and
// adjacent ones.
func (ds *deleteSet) sortAndMerge() {
	for c, dels := range ds.clients {
		if len(dels) > 1 && !slices.IsSortedFunc(dels, func(a, b deleteRange) int { return cmpU64(a.clock, b.clock) }) {
			slices.SortStableFunc(dels, func(a, b deleteRange) int { return cmpU64(a.clock, b.clock) })
		}
		j := 1
		for i := 1; i < len(dels); i++ {
			l := &dels[j-1]
			r := dels[i]
			if l.clock+l.len >= r.clock {
				if e := r.clock + r.len - l.clock; e > l.len {
					l.len = e
				}
			} else {
				dels[j] = r
				j++
			}
		}
		if len(dels) > 0 {
			ds.clients[c] = dels[:j]
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// contains reports whether id is in the (sorted and merged) set.
func (ds *deleteSet) contains(id ID) bool {
	dels := ds.clients[id.Client]
	lo, hi := 0, len(dels)-1
	for lo <= hi {
		mid := (lo + hi) / 2
		d := dels[mid]
		if d.clock <= id.Clock {
			if id.Clock < d.clock+d.len {
				return true
			}
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return false
}

// sortedClients returns the clients in descending order.
func (ds *deleteSet) sortedClients() []uint64 {
	out := make([]uint64, 0, len(ds.clients))
	for c := range ds.clients {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

// write encodes the delete set, clients descending (yjs writeDeleteSet).
func (ds *deleteSet) write(enc dsEncoder) {
	clients := ds.sortedClients()
	writeRestVarUint(enc, uint64(len(clients)))
	for _, c := range clients {
		dels := ds.clients[c]
		enc.ResetDsCurVal()
		writeRestVarUint(enc, c)
		writeRestVarUint(enc, uint64(len(dels)))
		for _, d := range dels {
			enc.WriteDsClock(d.clock)
			enc.WriteDsLen(d.len)
		}
	}
}

// deleteSetFromStore collects runs of deleted structs (yjs
// createDeleteSetFromStructStore).
func deleteSetFromStore(s *structStore) deleteSet {
	ds := newDeleteSet()
	for c, structs := range s.clients {
		var dels []deleteRange
		for i := 0; i < len(structs); i++ {
			st := structs[i]
			if !st.deleted() {
				continue
			}
			clock, n := st.id.Clock, st.len
			for i+1 < len(structs) && structs[i+1].deleted() {
				i++
				n += structs[i].len
			}
			dels = append(dels, deleteRange{clock, n})
		}
		if len(dels) > 0 {
			ds.clients[c] = dels
		}
	}
	return ds
}
