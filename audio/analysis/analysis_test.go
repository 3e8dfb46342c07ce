package analysis_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/audio/analysis"
)

func analyze(tb testing.TB, rate, ch int, x []float64, opt analysis.Options) analysis.Result {
	tb.Helper()
	a, err := analysis.New(rate, ch, opt)
	if err != nil {
		tb.Fatal(err)
	}
	for len(x) > 0 {
		n := min(len(x), 999*ch)
		a.Write(x[:n])
		x = x[n:]
	}
	return a.Result()
}

// drums renders a beat at bpm: a kick with a falling pitch on every beat and
// a noise hi-hat on every off-beat.
func drums(rate int, bpm, seconds float64) []float64 {
	n := int(seconds * float64(rate))
	x := make([]float64, n)
	rng := rand.New(rand.NewPCG(3, 4))
	beat := 60 / bpm
	for b := 0.0; b*beat < seconds; b++ {
		start := int(b * beat * float64(rate))
		phase := 0.0
		for i := 0; i < rate/5 && start+i < n; i++ {
			t := float64(i) / float64(rate)
			phase += 2 * math.Pi * (50 + 100*math.Exp(-t*30)) / float64(rate)
			x[start+i] += 0.8 * math.Exp(-t*15) * math.Sin(phase)
		}
		hat := int((b + 0.5) * beat * float64(rate))
		for i := 0; i < rate/20 && hat+i < n; i++ {
			x[hat+i] += 0.2 * math.Exp(-float64(i)/float64(rate)*80) * (rng.Float64()*2 - 1)
		}
	}
	return x
}

func TestTempo(t *testing.T) {
	for _, bpm := range []float64{90, 100, 120, 128, 140, 145} {
		rate := 44100
		r := analyze(t, rate, 1, drums(rate, bpm, 30), analysis.Options{SkipKey: true})
		if r.Tempo == nil {
			t.Fatalf("%v BPM: no tempo", bpm)
		}
		t.Logf("%.2f BPM: detected %.3f, confidence %.2f", bpm, r.Tempo.BPM, r.Tempo.Confidence)
		if math.Abs(r.Tempo.BPM-bpm) > 0.5 {
			t.Errorf("%.2f BPM detected as %.2f (confidence %.2f)", bpm, r.Tempo.BPM, r.Tempo.Confidence)
		}
	}
	if r := analyze(t, 48000, 1, make([]float64, 48000), analysis.Options{SkipKey: true}); r.Tempo != nil {
		t.Errorf("1 s of silence has tempo %+v", r.Tempo)
	}
	tone := make([]float64, 48000*20)
	for i := range tone {
		tone[i] = 0.5 * math.Sin(2*math.Pi*440*float64(i)/48000)
	}
	if r := analyze(t, 48000, 1, tone, analysis.Options{SkipKey: true}); r.Tempo != nil {
		t.Errorf("a steady tone has tempo %+v", r.Tempo)
	}
}

// chords renders triads (MIDI note numbers) of harmonic-rich tones, one per
// second.
func chords(rate int, prog [][]int, repeat int) []float64 {
	var x []float64
	for range repeat {
		for _, ch := range prog {
			for i := 0; i < rate; i++ {
				t := float64(i) / float64(rate)
				env := math.Min(1, t*50) * math.Exp(-t*1.5)
				v := 0.0
				for _, note := range ch {
					f := 440 * math.Pow(2, float64(note-69)/12)
					for h := 1; h <= 6; h++ {
						v += math.Sin(2*math.Pi*f*float64(h)*t) / float64(h)
					}
				}
				x = append(x, 0.1*env*v)
			}
		}
	}
	return x
}

func TestKey(t *testing.T) {
	transpose := func(prog [][]int, by int) [][]int {
		out := make([][]int, len(prog))
		for i, c := range prog {
			for _, n := range c {
				out[i] = append(out[i], n+by)
			}
		}
		return out
	}
	cMajor := [][]int{{48, 60, 64, 67}, {41, 60, 65, 69}, {43, 59, 62, 67}, {48, 60, 64, 67}} // C F G C
	aMinor := [][]int{{45, 57, 60, 64}, {38, 57, 62, 65}, {40, 56, 59, 64}, {45, 57, 60, 64}} // Am Dm E Am
	tests := []struct {
		name    string
		prog    [][]int
		want    string
		camelot string
	}{
		{"C major", cMajor, "C major", "8B"},
		{"A minor", aMinor, "A minor", "8A"},
		{"F# major", transpose(cMajor, 6), "F# major", "2B"},
		{"D minor", transpose(aMinor, 5), "D minor", "7A"},
		{"G major", transpose(cMajor, 7), "G major", "9B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := analyze(t, 44100, 1, chords(44100, tt.prog, 3), analysis.Options{SkipTempo: true})
			if r.Key == nil {
				t.Fatal("no key")
			}
			if r.Key.Name != tt.want || r.Key.Camelot != tt.camelot {
				t.Errorf("key %s (%s), want %s (%s); confidence %.2f margin %.2f", r.Key.Name, r.Key.Camelot, tt.want, tt.camelot, r.Key.Confidence, r.Key.Margin)
			}
		})
	}
}

