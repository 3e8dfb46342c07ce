package crdt

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkApplyOneEditManyClients is what a collab room does per update:
// apply one client's single-character edit to the room's doc, edited by 50
// clients in turn (the state vectors of every transaction cover them all).
func BenchmarkApplyOneEditManyClients(b *testing.B) {
	const clients = 50
	src := NewDoc(&DocOptions{ClientID: 1})
	var ups [][]byte
	src.OnUpdate(func(x []byte, _ any, _ *Transaction) { ups = append(ups, append([]byte(nil), x...)) })
	rng := rand.New(rand.NewPCG(1, 2))
	t := src.GetText("t")
	for i := range 20000 {
		src.clientID = uint64(1 + i%clients)
		_ = t.Insert(rng.IntN(t.Len()+1), "x")
	}
	b.ReportAllocs()
	hub := NewDoc(&DocOptions{ClientID: 999})
	k := 0
	for b.Loop() {
		if k == len(ups) {
			b.StopTimer()
			hub = NewDoc(&DocOptions{ClientID: 999})
			k = 0
			b.StartTimer()
		}
		if err := ApplyUpdate(hub, ups[k], nil); err != nil {
			b.Fatal(err)
		}
		k++
	}
}
