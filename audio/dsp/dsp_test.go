package dsp_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/dsp"
	"github.com/maxbooster/maxbooster/audio/loudness"
)

func tone(rate, ch, frames int, hz, amp float64) []float64 {
	x := make([]float64, frames*ch)
	for i := 0; i < frames; i++ {
		v := amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))
		for c := 0; c < ch; c++ {
			x[i*ch+c] = v
		}
	}
	return x
}

// run feeds x through p in uneven blocks and flushes.
func run(p dsp.Processor, x []float64, ch int) []float64 {
	var out []float64
	block := 777 * ch
	for i := 0; i < len(x); i += block {
		in := append([]float64(nil), x[i:min(i+block, len(x))]...)
		out = append(out, p.Process(in)...)
	}
	return append(out, p.Flush()...)
}

// level is the RMS of channel 0 from frame a to b, in dB relative to a
// full-scale sine.
func level(x []float64, ch, a, b int) float64 {
	s := 0.0
	for i := a; i < b; i++ {
		s += x[i*ch] * x[i*ch]
	}
	return 10*math.Log10(s/float64(b-a)) + 3.0103
}

// goertzel returns the amplitude (dBFS) of the component at hz.
func goertzel(x []float64, ch int, hz, rate float64) float64 {
	n := len(x) / ch
	w := 2 * math.Pi * hz / rate
	var re, im float64
	for i := 0; i < n; i++ {
		win := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		s, c := math.Sincos(w * float64(i))
		re += x[i*ch] * win * c
		im -= x[i*ch] * win * s
	}
	return 20 * math.Log10(2*math.Hypot(re, im)/(float64(n)*0.5))
}

