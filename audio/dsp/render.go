package dsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/maxbooster/maxbooster/audio"
)

// Writer is a sample sink: audio.WAVWriter, audio.FLACWriter and
// audio.OpusWriter implement it.
type Writer interface {
	Write(samples []float64) error
	Close() error
}

var (
	_ Writer = (*audio.WAVWriter)(nil)
	_ Writer = (*audio.FLACWriter)(nil)
	_ Writer = (*audio.OpusWriter)(nil)
)

// renderBlock is the decode block in frames.
const renderBlock = 8192

// Render decodes r, runs it through p and writes the result to w, closing
// w at the end. outChannels is the channel count p produces (the input's
// unless p mixes); Render returns the number of frames written.
func Render(ctx context.Context, r audio.Reader, p Processor, w Writer, outChannels int) (int64, error) {
	ch := outChannels
	in := r.Info().Channels
	buf := make([]float64, renderBlock*in)
	var frames int64
	write := func(x []float64) error {
		if len(x) == 0 {
			return nil
		}
		frames += int64(len(x) / ch)
		return w.Write(x)
	}
	for {
		if err := ctx.Err(); err != nil {
			return frames, err
		}
		n, err := r.Read(buf)
		if n > 0 {
			if werr := write(p.Process(buf[:n])); werr != nil {
				return frames, werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return frames, err
		}
	}
	if err := write(p.Flush()); err != nil {
		return frames, err
	}
	return frames, w.Close()
}

// StereoMix folds any layout to stereo: mono is copied to both sides, front
// and surround channels go to their side, centre channels to both at −3 dB,
// LFE is dropped (the usual ITU-R BS.775 fold-down).
type StereoMix struct {
	l, r []float64 // weight of each input channel in each output
	out  []float64
}

// NewStereoMix builds the fold-down for a layout.
func NewStereoMix(layout audio.Layout) *StereoMix {
	m := &StereoMix{l: make([]float64, len(layout)), r: make([]float64, len(layout))}
	c := 1 / math.Sqrt2
	for i, p := range layout {
		switch p {
		case audio.PosMono:
			m.l[i], m.r[i] = 1, 1
		case audio.PosFrontLeft, audio.PosFrontLeftOfCenter, audio.PosTopFrontLeft:
			m.l[i] = 1
		case audio.PosFrontRight, audio.PosFrontRightOfCenter, audio.PosTopFrontRight:
			m.r[i] = 1
		case audio.PosBackLeft, audio.PosSideLeft, audio.PosTopBackLeft:
			m.l[i] = c
		case audio.PosBackRight, audio.PosSideRight, audio.PosTopBackRight:
			m.r[i] = c
		case audio.PosLFE:
		default: // centres and unknown positions
			m.l[i], m.r[i] = c, c
		}
	}
	return m
}

// Process implements Processor: it returns 2 channels; the slice is valid
// until the next call.
func (m *StereoMix) Process(x []float64) []float64 {
	ch := len(m.l)
	m.out = m.out[:0]
	for i := 0; i+ch <= len(x); i += ch {
		var l, r float64
		for c := 0; c < ch; c++ {
			l += m.l[c] * x[i+c]
			r += m.r[c] * x[i+c]
		}
		m.out = append(m.out, l, r)
	}
	return m.out
}

// Flush implements Processor.
func (m *StereoMix) Flush() []float64 { return nil }

// Preview encodes r as the streaming preview: stereo, 48 kHz, Ogg Opus at
// about 128 kbit/s in 20 ms frames.
func Preview(ctx context.Context, r audio.Reader, out io.Writer) error {
	info := r.Info()
	chain := Chain{}
	if info.Channels != 2 || info.Layout.String() != "FL FR" {
		chain = append(chain, NewStereoMix(info.Layout))
	}
	if info.SampleRate != audio.OpusRate {
		rs, err := NewResampler(2, info.SampleRate, audio.OpusRate)
		if err != nil {
			return err
		}
		chain = append(chain, rs)
	}
	w, err := audio.NewOpusWriter(out, 0x4D42, info.SampleRate)
	if err != nil {
		return err
	}
	if _, err := Render(ctx, r, chain, w, 2); err != nil {
		return fmt.Errorf("dsp: preview: %w", err)
	}
	return nil
}
