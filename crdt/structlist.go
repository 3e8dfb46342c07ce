package crdt

import "iter"

// structList holds the structs of one client sorted by clock. It is a list
// of chunks so that splitting and merging structs in the middle of a long
// history moves a chunk, not the whole history (yjs uses one array; with
// Go's write barriers, moving long pointer arrays dominated edit costs).
// Indexes are global positions in the list.
type structList struct {
	chunks [][]*Item
	starts []int // starts[k] is the global index of chunks[k][0]
	n      int
}

const structChunk = 64

func newStructList(items []*Item) *structList {
	l := &structList{}
	for _, it := range items {
		l.append(it)
	}
	return l
}

func (l *structList) len() int { return l.n }

func (l *structList) last() *Item {
	c := l.chunks[len(l.chunks)-1]
	return c[len(c)-1]
}

func (l *structList) first() *Item { return l.chunks[0][0] }

// locate returns the chunk holding global index i and the offset in it.
func (l *structList) locate(i int) (int, int) {
	// The last chunk is the usual target (new structs are appended).
	k := len(l.starts) - 1
	if i >= l.starts[k] {
		return k, i - l.starts[k]
	}
	lo, hi := 0, k
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if l.starts[mid] <= i {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, i - l.starts[lo]
}

func (l *structList) at(i int) *Item {
	k, j := l.locate(i)
	return l.chunks[k][j]
}

func (l *structList) set(i int, it *Item) {
	k, j := l.locate(i)
	l.chunks[k][j] = it
}

func (l *structList) append(it *Item) {
	k := len(l.chunks) - 1
	if k < 0 || len(l.chunks[k]) >= structChunk {
		l.chunks = append(l.chunks, make([]*Item, 0, structChunk))
		l.starts = append(l.starts, l.n)
		k++
	}
	l.chunks[k] = append(l.chunks[k], it)
	l.n++
}

// insert puts it at global index i (0 <= i <= len).
func (l *structList) insert(i int, it *Item) {
	if i == l.n {
		l.append(it)
		return
	}
	k, j := l.locate(i)
	c := l.chunks[k]
	if len(c) >= 2*structChunk {
		// Split the chunk in two halves first.
		half := len(c) / 2
		right := make([]*Item, len(c)-half, structChunk*2)
		copy(right, c[half:])
		clear(c[half:])
		l.chunks[k] = c[:half]
		l.chunks = append(l.chunks, nil)
		copy(l.chunks[k+2:], l.chunks[k+1:])
		l.chunks[k+1] = right
		l.starts = append(l.starts, 0)
		copy(l.starts[k+2:], l.starts[k+1:])
		l.starts[k+1] = l.starts[k] + half
		if j >= half {
			k, j = k+1, j-half
		}
		c = l.chunks[k]
	}
	c = append(c, nil)
	copy(c[j+1:], c[j:])
	c[j] = it
	l.chunks[k] = c
	for m := k + 1; m < len(l.starts); m++ {
		l.starts[m]++
	}
	l.n++
}

// remove deletes count structs from global index i; they lie in one chunk
// or span several.
func (l *structList) remove(i, count int) {
	for count > 0 {
		k, j := l.locate(i)
		c := l.chunks[k]
		m := min(count, len(c)-j)
		copy(c[j:], c[j+m:])
		clear(c[len(c)-m:])
		c = c[:len(c)-m]
		count -= m
		l.n -= m
		for q := k + 1; q < len(l.starts); q++ {
			l.starts[q] -= m
		}
		if len(c) == 0 && len(l.chunks) > 1 {
			l.chunks = append(l.chunks[:k], l.chunks[k+1:]...)
			l.starts = append(l.starts[:k], l.starts[k+1:]...)
		} else {
			l.chunks[k] = c
		}
	}
}

// findIndex returns the global index of the struct holding clock, or -1
// (yjs findIndexSS).
func (l *structList) findIndex(clock uint64) int {
	if l == nil || l.n == 0 {
		return -1
	}
	last := l.last()
	if clock >= last.id.Clock+last.len {
		return -1
	}
	// Find the chunk: the last one whose first struct starts at or before
	// clock.
	lo, hi := 0, len(l.chunks)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if l.chunks[mid][0].id.Clock <= clock {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if i := findIndex(l.chunks[lo], clock); i >= 0 {
		return l.starts[lo] + i
	}
	return -1
}

// all yields the structs from index 0 on.
func (l *structList) all() iter.Seq2[int, *Item] {
	return l.from(0)
}

// from yields the structs from index i on.
func (l *structList) from(i int) iter.Seq2[int, *Item] {
	return func(yield func(int, *Item) bool) {
		if l == nil || i >= l.n {
			return
		}
		k, j := l.locate(i)
		for ; k < len(l.chunks); k, j = k+1, 0 {
			for _, it := range l.chunks[k][j:] {
				if !yield(i, it) {
					return
				}
				i++
			}
		}
	}
}
