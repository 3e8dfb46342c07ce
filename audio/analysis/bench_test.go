package analysis_test

import (
	"math/rand/v2"
	"testing"

	"github.com/maxbooster/maxbooster/audio/analysis"
)

// BenchmarkAnalyzer reports the time of the analyses on 30 s of 48 kHz
// stereo: peaks and spectrogram alone (with the statistics they share a
// pass with), then everything including tempo and key.
func BenchmarkAnalyzer(b *testing.B) {
	const rate, seconds = 48000, 30
	x := drums(rate, 120, seconds)
	st := make([]float64, 2*len(x))
	rng := rand.New(rand.NewPCG(5, 6))
	for i, v := range x {
		st[2*i], st[2*i+1] = v+0.01*rng.NormFloat64(), v
	}
	for _, tt := range []struct {
		name string
		opt  analysis.Options
	}{
		{"peaks+spectrogram", analysis.Options{SkipTempo: true, SkipKey: true, FramesHint: int64(len(x))}},
		{"all", analysis.Options{FramesHint: int64(len(x))}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				a, err := analysis.New(rate, 2, tt.opt)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(st); i += 8192 {
					a.Write(st[i:min(i+8192, len(st))])
				}
				a.Result()
			}
			b.ReportMetric(float64(seconds*b.N)/b.Elapsed().Seconds(), "x-realtime")
		})
	}
}
