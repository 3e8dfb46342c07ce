package dsp

import (
	"errors"
	"fmt"
	"math"

	"github.com/maxbooster/maxbooster/audio/loudness"
)

// LimiterOptions configures the true-peak limiter.
type LimiterOptions struct {
	CeilingDBTP float64 // e.g. −1
	LookaheadMs float64 // 0 means 5 ms
	ReleaseMs   float64 // 0 means 100 ms
}

// Limiter is a stereo-linked lookahead limiter that keeps the true peak
// (the inter-sample peaks BS.1770's meter sees, found with the same
// oversampling filter) at or below the ceiling.
//
// For each sample it computes the gain that would bring the peak of the
// surrounding inter-sample interval to the ceiling, takes the minimum of that
// over the lookahead window and then averages it over the same window: the
// average of window minima never exceeds the gain any sample inside needs,
// so the gain ramps down smoothly before a peak and is low enough on it. A
// one-pole release lets the gain recover. The audio is delayed by the
// lookahead plus the interpolator's delay.
type Limiter struct {
	ch      int
	ceiling float64
	phases  [][]float64
	d       int // interpolator delay (frames)
	l       int // lookahead (frames)
	relCoef float64

	hist [][]float64 // per channel: input history for interpolation
	hpos int

	prevT float64
	// sliding minimum over l values: a monotonic deque in a ring
	dqIdx         []int64
	dqVal         []float64
	dqHead, dqLen int
	n             int64
	// box average over l values
	box    []float64
	boxSum float64
	boxPos int
	gain   float64

	delay    []float64 // (d+l) frames of audio
	delayPos int
	flushed  bool
	out      []float64
}

// ceilingMargin keeps a little room below the ceiling for the difference
// between interpolating the gained signal and gaining the interpolation.
const ceilingMargin = 0.02 // dB

// NewLimiter returns a limiter for rate and channels.
func NewLimiter(rate, channels int, o LimiterOptions) (*Limiter, error) {
	if o.LookaheadMs == 0 {
		o.LookaheadMs = 5
	}
	if o.ReleaseMs == 0 {
		o.ReleaseMs = 100
	}
	if channels < 1 || o.CeilingDBTP > 0 || o.CeilingDBTP < -60 || o.LookaheadMs < 0.5 || o.LookaheadMs > 50 || o.ReleaseMs < 1 || o.ReleaseMs > 5000 {
		return nil, fmt.Errorf("%w: limiter %+v", ErrConfig, o)
	}
	lim := &Limiter{
		ch: channels, ceiling: DB(o.CeilingDBTP - ceilingMargin), phases: loudness.InterpolatorPhases(rate),
		l: max(1, int(o.LookaheadMs/1000*float64(rate))), relCoef: math.Exp(-1 / (o.ReleaseMs / 1000 * float64(rate))),
		prevT: 1, gain: 1,
	}
	taps := 1
	if lim.phases != nil {
		taps = len(lim.phases[0])
		lim.d = taps / 2
	}
	for range channels {
		lim.hist = append(lim.hist, make([]float64, taps+limRoom))
	}
	lim.hpos = taps
	lim.dqIdx = make([]int64, lim.l)
	lim.dqVal = make([]float64, lim.l)
	lim.box = make([]float64, lim.l)
	for i := range lim.box {
		lim.box[i] = 1
	}
	lim.boxSum = float64(lim.l)
	lim.delay = make([]float64, lim.Latency()*channels)
	return lim, nil
}

const limRoom = 1024

// Latency is the delay in frames.
func (lim *Limiter) Latency() int { return lim.d + lim.l - 1 }

// peak returns the largest absolute value of the newest sample interval
// over all channels (oversampled when the rate needs it).
func (lim *Limiter) push(frame []float64) float64 {
	taps := len(lim.hist[0]) - limRoom
	if lim.hpos == len(lim.hist[0]) {
		for c := range lim.hist {
			copy(lim.hist[c], lim.hist[c][lim.hpos-taps:lim.hpos])
		}
		lim.hpos = taps
	}
	pk := 0.0
	for c, v := range frame {
		h := lim.hist[c]
		h[lim.hpos] = v
		if lim.phases == nil {
			pk = math.Max(pk, math.Abs(v))
			continue
		}
		w := h[lim.hpos+1-taps : lim.hpos+1]
		for _, ph := range lim.phases {
			y := 0.0
			for k, a := range ph {
				y += a * w[k]
			}
			pk = math.Max(pk, math.Abs(y))
		}
		pk = math.Max(pk, math.Abs(w[taps-1-lim.d])) // the sample itself
	}
	lim.hpos++
	return pk
}

