package analysis

import (
	"math"
	"math/bits"
)

// fft is an in-place iterative radix-2 FFT of one fixed size with
// precomputed twiddles and bit reversal.
type fft struct {
	n   int
	rev []int
	tw  []complex128
	buf []complex128
	win []float64 // Hann window
	mag []float64 // n/2+1 magnitudes of the last transform
}

func newFFT(n int) *fft {
	f := &fft{n: n, rev: make([]int, n), tw: make([]complex128, n/2), buf: make([]complex128, n), win: make([]float64, n), mag: make([]float64, n/2+1)}
	shift := 64 - bits.TrailingZeros(uint(n))
	for i := range f.rev {
		f.rev[i] = int(bits.Reverse64(uint64(i)) >> shift) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	}
	for i := range f.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(i) / float64(n))
		f.tw[i] = complex(c, s)
	}
	for i := range f.win {
		f.win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
	}
	return f
}

// magnitudes windows x (len n), transforms it and returns |X[k]| for
// k = 0..n/2, normalised so a full-scale sine at a bin centre reads 1.
func (f *fft) magnitudes(x []float64) []float64 {
	b := f.buf
	for i, v := range x {
		b[f.rev[i]] = complex(v*f.win[i], 0)
	}
	n := f.n
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for k := 0; k < half; k++ {
				t := f.tw[k*step] * b[start+k+half]
				u := b[start+k]
				b[start+k] = u + t
				b[start+k+half] = u - t
			}
		}
	}
	scale := 4 / float64(n) // Hann coherent gain 0.5, one-sided ×2
	for k := range f.mag {
		re, im := real(b[k]), imag(b[k])
		f.mag[k] = math.Sqrt(re*re+im*im) * scale
	}
	return f.mag
}

// stft feeds a mono signal through an FFT of size n every hop samples and
// calls fn with each magnitude spectrum.
type stft struct {
	f    *fft
	hop  int
	ring []float64 // last n samples
	next int       // samples until the next frame
	fn   func(mag []float64)
	tmp  []float64
}

func newSTFT(n, hop int, fn func([]float64)) *stft {
	return &stft{f: newFFT(n), hop: hop, ring: make([]float64, 0, 2*n), next: n, fn: fn, tmp: make([]float64, n)}
}

func (s *stft) write(x []float64) {
	n := s.f.n
	for len(x) > 0 {
		k := min(len(x), s.next)
		s.ring = append(s.ring, x[:k]...)
		x = x[k:]
		s.next -= k
		if s.next == 0 {
			if len(s.ring) > n {
				s.ring = append(s.ring[:0], s.ring[len(s.ring)-n:]...)
			}
			if len(s.ring) == n {
				copy(s.tmp, s.ring)
				s.fn(s.f.magnitudes(s.tmp))
			}
			s.next = s.hop
		}
	}
}
