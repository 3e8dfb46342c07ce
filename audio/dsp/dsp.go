// Package dsp processes audio: gain, fades, a parametric equaliser, a
// compressor, oversampled saturation ("analog warmth"), a true-peak
// lookahead limiter and loudness normalisation to a platform target.
//
// Every processor works in place on interleaved float64 blocks and keeps its
// state between calls, so a file is processed as a stream with memory
// bounded by the block size (plus the limiter's few milliseconds of
// lookahead). Processors implement [Processor] and chain with [Chain].
package dsp

import (
	"errors"
	"math"
)

// ErrConfig reports invalid processor parameters.
var ErrConfig = errors.New("dsp: invalid parameters")

// Processor transforms interleaved samples in place. Processors with
// latency (the limiter) return fewer samples than they were given until
// Flush drains them; Process returns the samples ready for output.
type Processor interface {
	Process(x []float64) []float64
	// Flush returns the samples still held inside (none for most).
	Flush() []float64
}

// Chain runs processors in order.
type Chain []Processor

// Process implements Processor.
func (c Chain) Process(x []float64) []float64 {
	for _, p := range c {
		x = p.Process(x)
	}
	return x
}

// Flush drains every stage in order, passing each stage's tail through the
// stages after it (before those stages are flushed themselves).
func (c Chain) Flush() []float64 {
	var out []float64
	for i, p := range c {
		tail := append([]float64(nil), p.Flush()...)
		out = append(out, c[i+1:].Process(tail)...)
	}
	return out
}

// DB converts decibels to a linear factor.
func DB(db float64) float64 { return math.Pow(10, db/20) }

// Gain multiplies by a constant.
type Gain struct{ Factor float64 }

// NewGain returns a gain of db decibels.
func NewGain(db float64) *Gain { return &Gain{Factor: DB(db)} }

// Process implements Processor.
func (g *Gain) Process(x []float64) []float64 {
	for i := range x {
		x[i] *= g.Factor
	}
	return x
}

// Flush implements Processor.
func (g *Gain) Flush() []float64 { return nil }

// Curve is the shape of a fade.
type Curve int

// Fade curves.
const (
	Linear      Curve = iota // amplitude linear in time
	EqualPower               // sin/cos, for crossfades
	Logarithmic              // linear in dB over 60 dB: sounds even to the ear
)

// Fade applies a fade-in over the first In frames and a fade-out over the
// last Out frames of a stream of Frames frames (the length must be known,
// e.g. audio.Info.Frames).
type Fade struct {
	ch              int
	in, out, frames int64
	curve           Curve
	pos             int64
}

// NewFade returns a fade processor. in and out are in frames.
func NewFade(channels int, frames, in, out int64, curve Curve) (*Fade, error) {
	if channels < 1 || frames < 0 || in < 0 || out < 0 || in > frames || out > frames {
		return nil, ErrConfig
	}
	return &Fade{ch: channels, in: in, out: out, frames: frames, curve: curve}, nil
}

func (f *Fade) shape(t float64) float64 {
	switch f.curve {
	case EqualPower:
		return math.Sin(t * math.Pi / 2)
	case Logarithmic:
		if t <= 0 {
			return 0
		}
		return math.Pow(10, (t-1)*3) // −60 dB … 0 dB
	default:
		return t
	}
}

// Process implements Processor.
func (f *Fade) Process(x []float64) []float64 {
	for i := 0; i+f.ch <= len(x); i += f.ch {
		g := 1.0
		if f.pos < f.in {
			g = f.shape(float64(f.pos) / float64(f.in))
		}
		if rem := f.frames - f.pos; rem <= f.out {
			g *= f.shape(float64(rem-1) / float64(f.out))
		}
		if f.pos >= f.frames {
			g = 0
		}
		if g != 1 {
			for c := 0; c < f.ch; c++ {
				x[i+c] *= g
			}
		}
		f.pos++
	}
	return x
}

// Flush implements Processor.
func (f *Fade) Flush() []float64 { return nil }
