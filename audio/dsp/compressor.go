package dsp

import (
	"fmt"
	"math"
)

// CompressorOptions configures a feed-forward, stereo-linked compressor.
type CompressorOptions struct {
	ThresholdDB float64
	Ratio       float64 // ≥ 1
	KneeDB      float64 // soft-knee width, 0 = hard
	AttackMs    float64
	ReleaseMs   float64
	MakeupDB    float64
}

// Compressor reduces the level above a threshold. The detector follows the
// peak of the loudest channel (instant rise, release-time fall); the gain
// reduction from the static curve is smoothed with the attack and release
// times and applied to every channel alike, so the stereo image holds.
type Compressor struct {
	o         CompressorOptions
	ch        int
	env, gain float64 // detector level (linear), smoothed gain (dB)
	envRel    float64
	att, rel  float64
	makeup    float64
}

// NewCompressor returns a compressor for rate and channels.
func NewCompressor(rate, channels int, o CompressorOptions) (*Compressor, error) {
	if channels < 1 || o.Ratio < 1 || o.KneeDB < 0 || o.AttackMs < 0 || o.ReleaseMs <= 0 || o.ThresholdDB > 0 {
		return nil, fmt.Errorf("%w: compressor %+v", ErrConfig, o)
	}
	coef := func(ms float64) float64 {
		if ms <= 0 {
			return 0
		}
		return math.Exp(-1 / (ms / 1000 * float64(rate)))
	}
	return &Compressor{o: o, ch: channels, att: coef(o.AttackMs), rel: coef(o.ReleaseMs), envRel: coef(o.ReleaseMs), makeup: o.MakeupDB}, nil
}

// curve is the static gain reduction (dB, ≤ 0) at input level x (dB).
func (c *Compressor) curve(x float64) float64 {
	t, r, w := c.o.ThresholdDB, c.o.Ratio, c.o.KneeDB
	switch {
	case 2*(x-t) < -w:
		return 0
	case w > 0 && 2*math.Abs(x-t) <= w:
		d := x - t + w/2
		return (1/r - 1) * d * d / (2 * w)
	default:
		return (t + (x-t)/r) - x
	}
}

// Process implements Processor.
func (c *Compressor) Process(x []float64) []float64 {
	ch := c.ch
	for i := 0; i+ch <= len(x); i += ch {
		peak := 0.0
		for k := 0; k < ch; k++ {
			peak = math.Max(peak, math.Abs(x[i+k]))
		}
		if peak > c.env {
			c.env = peak
		} else {
			c.env = peak + c.envRel*(c.env-peak)
		}
		target := 0.0
		if c.env > 1e-9 {
			target = c.curve(20 * math.Log10(c.env))
		}
		a := c.rel
		if target < c.gain {
			a = c.att
		}
		c.gain = target + a*(c.gain-target)
		g := math.Pow(10, (c.gain+c.makeup)/20)
		for k := 0; k < ch; k++ {
			x[i+k] *= g
		}
	}
	return x
}

// Flush implements Processor.
func (c *Compressor) Flush() []float64 { return nil }
