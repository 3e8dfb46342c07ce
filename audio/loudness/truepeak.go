package loudness

import "math"

// TruePeak measures the true peak of each channel (BS.1770 Annex 2): the
// signal is oversampled with a polyphase windowed-sinc interpolator to at
// least 192 kHz (4× at 48 kHz, 5× at 44.1 kHz, 2× at 96 kHz; none at
// 192 kHz and above) and the largest absolute value is kept. The reported
// value is the larger of that and the sample peak, as libebur128 does, so a
// peak that falls on a sample is never under-read by the filter's ripple.
type TruePeak struct {
	ch     int
	factor int
	taps   int         // per phase
	phases [][]float64 // phase p holds h[k·factor+p] reversed, for a forward dot product
	gain   float64     // max over phases of Σ|h_p|: a bound on output/input
	hist   [][]float64 // per channel: taps−1 previous samples, then the block
	peak   []float64   // true peak per channel
	sample []float64   // sample peak per channel
}

// tpTaps is the interpolator length per phase (48 taps at 4×, like the
// example filter in BS.1770 Annex 2, and libebur128's 49).
const tpTaps = 12

const tpBlock = 256

// OversamplingFactor is the factor used at a sample rate.
func OversamplingFactor(rate int) int {
	return max(1, (192000+rate-1)/rate)
}

// NewTruePeak returns a true-peak meter.
func NewTruePeak(rate, channels int) *TruePeak {
	t := &TruePeak{ch: channels, factor: OversamplingFactor(rate), taps: tpTaps}
	t.peak = make([]float64, channels)
	t.sample = make([]float64, channels)
	if t.factor > 1 {
		t.phases = interpolator(t.factor, t.taps)
		for _, p := range t.phases {
			s := 0.0
			for _, v := range p {
				s += math.Abs(v)
			}
			t.gain = math.Max(t.gain, s)
		}
		t.hist = make([][]float64, channels)
		for c := range t.hist {
			t.hist[c] = make([]float64, t.taps-1+tpBlock)
		}
	}
	return t
}

// interpolator designs the polyphase filter: an ideal low-pass at the input
// Nyquist frequency (a sinc with zeros every factor samples) shaped by a
// Kaiser window (β = 5, about 50 dB stop-band at this length), scaled so each
// phase passes DC with gain 1.
func interpolator(factor, taps int) [][]float64 {
	n := factor * taps
	// Centre on a tap (n/2), so phase p interpolates exactly p/factor of a
	// sample after an input sample and phase 0 reproduces the samples.
	mid := float64(n / 2)
	const beta = 5.0
	i0b := besselI0(beta)
	h := make([]float64, n)
	for i := range h {
		x := (float64(i) - mid) / float64(factor)
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		r := (float64(i) - mid) / mid
		h[i] = s * besselI0(beta*math.Sqrt(math.Max(0, 1-r*r))) / i0b
	}
	ph := make([][]float64, factor)
	for p := range ph {
		ph[p] = make([]float64, taps)
		sum := 0.0
		for k := 0; k < taps; k++ {
			v := h[k*factor+p]
			ph[p][taps-1-k] = v
			sum += v
		}
		for k := range ph[p] {
			ph[p][k] /= sum
		}
	}
	return ph
}

func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	return sum
}

// Write adds interleaved samples.
func (t *TruePeak) Write(x []float64) {
	ch := t.ch
	for len(x) >= ch {
		frames := min(len(x)/ch, tpBlock)
		for c := 0; c < ch; c++ {
			sp := t.sample[c]
			if t.factor == 1 {
				for i := 0; i < frames; i++ {
					sp = math.Max(sp, math.Abs(x[i*ch+c]))
				}
				t.sample[c] = sp
				t.peak[c] = sp
				continue
			}
			h := t.hist[c]
			off := t.taps - 1
			for i := 0; i < frames; i++ {
				v := x[i*ch+c]
				h[off+i] = v
				sp = math.Max(sp, math.Abs(v))
			}
			t.sample[c] = sp
			t.filter(c, h[:off+frames])
			copy(h, h[frames:off+frames])
		}
		x = x[frames*ch:]
	}
}

// filter interpolates one channel's block. A block whose largest input
// magnitude times the filter's worst-case gain cannot beat the current
// maximum is skipped: the result is exact, and quiet passages cost nothing.
func (t *TruePeak) filter(c int, h []float64) {
	best := t.peak[c]
	m := 0.0
	for _, v := range h {
		m = math.Max(m, math.Abs(v))
	}
	if m*t.gain <= best {
		return
	}
	n := len(h) - (t.taps - 1)
	if t.taps == 12 {
		for _, p := range t.phases {
			p := p[:12]
			for i := 0; i < n; i++ {
				w := h[i : i+12 : i+12]
				y := p[0]*w[0] + p[1]*w[1] + p[2]*w[2] + p[3]*w[3] + p[4]*w[4] + p[5]*w[5] +
					p[6]*w[6] + p[7]*w[7] + p[8]*w[8] + p[9]*w[9] + p[10]*w[10] + p[11]*w[11]
				if y > best {
					best = y
				} else if -y > best {
					best = -y
				}
			}
		}
	} else {
		for _, p := range t.phases {
			for i := 0; i < n; i++ {
				y := 0.0
				for k, v := range p {
					y += v * h[i+k]
				}
				best = math.Max(best, math.Abs(y))
			}
		}
	}
	t.peak[c] = best
}

// Peaks returns the true peak (max of oversampled and sample peak) and the
// sample peak of each channel, linear.
func (t *TruePeak) Peaks() (truePeak, samplePeak []float64) {
	tp := make([]float64, t.ch)
	for c := range tp {
		tp[c] = math.Max(t.peak[c], t.sample[c])
	}
	return tp, append([]float64(nil), t.sample...)
}

// Factor returns the oversampling factor in use.
func (t *TruePeak) Factor() int { return t.factor }

// InterpolatorPhases returns the polyphase filter the true-peak meter uses
// at rate: phase p (of OversamplingFactor(rate)) interpolates p/factor of a
// sample, as a forward dot product over the last len(phase) input samples,
// with a delay of len(phase)/2 samples. Processing code (a true-peak
// limiter) uses it to see the same inter-sample peaks the meter reports. It
// returns nil when the rate needs no oversampling.
func InterpolatorPhases(rate int) [][]float64 {
	f := OversamplingFactor(rate)
	if f == 1 {
		return nil
	}
	return interpolator(f, tpTaps)
}
