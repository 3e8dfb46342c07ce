package crdt

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// B4: the automerge-paper editing trace (259,778 single-edit
// transactions, final text 104,852 characters), as in dmonad's
// crdt-benchmarks. testdata/yjs/bench.mjs measures yjs the same way;
// `make bench` prints both side by side.

// benchEdit is one patch of the trace: at pos, delete del characters, then
// insert ins.
type benchEdit struct {
	pos, del int
	ins      string
}

type benchTrace struct {
	edits []benchEdit
	final string
}

// The trace, read once per test binary (benchmarks run one at a time).
var (
	benchTraceRead bool
	benchTraceData *benchTrace
	errBenchTrace  error
)

// loadBenchTrace reads the trace from MB_B4_TRACE or the shared data
// directory next to the repository.
func loadBenchTrace(b *testing.B) *benchTrace {
	b.Helper()
	if !benchTraceRead {
		benchTraceRead = true
		benchTraceData, errBenchTrace = readBenchTrace()
	}
	if errBenchTrace != nil {
		b.Skipf("B4 trace not available (set MB_B4_TRACE): %v", errBenchTrace)
	}
	return benchTraceData
}

func readBenchTrace() (*benchTrace, error) {
	path := os.Getenv("MB_B4_TRACE")
	if path == "" {
		path = filepath.Join("..", "..", "shared", "data", "automerge-paper.json.gz")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var raw struct {
		EndContent string `json:"endContent"`
		Txns       []struct {
			Patches [][3]any `json:"patches"`
		} `json:"txns"`
	}
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		return nil, err
	}
	tr := &benchTrace{final: raw.EndContent}
	for _, tx := range raw.Txns {
		for _, p := range tx.Patches {
			pos, _ := p[0].(float64)
			del, _ := p[1].(float64)
			ins, _ := p[2].(string)
			tr.edits = append(tr.edits, benchEdit{int(pos), int(del), ins})
		}
	}
	return tr, nil
}

// applyTrace replays the trace on a fresh doc, one transaction per edit,
// collecting the v1 update of each.
func applyTrace(b *testing.B, tr *benchTrace) (*Doc, [][]byte) {
	d := NewDoc(&DocOptions{ClientID: 1})
	updates := make([][]byte, 0, len(tr.edits))
	d.OnUpdate(func(u []byte, _ any, _ *Transaction) { updates = append(updates, u) })
	t := d.GetText("text")
	var err error
	for _, e := range tr.edits {
		d.Transact(func(*Transaction) {
			if e.del > 0 {
				err = t.Delete(e.pos, e.del)
			}
			if err == nil && e.ins != "" {
				err = t.Insert(e.pos, e.ins)
			}
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	return d, updates
}

func mustB4(b *testing.B, what string, err error) {
	b.Helper()
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}

func BenchmarkB4(b *testing.B) {
	tr := loadBenchTrace(b)
	doc, updates := applyTrace(b, tr)
	if got := doc.GetText("text").String(); got != tr.final {
		b.Fatalf("final text differs from the trace's (%d vs %d chars)", len(got), len(tr.final))
	}
	v1, err := EncodeStateAsUpdate(doc, nil)
	mustB4(b, "encode v1", err)
	v2, err := EncodeStateAsUpdateV2(doc, nil)
	mustB4(b, "encode v2", err)

	b.Run("apply", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			_, us := applyTrace(b, tr)
			n = len(us)
		}
		b.ReportMetric(float64(n), "updates")
	})
	b.Run("replay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := NewDoc(&DocOptions{ClientID: 2})
			for _, u := range updates {
				mustB4(b, "apply", ApplyUpdate(d, u, nil))
			}
		}
	})
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := NewDoc(&DocOptions{ClientID: 2})
			mustB4(b, "load", ApplyUpdate(d, v1, nil))
			_ = d.GetText("text").String()
		}
		// Heap held by one loaded doc: load 5, divide.
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		docs := make([]*Doc, 5)
		for i := range docs {
			docs[i] = NewDoc(&DocOptions{ClientID: 2})
			mustB4(b, "load", ApplyUpdate(docs[i], v1, nil))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(len(docs)), "heap-B")
		runtime.KeepAlive(docs)
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, err := EncodeStateAsUpdate(doc, nil)
			mustB4(b, "encode v1", err)
			_, err = EncodeStateAsUpdateV2(doc, nil)
			mustB4(b, "encode v2", err)
		}
		b.ReportMetric(float64(len(v1)), "v1-B")
		b.ReportMetric(float64(len(v2)), "v2-B")
		total := 0
		for _, u := range updates {
			total += len(u)
		}
		b.ReportMetric(float64(total), "updates-B")
	})
	b.Run("merge-batched", func(b *testing.B) {
		b.ReportAllocs()
		var merged []byte
		for b.Loop() {
			var batches [][]byte
			for i := 0; i < len(updates); i += 100 {
				m, err := MergeUpdates(updates[i:min(i+100, len(updates))])
				mustB4(b, "merge batch", err)
				batches = append(batches, m)
			}
			var err error
			merged, err = MergeUpdates(batches)
			mustB4(b, "merge batches", err)
		}
		b.ReportMetric(float64(len(merged)), "merged-B")
	})
	b.Run("merge-all", func(b *testing.B) {
		b.ReportAllocs()
		var merged []byte
		for b.Loop() {
			var err error
			merged, err = MergeUpdates(updates)
			mustB4(b, "merge all", err)
		}
		b.ReportMetric(float64(len(merged)), "merged-B")
	})
}
