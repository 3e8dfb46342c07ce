package crdt

import "slices"

// deleteRange is a run of deleted clocks of one client.
type deleteRange struct {
	clock, len uint64
}

// dsEntry holds the deleted ranges of one client.
type dsEntry struct {
	client uint64
	ranges []deleteRange
}

// deleteSet maps client → deleted ranges (yjs DeleteSet), clients in the
// order they were first added (JS Map order). After sortAndMerge the
// ranges are sorted by clock and disjoint. Most sets hold one or two
// clients, so entries is a slice; an index map is built for large sets.
type deleteSet struct {
	entries []dsEntry
	index   map[uint64]int
}

const dsIndexThreshold = 8

func newDeleteSet() deleteSet { return deleteSet{} }

func (ds *deleteSet) find(client uint64) int {
	if ds.index != nil {
		if i, ok := ds.index[client]; ok {
			return i
		}
		return -1
	}
	for i := range ds.entries {
		if ds.entries[i].client == client {
			return i
		}
	}
	return -1
}

// ranges returns the ranges of client.
func (ds *deleteSet) ranges(client uint64) []deleteRange {
	if i := ds.find(client); i >= 0 {
		return ds.entries[i].ranges
	}
	return nil
}

func (ds *deleteSet) empty() bool { return len(ds.entries) == 0 }

func (ds *deleteSet) add(client, clock, n uint64) {
	i := ds.find(client)
	if i < 0 {
		i = len(ds.entries)
		ds.entries = append(ds.entries, dsEntry{client: client})
		if ds.index != nil {
			ds.index[client] = i
		} else if len(ds.entries) > dsIndexThreshold {
			ds.index = make(map[uint64]int, len(ds.entries))
			for k, e := range ds.entries {
				ds.index[e.client] = k
			}
		}
	}
	ds.entries[i].ranges = append(ds.entries[i].ranges, deleteRange{clock, n})
}

// addWithBuf is add that gives a new client's ranges a caller-owned
// backing array.
func (ds *deleteSet) addWithBuf(client, clock, n uint64, buf []deleteRange) {
	if len(ds.entries) == 0 && cap(ds.entries) > 0 {
		ds.entries = append(ds.entries, dsEntry{client: client, ranges: buf[:0]})
	}
	ds.add(client, clock, n)
}

// sortAndMerge sorts every client's ranges and merges overlapping and
// adjacent ones.
func (ds *deleteSet) sortAndMerge() {
	for ei := range ds.entries {
		dels := ds.entries[ei].ranges
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
			ds.entries[ei].ranges = dels[:j]
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
	dels := ds.ranges(id.Client)
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

// write encodes the delete set, clients descending (yjs writeDeleteSet).
func (ds *deleteSet) write(enc dsEncoder) {
	entries := ds.entries
	if len(entries) > 1 {
		entries = slices.Clone(entries)
		slices.SortFunc(entries, func(a, b dsEntry) int { return cmpU64(b.client, a.client) })
	}
	writeRestVarUint(enc, uint64(len(entries)))
	for _, e := range entries {
		c, dels := e.client, e.ranges
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
	for _, c := range s.order {
		var dels []deleteRange
		inRun := false
		for _, st := range s.clients[c].all() {
			switch {
			case !st.deleted():
				inRun = false
			case inRun:
				dels[len(dels)-1].len += st.len
			default:
				dels = append(dels, deleteRange{st.id.Clock, st.len})
				inRun = true
			}
		}
		if len(dels) > 0 {
			ds.entries = append(ds.entries, dsEntry{client: c, ranges: dels})
		}
	}
	return ds
}
