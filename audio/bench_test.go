package audio_test

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/maxbooster/maxbooster/audio"
)

// BenchmarkDecode reports decode speed per format on 30 s of 48 kHz stereo
// (tones plus noise). Lossy fixtures need the Debian encoders; formats whose
// encoder is missing are skipped.
func BenchmarkDecode(b *testing.B) {
	const rate, seconds = 48000, 30
	dir := b.TempDir()
	x := sine(rate, 2, rate*seconds, 220, 0.4)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] += 0.05 * rng.NormFloat64()
	}
	wav16 := filepath.Join(dir, "s16.wav")
	writeWAV(b, wav16, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.PCM16}, x)
	fixtures := []struct {
		name string
		make func(out string) error
	}{
		{"wav-s16", func(out string) error { return os.Link(wav16, out) }},
		{"wav-s24", func(out string) error {
			writeWAV(b, out, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.PCM24}, x)
			return nil
		}},
		{"wav-f32", func(out string) error {
			writeWAV(b, out, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.Float32}, x)
			return nil
		}},
		{"flac", func(out string) error { return exec.Command("flac", "-s", "-f", "-o", out, wav16).Run() }},
		{"mp3", func(out string) error { return exec.Command("lame", "--quiet", "-b", "192", wav16, out).Run() }},
		{"vorbis", func(out string) error { return exec.Command("oggenc", "-Q", "-o", out, wav16).Run() }},
		{"opus", func(out string) error { return exec.Command("opusenc", "--quiet", wav16, out).Run() }},
	}
	for _, fx := range fixtures {
		b.Run(fx.name, func(b *testing.B) {
			path := filepath.Join(dir, fx.name)
			if err := fx.make(path); err != nil {
				b.Skipf("cannot make fixture: %v", err)
			}
			buf := make([]float64, 8192*2)
			for b.Loop() {
				r, err := audio.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := r.Read(buf)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				r.Close()
			}
			b.ReportMetric(float64(seconds*b.N)/b.Elapsed().Seconds(), "x-realtime")
		})
	}
}