func meter(tb testing.TB, rate, ch int, x []float64) loudness.Result {
	tb.Helper()
	w := make([]float64, ch)
	for i := range w {
		w[i] = 1
	}
	m, err := loudness.New(rate, w, loudness.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	m.Write(x)
	return m.Result()
}

func TestGainAndFade(t *testing.T) {
	x := run(dsp.NewGain(-6.0206), tone(48000, 2, 4800, 1000, 1), 2)
	if d := level(x, 2, 0, 4800); math.Abs(d+6.0206) > 0.01 {
		t.Errorf("gain level %.3f dB", d)
	}
	f, err := dsp.NewFade(1, 1000, 100, 100, dsp.Linear)
	if err != nil {
		t.Fatal(err)
	}
	ones := make([]float64, 1000)
	for i := range ones {
		ones[i] = 1
	}
	y := run(f, ones, 1)
	if y[0] != 0 || y[50] != 0.5 || y[100] != 1 || y[500] != 1 || y[999] != 0 || math.Abs(y[950]-0.49) > 0.011 {
		t.Errorf("fade samples 0:%v 50:%v 100:%v 500:%v 950:%v 999:%v", y[0], y[50], y[100], y[500], y[950], y[999])
	}
	if _, err := dsp.NewFade(1, 10, 20, 0, dsp.Linear); !errors.Is(err, dsp.ErrConfig) {
		t.Errorf("fade longer than the file: %v", err)
	}
}

func TestEQ(t *testing.T) {
	const rate = 48000
	tests := []struct {
		band   dsp.Band
		probe  float64
		wantDB float64
	}{
		{dsp.Band{Type: dsp.Peaking, Hz: 1000, GainDB: 6, Q: 1}, 1000, 6},
		{dsp.Band{Type: dsp.Peaking, Hz: 1000, GainDB: -9, Q: 2}, 1000, -9},
		{dsp.Band{Type: dsp.LowShelf, Hz: 200, GainDB: 4}, 30, 4},
		{dsp.Band{Type: dsp.HighShelf, Hz: 5000, GainDB: -3}, 18000, -3},
		{dsp.Band{Type: dsp.HighPass, Hz: 100}, 100, -3.01},
		{dsp.Band{Type: dsp.LowPass, Hz: 8000}, 8000, -3.01},
	}
	for _, tt := range tests {
		e, err := dsp.NewEQ(rate, 1, []dsp.Band{tt.band})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Response(tt.probe, rate); math.Abs(got-tt.wantDB) > 0.1 {
			t.Errorf("%+v: response at %v Hz %.2f dB, want %.2f", tt.band, tt.probe, got, tt.wantDB)
		}
		y := run(e, tone(rate, 1, rate, tt.probe, 0.1), 1)
		if got := level(y, 1, rate/2, rate) - level(tone(rate, 1, rate, tt.probe, 0.1), 1, rate/2, rate); math.Abs(got-tt.wantDB) > 0.15 {
			t.Errorf("%+v: processed level change %.2f dB, want %.2f", tt.band, got, tt.wantDB)
		}
	}
	if _, err := dsp.NewEQ(rate, 1, []dsp.Band{{Type: dsp.Peaking, Hz: 30000, GainDB: 3}}); !errors.Is(err, dsp.ErrConfig) {
		t.Errorf("band above Nyquist: %v", err)
	}
}

func TestCompressor(t *testing.T) {
	const rate = 48000
	c, err := dsp.NewCompressor(rate, 2, dsp.CompressorOptions{ThresholdDB: -20, Ratio: 4, AttackMs: 5, ReleaseMs: 200})
	if err != nil {
		t.Fatal(err)
	}
	y := run(c, tone(rate, 2, 2*rate, 1000, dsp.DB(-10)), 2)
	// −10 dBFS is 10 dB over the threshold: 10/4 = 2.5 dB remain.
	if got := level(y, 2, rate, 2*rate); math.Abs(got-(-17.5)) > 0.3 {
		t.Errorf("compressed level %.2f dBFS, want -17.5", got)
	}
	c, _ = dsp.NewCompressor(rate, 2, dsp.CompressorOptions{ThresholdDB: -20, Ratio: 4, AttackMs: 5, ReleaseMs: 200})
	y = run(c, tone(rate, 2, rate, 1000, dsp.DB(-30)), 2)
	if got := level(y, 2, rate/2, rate); math.Abs(got-(-30)) > 0.01 {
		t.Errorf("level below the threshold changed to %.3f", got)
	}
}

// TestSaturatorNoAliasing drives a 7 kHz sine hard. Its odd harmonics at 35
// and 49 kHz would fold back to 13 and 1 kHz at 48 kHz; oversampling keeps
// those aliases far below what a naive waveshaper leaves.
func TestSaturatorNoAliasing(t *testing.T) {
	const rate = 48000
	x := tone(rate, 1, rate, 7000, 0.9)
	s, err := dsp.NewSaturator(1, 12)
	if err != nil {
		t.Fatal(err)
	}
	y := run(s, append([]float64(nil), x...), 1)
	if len(y) != len(x) {
		t.Fatalf("%d frames out, %d in", len(y), len(x))
	}
	naive := make([]float64, len(x))
	g := dsp.DB(12)
	for i, v := range x {
		naive[i] = math.Tanh(g*v) / g
	}
	for _, alias := range []float64{13000, 1000} {
		ours, theirs := goertzel(y, 1, alias, rate), goertzel(naive, 1, alias, rate)
		t.Logf("alias at %v Hz: oversampled %.1f dBFS, naive %.1f dBFS", alias, ours, theirs)
		if ours > -80 || theirs < -60 {
			t.Errorf("alias at %v Hz: oversampled %.1f dBFS (want < -80), naive %.1f dBFS", alias, ours, theirs)
		}
	}
	if h3 := goertzel(y, 1, 21000, rate); h3 < -40 {
		t.Errorf("third harmonic %.1f dBFS: no saturation happened", h3)
	}
	// Small signals pass unchanged and in time (latency compensated).
	s, _ = dsp.NewSaturator(1, 12)
	quiet := tone(rate, 1, 4800, 440, 0.001)
	q := run(s, append([]float64(nil), quiet...), 1)
	for i := 100; i < len(q)-100; i++ {
		if math.Abs(q[i]-quiet[i]) > 2e-5 {
			t.Fatalf("quiet sample %d: %g, want %g", i, q[i], quiet[i])
		}
	}
}

func TestLimiterTruePeak(t *testing.T) {
	const rate = 48000
	rng := rand.New(rand.NewPCG(1, 2))
	// Noise with bursts and inter-sample peaks (fs/4 at 45°, +3 dBTP).
	x := make([]float64, 2*rate*3)
	for i := 0; i < len(x)/2; i++ {
		v := 0.2 * rng.NormFloat64()
		if i/4800%3 == 1 {
			v = 1.41 * math.Sin(math.Pi/2*float64(i)+math.Pi/4)
		}
		x[2*i], x[2*i+1] = v, -v
	}
	for _, ceiling := range []float64{-1, -2, -0.1} {
		lim, err := dsp.NewLimiter(rate, 2, dsp.LimiterOptions{CeilingDBTP: ceiling})
		if err != nil {
			t.Fatal(err)
		}
		y := run(lim, append([]float64(nil), x...), 2)
		if len(y) != len(x) {
			t.Fatalf("%d samples out, %d in", len(y), len(x))
		}
		in, out := meter(t, rate, 2, x), meter(t, rate, 2, y)
		t.Logf("ceiling %v: true peak %.3f → %.3f dBTP", ceiling, in.TruePeak, out.TruePeak)
		if out.TruePeak > ceiling+0.005 {
			t.Errorf("ceiling %v: output true peak %.3f dBTP", ceiling, out.TruePeak)
		}
	}
	// Below the ceiling the limiter is a pure delay.
	lim, _ := dsp.NewLimiter(rate, 1, dsp.LimiterOptions{CeilingDBTP: -1})
	q := tone(rate, 1, 4800, 997, 0.5)
	y := run(lim, append([]float64(nil), q...), 1)
	for i := range q {
		if math.Abs(y[i]-q[i]) > 1e-12 {
			t.Fatalf("sample %d changed: %g → %g", i, q[i], y[i])
		}
	}
}

func TestNormalize(t *testing.T) {
	const rate = 48000
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 2*rate*10)
	for i := range x {
		x[i] = 0.05 * rng.NormFloat64()
	}
	in := meter(t, rate, 2, x)
	for _, tt := range []struct{ target, ceiling float64 }{{-14, -1}, {-9, -1}, {-23, -1}} {
		plan, err := dsp.PlanNormalize(in, tt.target, tt.ceiling)
		if err != nil {
			t.Fatal(err)
		}
		chain, err := plan.Chain(rate, 2)
		if err != nil {
			t.Fatal(err)
		}
		out := meter(t, rate, 2, run(chain, append([]float64(nil), x...), 2))
		t.Logf("%+v: I %.2f → %.2f LUFS, TP %.2f → %.2f dBTP", tt, in.Integrated, out.Integrated, in.TruePeak, out.TruePeak)
		if out.TruePeak > tt.ceiling+0.005 {
			t.Errorf("%+v: true peak %.3f", tt, out.TruePeak)
		}
		tol := 0.05
		if plan.Limit {
			tol = 1 // limiting takes some loudness; the report says so
		}
		if math.Abs(out.Integrated-tt.target) > tol {
			t.Errorf("%+v: integrated %.2f (limit %v)", tt, out.Integrated, plan.Limit)
		}
	}
	if _, err := dsp.PlanNormalize(meter(t, rate, 2, make([]float64, 2*rate)), -14, -1); !errors.Is(err, dsp.ErrUndefinedLoudness) {
		t.Errorf("silence: %v", err)
	}
}

