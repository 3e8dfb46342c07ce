package loudness_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/maxbooster/maxbooster/audio/loudness"
)

// seg is a stretch of a 1 kHz sine at a peak level (dBFS) per channel;
// math.Inf(-1) is silence.
type seg struct {
	seconds float64
	dBFS    []float64
}

func level(db float64) float64 {
	if math.IsInf(db, -1) {
		return 0
	}
	return math.Pow(10, db/20)
}

func all(ch int, db float64) []float64 {
	d := make([]float64, ch)
	for i := range d {
		d[i] = db
	}
	return d
}

var silence = math.Inf(-1)

// synth renders segments of a phase-continuous 1 kHz sine.
func synth(rate int, freq float64, segs ...seg) []float64 {
	ch := len(segs[0].dBFS)
	var out []float64
	n := 0
	for _, s := range segs {
		frames := int(math.Round(s.seconds * float64(rate)))
		for i := 0; i < frames; i++ {
			v := math.Sin(2 * math.Pi * freq * float64(n) / float64(rate))
			for c := 0; c < ch; c++ {
				out = append(out, level(s.dBFS[c])*v)
			}
			n++
		}
	}
	return out
}

// measure feeds x in uneven chunks, so hop and block boundaries fall inside
// writes.
func measure(tb testing.TB, rate int, weights []float64, x []float64) (*loudness.Meter, loudness.Result) {
	tb.Helper()
	m, err := loudness.New(rate, weights, loudness.Options{Series: true})
	if err != nil {
		tb.Fatal(err)
	}
	ch := len(weights)
	chunk := 1237 * ch
	for len(x) > 0 {
		n := min(chunk, len(x))
		m.Write(x[:n])
		x = x[n:]
	}
	return m, m.Result()
}

var stereo = []float64{1, 1}

func near(tb testing.TB, what string, got, want, tol float64) {
	tb.Helper()
	if !(math.Abs(got-want) <= tol) {
		tb.Errorf("%s = %.3f, want %.1f ±%.1f", what, got, want, tol)
	}
}

