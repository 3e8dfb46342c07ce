package crdt_test

import (
	"encoding/json"
	"fmt"

	"github.com/maxbooster/maxbooster/crdt"
)

// A relative position (a cursor, a marker) keeps its place while others
// edit, and travels as yjs's bytes or JSON.
func ExampleCreateRelativePositionFromTypeIndex() {
	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 1})
	lyrics := d.GetText("lyrics")
	_ = lyrics.Insert(0, "verse chorus")
	cursor := crdt.CreateRelativePositionFromTypeIndex(lyrics, 6, 0) // before "chorus"
	wire := crdt.EncodeRelativePosition(cursor)
	js, _ := json.Marshal(cursor)
	fmt.Println(string(js))

	_ = lyrics.Insert(0, "intro ")
	decoded, err := crdt.DecodeRelativePosition(wire)
	if err != nil {
		panic(err)
	}
	abs, ok := crdt.CreateAbsolutePositionFromRelativePosition(decoded, d)
	fmt.Println(ok, abs.Index, lyrics.String()[abs.Index:])
	// Output:
	// {"tname":"lyrics","item":{"client":1,"clock":6},"assoc":0}
	// true 12 chorus
}