func (lim *Limiter) step(frame []float64) {
	pk := lim.push(frame)
	t := 1.0
	if pk > lim.ceiling {
		t = lim.ceiling / pk
	}
	tm := math.Min(t, lim.prevT) // the gain at a sample shapes both neighbouring intervals
	lim.prevT = t
	// Sliding minimum over the last l values.
	n := lim.n
	lim.n++
	for lim.dqLen > 0 && lim.dqVal[(lim.dqHead+lim.dqLen-1)%lim.l] >= tm {
		lim.dqLen--
	}
	lim.dqIdx[(lim.dqHead+lim.dqLen)%lim.l] = n
	lim.dqVal[(lim.dqHead+lim.dqLen)%lim.l] = tm
	lim.dqLen++
	if lim.dqIdx[lim.dqHead] <= n-int64(lim.l) {
		lim.dqHead = (lim.dqHead + 1) % lim.l
		lim.dqLen--
	}
	mn := lim.dqVal[lim.dqHead]
	// Box average of the minima.
	lim.boxSum += mn - lim.box[lim.boxPos]
	lim.box[lim.boxPos] = mn
	lim.boxPos = (lim.boxPos + 1) % lim.l
	if lim.boxPos == 0 {
		lim.boxSum = 0 // re-sum once per window against float drift
		for _, v := range lim.box {
			lim.boxSum += v
		}
	}
	g := lim.boxSum / float64(lim.l)
	if g < lim.gain {
		lim.gain = g
	} else {
		lim.gain = g + lim.relCoef*(lim.gain-g)
	}
	// Output the frame from d + l − 1 frames ago with the current gain.
	// Output starts once the delay line is full and Flush pushes the last
	// frames out, so the output is aligned with the input, frame for frame.
	ch := lim.ch
	lat := lim.Latency()
	if lat == 0 {
		for _, v := range frame {
			lim.out = append(lim.out, v*lim.gain)
		}
		return
	}
	slot := lim.delay[lim.delayPos*ch : lim.delayPos*ch+ch]
	if lim.n > int64(lat) {
		for _, v := range slot {
			lim.out = append(lim.out, v*lim.gain)
		}
	}
	copy(slot, frame)
	lim.delayPos = (lim.delayPos + 1) % lat
}

// Process implements Processor. The result is valid until the next call.
func (lim *Limiter) Process(x []float64) []float64 {
	lim.out = lim.out[:0]
	for i := 0; i+lim.ch <= len(x); i += lim.ch {
		lim.step(x[i : i+lim.ch])
	}
	return lim.out
}

// Flush implements Processor.
func (lim *Limiter) Flush() []float64 {
	if lim.flushed {
		return nil
	}
	lim.flushed = true
	return append([]float64(nil), lim.Process(make([]float64, lim.Latency()*lim.ch))...)
}

// ErrUndefinedLoudness is returned when normalising silence.
var ErrUndefinedLoudness = errors.New("dsp: loudness undefined (silence or under 0.4 s); cannot normalise")

// NormalizePlan is how a file will be brought to a target.
type NormalizePlan struct {
	GainDB float64
	// Limit says the gain would push the true peak over the ceiling, so the
	// limiter will work (it is in the chain either way, as a safety).
	Limit           bool
	CeilingDBTP     float64
	PredictedPeakDB float64 // true peak after the gain, before limiting
}

// PlanNormalize computes the gain from a measurement to targetLUFS with a
// true-peak ceiling.
func PlanNormalize(m loudness.Result, targetLUFS, ceilingDBTP float64) (NormalizePlan, error) {
	if math.IsNaN(m.Integrated) {
		return NormalizePlan{}, ErrUndefinedLoudness
	}
	if targetLUFS > 0 || targetLUFS < -70 || ceilingDBTP > 0 {
		return NormalizePlan{}, fmt.Errorf("%w: target %v LUFS, ceiling %v dBTP", ErrConfig, targetLUFS, ceilingDBTP)
	}
	p := NormalizePlan{GainDB: targetLUFS - m.Integrated, CeilingDBTP: ceilingDBTP}
	p.PredictedPeakDB = m.TruePeak + p.GainDB
	p.Limit = p.PredictedPeakDB > ceilingDBTP
	return p, nil
}

// Chain returns the processors that carry the plan out: the gain, then the
// true-peak limiter at the ceiling.
func (p NormalizePlan) Chain(rate, channels int) (Chain, error) {
	lim, err := NewLimiter(rate, channels, LimiterOptions{CeilingDBTP: p.CeilingDBTP})
	if err != nil {
		return nil, err
	}
	return Chain{NewGain(p.GainDB), lim}, nil
}