func TestStats(t *testing.T) {
	const rate = 1000 * 48
	x := make([]float64, 2*rate*4)   // 4 s stereo
	for i := rate; i < 3*rate; i++ { // sound from 1 s to 3 s
		x[2*i] = 0.5*math.Sin(float64(i)) + 0.01
		x[2*i+1] = 0.5 * math.Sin(float64(i))
	}
	for i := 2 * rate; i < 2*rate+10; i++ { // 10 clipped frames in the left channel
		x[2*i] = 1
	}
	x[2*(2*rate+20)+1] = -1 // a single full-scale sample is not clipping
	r := analyze(t, rate, 2, x, analysis.Options{SkipTempo: true, SkipKey: true})
	s := r.Stats
	if s.Frames != 4*rate || s.ClippedSamples != 10 {
		t.Errorf("frames %d, clipped %d; want %d, 10", s.Frames, s.ClippedSamples, 4*rate)
	}
	if math.Abs(s.LeadingSilenceSeconds-1) > 0.001 || math.Abs(s.TrailingSilenceSeconds-1) > 0.001 {
		t.Errorf("silence %.4f s / %.4f s, want 1 / 1", s.LeadingSilenceSeconds, s.TrailingSilenceSeconds)
	}
	if math.Abs(s.DCOffset[0]-0.005) > 0.0005 || math.Abs(s.DCOffset[1]) > 0.0005 {
		t.Errorf("DC offset %v, want [0.005 0]", s.DCOffset)
	}
}

func TestPeaks(t *testing.T) {
	const rate = 8000
	// A ramp from −1 to 1 over 4096 frames in the left channel, half of it in the right.
	x := make([]float64, 2*4096)
	for i := 0; i < 4096; i++ {
		v := -1 + 2*float64(i)/4095
		x[2*i], x[2*i+1] = v, v/2
	}
	r := analyze(t, rate, 2, x, analysis.Options{PeakResolutions: []int{256, 1024, 4096}, SkipTempo: true, SkipKey: true})
	if len(r.Peaks) != 3 {
		t.Fatalf("%d resolutions", len(r.Peaks))
	}
	for _, w := range r.Peaks {
		if n := 4096 / w.SamplesPerPixel; len(w.Min) != n || len(w.Max) != n {
			t.Errorf("%d spp: %d pixels, want %d", w.SamplesPerPixel, len(w.Min), n)
		}
		// Pixel 0 starts at −1 (left channel); the last one ends at 1.
		if w.Min[0] != -1 || w.Max[len(w.Max)-1] != 1 {
			t.Errorf("%d spp: first min %v, last max %v", w.SamplesPerPixel, w.Min[0], w.Max[len(w.Max)-1])
		}
	}
	w := r.Peaks[2] // one pixel
	var dat bytes.Buffer
	if err := w.WriteDat(&dat, 8); err != nil {
		t.Fatal(err)
	}
	var hdr [6]int32
	if err := binary.Read(bytes.NewReader(dat.Bytes()), binary.LittleEndian, &hdr); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([6]int32{2, 1, rate, 4096, 1, 1}, hdr); diff != "" {
		t.Errorf("dat header (-want +got):\n%s", diff)
	}
	if got := dat.Bytes()[24:]; !bytes.Equal(got, []byte{0x80, 0x7f}) {
		t.Errorf("dat data % x, want 80 7f", got)
	}
	j, err := w.JSON(16)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"version": 2.0, "channels": 1.0, "sample_rate": 8000.0, "samples_per_pixel": 4096.0, "bits": 16.0, "length": 1.0, "data": []any{-32768.0, 32767.0}}, doc); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	if _, err := w.JSON(12); err == nil {
		t.Error("JSON(12) accepted")
	}
	if _, err := analysis.New(rate, 2, analysis.Options{PeakResolutions: []int{256, 300}}); err == nil {
		t.Error("New accepted resolutions that are not multiples")
	}
}

func TestSpectrogram(t *testing.T) {
	const rate = 44100
	x := make([]float64, rate*3)
	for i := range x {
		x[i] = 0.5 * math.Sin(2*math.Pi*1000*float64(i)/rate)
	}
	r := analyze(t, rate, 1, x, analysis.Options{SpectrogramWidth: 200, SpectrogramHeight: 128, FramesHint: int64(len(x)), SkipTempo: true, SkipKey: true})
	s := r.Spectrogram
	if s.Width != 200 || len(s.DB) != 200 {
		t.Fatalf("width %d, %d columns", s.Width, len(s.DB))
	}
	col := s.DB[100]
	best := 0
	for i, v := range col {
		if v > col[best] {
			best = i
		}
	}
	if f := s.RowHz(best); math.Abs(math.Log2(f/1000)) > 0.1 {
		t.Errorf("brightest row at %.0f Hz, want 1000", f)
	}
	if math.Abs(float64(col[best])-(-6)) > 1.5 {
		t.Errorf("peak %.1f dB, want about −6", col[best])
	}
	var b bytes.Buffer
	if err := s.WritePNG(&b, -100); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != 200 || got.Y != 128 {
		t.Errorf("png %v", got)
	}
	// Unknown length: columns are merged to stay within twice the width.
	r = analyze(t, rate, 1, x, analysis.Options{SpectrogramWidth: 10, SpectrogramHeight: 16, SkipTempo: true, SkipKey: true})
	if r.Spectrogram.Width != 10 {
		t.Errorf("width %d without a length hint", r.Spectrogram.Width)
	}
}
