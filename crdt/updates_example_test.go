package crdt_test

import (
	"fmt"

	"github.com/maxbooster/maxbooster/crdt"
)

// A hub can keep one merged update per document and answer a peer's state
// vector with a diff, without loading the document.
func ExampleMergeUpdates() {
	a := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	var updates [][]byte
	a.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { updates = append(updates, u) })
	t := a.GetText("t")
	_ = t.Insert(0, "hello")
	_ = t.Insert(5, " world")

	stored, err := crdt.MergeUpdates(updates)
	if err != nil {
		panic(err)
	}
	sv, _ := crdt.EncodeStateVectorFromUpdate(stored)

	// A peer that has seen the first update asks for the rest.
	b := crdt.NewDoc(&crdt.DocOptions{ClientID: 2})
	_ = crdt.ApplyUpdate(b, updates[0], nil)
	diff, err := crdt.DiffUpdate(stored, crdt.EncodeStateVector(b))
	if err != nil {
		panic(err)
	}
	_ = crdt.ApplyUpdate(b, diff, nil)

	fmt.Printf("%x\n", sv)
	fmt.Println(b.GetText("t").String())
	// Output:
	// 01010b
	// hello world
}

// Updates convert between the two formats; v2 is usually smaller.
func ExampleConvertUpdateFormatV1ToV2() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 7})
	_ = d.GetText("t").Insert(0, "hi")
	v1, _ := crdt.EncodeStateAsUpdate(d, nil)
	v2, err := crdt.ConvertUpdateFormatV1ToV2(v1)
	if err != nil {
		panic(err)
	}
	back, _ := crdt.ConvertUpdateFormatV2ToV1(v2)
	fmt.Printf("v1 %x\nv2 %x\nsame after round trip: %v\n", v1, v2, string(back) == string(v1))
	// Output:
	// v1 010107000401017402686900
	// v2 0000010700000104060374686901020101000001010000
	// same after round trip: true
}
