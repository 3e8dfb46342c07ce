package analysis

import "math"

// Tempo is the estimated beat rate.
type Tempo struct {
	BPM float64 `json:"bpm"`
	// Confidence is the normalised autocorrelation of the onset envelope at
	// the beat period (0…1); below about 0.1 there is no clear pulse.
	Confidence float64 `json:"confidence"`
}

// Tempo range searched and the prior that resolves octave ambiguity: a
// log-normal weight centred on 120 BPM, one octave wide, as in Ellis's
// beat tracker (librosa's default prior).
const (
	minBPM     = 70.0
	maxBPM     = 180.0
	priorBPM   = 120.0
	priorOct   = 1.0
	tempoFFTms = 23 // ≈ 1024 samples at 44.1/48 kHz
	// minTempoConfidence is the normalised autocorrelation below which no
	// tempo is reported; rhythmic material scores above 0.5.
	minTempoConfidence = 0.1
)

type tempoAcc struct {
	rate  int
	hop   int
	st    *stft
	prev  []float64
	env   []float64 // spectral flux per frame
	limit int
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

func newTempo(rate int) *tempoAcc {
	n := nextPow2(rate * tempoFFTms / 1000)
	t := &tempoAcc{rate: rate, hop: n / 4}
	t.limit = MaxTempoSeconds * rate / t.hop
	t.st = newSTFT(n, t.hop, t.frame)
	return t
}

func (t *tempoAcc) write(x []float64) {
	if len(t.env) < t.limit {
		t.st.write(x)
	}
}

// frame adds the spectral flux of one frame: the sum over bins of the
// half-wave rectified increase of log magnitude.
func (t *tempoAcc) frame(mag []float64) {
	if t.prev == nil {
		t.prev = make([]float64, len(mag))
	}
	flux := 0.0
	for k, m := range mag {
		l := math.Log1p(1000 * m)
		if d := l - t.prev[k]; d > 0 {
			flux += d
		}
		t.prev[k] = l
	}
	t.env = append(t.env, flux)
}

func (t *tempoAcc) result() *Tempo {
	fps := float64(t.rate) / float64(t.hop)
	env := t.env
	minLag := int(math.Floor(60 * fps / maxBPM))
	maxLag := int(math.Ceil(60 * fps / minBPM))
	if len(env) < 4*maxLag {
		return nil // less than about 3.5 s: no reliable tempo
	}
	// Remove the local mean so sustained loudness does not correlate.
	mean := 0.0
	for _, v := range env {
		mean += v
	}
	mean /= float64(len(env))
	e := make([]float64, len(env))
	for i, v := range env {
		e[i] = v - mean
	}
	ac := func(lag int) float64 {
		s := 0.0
		for i := lag; i < len(e); i++ {
			s += e[i] * e[i-lag]
		}
		return s / float64(len(e)-lag)
	}
	zero := ac(0)
	if zero <= 0 {
		return nil
	}
	best, bestLag := math.Inf(-1), 0
	acs := make([]float64, 4*maxLag+2)
	for lag := 1; lag < len(acs) && lag < len(e); lag++ {
		acs[lag] = ac(lag)
	}
	for lag := minLag; lag <= maxLag; lag++ {
		bpm := 60 * fps / float64(lag)
		w := math.Exp(-0.5 * math.Pow(math.Log2(bpm/priorBPM)/priorOct, 2))
		if s := acs[lag] * w; s > best {
			best, bestLag = s, lag
		}
	}
	if bestLag == 0 || acs[bestLag] <= 0 {
		return nil
	}
	// Refine: the peak near k·lag for the largest k available pins the
	// period k times more precisely; interpolate it with a parabola.
	period := float64(bestLag)
	for _, k := range []int{4, 2} {
		c := k * bestLag
		if c+k+1 >= len(acs) {
			continue
		}
		p := c
		for l := c - k; l <= c+k; l++ {
			if acs[l] > acs[p] {
				p = l
			}
		}
		a, b, d := acs[p-1], acs[p], acs[p+1]
		off := 0.0
		if den := a - 2*b + d; den < 0 {
			off = 0.5 * (a - d) / den
		}
		period = (float64(p) + off) / float64(k)
		break
	}
	conf := acs[bestLag] / zero
	if conf < minTempoConfidence {
		return nil // no clear pulse (a drone, speech, noise)
	}
	return &Tempo{BPM: 60 * fps / period, Confidence: conf}
}
