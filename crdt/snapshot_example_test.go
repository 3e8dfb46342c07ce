package crdt_test

import (
	"fmt"

	"github.com/maxbooster/maxbooster/crdt"
)

// A snapshot of a document without garbage collection restores the
// content as it was, and encodes to the bytes yjs's encodeSnapshot gives.
func ExampleCreateDocFromSnapshot() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1, DisableGC: true})
	lyrics := d.GetText("lyrics")
	_ = lyrics.Insert(0, "first verse")
	snap := crdt.SnapshotOf(d)
	_ = lyrics.Delete(0, 6)
	_ = lyrics.Insert(0, "second ")

	b := crdt.EncodeSnapshot(snap)
	decoded, err := crdt.DecodeSnapshot(b)
	if err != nil {
		panic(err)
	}
	old, err := crdt.CreateDocFromSnapshot(d, decoded, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(old.GetText("lyrics").String(), "/", lyrics.String())
	fmt.Println(crdt.EqualSnapshots(snap, decoded), crdt.EqualSnapshots(snap, crdt.SnapshotOf(d)))
	// Output:
	// first verse / second verse
	// true false
}

// SnapshotContainsUpdate tells whether an update brings anything new.
func ExampleSnapshotContainsUpdate() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	var last []byte
	d.OnUpdate(func(update []byte, _ any, _ *crdt.Transaction) { last = update })
	_ = d.GetArray("clips").Push("intro")
	snap := crdt.SnapshotOf(d)
	old, _ := crdt.SnapshotContainsUpdate(snap, last)
	_ = d.GetArray("clips").Push("outro")
	fresh, _ := crdt.SnapshotContainsUpdate(snap, last)
	fmt.Println(old, fresh)
	// Output: true false
}
