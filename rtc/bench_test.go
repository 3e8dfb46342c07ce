package rtc_test

import (
	"math"
	"testing"

	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/rtc"
)

// benchMix is 8 tracks of two 15 s clips each over one 30 s asset; with
// inserts, each track has an eq, a compressor and a limiter.
func benchMix(inserts bool) *rtc.Mix {
	pcm := make(rtc.PCM, 2*30*rtc.SampleRate)
	for i := range len(pcm) / 2 {
		v := float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/rtc.SampleRate))
		pcm[2*i], pcm[2*i+1] = v, v
	}
	var doc daw.Document
	for i := range 8 {
		t := daw.Track{ID: string(rune('a' + i)), Kind: daw.KindAudio, Pan: float64(i%3-1) / 2, Volume: -3}
		if inserts {
			t.Effects = []daw.Effect{
				{Type: "eq", Params: map[string]float64{"lowGain": 3, "midGain": -2, "highGain": 2}},
				{Type: "compressor", Params: map[string]float64{"threshold": -20}},
				{Type: "limiter", Params: map[string]float64{"ceiling": -1}},
			}
		}
		for k := range 2 {
			t.Clips = append(t.Clips, daw.Clip{AssetID: "x", Position: float64(15 * k), Length: 15, FadeIn: 0.5, FadeOut: 0.5})
		}
		doc.Tracks = append(doc.Tracks, t)
	}
	return rtc.NewMix(doc, map[string]rtc.PCM{"x": pcm})
}

// BenchmarkMixRender renders one 20 ms block of an 8-track mix (the
// per-frame work of a mix preview before encoding).
func BenchmarkMixRender(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchMixRender(b, benchMix(false)) })
	b.Run("inserts", func(b *testing.B) { benchMixRender(b, benchMix(true)) })
}

func benchMixRender(b *testing.B, m *rtc.Mix) {
	mx := rtc.NewMixer()
	out := make([]float32, 2*rtc.FrameLen)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		mx.Render(m, (i%1400)*rtc.FrameLen, out) // a seek every 28 s
		i++
	}
}
