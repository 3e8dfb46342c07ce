package crdt_test

import (
	"fmt"

	"github.com/maxbooster/maxbooster/crdt"
)

// Two documents converge by exchanging updates.
func Example() {
	a := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	b := crdt.NewDoc(&crdt.DocOptions{ClientID: 2})
	a.OnUpdate(func(update []byte, origin any, tx *crdt.Transaction) {
		_ = crdt.ApplyUpdate(b, update, "from-a")
	})
	_ = a.GetText("lyrics").Insert(0, "la la")
	fmt.Println(b.GetText("lyrics").String())
	// Output: la la
}

// A peer that sent its state vector receives only what it lacks.
func ExampleEncodeStateAsUpdate() {
	server := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	_ = server.GetArray("clips").Push("intro", "verse")
	client := crdt.NewDoc(&crdt.DocOptions{ClientID: 2})
	diff, err := crdt.EncodeStateAsUpdate(server, crdt.EncodeStateVector(client))
	if err != nil {
		panic(err)
	}
	if err := crdt.ApplyUpdate(client, diff, nil); err != nil {
		panic(err)
	}
	fmt.Println(client.GetArray("clips").ToJSON())
	// Output: [intro verse]
}

// Nested types are created prelim and inserted into a parent.
func ExampleNewMap() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	track := crdt.NewMap()
	_ = track.Set("gain", 0.5)
	_ = d.GetArray("tracks").Push(track)
	fmt.Println(d.GetArray("tracks").ToJSON())
	// Output: [map[gain:0.5]]
}

// Transact groups edits into one transaction and one update event.
func ExampleDoc_Transact() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	updates := 0
	d.OnUpdate(func([]byte, any, *crdt.Transaction) { updates++ })
	t := d.GetText("t")
	d.Transact(func(tx *crdt.Transaction) {
		_ = t.Insert(0, "a")
		_ = t.Insert(1, "b")
	}, "my-origin")
	fmt.Println(t.String(), updates)
	// Output: ab 1
}

// Observers receive yjs-shaped deltas.
func ExampleText_Observe() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	t := d.GetText("t")
	_ = t.Insert(0, "hello")
	t.Observe(func(e *crdt.TextEvent, tx *crdt.Transaction) {
		for _, op := range e.Delta() {
			fmt.Printf("%+v\n", op)
		}
	})
	_ = t.Insert(5, "!")
	// Output: {Insert:<nil> Retain:5 Delete:0 Attributes:map[]}
	// {Insert:! Retain:0 Delete:0 Attributes:map[]}
}

// Map observers receive the changed keys.
func ExampleMap_Observe() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	m := d.GetMap("settings")
	_ = m.Set("bpm", 120)
	m.Observe(func(e *crdt.MapEvent, tx *crdt.Transaction) {
		fmt.Printf("%+v\n", e.Keys()["bpm"])
	})
	_ = m.Set("bpm", 128)
	// Output: {Action:update OldValue:120}
}
