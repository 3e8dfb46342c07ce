package loudness

import "math"

// Biquad holds the coefficients of one second-order section,
// y = b0·x + b1·x[n-1] + b2·x[n-2] − a1·y[n-1] − a2·y[n-2] (a0 = 1).
type Biquad struct {
	B0, B1, B2, A1, A2 float64
}

// Analog prototype of the BS.1770 K-weighting. BS.1770 prints coefficients
// for 48 kHz only and asks other rates for "the same frequency response";
// these parameters reproduce its 48 kHz table to all printed decimals through
// the bilinear transform (the derivation libebur128 and pyloudnorm's "DeMan"
// filter use), so any rate gets the filter the 48 kHz one was sampled from.
const (
	shelfF0   = 1681.974450955533
	shelfGain = 3.999843853973347 // dB
	shelfQ    = 0.7071752369554196
	shelfVb   = 0.4996667741545416 // exponent of the band gain
	hpF0      = 38.13547087602444
	hpQ       = 0.5003270373238773
)

// KWeighting returns the two stages (high shelf, then the RLB high-pass) of
// the K-weighting filter for a sample rate. The high-pass numerator stays
// [1, −2, 1] un-normalised, exactly as BS.1770 Table 2 prints it.
func KWeighting(rate float64) (shelf, highpass Biquad) {
	k := math.Tan(math.Pi * shelfF0 / rate)
	vh := math.Pow(10, shelfGain/20)
	vb := math.Pow(vh, shelfVb)
	a0 := 1 + k/shelfQ + k*k
	shelf = Biquad{
		B0: (vh + vb*k/shelfQ + k*k) / a0,
		B1: 2 * (k*k - vh) / a0,
		B2: (vh - vb*k/shelfQ + k*k) / a0,
		A1: 2 * (k*k - 1) / a0,
		A2: (1 - k/shelfQ + k*k) / a0,
	}
	k = math.Tan(math.Pi * hpF0 / rate)
	a0 = 1 + k/hpQ + k*k
	highpass = Biquad{B0: 1, B1: -2, B2: 1, A1: 2 * (k*k - 1) / a0, A2: (1 - k/hpQ + k*k) / a0}
	return shelf, highpass
}

// Response returns the magnitude of the section at frequency f (Hz).
func (q Biquad) Response(f, rate float64) float64 {
	w := 2 * math.Pi * f / rate
	z1 := complex(math.Cos(-w), math.Sin(-w))
	z2 := z1 * z1
	num := complex(q.B0, 0) + complex(q.B1, 0)*z1 + complex(q.B2, 0)*z2
	den := 1 + complex(q.A1, 0)*z1 + complex(q.A2, 0)*z2
	return cmplxAbs(num / den)
}

func cmplxAbs(c complex128) float64 { return math.Hypot(real(c), imag(c)) }

// kfilter is the K-weighting of one channel in transposed direct form II,
// float64 state kept across blocks for the whole stream.
type kfilter struct {
	s, h           Biquad
	z1, z2, w1, w2 float64
}

// run filters every stride-th sample of x starting at x[0] and returns the
// sum of squares of the output.
func (f *kfilter) run(x []float64, n, stride int) float64 {
	s, h := f.s, f.h
	z1, z2, w1, w2 := f.z1, f.z2, f.w1, f.w2
	var sum float64
	for i := 0; i < n; i++ {
		v := x[i*stride]
		y := s.B0*v + z1
		z1 = s.B1*v - s.A1*y + z2
		z2 = s.B2*v - s.A2*y
		o := y + w1
		w1 = -2*y - h.A1*o + w2
		w2 = y - h.A2*o
		sum += o * o
	}
	// Flush denormals: after a signal stops the state decays towards zero and
	// subnormal arithmetic is very slow on x86.
	const tiny = 1e-30
	if math.Abs(z1) < tiny && math.Abs(z2) < tiny && math.Abs(w1) < tiny && math.Abs(w2) < tiny {
		z1, z2, w1, w2 = 0, 0, 0, 0
	}
	f.z1, f.z2, f.w1, f.w2 = z1, z2, w1, w2
	return sum
}
