// Package analysis computes what the studio shows about a track beyond
// loudness: waveform peaks at several zoom levels (BBC audiowaveform's
// format), a spectrogram image, tempo, musical key, and the sample
// statistics the delivery check needs (DC offset, silence at the ends,
// clipping).
//
// An [Analyzer] consumes interleaved blocks, like loudness.Meter, so a file
// is decoded once and fed to both. Memory is bounded by the outputs (peaks
// and spectrogram columns, both capped) and by the tempo envelope, which is
// analysed over at most the first MaxTempoSeconds.
package analysis

import (
	"errors"
	"fmt"
	"math"
)

// ErrConfig reports unusable analyzer options.
var ErrConfig = errors.New("analysis: invalid configuration")

// Options selects and sizes the analyses. The zero value enables everything
// with the defaults below.
type Options struct {
	// PeakResolutions are samples per pixel, ascending, each a multiple of the
	// first. Default 256, 512, 1024, 2048, 4096, 8192.
	PeakResolutions []int
	// SpectrogramWidth and SpectrogramHeight size the image (default 1024×256).
	SpectrogramWidth, SpectrogramHeight int
	// FramesHint is the expected length in frames (audio.Info.Frames), used to
	// pick the spectrogram hop; -1 or 0 when unknown.
	FramesHint int64
	// SkipTempo and SkipKey turn those analyses off.
	SkipTempo, SkipKey bool
}

// Limits on client-controlled sizes.
const (
	MaxSpectrogramWidth  = 8192
	MaxSpectrogramHeight = 2048
	MaxPeakResolutions   = 16
	MaxTempoSeconds      = 600
)

// Analyzer runs the analyses over a stream.
type Analyzer struct {
	rate, ch int
	mono     []float64
	stats    *statsAcc
	peaks    *peaksAcc
	spec     *spectrogramAcc
	tempo    *tempoAcc
	key      *keyAcc
}

// New returns an analyzer for interleaved input at rate with channels.
func New(rate, channels int, opt Options) (*Analyzer, error) {
	if rate < 1000 || rate > 768000 || channels < 1 || channels > 64 {
		return nil, fmt.Errorf("%w: %d Hz, %d channels", ErrConfig, rate, channels)
	}
	res := opt.PeakResolutions
	if len(res) == 0 {
		res = []int{256, 512, 1024, 2048, 4096, 8192}
	}
	if len(res) > MaxPeakResolutions {
		return nil, fmt.Errorf("%w: %d peak resolutions (at most %d)", ErrConfig, len(res), MaxPeakResolutions)
	}
	for i, r := range res {
		if r < 2 || r > 1<<20 || r%res[0] != 0 || (i > 0 && r <= res[i-1]) {
			return nil, fmt.Errorf("%w: peak resolutions %v must ascend and be multiples of the first", ErrConfig, res)
		}
	}
	w, h := opt.SpectrogramWidth, opt.SpectrogramHeight
	if w == 0 {
		w = 1024
	}
	if h == 0 {
		h = 256
	}
	if w < 1 || w > MaxSpectrogramWidth || h < 8 || h > MaxSpectrogramHeight {
		return nil, fmt.Errorf("%w: spectrogram %d×%d (at most %d×%d)", ErrConfig, w, h, MaxSpectrogramWidth, MaxSpectrogramHeight)
	}
	a := &Analyzer{
		rate: rate, ch: channels,
		stats: newStats(rate, channels),
		peaks: newPeaks(rate, channels, res),
		spec:  newSpectrogram(rate, w, h, opt.FramesHint),
	}
	if !opt.SkipTempo {
		a.tempo = newTempo(rate)
	}
	if !opt.SkipKey {
		a.key = newKey(rate)
	}
	return a, nil
}

// Write adds interleaved samples.
func (a *Analyzer) Write(x []float64) {
	x = x[:len(x)-len(x)%a.ch]
	a.stats.write(x)
	a.peaks.write(x)
	frames := len(x) / a.ch
	if cap(a.mono) < frames {
		a.mono = make([]float64, frames)
	}
	m := a.mono[:frames]
	inv := 1 / float64(a.ch)
	for i := range m {
		s := 0.0
		for c := 0; c < a.ch; c++ {
			s += x[i*a.ch+c]
		}
		m[i] = s * inv
	}
	a.spec.write(m)
	if a.tempo != nil {
		a.tempo.write(m)
	}
	if a.key != nil {
		a.key.write(m)
	}
}

// Result holds every analysis.
type Result struct {
	Stats       Stats
	Peaks       []Waveform
	Spectrogram *Spectrogram
	Tempo       *Tempo // nil when skipped or not detectable
	Key         *Key   // nil when skipped or not detectable
}

// Result finishes the analyses.
func (a *Analyzer) Result() Result {
	r := Result{Stats: a.stats.result(), Peaks: a.peaks.result(), Spectrogram: a.spec.result()}
	if a.tempo != nil {
		r.Tempo = a.tempo.result()
	}
	if a.key != nil {
		r.Key = a.key.result()
	}
	return r
}

func db(v float64) float64 { return 20 * math.Log10(v) }
