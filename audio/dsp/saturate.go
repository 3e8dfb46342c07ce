package dsp

import (
	"fmt"
	"math"
)

// Saturator is "analog warmth": a tanh waveshaper run at 4× the sample
// rate, so the harmonics it creates above the original Nyquist frequency
// are filtered out before decimation instead of folding back as aliases.
// Small signals pass with unity gain; peaks are rounded off.
type Saturator struct {
	ch      int
	drive   float64
	up      [][]float64 // polyphase interpolator, factor 4
	down    []float64   // low-pass at the original Nyquist, at 4× rate
	hist    [][]float64 // per channel: input history, newest at hpos[c]-1
	ohist   [][]float64 // per channel: shaped 4×-rate history, newest at opos[c]-1
	hpos    []int
	opos    []int
	latency int // frames still to drop at the start
	flushed bool
}

const (
	satFactor = 4
	satTaps   = 16 // per phase
	satRoom   = 1024
)

// NewSaturator returns a saturator with drive in dB (0…24): the gain into
// the tanh curve, compensated after it.
func NewSaturator(channels int, driveDB float64) (*Saturator, error) {
	if channels < 1 || driveDB < 0 || driveDB > 24 {
		return nil, fmt.Errorf("%w: saturator drive %v dB", ErrConfig, driveDB)
	}
	s := &Saturator{ch: channels, drive: DB(driveDB), up: polyphase(satFactor, satTaps, 0.5)}
	// The decimation filter cuts at 0.45 of the original rate (0.1125 at 4×),
	// so the band edge to 0.55 folds back at most onto itself above 0.45.
	// Odd length 2M+1 with M ≡ 3 (mod 4) puts the decimated output on whole
	// input samples, so the latency is an integer number of frames.
	n := satFactor*satTaps*2 - 1
	s.down = lowpass(n, 0.45/satFactor)
	// Histories are linear buffers with room to append; when full, the last
	// filter length is moved to the front (amortised O(1) per sample).
	for range channels {
		s.hist = append(s.hist, make([]float64, satTaps+satRoom))
		s.ohist = append(s.ohist, make([]float64, n+satFactor*satRoom))
		s.hpos = append(s.hpos, satTaps)
		s.opos = append(s.opos, n)
	}
	s.latency = satLatency(n)
	return s, nil
}

// polyphase designs an interpolator (phase p is p/factor of a sample late)
// from a Kaiser-windowed sinc with cutoff fc (fraction of the input rate).
func polyphase(factor, taps int, fc float64) [][]float64 {
	n := factor * taps
	mid := float64(n / 2)
	h := make([]float64, n)
	for i := range h {
		x := (float64(i) - mid) / float64(factor)
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*2*fc*x) / (math.Pi * 2 * fc * x)
		}
		h[i] = s * kaiser(float64(i)-mid, mid, 8)
	}
	ph := make([][]float64, factor)
	for p := range ph {
		ph[p] = make([]float64, taps)
		sum := 0.0
		for k := 0; k < taps; k++ {
			ph[p][taps-1-k] = h[k*factor+p]
			sum += h[k*factor+p]
		}
		for k := range ph[p] {
			ph[p][k] /= sum
		}
	}
	return ph
}

// lowpass is a Kaiser-windowed sinc of n taps, cutoff fc (fraction of the
// rate it runs at), unity DC gain.
func lowpass(n int, fc float64) []float64 {
	h := make([]float64, n)
	mid := float64(n-1) / 2
	sum := 0.0
	for i := range h {
		x := float64(i) - mid
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		h[i] = s * kaiser(x, mid+1, 8)
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

func kaiser(x, half, beta float64) float64 {
	r := x / half
	if math.Abs(r) > 1 {
		return 0
	}
	return bessel0(beta*math.Sqrt(1-r*r)) / bessel0(beta)
}

func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 60; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	return sum
}

// satLatency is the delay in frames: the interpolator's centre tap, then
// the decimator's centre (measured from the newest, last-phase point).
func satLatency(down int) int { return satTaps/2 + ((down-1)/2-(satFactor-1))/satFactor }

func (s *Saturator) shape(v float64) float64 { return math.Tanh(s.drive*v) / s.drive }

// Process implements Processor.
func (s *Saturator) Process(x []float64) []float64 {
	ch := s.ch
	frames := len(x) / ch
	n := len(s.down)
	for c := 0; c < ch; c++ {
		h, oh := s.hist[c], s.ohist[c]
		hp, op := s.hpos[c], s.opos[c]
		for i := 0; i < frames; i++ {
			if hp == len(h) {
				copy(h, h[hp-satTaps:hp])
				hp = satTaps
			}
			h[hp] = x[i*ch+c]
			hp++
			win := h[hp-satTaps : hp]
			if op+satFactor > len(oh) {
				copy(oh, oh[op-n:op])
				op = n
			}
			// Upsample and shape four points at the 4× rate.
			for p, ph := range s.up {
				u := 0.0
				for k, v := range ph {
					u += v * win[k]
				}
				oh[op+p] = s.shape(u)
			}
			op += satFactor
			// Decimate: one low-passed output per input sample (the filter is
			// symmetric, so no reversal is needed).
			y := 0.0
			w := oh[op-n : op]
			for k, v := range s.down {
				y += v * w[k]
			}
			x[i*ch+c] = y
		}
		s.hpos[c], s.opos[c] = hp, op
	}
	if s.latency > 0 {
		drop := min(s.latency, frames)
		s.latency -= drop
		return x[drop*ch:]
	}
	return x
}

// Flush implements Processor: it pushes silence through to release the
// last frames.
func (s *Saturator) Flush() []float64 {
	if s.flushed {
		return nil
	}
	s.flushed = true
	return s.Process(make([]float64, satLatency(len(s.down))*s.ch))
}
