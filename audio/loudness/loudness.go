// Package loudness measures programme loudness and true peak per ITU-R
// BS.1770-4/-5 and EBU R128 (EBU Tech 3341 "EBU Mode" and Tech 3342 loudness
// range). It is pure computation: no I/O, no logging.
//
// A [Meter] consumes interleaved float64 samples block by block and keeps
// memory that does not grow with the length of the programme: K-weighted
// energies are summed per 10 ms hop into a ring of 300 hops (3 s), momentary
// (400 ms) and short-term (3 s) loudness are evaluated at every hop, and the
// gating blocks (400 ms every 100 ms) and the short-term values for the
// loudness range (every 100 ms) go into histograms of 0.01 LU bins that also
// sum the exact energies, so the integrated loudness is exact except for
// blocks within 0.01 LU of the relative gate. Only the optional series of
// momentary/short-term values grows with the input.
//
// Conventions, where BS.1770 or its implementations leave a choice:
//   - Gates are strict: a block counts when l > −70 LUFS and l > Γr (BS.1770
//     eq. 6/7); libebur128 uses ≥ for the absolute gate.
//   - Mono is one channel with weight 1 (a −23 dBFS mono sine reads −26 LUFS),
//     not "dual mono".
//   - LFE has weight 0 for loudness but counts for true peak.
//   - Undefined values (silence, or less than one complete window) are NaN.
//   - The 10 ms hop is floor(k·rate/100) samples, so rates such as 11025 Hz
//     work; the 100 ms gating grid is every tenth hop.
package loudness

import (
	"errors"
	"fmt"
	"math"
)

// ErrConfig reports an unusable meter configuration.
var ErrConfig = errors.New("loudness: invalid configuration")

const (
	hopsPerSecond = 100
	momentaryHops = 40  // 400 ms
	shortTermHops = 300 // 3 s
	blockStride   = 10  // gating blocks and LRA values every 100 ms
	absoluteGate  = -70.0
	relativeGate  = -10.0 // LU below the absolute-gated loudness (integrated)
	lraGate       = -20.0 // LU, Tech 3342
)

// Options configures a Meter.
type Options struct {
	// Series records the momentary and short-term loudness of every 10 ms hop
	// (16 bytes per hop, about 5.8 MB per hour of audio).
	Series bool
}

// Meter is a streaming EBU Mode loudness meter. It is not safe for
// concurrent use.
type Meter struct {
	rate, ch int
	weights  []float64
	filters  []kfilter
	tp       *TruePeak

	pos    int64 // frames consumed
	hop    int64 // index of the hop being filled
	hopEnd int64 // frame index at which it ends
	acc    float64

	ringE [shortTermHops]float64 // Σ_i G_i·Σy² per hop
	ringN [shortTermHops]int64   // frames per hop
	done  int64                  // completed hops

	blocks, stValues histogram
	maxM, maxS       float64 // mean weighted energies; -1 until a window completes

	series             bool
	momentary, shortST []float64
}

// New returns a meter for the given sample rate and per-channel BS.1770
// weights (see audio.Layout.LoudnessWeights; 0 excludes a channel, as for LFE).
func New(rate int, weights []float64, opt Options) (*Meter, error) {
	if rate < 1000 || rate > 768000 {
		return nil, fmt.Errorf("%w: sample rate %d", ErrConfig, rate)
	}
	if len(weights) == 0 || len(weights) > 64 {
		return nil, fmt.Errorf("%w: %d channels", ErrConfig, len(weights))
	}
	m := &Meter{
		rate: rate, ch: len(weights), weights: append([]float64(nil), weights...),
		filters: make([]kfilter, len(weights)), tp: NewTruePeak(rate, len(weights)),
		maxM: -1, maxS: -1, series: opt.Series,
	}
	s, h := KWeighting(float64(rate))
	for i := range m.filters {
		m.filters[i] = kfilter{s: s, h: h}
	}
	m.hopEnd = m.boundary(1)
	return m, nil
}

// boundary is the first frame of hop k.
func (m *Meter) boundary(k int64) int64 { return k * int64(m.rate) / hopsPerSecond }