// TestTech3341 runs every case of EBU Tech 3341 v4 Table 1 except #7 and #8,
// which are copyrighted programme excerpts.
func TestTech3341(t *testing.T) {
	const rate = 48000
	t.Run("1 and 2 constant tone", func(t *testing.T) {
		for _, db := range []float64{-23, -33} {
			m, r := measure(t, rate, stereo, synth(rate, 1000, seg{20, all(2, db)}))
			near(t, "I", r.Integrated, db, 0.1)
			near(t, "max M", r.MomentaryMax, db, 0.1)
			near(t, "max S", r.ShortTermMax, db, 0.1)
			near(t, "M", m.Momentary(), db, 0.1)
			near(t, "S", m.ShortTerm(), db, 0.1)
			mo, st := m.Series()
			for _, s := range []loudness.Series{mo, st} {
				for i, v := range s.LUFS {
					if math.Abs(v-db) > 0.1 {
						t.Fatalf("window ending %.2f s reads %.3f", s.FirstEndSeconds+float64(i)*s.HopSeconds, v)
					}
				}
			}
		}
	})
	integrated := []struct {
		name string
		segs []seg
	}{
		{"3", []seg{{10, all(2, -36)}, {60, all(2, -23)}, {10, all(2, -36)}}},
		{"4", []seg{{10, all(2, -72)}, {10, all(2, -36)}, {60, all(2, -23)}, {10, all(2, -36)}, {10, all(2, -72)}}},
		{"5 relative gate", []seg{{20, all(2, -26)}, {20.1, all(2, -20)}, {20, all(2, -26)}}},
	}
	for _, tt := range integrated {
		t.Run(tt.name, func(t *testing.T) {
			_, r := measure(t, rate, stereo, synth(rate, 1000, tt.segs...))
			near(t, "I", r.Integrated, -23, 0.1)
		})
	}
	t.Run("6 5.0 channels", func(t *testing.T) {
		// WAV order L R C Ls Rs; surround weight 1.41.
		_, r := measure(t, rate, []float64{1, 1, 1, 1.41, 1.41}, synth(rate, 1000, seg{20, []float64{-28, -28, -24, -30, -30}}))
		near(t, "I", r.Integrated, -23, 0.1)
	})
	t.Run("9 short-term constant after 3 s", func(t *testing.T) {
		var segs []seg
		for range 5 {
			segs = append(segs, seg{1.34, all(2, -20)}, seg{1.66, all(2, -30)})
		}
		m, _ := measure(t, rate, stereo, synth(rate, 1000, segs...))
		_, st := m.Series()
		if len(st.LUFS) < 1000 {
			t.Fatalf("%d short-term values", len(st.LUFS))
		}
		for i, v := range st.LUFS {
			near(t, fmt.Sprintf("S at %.2f s", st.FirstEndSeconds+float64(i)*st.HopSeconds), v, -23, 0.1)
		}
	})
	t.Run("12 momentary constant after 1 s", func(t *testing.T) {
		var segs []seg
		for range 25 {
			segs = append(segs, seg{0.18, all(2, -20)}, seg{0.22, all(2, -30)})
		}
		m, _ := measure(t, rate, stereo, synth(rate, 1000, segs...))
		mo, _ := m.Series()
		for i, v := range mo.LUFS {
			if end := mo.FirstEndSeconds + float64(i)*mo.HopSeconds; end >= 1-1e-9 {
				near(t, fmt.Sprintf("M at %.2f s", end), v, -23, 0.1)
			}
		}
	})
	t.Run("10 max short-term, file based", func(t *testing.T) {
		for i := range 20 {
			_, r := measure(t, rate, stereo, synth(rate, 1000, seg{float64(i) * 0.15, all(2, silence)}, seg{3, all(2, -23)}, seg{1, all(2, silence)}))
			near(t, fmt.Sprintf("file %d max S", i), r.ShortTermMax, -23, 0.1)
		}
	})
	t.Run("13 max momentary, file based", func(t *testing.T) {
		for i := range 20 {
			_, r := measure(t, rate, stereo, synth(rate, 1000, seg{float64(i) * 0.02, all(2, silence)}, seg{0.4, all(2, -23)}, seg{1, all(2, silence)}))
			near(t, fmt.Sprintf("file %d max M", i), r.MomentaryMax, -23, 0.1)
		}
	})
	live := func(t *testing.T, window, step, period float64, series func(*loudness.Meter) loudness.Series) {
		var segs []seg
		for i := range 20 {
			lead := float64(i) * step
			segs = append(segs, seg{lead, all(2, silence)}, seg{window, all(2, -38+float64(i))}, seg{period - window - lead, all(2, silence)})
		}
		m, _ := measure(t, rate, stereo, synth(rate, 1000, segs...))
		s := series(m)
		for i := range 20 {
			start, end := float64(i)*period, float64(i+1)*period
			best := math.Inf(-1)
			for k, v := range s.LUFS {
				if e := s.FirstEndSeconds + float64(k)*s.HopSeconds; e > start && e <= end+1e-9 && v > best {
					best = v
				}
			}
			near(t, fmt.Sprintf("segment %d max", i), best, -38+float64(i), 0.1)
		}
	}
	t.Run("11 max short-term, live", func(t *testing.T) {
		live(t, 3, 0.15, 6, func(m *loudness.Meter) loudness.Series { _, s := m.Series(); return s })
	})
	t.Run("14 max momentary, live", func(t *testing.T) {
		live(t, 0.4, 0.02, 0.8, func(m *loudness.Meter) loudness.Series { s, _ := m.Series(); return s })
	})
}

// tpSignal is a stereo sine at rate/div with a 10 ms fade in and out.
func tpSignal(rate int, div, ampFFS, phaseDeg float64) []float64 {
	n := rate
	fade := rate / 100
	out := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		g := 1.0
		if i < fade {
			g = float64(i) / float64(fade)
		} else if i >= n-fade {
			g = float64(n-1-i) / float64(fade)
		}
		v := g * ampFFS * math.Sin(2*math.Pi*float64(i)/div+phaseDeg*math.Pi/180)
		out[2*i], out[2*i+1] = v, v
	}
	return out
}

