package crdt

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// randSubdoc is a new subdocument with one of a few guids (so that the
// same guid is inserted, moved and replaced) and random options.
func (r *liveRun) randSubdoc() valueSpec {
	opts := map[string]any{}
	if r.rng.IntN(3) == 0 {
		opts["gc"] = false
	}
	if r.rng.IntN(3) == 0 {
		opts["autoLoad"] = true
	}
	if r.rng.IntN(2) == 0 {
		opts["meta"] = r.randJSON(1)
	}
	if r.rng.IntN(4) == 0 {
		opts["shouldLoad"] = false
	}
	return valueSpec{Type: "doc", Name: []string{"track-1", "track-2", "take-1"}[r.rng.IntN(3)], V: opts}
}

// subdocFromSpec makes the Doc peer.mjs makes with new Y.Doc({guid, ...opts}).
func subdocFromSpec(v valueSpec) *Doc {
	o := DocOptions{GUID: v.Name}
	m, _ := v.V.(map[string]any)
	if g, ok := m["gc"]; ok && g == false {
		o.DisableGC = true
	}
	if m["autoLoad"] == true {
		o.AutoLoad = true
	}
	if mv, ok := m["meta"]; ok {
		o.Meta = mv
	}
	if sl, ok := m["shouldLoad"]; ok && sl == false {
		o.DeferLoad = true
	}
	return NewDoc(&o)
}

// subdocDesc describes a subdocument as subdocDesc in peer.mjs does.
func (r *liveRun) subdocDesc(sd *Doc) string {
	id, ok := r.docIDs[sd]
	if !ok {
		id = len(r.docIDs)
		r.docIDs[sd] = id
	}
	return fmt.Sprintf("#%d:%s:%t:%t:%t:%s:%t", id, sd.GUID(), sd.ShouldLoad(), sd.AutoLoad(), sd.GC(), canonJSON(sd.Meta()), sd.Destroyed())
}

func (r *liveRun) subdocList(docs []*Doc) string {
	parts := make([]string, len(docs))
	for i, sd := range docs {
		parts[i] = r.subdocDesc(sd)
	}
	return strings.Join(parts, " ")
}

// subdocSummary lists a peer's subdocuments as peer.mjs's state does.
func (r *liveRun) subdocSummary(d *Doc) string {
	var parts []string
	for _, sd := range d.Subdocs() {
		coll := sd.CollectionID()
		if coll == "" {
			coll = "null"
		}
		parts = append(parts, fmt.Sprintf("%s:%t:%s", r.subdocDesc(sd), sd.ClientID() == d.ClientID(), coll))
	}
	return strings.Join(parts, " ")
}

// checkSnapshots (documents with gc off) takes a snapshot of a random
// peer, then restores the last few snapshots with CreateDocFromSnapshot on
// both sides and compares the restored documents' JSON and state.
func (r *liveRun) checkSnapshots() error {
	if r.gc {
		return nil
	}
	peer := r.rng.IntN(len(r.docs))
	r.snaps = append(r.snaps, liveRelPos{peer: peer, b: EncodeSnapshot(SnapshotOf(r.docs[peer]))})
	if len(r.snaps) > 3 {
		r.snaps = r.snaps[len(r.snaps)-3:]
	}
	type snapReq struct {
		Peer int    `json:"peer"`
		Hex  string `json:"hex"`
	}
	reqs := make([]snapReq, len(r.snaps))
	type restored struct {
		json map[string]string
		v1   string
	}
	got := make([]restored, len(r.snaps))
	for i, sp := range r.snaps {
		reqs[i] = snapReq{sp.peer, hex.EncodeToString(sp.b)}
		snap, err := DecodeSnapshot(sp.b)
		if err != nil {
			return err
		}
		nd, err := CreateDocFromSnapshot(r.docs[sp.peer], snap, nil)
		if err != nil {
			return fmt.Errorf("CreateDocFromSnapshot: %w", err)
		}
		v1, err := EncodeStateAsUpdate(nd, nil)
		if err != nil {
			return err
		}
		got[i] = restored{docCanonJSONErr(nd), hex.EncodeToString(v1)}
	}
	reply, err := r.p.call(map[string]any{"cmd": "snaps", "snaps": reqs})
	if err != nil {
		return err
	}
	if err := r.compareUndoEvents(reply); err != nil {
		return fmt.Errorf("restoring snapshots: %w", err)
	}
	for i, g := range got {
		w := reply.Snaps[i]
		if !maps2Equal(g.json, w.JSON) {
			return fmt.Errorf("snapshot %d of peer %d restored JSON:\n go %v\nyjs %v", i, r.snaps[i].peer, g.json, w.JSON)
		}
		if g.v1 != w.V1 {
			return fmt.Errorf("snapshot %d of peer %d restored state:\n go %s\nyjs %s", i, r.snaps[i].peer, g.v1, w.V1)
		}
	}
	return nil
}
