package crdt

import (
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestYjsLiveUndo is TestYjsLive with an UndoManager on every peer, on
// both sides: random edits with tracked ("tracked", nil), untracked
// ("untracked") and remote origins, undo, redo, stopCapturing and clear,
// on all root types (or two of them, or the whole document), with and
// without ignoreRemoteMapChanges. After every round both sides must agree
// on everything TestYjsLive compares, on the managers' events and results
// and stack lengths, and on where relative positions taken earlier resolve
// (they follow re-inserted items).
//
//	MB_TEST_YJS=1 go test ./crdt -run TestYjsLiveUndo                     # MB_TEST_YJS_UNDO_SEEDS seeds (default 100)
//	MB_TEST_YJS=1 MB_TEST_YJS_SEED=17 go test ./crdt -run TestYjsLiveUndo -v
func TestYjsLiveUndo(t *testing.T) {
	requireYjs(t)
	first, count := liveSeeds(t, "MB_TEST_YJS_UNDO_SEEDS", 100)
	p := startYjsPeer(t)
	var failed []uint64
	for seed := first; seed < first+count; seed++ {
		if err := runLiveSeedWith(p, seed, true, testing.Verbose() && count == 1, t.Logf); err != nil {
			failed = append(failed, seed)
			t.Errorf("seed %d: %v\n  replay: MB_TEST_YJS=1 MB_TEST_YJS_SEED=%d go test ./crdt -run TestYjsLiveUndo -v", seed, err, seed)
			if len(failed) == 10 {
				t.Fatalf("stopping after 10 failing seeds")
			}
		}
	}
	t.Logf("%d seeds from %d: %d failed %v", count, first, len(failed), failed)
}

// liveUndo configures the undo managers of a live run (sent to peer.mjs).
type liveUndo struct {
	Scope                  string `json:"scope"` // all, tm (text and map), doc
	IgnoreRemoteMapChanges bool   `json:"ignoreRemoteMapChanges"`
}

// liveRelPos is a relative position taken on one peer.
type liveRelPos struct {
	peer int
	b    []byte
}

func ptr[T any](v T) *T { return &v }

// newUndoManager makes peer i's manager as peer.mjs does and logs its
// events in the same words.
func (r *liveRun) newUndoManager(d *Doc, i int) *UndoManager {
	var scope []SharedType
	switch r.undo.Scope {
	case "all":
		scope = []SharedType{d.GetText("t"), d.GetArray("a"), d.GetMap("m"), d.GetXmlFragment("x")}
	case "tm":
		scope = []SharedType{d.GetText("t"), d.GetMap("m")}
	}
	um := NewUndoManager(d, &UndoManagerOptions{
		CaptureTimeout:         1e12 * time.Millisecond,
		TrackedOrigins:         []any{nil, "tracked"},
		IgnoreRemoteMapChanges: r.undo.IgnoreRemoteMapChanges,
	}, scope...)
	ev := func(name string) func(e StackItemEvent) {
		return func(e StackItemEvent) {
			origin := "null"
			switch o := e.Origin.(type) {
			case *UndoManager:
				if o == um {
					origin = "um"
				}
			case string:
				origin = o
			}
			r.umEvents = append(r.umEvents, fmt.Sprintf("%d:%s:%s:%s:%d", i, name, e.Type, origin, len(e.ChangedParentTypes)))
		}
	}
	um.OnStackItemAdded(ev("added"))
	um.OnStackItemUpdated(ev("updated"))
	um.OnStackItemPopped(ev("popped"))
	um.OnStackCleared(func(u, rd bool) { r.umEvents = append(r.umEvents, fmt.Sprintf("%d:cleared:%t:%t", i, u, rd)) })
	return um
}

func (r *liveRun) genUndoOp(peer int) liveOp {
	kind := "undo"
	switch x := r.rng.IntN(10); {
	case x < 4:
	case x < 7:
		kind = "redo"
	case x < 9:
		kind = "stop"
	default:
		kind = "clear"
	}
	return liveOp{Peer: peer, Kind: kind}
}

// applyUndoOp runs an undo-manager op and reports whether op was one.
func (r *liveRun) applyUndoOp(op liveOp) bool {
	um := r.ums[op.Peer]
	switch op.Kind {
	case "undo":
		r.umEvents = append(r.umEvents, fmt.Sprintf("%d:undo:%t", op.Peer, um.Undo() != nil))
	case "redo":
		r.umEvents = append(r.umEvents, fmt.Sprintf("%d:redo:%t", op.Peer, um.Redo() != nil))
	case "stop":
		um.StopCapturing()
	case "clear":
		um.Clear()
	default:
		return false
	}
	return true
}

// compareUndoEvents compares the deep events of root "x" and the undo
// managers' events of both sides since the last command.
func (r *liveRun) compareUndoEvents(reply *peerReply) error {
	xev := r.xmlEvents
	r.xmlEvents = nil
	if len(xev) > 0 || len(reply.XMLEv) > 0 {
		if !slices.Equal(xev, reply.XMLEv) {
			return fmt.Errorf("XML events:\n go %q\nyjs %q", xev, reply.XMLEv)
		}
	}
	sev := r.subdocEvents
	r.subdocEvents = nil
	if len(sev) > 0 || len(reply.Subdocs) > 0 {
		if !slices.Equal(sev, reply.Subdocs) {
			return fmt.Errorf("subdocs events:\n go %q\nyjs %q", sev, reply.Subdocs)
		}
	}
	got := r.umEvents
	r.umEvents = nil
	if r.undo == nil {
		return nil
	}
	if len(got) == 0 && len(reply.UM) == 0 {
		return nil
	}
	if !slices.Equal(got, reply.UM) {
		return fmt.Errorf("undo manager events:\n go %q\nyjs %q", got, reply.UM)
	}
	return nil
}

// addRelPositions takes a couple of relative positions in list types.
func (r *liveRun) addRelPositions() {
	for range 2 {
		peer := r.rng.IntN(len(r.docs))
		var lists []SharedType
		var lens []int
		for _, tg := range liveTargets(r.docs[peer]) {
			switch x := tg.t.(type) {
			case *Text:
				lists, lens = append(lists, x), append(lens, x.Len())
			case *XmlText:
				lists, lens = append(lists, x), append(lens, x.Len())
			case *Array:
				lists, lens = append(lists, x), append(lens, x.Len())
			case *XmlFragment:
				lists, lens = append(lists, x), append(lens, x.Len())
			case *XmlElement:
				lists, lens = append(lists, x), append(lens, x.Len())
			}
		}
		k := r.rng.IntN(len(lists))
		assoc := []int{0, -1}[r.rng.IntN(2)]
		rp := CreateRelativePositionFromTypeIndex(lists[k], r.rng.IntN(lens[k]+1), assoc)
		r.rps = append(r.rps, liveRelPos{peer: peer, b: EncodeRelativePosition(rp)})
	}
	if len(r.rps) > 16 {
		r.rps = r.rps[len(r.rps)-16:]
	}
}

// resolveRelPositions resolves every kept relative position on both sides.
func (r *liveRun) resolveRelPositions() error {
	if r.undo == nil || len(r.rps) == 0 {
		return nil
	}
	type rpReq struct {
		Peer int    `json:"peer"`
		Hex  string `json:"hex"`
	}
	reqs := make([]rpReq, len(r.rps))
	got := make([]int, len(r.rps))
	for i, rp := range r.rps {
		reqs[i] = rpReq{rp.peer, hex.EncodeToString(rp.b)}
		dec, err := DecodeRelativePosition(rp.b)
		if err != nil {
			return err
		}
		got[i] = -1
		if abs, ok := CreateAbsolutePositionFromRelativePosition(dec, r.docs[rp.peer]); ok {
			got[i] = abs.Index
		}
	}
	reply, err := r.p.call(map[string]any{"cmd": "resolve", "rps": reqs})
	if err != nil {
		return err
	}
	if !slices.Equal(got, reply.Indices) {
		return fmt.Errorf("relative positions resolve to:\n go %v\nyjs %v", got, reply.Indices)
	}
	return nil
}
