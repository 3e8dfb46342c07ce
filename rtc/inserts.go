package rtc

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/maxbooster/maxbooster/audio/dsp"
	"github.com/maxbooster/maxbooster/collab/daw"
)

// insertParam is one parameter of an insert type: the range and default
// the studio gives it (webclient/src/lib/doc.ts EFFECT_TYPES). Values from
// the document are clamped into the range; a missing or non-finite one is
// the default.
type insertParam struct {
	name          string
	min, max, def float64
}

var insertTypes = map[string][]insertParam{
	"eq": {
		{"lowGain", -18, 18, 0}, {"lowFreq", 20, 1000, 120},
		{"midGain", -18, 18, 0}, {"midFreq", 200, 8000, 1000},
		{"highGain", -18, 18, 0}, {"highFreq", 1000, 20000, 8000},
	},
	"compressor": {
		{"threshold", -60, 0, -18}, {"ratio", 1, 20, 4}, {"knee", 0, 24, 6},
		{"attack", 0.1, 200, 10}, {"release", 5, 2000, 120}, {"makeup", 0, 24, 0},
	},
	// The studio's drive knob goes to 36 dB; audio/dsp's saturator to 24.
	"saturator": {{"drive", 0, 24, 6}, {"mix", 0, 1, 1}},
	"limiter":   {{"ceiling", -12, 0, -1}, {"release", 10, 1000, 100}},
	"gain":      {{"gain", -48, 24, 0}},
}

// fxSpec is one insert to build: its type and clamped parameters in the
// order of insertTypes.
type fxSpec struct {
	typ string
	p   []float64
}

// planInserts reads a track's insert chain: bypassed inserts and types the
// server does not know are left out. key identifies the chain (types and
// parameter values), so that a Mixer keeps a chain's state while the
// chain is unchanged.
func planInserts(effects []daw.Effect) ([]fxSpec, string) {
	var fx []fxSpec
	var key strings.Builder
	for _, e := range effects {
		params, ok := insertTypes[e.Type]
		if e.Bypass || !ok {
			continue
		}
		s := fxSpec{typ: e.Type, p: make([]float64, len(params))}
		for i, ip := range params {
			v, ok := e.Params[ip.name]
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				v = ip.def
			}
			s.p[i] = max(ip.min, min(ip.max, v))
		}
		fmt.Fprintf(&key, "%s%v|", s.typ, s.p)
		fx = append(fx, s)
	}
	return fx, key.String()
}

// buildInserts makes the processors of a planned chain (48 kHz stereo).
func buildInserts(fx []fxSpec) dsp.Chain {
	var chain dsp.Chain
	for _, s := range fx {
		if p := buildInsert(s); p != nil {
			chain = append(chain, p)
		}
	}
	return chain
}

func buildInsert(s fxSpec) dsp.Processor {
	p := s.p
	var proc dsp.Processor
	var err error
	switch s.typ {
	case "eq":
		var bands []dsp.Band
		for _, b := range []dsp.Band{
			{Type: dsp.LowShelf, GainDB: p[0], Hz: p[1]},
			{Type: dsp.Peaking, GainDB: p[2], Hz: p[3]},
			{Type: dsp.HighShelf, GainDB: p[4], Hz: p[5]},
		} {
			if b.GainDB != 0 { // a band at 0 dB passes the signal unchanged
				bands = append(bands, b)
			}
		}
		if len(bands) == 0 {
			return nil
		}
		proc, err = dsp.NewEQ(SampleRate, 2, bands)
	case "compressor":
		proc, err = dsp.NewCompressor(SampleRate, 2, dsp.CompressorOptions{
			ThresholdDB: p[0], Ratio: p[1], KneeDB: p[2], AttackMs: p[3], ReleaseMs: p[4], MakeupDB: p[5]})
	case "saturator":
		var sat *dsp.Saturator
		if sat, err = dsp.NewSaturator(2, p[0]); err == nil {
			proc = &wetDry{p: sat, wet: p[1]}
		}
	case "limiter":
		proc, err = dsp.NewLimiter(SampleRate, 2, dsp.LimiterOptions{CeilingDBTP: p[0], ReleaseMs: p[1]})
	case "gain":
		proc = dsp.NewGain(p[0])
	}
	if err != nil { // the ranges above are inside every constructor's
		return nil
	}
	return proc
}

// wetDry mixes a processor's output with its input (delayed alike, for a
// processor with latency): wet·p(x) + (1−wet)·x.
type wetDry struct {
	p   dsp.Processor
	wet float64
	dry []float64 // input not yet matched by output, oldest first
}

// Process implements dsp.Processor.
func (w *wetDry) Process(x []float64) []float64 {
	w.dry = append(w.dry, x...) // before p changes x in place
	return w.mix(w.p.Process(x))
}

// Flush implements dsp.Processor.
func (w *wetDry) Flush() []float64 { return w.mix(w.p.Flush()) }

func (w *wetDry) mix(y []float64) []float64 {
	n := min(len(y), len(w.dry))
	for i := range n {
		y[i] = w.wet*y[i] + (1-w.wet)*w.dry[i]
	}
	w.dry = slices.Delete(w.dry, 0, n)
	return y
}
