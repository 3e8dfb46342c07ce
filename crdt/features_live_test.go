package crdt

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The live differential tests of Clone, DocOptions.GCFilter,
// XmlElement.GetAttributesAt, Text.ToDeltaAt and the load/sync events,
// against yjs in Node (testdata/yjs/features.mjs). Each seed builds a
// random history with the generator of TestYjsLive (every type, nested
// types, formatting, embeds, XML, subdocuments; 2–3 peers with gc off that
// sync in random pairs, a snapshot of peer 0 after every round), and both
// sides then work from its encoded state.
//
//	MB_TEST_YJS=1 go test ./crdt -run 'TestYjsLive(Clone|GCFilter|SnapshotReads|DocEvents)'   # MB_TEST_YJS_FEATURE_SEEDS seeds (default 100)
//	MB_TEST_YJS=1 MB_TEST_YJS_SEED=17 go test ./crdt -run TestYjsLiveClone -v                   # one seed

// TestYjsLiveClone clones every shared type of the history (roots and
// nested types) on both sides and pushes the clones into a fresh
// document's array: the documents' states must be byte-identical and
// their JSON equal.
func TestYjsLiveClone(t *testing.T) {
	p, seeds := startFeaturesPeer(t)
	var clones, formatted int
	for _, seed := range seeds {
		err := func() error {
			update, _, err := featureHistory(seed)
			if err != nil {
				return err
			}
			src := loadFeatureDoc(update, &DocOptions{DisableGC: true})
			if src == nil {
				return fmt.Errorf("loading the history failed")
			}
			var paths [][]any
			for _, tg := range liveTargets(src) {
				paths = append(paths, tg.path)
			}
			client := seed%1000 + 1
			var js struct {
				Error string
				V1    string
				JSON  string
			}
			if err := p.callInto(map[string]any{"cmd": "clone", "update": hex.EncodeToString(update), "client": client, "paths": paths}, &js); err != nil {
				return err
			}
			dst := NewDoc(&DocOptions{ClientID: client})
			out := dst.GetArray("clones")
			for _, path := range paths {
				v, err := resolveLive(src, path)
				if err != nil {
					return err
				}
				if err := out.Push(cloneShared(v.(SharedType))); err != nil {
					return fmt.Errorf("pushing the clone of %v: %w", path, err)
				}
				clones++
				if txt, ok := v.(*Text); ok && slices.ContainsFunc(txt.ToDelta(), func(op Delta) bool { return op.Attributes != nil }) {
					formatted++
				}
			}
			v1, err := EncodeStateAsUpdate(dst, nil)
			if err != nil {
				return err
			}
			if got := canonJSON(out.ToJSON()); got != js.JSON {
				return fmt.Errorf("clones JSON:\n go   %s\n yjs  %s", got, js.JSON)
			}
			if got := hex.EncodeToString(v1); got != js.V1 {
				return fmt.Errorf("clones state (%d paths):\n go   %s\n yjs  %s", len(paths), got, js.V1)
			}
			return nil
		}()
		if err != nil {
			t.Errorf("seed %d: %v\n  replay: MB_TEST_YJS=1 MB_TEST_YJS_SEED=%d go test ./crdt -run TestYjsLiveClone -v", seed, err, seed)
		}
	}
	t.Logf("%d seeds: %d clones, %d of them formatted texts", len(seeds), clones, formatted)
	if len(seeds) >= 20 && formatted == 0 {
		t.Error("no formatted text was cloned: the generator lost its formatting")
	}
}

// gcFilters are the filters features.mjs knows, by name.
var gcFilters = map[string]func(it *Item) bool{
	"all":      func(*Item) bool { return true },
	"none":     func(*Item) bool { return false },
	"even":     func(it *Item) bool { return it.ID().Clock%2 == 0 },
	"notype":   func(it *Item) bool { _, ok := it.content.(*contentType); return !ok },
	"nostring": func(it *Item) bool { _, ok := it.content.(*contentString); return !ok },
	"list":     func(it *Item) bool { _, ok := it.Key(); return !ok },
}

