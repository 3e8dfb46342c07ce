package crdt

import (
	"math/rand/v2"
	"testing"
)

// TestStructList checks the chunked list against a plain slice under
// random inserts, removals and lookups, across many chunk splits.
func TestStructList(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	l := &structList{}
	var model []*Item
	var clock uint64
	for step := 0; step < 20000; step++ {
		switch op := r.IntN(10); {
		case op < 4 || len(model) == 0:
			it := &Item{id: ID{1, clock}, len: 1}
			clock++
			l.append(it)
			model = append(model, it)
		case op < 7:
			i := r.IntN(len(model) + 1)
			it := &Item{len: 1}
			l.insert(i, it)
			model = append(model[:i], append([]*Item{it}, model[i:]...)...)
		case op < 9:
			i := r.IntN(len(model))
			n := 1 + r.IntN(min(3, len(model)-i))
			l.remove(i, n)
			model = append(model[:i], model[i+n:]...)
		default:
			i := r.IntN(len(model))
			it := &Item{len: 1}
			l.set(i, it)
			model[i] = it
		}
		if l.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, l.len(), len(model))
		}
		if len(model) > 0 {
			i := r.IntN(len(model))
			if l.at(i) != model[i] {
				t.Fatalf("step %d: at(%d) differs", step, i)
			}
		}
	}
	n := 0
	for i, it := range l.all() {
		if it != model[i] {
			t.Fatalf("all: index %d differs", i)
		}
		n++
	}
	if n != len(model) {
		t.Fatalf("all yielded %d, want %d", n, len(model))
	}
	// findIndex over a list of consecutive clocks.
	l = &structList{}
	for c := uint64(0); c < 3000; c += 2 {
		l.append(&Item{id: ID{1, c}, len: 2})
	}
	for c := uint64(0); c < 3000; c++ {
		if i := l.findIndex(c); i != int(c/2) {
			t.Fatalf("findIndex(%d) = %d, want %d", c, i, c/2)
		}
	}
	if l.findIndex(3000) != -1 {
		t.Fatal("findIndex past the end")
	}
}