// Write adds interleaved samples (len(x) a multiple of the channel count;
// a trailing partial frame is ignored).
func (m *Meter) Write(x []float64) {
	ch := m.ch
	x = x[:len(x)-len(x)%ch]
	m.tp.Write(x)
	for len(x) > 0 {
		frames := min(int64(len(x)/ch), m.hopEnd-m.pos)
		n := int(frames)
		for c := 0; c < ch; c++ {
			if w := m.weights[c]; w != 0 {
				m.acc += w * m.filters[c].run(x[c:], n, ch)
			}
		}
		m.pos += frames
		x = x[n*ch:]
		if m.pos == m.hopEnd {
			m.finishHop()
		}
	}
}

func (m *Meter) finishHop() {
	i := m.done % shortTermHops
	m.ringE[i] = m.acc
	m.ringN[i] = m.hopEnd - m.boundary(m.hop)
	m.acc = 0
	m.done++
	m.hop++
	m.hopEnd = m.boundary(m.hop + 1)
	if m.done >= momentaryHops {
		z := m.window(momentaryHops)
		m.maxM = math.Max(m.maxM, z)
		if m.series {
			m.momentary = append(m.momentary, gated(z))
		}
		if m.done%blockStride == 0 {
			m.blocks.add(z)
		}
	}
	if m.done >= shortTermHops {
		z := m.window(shortTermHops)
		m.maxS = math.Max(m.maxS, z)
		if m.series {
			m.shortST = append(m.shortST, gated(z))
		}
		if m.done%blockStride == 0 {
			m.stValues.add(z)
		}
	}
}

// window returns the mean weighted square over the last n hops.
func (m *Meter) window(n int64) float64 {
	var e float64
	var f int64
	for k := m.done - n; k < m.done; k++ {
		e += m.ringE[k%shortTermHops]
		f += m.ringN[k%shortTermHops]
	}
	if f == 0 {
		return 0
	}
	return e / float64(f)
}

// lufs converts a mean weighted square to loudness (BS.1770 eq. 2).
func lufs(z float64) float64 { return -0.691 + 10*math.Log10(z) }

// gated is lufs, or NaN at or below the absolute gate.
func gated(z float64) float64 {
	l := lufs(z)
	if !(l > absoluteGate) {
		return math.NaN()
	}
	return l
}

// histogram bins block energies by loudness in 0.01 LU steps from −70 LUFS
// and sums the energies exactly per bin. Values at or below −70 are dropped
// (absolute gate); values above the top bin go into it.
type histogram struct {
	count  []int64
	energy []float64
	n      int64
	total  float64
}

const (
	histStep = 0.01
	histBins = 10000 // −70 … +30 LUFS
)

func (h *histogram) add(z float64) {
	l := lufs(z)
	if !(l > absoluteGate) {
		return
	}
	if h.count == nil {
		h.count = make([]int64, histBins)
		h.energy = make([]float64, histBins)
	}
	i := min(int((l-absoluteGate)/histStep), histBins-1)
	h.count[i]++
	h.energy[i] += z
	h.n++
	h.total += z
}

// binLoudness is the loudness of the mean energy in bin i.
func (h *histogram) binLoudness(i int) float64 { return lufs(h.energy[i] / float64(h.count[i])) }

// gatedMean returns the loudness of the mean energy of the bins above
// (mean of all) + rel, the threshold, and the number of values kept.
func (h *histogram) gatedMean(rel float64) (l, threshold float64, n int64) {
	if h.n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	threshold = lufs(h.total/float64(h.n)) + rel
	var e float64
	for i, c := range h.count {
		if c > 0 && h.binLoudness(i) > threshold {
			e += h.energy[i]
			n += c
		}
	}
	if n == 0 {
		return math.NaN(), threshold, 0
	}
	return lufs(e / float64(n)), threshold, n
}