// TestYjsLiveGCFilter applies the history (with its deleted content) to a
// document with gc on and a gcFilter, then deletes the content of every
// root locally, on both sides: after each step, the items the filter was
// asked about (in order) and the states in v1 and v2 must be identical.
func TestYjsLiveGCFilter(t *testing.T) {
	p, seeds := startFeaturesPeer(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range gcFilters {
			if !yield(k) {
				return
			}
		}
	})
	asked := map[string]int{}
	for _, seed := range seeds {
		update, _, err := featureHistory(seed)
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
			continue
		}
		for _, name := range names {
			if err := checkGCFilter(p, update, name, seed%1000+1, asked); err != nil {
				t.Errorf("seed %d, filter %s: %v\n  replay: MB_TEST_YJS=1 MB_TEST_YJS_SEED=%d go test ./crdt -run TestYjsLiveGCFilter -v", seed, name, err, seed)
			}
		}
	}
	t.Logf("%d seeds: items the filters were asked about: %v", len(seeds), asked)
	for _, name := range names {
		if len(seeds) >= 20 && asked[name] == 0 {
			t.Errorf("filter %s was never asked", name)
		}
	}
}

type featureState struct {
	Log  []string
	V1   string
	V2   string
	JSON map[string]string
}

func checkGCFilter(p *yjsPeer, update []byte, name string, client uint64, asked map[string]int) error {
	var js struct {
		Error string
		Steps []featureState
	}
	if err := p.callInto(map[string]any{"cmd": "gcfilter", "update": hex.EncodeToString(update), "filter": name, "client": client}, &js); err != nil {
		return err
	}
	var log []string
	f := gcFilters[name]
	d := NewDoc(&DocOptions{ClientID: client, GCFilter: func(it *Item) bool {
		log = append(log, fmt.Sprintf("%d:%d:%d", it.id.Client, it.id.Clock, it.len))
		asked[name]++
		return f(it)
	}})
	for _, r := range liveRoots {
		if _, err := d.Root(r[0], RootKind(r[1])); err != nil {
			return err
		}
	}
	if err := ApplyUpdate(d, update, nil); err != nil {
		return err
	}
	var steps []featureState
	state := func() error {
		v1, err := EncodeStateAsUpdate(d, nil)
		if err != nil {
			return err
		}
		v2, err := EncodeStateAsUpdateV2(d, nil)
		if err != nil {
			return err
		}
		json := map[string]string{}
		for k, v := range d.ToJSON() {
			json[k] = canonJSON(v)
		}
		steps = append(steps, featureState{Log: log, V1: hex.EncodeToString(v1), V2: hex.EncodeToString(v2), JSON: json})
		log = nil
		return nil
	}
	if err := state(); err != nil {
		return err
	}
	var err error
	d.Transact(func(*Transaction) {
		txt, arr, m := d.GetText("t"), d.GetArray("a"), d.GetMap("m")
		if err = txt.Delete(0, txt.Len()); err != nil {
			return
		}
		if err = arr.Delete(0, arr.Len()); err != nil {
			return
		}
		for _, k := range m.Keys() {
			m.Delete(k)
		}
	}, nil)
	if err != nil {
		return err
	}
	if err := state(); err != nil {
		return err
	}
	x := d.GetXmlFragment("x")
	if err := x.Delete(0, x.Len()); err != nil {
		return err
	}
	if err := state(); err != nil {
		return err
	}
	if len(steps) != len(js.Steps) {
		return fmt.Errorf("%d steps, yjs %d", len(steps), len(js.Steps))
	}
	for i, g := range steps {
		y := js.Steps[i]
		if strings.Join(g.Log, " ") != strings.Join(y.Log, " ") {
			return fmt.Errorf("step %d: items asked about:\n go   %v\n yjs  %v", i, g.Log, y.Log)
		}
		for _, r := range liveRoots {
			if g.JSON[r[0]] != y.JSON[r[0]] {
				return fmt.Errorf("step %d: root %s JSON:\n go   %s\n yjs  %s", i, r[0], g.JSON[r[0]], y.JSON[r[0]])
			}
		}
		if g.V1 != y.V1 {
			return fmt.Errorf("step %d: v1 state:\n go   %s\n yjs  %s", i, g.V1, y.V1)
		}
		if g.V2 != y.V2 {
			return fmt.Errorf("step %d: v2 state:\n go   %s\n yjs  %s", i, g.V2, y.V2)
		}
	}
	return nil
}

