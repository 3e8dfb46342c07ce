package crdt

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// The rich-text, XML and snapshot benchmarks; testdata/yjs/rich.mjs
// measures yjs the same way and `make bench-crdt` prints both side by side.

// mulberry32 is the integer generator rich.mjs uses for the formatting
// spans, so that both sides make the same ones.
type mulberry32 struct{ a uint32 }

func (m *mulberry32) next() uint32 {
	m.a += 0x6D2B79F5
	t := m.a
	t = (t ^ t>>15) * (t | 1)
	t ^= t + (t^t>>7)*(t|61)
	return t ^ t>>14
}

var richColors = []string{"red", "blue", "#0a0"}

// richSpans returns the formatting span to apply after edit k of the
// trace (ok = false: none), as richOps in rich.mjs.
func richSpans() func(k, n int) (pos, length int, attrs lib0.Object, ok bool) {
	m := &mulberry32{a: 4}
	return func(k, n int) (int, int, lib0.Object, bool) {
		if k%16 != 15 || n == 0 {
			return 0, 0, nil, false
		}
		pos := int(m.next() % uint32(n))
		length := 1 + int(m.next()%uint32(min(24, n-pos)))
		var attrs lib0.Object
		switch m.next() % 5 {
		case 0:
			attrs = lib0.Object{{Key: "bold", Value: true}}
		case 1:
			attrs = lib0.Object{{Key: "italic", Value: true}}
		case 2:
			attrs = lib0.Object{{Key: "color", Value: richColors[m.next()%3]}}
		case 3:
			attrs = lib0.Object{{Key: "bold", Value: nil}}
		default:
			attrs = lib0.Object{{Key: "link", Value: "https://example.com/" + strconv.Itoa(int(m.next()%100))}}
		}
		return pos, length, attrs, true
	}
}

// richEdits is how much of the B4 trace the rich-text trace uses (as
// RICH_EDITS in rich.mjs): formatted text has no search markers in yjs,
// so each operation walks the text from its start.
const richEdits = 40000

// runRich applies the rich trace to d, one transaction per operation,
// calling onPoint at ten evenly spaced points.
func runRich(b *testing.B, tr *benchTrace, d *Doc, onPoint func()) {
	t := d.GetText("text")
	spans := richSpans()
	edits := tr.edits[:min(richEdits, len(tr.edits))]
	every := len(edits) / 10
	var err error
	for k, e := range edits {
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
		if pos, n, attrs, ok := spans(k, t.Len()); ok {
			d.Transact(func(*Transaction) { err = t.Format(pos, n, attrs) }, nil)
			if err != nil {
				b.Fatal(err)
			}
		}
		if onPoint != nil && (k+1)%every == 0 && (k+1)/every <= 10 {
			onPoint()
		}
	}
}

// heapOf returns the heap that one value made by make holds (3 made).
func heapOf(make func() any) float64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	keep := []any{make(), make(), make()}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(keep))
}

func BenchmarkRichText(b *testing.B) {
	tr := loadBenchTrace(b)
	var updates [][]byte
	var doc *Doc
	b.Run("apply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			updates = updates[:0]
			doc = NewDoc(&DocOptions{ClientID: 1})
			doc.OnUpdate(func(u []byte, _ any, _ *Transaction) { updates = append(updates, u) })
			runRich(b, tr, doc, nil)
		}
		b.ReportMetric(float64(len(updates)), "updates")
		b.ReportMetric(float64(doc.GetText("text").Len()), "chars")
	})
	if doc == nil {
		b.Skip("apply did not run")
	}
	b.Run("replay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := NewDoc(&DocOptions{ClientID: 2})
			for _, u := range updates {
				mustB4(b, "apply", ApplyUpdate(d, u, nil))
			}
		}
	})
	v1, err := EncodeStateAsUpdate(doc, nil)
	mustB4(b, "encode", err)
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := NewDoc(&DocOptions{ClientID: 2})
			mustB4(b, "load", ApplyUpdate(d, v1, nil))
			_ = d.GetText("text").ToDelta()
		}
		b.ReportMetric(float64(len(v1)), "v1-B")
		b.ReportMetric(float64(len(doc.GetText("text").ToDelta())), "delta-ops")
		b.ReportMetric(heapOf(func() any {
			d := NewDoc(&DocOptions{ClientID: 2})
			mustB4(b, "load", ApplyUpdate(d, v1, nil))
			return d
		}), "heap-B")
	})
}

// buildXMLTree builds the 10,000-node tree of rich.mjs, one node per
// transaction.
func buildXMLTree(b *testing.B) *Doc {
	d := NewDoc(&DocOptions{ClientID: 1})
	frag := d.GetXmlFragment("x")
	check := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range 100 {
		p := NewXmlElement("p")
		check(frag.Push(p))
		check(p.SetAttribute("id", "p"+strconv.Itoa(i)))
		for j := range 99 {
			if j%3 == 2 {
				t := NewXmlText()
				check(p.Push(t))
				check(t.Insert(0, "text "+strconv.Itoa(i)+"."+strconv.Itoa(j)))
			} else {
				name := "em"
				if j%3 == 0 {
					name = "span"
				}
				el := NewXmlElement(name)
				check(el.SetAttribute("class", "c"+strconv.Itoa(j%7)))
				check(p.Push(el))
			}
		}
	}
	return d
}

func BenchmarkXMLTree(b *testing.B) {
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		var d *Doc
		for b.Loop() {
			d = buildXMLTree(b)
		}
		v1, err := EncodeStateAsUpdate(d, nil)
		mustB4(b, "encode", err)
		b.ReportMetric(float64(len(v1)), "v1-B")
		b.ReportMetric(float64(len(d.GetXmlFragment("x").String())), "chars")
		b.ReportMetric(heapOf(func() any { return buildXMLTree(b) }), "heap-B")
	})
}

func BenchmarkSnapshots(b *testing.B) {
	tr := loadBenchTrace(b)
	var origin *Doc
	var snaps [][]byte
	b.Run("take", func(b *testing.B) {
		// The metric is the time spent taking and encoding the ten
		// snapshots; ns/op includes replaying the trace (gc off).
		var take time.Duration
		for b.Loop() {
			snaps = snaps[:0]
			origin = NewDoc(&DocOptions{ClientID: 1, DisableGC: true})
			runRich(b, tr, origin, func() {
				t0 := time.Now()
				snaps = append(snaps, EncodeSnapshot(SnapshotOf(origin)))
				take += time.Since(t0)
			})
		}
		n := 0
		for _, s := range snaps {
			n += len(s)
		}
		b.ReportMetric(float64(take.Nanoseconds())/float64(b.N), "take-ns")
		b.ReportMetric(float64(n), "snap-B")
	})
	if origin == nil {
		b.Skip("take did not run")
	}
	restore := func(b *testing.B, s []byte) (*Doc, int) {
		snap, err := DecodeSnapshot(s)
		mustB4(b, "decode", err)
		d, err := CreateDocFromSnapshot(origin, snap, nil)
		mustB4(b, "restore", err)
		chars := 0
		for _, op := range d.GetText("text").ToDelta() {
			if s, ok := op.Insert.(string); ok {
				chars += int(utf16Len(s))
			}
		}
		return d, chars
	}
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		chars := 0
		for b.Loop() {
			chars = 0
			for _, s := range snaps {
				_, n := restore(b, s)
				chars += n
			}
		}
		b.ReportMetric(float64(chars), "chars")
		b.ReportMetric(heapOf(func() any { d, _ := restore(b, snaps[9]); return d }), "heap-B")
	})
}