// Result is the measurement of everything written so far.
type Result struct {
	// Integrated is the gated programme loudness (LUFS); NaN when no 400 ms
	// block is above the gates (silence, or shorter than 400 ms).
	Integrated        float64
	RelativeThreshold float64 // LUFS, the −10 LU gate
	GatedBlocks       int64   // blocks that passed both gates
	// Range is the loudness range (LU) per EBU Tech 3342, with the 10th and
	// 95th percentiles of the gated short-term distribution; NaN when no
	// short-term value passes the gates.
	Range, RangeLow, RangeHigh float64
	// MomentaryMax and ShortTermMax are the largest 400 ms and 3 s loudness on
	// the 10 ms hop (LUFS); NaN before the first complete window.
	MomentaryMax, ShortTermMax float64
	// TruePeak and SamplePeak are the maxima over channels, in dBTP and dBFS;
	// −Inf for digital silence. The per-channel values are linear.
	TruePeak, SamplePeak                 float64
	ChannelTruePeaks, ChannelSamplePeaks []float64
	OversamplingFactor                   int
	Frames                               int64
}

// Result computes the measurement. The meter can keep going afterwards.
func (m *Meter) Result() Result {
	r := Result{Frames: m.pos, OversamplingFactor: m.tp.Factor()}
	r.Integrated, r.RelativeThreshold, r.GatedBlocks = m.blocks.gatedMean(relativeGate)
	r.Range, r.RangeLow, r.RangeHigh = m.stValues.lra()
	r.MomentaryMax, r.ShortTermMax = math.NaN(), math.NaN()
	if m.maxM >= 0 {
		r.MomentaryMax = lufs(m.maxM)
	}
	if m.maxS >= 0 {
		r.ShortTermMax = lufs(m.maxS)
	}
	r.ChannelTruePeaks, r.ChannelSamplePeaks = m.tp.Peaks()
	tp, sp := 0.0, 0.0
	for c := range r.ChannelTruePeaks {
		tp = math.Max(tp, r.ChannelTruePeaks[c])
		sp = math.Max(sp, r.ChannelSamplePeaks[c])
	}
	r.TruePeak, r.SamplePeak = 20*math.Log10(tp), 20*math.Log10(sp)
	return r
}

// lra applies the Tech 3342 gates and returns P95 − P10 with both
// percentiles (nearest rank, as in the Tech 3342 reference code).
func (h *histogram) lra() (lra, low, high float64) {
	nan := math.NaN()
	if h.n == 0 {
		return nan, nan, nan
	}
	threshold := lufs(h.total/float64(h.n)) + lraGate
	var n int64
	first := -1
	for i, c := range h.count {
		if c > 0 && h.binLoudness(i) >= threshold {
			if first < 0 {
				first = i
			}
			n += c
		}
	}
	if n == 0 {
		return nan, nan, nan
	}
	rank := func(p float64) float64 {
		k := int64(float64(n-1)*p + 0.5)
		var seen int64
		for i := first; i < histBins; i++ {
			if h.count[i] == 0 || h.binLoudness(i) < threshold {
				continue
			}
			seen += h.count[i]
			if seen > k {
				return h.binLoudness(i)
			}
		}
		return nan
	}
	low, high = rank(0.10), rank(0.95)
	return high - low, low, high
}

// Series is the momentary or short-term loudness on the 10 ms hop: value i
// belongs to the window that ends at FirstEndSeconds + i·HopSeconds. NaN
// marks windows at or below the absolute gate (−70 LUFS).
type Series struct {
	HopSeconds      float64
	FirstEndSeconds float64
	LUFS            []float64
}

// Series returns the recorded momentary and short-term series (empty unless
// Options.Series was set).
func (m *Meter) Series() (momentary, shortTerm Series) {
	return Series{HopSeconds: 0.01, FirstEndSeconds: 0.4, LUFS: m.momentary},
		Series{HopSeconds: 0.01, FirstEndSeconds: 3.0, LUFS: m.shortST}
}

// Momentary returns the loudness of the last complete 400 ms window (NaN if
// none or at/below −70 LUFS), for live display.
func (m *Meter) Momentary() float64 {
	if m.done < momentaryHops {
		return math.NaN()
	}
	return gated(m.window(momentaryHops))
}

// ShortTerm returns the loudness of the last complete 3 s window.
func (m *Meter) ShortTerm() float64 {
	if m.done < shortTermHops {
		return math.NaN()
	}
	return gated(m.window(shortTermHops))
}