// TestYjsLiveSnapshotReads reads every XML element's attributes and
// every text's delta as of each snapshot of the history (toDelta with
// the snapshot alone, against the previous snapshot, with and without
// computeYChange, and the current state against the snapshot), on both
// sides: every read must be equal, and the document's state afterwards
// (structs split at the snapshots' edges and merged again) byte-identical.
func TestYjsLiveSnapshotReads(t *testing.T) {
	p, seeds := startFeaturesPeer(t)
	var reads, marked int
	for _, seed := range seeds {
		if err := checkSnapshotReads(p, seed, &reads, &marked); err != nil {
			t.Errorf("seed %d: %v\n  replay: MB_TEST_YJS=1 MB_TEST_YJS_SEED=%d go test ./crdt -run TestYjsLiveSnapshotReads -v", seed, err, seed)
		}
	}
	t.Logf("%d seeds: %d reads, %d with ychange marks", len(seeds), reads, marked)
	if len(seeds) >= 20 && marked == 0 {
		t.Error("no read had ychange marks: the snapshots do not differ")
	}
}

func checkSnapshotReads(p *yjsPeer, seed uint64, nReads, nMarked *int) error {
	update, snaps, err := featureHistory(seed)
	if err != nil {
		return err
	}
	d := loadFeatureDoc(update, &DocOptions{DisableGC: true})
	if d == nil {
		return fmt.Errorf("loading the history failed")
	}
	texts, elems := [][]any{}, [][]any{}
	for _, tg := range liveTargets(d) {
		switch tg.t.(type) {
		case *Text, *XmlText:
			texts = append(texts, tg.path)
		case *XmlElement:
			elems = append(elems, tg.path)
		}
	}
	hexSnaps := make([]string, len(snaps))
	for i, s := range snaps {
		hexSnaps[i] = hex.EncodeToString(EncodeSnapshot(s))
	}
	var js struct {
		Error string
		Reads []string
		V1    string
	}
	if err := p.callInto(map[string]any{"cmd": "snapreads", "update": hex.EncodeToString(update), "snaps": hexSnaps, "texts": texts, "elems": elems}, &js); err != nil {
		return err
	}
	ychange := func(action string, id ID) any { return map[string]any{"type": action, "user": id.Client} }
	var reads []string
	for i := range snaps {
		s := &snaps[i]
		prev := EmptySnapshot()
		if i > 0 {
			prev = snaps[i-1]
		}
		for _, path := range elems {
			v, err := resolveLive(d, path)
			if err != nil {
				return err
			}
			reads = append(reads, canonJSON(v.(*XmlElement).GetAttributesAt(*s)))
		}
		for _, path := range texts {
			v, err := resolveLive(d, path)
			if err != nil {
				return err
			}
			var txt *Text
			if xt, ok := v.(*XmlText); ok {
				txt = &xt.Text
			} else {
				txt = v.(*Text)
			}
			reads = append(reads,
				deltaCanon(txt.ToDeltaAt(s, nil, nil)),
				deltaCanon(txt.ToDeltaAt(s, &prev, nil)),
				deltaCanon(txt.ToDeltaAt(s, &prev, ychange)),
				deltaCanon(txt.ToDeltaAt(nil, s, nil)))
		}
	}
	if len(reads) != len(js.Reads) {
		return fmt.Errorf("%d reads, yjs %d", len(reads), len(js.Reads))
	}
	for i := range reads {
		*nReads++
		if strings.Contains(reads[i], "ychange") {
			*nMarked++
		}
		if reads[i] != js.Reads[i] {
			return fmt.Errorf("read %d (%d elements, %d texts per snapshot):\n go   %s\n yjs  %s", i, len(elems), len(texts), reads[i], js.Reads[i])
		}
	}
	v1, err := EncodeStateAsUpdate(d, nil)
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(v1); got != js.V1 {
		return fmt.Errorf("state after the reads:\n go   %s\n yjs  %s", got, js.V1)
	}
	return nil
}

// deltaCanon writes a delta as canon in common.mjs writes yjs's ops.
func deltaCanon(ops []Delta) string {
	out := make([]any, len(ops))
	for i, op := range ops {
		m := map[string]any{"insert": op.Insert}
		if op.Attributes != nil {
			m["attributes"] = op.Attributes
		}
		out[i] = m
	}
	return canonJSON(out)
}

// TestYjsLiveDocEvents runs random sequences of load and sync signals
// (and a destroy) on a Doc and a Y.Doc: the events, IsLoaded, IsSynced
// and whether WhenLoaded and WhenSynced are resolved after every step
// must agree.
func TestYjsLiveDocEvents(t *testing.T) {
	p, seeds := startFeaturesPeer(t)
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 0x6576))
		var script []string
		for range 1 + rng.IntN(10) {
			script = append(script, []string{"load", "sync", "sync:true", "sync:false", "sync:false"}[rng.IntN(5)])
		}
		if rng.IntN(4) == 0 {
			script = slices.Insert(script, rng.IntN(len(script)+1), "destroy")
		}
		var js struct {
			Error string
			Log   []string
		}
		if err := p.callInto(map[string]any{"cmd": "events", "script": script}, &js); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got := docEventsLog(script); !slices.Equal(got, js.Log) {
			t.Errorf("seed %d, script %v:\n go   %q\n yjs  %q", seed, script, got, js.Log)
		}
	}
}