func TestResampler(t *testing.T) {
	for _, tt := range []struct{ in, out int }{{44100, 48000}, {48000, 44100}, {96000, 48000}, {22050, 48000}} {
		x := tone(tt.in, 2, tt.in, 1000, 0.5)
		r, err := dsp.NewResampler(2, tt.in, tt.out)
		if err != nil {
			t.Fatal(err)
		}
		y := run(r, x, 2)
		if want := (tt.in*tt.out + tt.in - 1) / tt.in; len(y) != 2*want {
			t.Errorf("%d→%d: %d frames, want %d", tt.in, tt.out, len(y)/2, want)
		}
		ideal := tone(tt.out, 2, len(y)/2, 1000, 0.5)
		worst := 0.0
		for i := 200; i < len(y)/2-200; i++ {
			worst = math.Max(worst, math.Abs(y[2*i]-ideal[2*i]))
		}
		if worst > 1e-3 {
			t.Errorf("%d→%d: max error %g against the ideal sine", tt.in, tt.out, worst)
		}
	}
}

func TestPreviewOpus(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "mono.wav")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: 44100, Channels: 1, Format: audio.PCM16})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(tone(44100, 1, 44100*3, 440, 0.5)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := audio.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ogg bytes.Buffer
	if err := dsp.Preview(context.Background(), r, &ogg); err != nil {
		t.Fatal(err)
	}
	dec, err := audio.NewReader(bytes.NewReader(ogg.Bytes()), int64(ogg.Len()))
	if err != nil {
		t.Fatal(err)
	}
	info := dec.Info()
	s, err := audio.ReadAll(dec, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != audio.FormatOpus || info.Channels != 2 || info.SampleRate != 48000 || info.Frames != 3*48000 || len(s) != 2*3*48000 {
		t.Errorf("info %+v, %d samples", info, len(s))
	}
	kbps := float64(ogg.Len()*8) / 3 / 1000
	if kbps < 90 || kbps > 170 {
		t.Errorf("%.0f kbit/s, want about 128", kbps)
	}
	if d := level(s, 2, 4800, 3*48000-4800) - 20*math.Log10(0.5); math.Abs(d) > 0.5 {
		t.Errorf("level off by %.2f dB", d)
	}
}