// tpSplice builds Tech 3341 #20–23: fs/6 at 0.5 FFS with one period of fs/4
// at 1.0 FFS spliced in phase-continuously, synthesised at 4·fs, low-passed
// below fs/2 and decimated with the given offset (0…3).
func tpSplice(rate, offset int) []float64 {
	const up = 4
	// At 4·fs, fs/6 has a period of 24 samples and fs/4 one of 16.
	var hi []float64
	for k := range 1000 { // 1000 periods of fs/6 (0.125 s at 48 kHz) …
		for i := range 24 {
			hi = append(hi, 0.5*math.Sin(2*math.Pi*float64(i)/24))
		}
		if k == 500 { // … with one period of fs/4 at full scale in the middle
			for i := range 16 {
				hi = append(hi, math.Sin(2*math.Pi*float64(i)/16))
			}
		}
	}
	// Low-pass at 0.45·fs (of the output rate) with a long windowed sinc.
	const taps = 511
	fc := 0.45 / up
	h := make([]float64, taps)
	sum := 0.0
	for i := range h {
		x := float64(i - taps/2)
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/(taps-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/(taps-1))
		h[i] = s * w
		sum += h[i]
	}
	var out []float64
	for n := offset; n < len(hi); n += up {
		y := 0.0
		for k, c := range h {
			if j := n - k + taps/2; j >= 0 && j < len(hi) {
				y += c * hi[j]
			}
		}
		y /= sum
		out = append(out, y, y)
	}
	return out
}

func TestTech3341TruePeak(t *testing.T) {
	const rate = 48000
	tests := []struct {
		name string
		x    []float64
		want float64
	}{
		{"15 fs/4 0.50 FFS 0°", tpSignal(rate, 4, 0.5, 0), -6},
		{"16 fs/4 0.50 FFS 45°", tpSignal(rate, 4, 0.5, 45), -6},
		{"17 fs/6 0.50 FFS 60°", tpSignal(rate, 6, 0.5, 60), -6},
		{"18 fs/8 0.50 FFS 67.5°", tpSignal(rate, 8, 0.5, 67.5), -6},
		{"19 fs/4 1.41 FFS 45°", tpSignal(rate, 4, 1.41, 45), 3},
		{"20 splice offset 0", tpSplice(rate, 0), 0},
		{"21 splice offset 1", tpSplice(rate, 1), 0},
		{"22 splice offset 2", tpSplice(rate, 2), 0},
		{"23 splice offset 3", tpSplice(rate, 3), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := measure(t, rate, stereo, tt.x)
			t.Logf("true peak %.3f dBTP, sample peak %.3f dBFS", r.TruePeak, r.SamplePeak)
			if r.TruePeak > tt.want+0.2 || r.TruePeak < tt.want-0.4 {
				t.Errorf("true peak %.3f dBTP, want %.1f +0.2/−0.4", r.TruePeak, tt.want)
			}
			if r.TruePeak < r.SamplePeak {
				t.Errorf("true peak %.3f below sample peak %.3f", r.TruePeak, r.SamplePeak)
			}
		})
	}
}

// TestTech3342 runs the synthesizable loudness range cases of EBU Tech 3342
// v4 (#5 and #6 are the copyrighted programmes of Tech 3341 #7/#8). Each
// signal is also repeated, which must not change the result.
func TestTech3342(t *testing.T) {
	const rate = 48000
	tests := []struct {
		name   string
		levels []float64
		want   float64
	}{
		{"1", []float64{-20, -30}, 10},
		{"2", []float64{-20, -15}, 5},
		{"3", []float64{-40, -20}, 20},
		{"4", []float64{-50, -35, -20, -35, -50}, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var segs []seg
			for _, l := range tt.levels {
				segs = append(segs, seg{20, all(2, l)})
			}
			x := synth(rate, 1000, segs...)
			_, r := measure(t, rate, stereo, x)
			t.Logf("LRA %.3f LU (%.3f … %.3f)", r.Range, r.RangeLow, r.RangeHigh)
			near(t, "LRA", r.Range, tt.want, 1)
			_, r2 := measure(t, rate, stereo, append(x, x...))
			near(t, "LRA repeated", r2.Range, tt.want, 1)
		})
	}
}