// docEventsLog runs script on a Doc and logs as features.mjs does.
func docEventsLog(script []string) []string {
	d := NewDoc(nil)
	var log []string
	d.OnLoad(func(d *Doc) { log = append(log, fmt.Sprintf("load %t", d.IsLoaded())) })
	d.OnSync(func(s bool, d *Doc) { log = append(log, fmt.Sprintf("sync %t %t %t", s, d.IsSynced(), d.IsLoaded())) })
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	for _, step := range script {
		switch step {
		case "load":
			d.EmitLoad()
		case "sync", "sync:true":
			d.EmitSync(true)
		case "sync:false":
			d.EmitSync(false)
		case "destroy":
			d.Destroy()
		}
		log = append(log, fmt.Sprintf("%s: %t %t %t %t", step, d.IsLoaded(), d.IsSynced(), closed(d.WhenLoaded()), closed(d.WhenSynced())))
	}
	return log
}

// featureHistory builds a random history from seed (see the top of this
// file) and returns peer 0's final state, which holds every peer's
// changes, and the snapshots of peer 0 taken after each round.
func featureHistory(seed uint64) (update []byte, snaps []Snapshot, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	rng := rand.New(rand.NewPCG(seed, 0x636c6f6e))
	r := &liveRun{rng: rng, formats: true}
	n := 2 + rng.IntN(2)
	for len(r.docs) < n {
		c := uint64(rng.Uint32())
		if rng.IntN(4) == 0 {
			c = rng.Uint64N(1<<53-1) + 1
		}
		if c == 0 || slices.ContainsFunc(r.docs, func(d *Doc) bool { return d.ClientID() == c }) {
			continue
		}
		d := NewDoc(&DocOptions{ClientID: c, DisableGC: true})
		for _, root := range liveRoots {
			if _, err := d.Root(root[0], RootKind(root[1])); err != nil {
				return nil, nil, err
			}
		}
		r.docs = append(r.docs, d)
	}
	sync := func(to, from int) error {
		u, err := EncodeStateAsUpdate(r.docs[from], EncodeStateVector(r.docs[to]))
		if err != nil {
			return err
		}
		return ApplyUpdate(r.docs[to], u, "remote")
	}
	rounds := 3 + rng.IntN(4)
	for range rounds {
		for i := range r.docs {
			for range 1 + rng.IntN(8) {
				op, ok := r.genOp(i)
				if !ok {
					continue
				}
				if err := r.applyGoOp(op); err != nil {
					return nil, nil, fmt.Errorf("op %+v: %w", op, err)
				}
			}
		}
		for range rng.IntN(n + 1) {
			a, b := rng.IntN(n), rng.IntN(n)
			if a != b {
				if err := sync(a, b); err != nil {
					return nil, nil, err
				}
			}
		}
		snaps = append(snaps, SnapshotOf(r.docs[0]))
	}
	for i := 1; i < n; i++ {
		if err := sync(0, i); err != nil {
			return nil, nil, err
		}
	}
	update, err = EncodeStateAsUpdate(r.docs[0], nil)
	return update, snaps, err
}

// loadFeatureDoc loads an update into a new document with the live roots
// (nil on error).
func loadFeatureDoc(update []byte, opts *DocOptions) *Doc {
	d := NewDoc(opts)
	for _, r := range liveRoots {
		if _, err := d.Root(r[0], RootKind(r[1])); err != nil {
			return nil
		}
	}
	if err := ApplyUpdate(d, update, nil); err != nil {
		return nil
	}
	return d
}

// startFeaturesPeer starts `node features.mjs` and returns the seeds to
// run (MB_TEST_YJS_FEATURE_SEEDS from MB_TEST_YJS_SEED_START, or the one
// MB_TEST_YJS_SEED).
func startFeaturesPeer(t *testing.T) (*yjsPeer, []uint64) {
	t.Helper()
	requireYjs(t)
	first, count := liveSeeds(t, "MB_TEST_YJS_FEATURE_SEEDS", 100)
	seeds := make([]uint64, 0, count)
	for s := first; s < first+count; s++ {
		seeds = append(seeds, s)
	}
	return startYjsScript(t, "features.mjs"), seeds
}
