package loudness_test

import (
	"math/rand/v2"
	"testing"

	"github.com/maxbooster/maxbooster/audio/loudness"
)

// BenchmarkMeter measures 10 s of 48 kHz stereo noise per iteration with
// everything on (integrated, LRA, true peak, M/S every 10 ms).
func BenchmarkMeter(b *testing.B) {
	const rate, seconds = 48000, 10
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 2*rate*seconds)
	for i := range x {
		x[i] = 0.3 * rng.NormFloat64()
	}
	b.SetBytes(int64(len(x) * 3)) // as 24-bit PCM
	b.ReportAllocs()
	for b.Loop() {
		m, _ := loudness.New(rate, []float64{1, 1}, loudness.Options{})
		for i := 0; i < len(x); i += 4096 {
			m.Write(x[i:min(i+4096, len(x))])
		}
		m.Result()
	}
	b.ReportMetric(float64(seconds*b.N)/b.Elapsed().Seconds(), "x-realtime")
}
