package dsp

import (
	"fmt"
	"math"
)

// Resampler converts the sample rate with a Kaiser-windowed sinc
// interpolator (24 zero crossings, stop band ≈ 90 dB, pass band to 90 % of
// the lower Nyquist frequency) evaluated at the exact rational positions.
type Resampler struct {
	ch      int
	in, out int64     // reduced ratio
	zc      int       // half length in input samples
	table   []float64 // kernel at tableRes points per input sample
	buf     [][]float64
	base    int64 // absolute input index of buf[c][0]
	have    int64 // absolute input samples received
	next    int64 // next output index
	total   int64 // -1 until Flush: outputs to produce in all
	res     []float64
	flushed bool
}

const (
	rsZeroCrossings = 24
	rsTableRes      = 512
	rsRoom          = 4096
)

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// NewResampler returns a converter from inRate to outRate.
func NewResampler(channels, inRate, outRate int) (*Resampler, error) {
	if channels < 1 || inRate < 1000 || outRate < 1000 || inRate > 768000 || outRate > 768000 {
		return nil, fmt.Errorf("%w: resample %d → %d Hz", ErrConfig, inRate, outRate)
	}
	g := gcd(int64(inRate), int64(outRate))
	r := &Resampler{ch: channels, in: int64(inRate) / g, out: int64(outRate) / g, total: -1}
	fc := 0.9 * math.Min(1, float64(outRate)/float64(inRate)) // of the input Nyquist
	r.zc = int(math.Ceil(rsZeroCrossings / fc))
	n := r.zc * rsTableRes
	r.table = make([]float64, n+2)
	for i := range r.table {
		x := float64(i) / rsTableRes // input samples from the centre
		s := fc
		if x != 0 {
			s = math.Sin(math.Pi*fc*x) / (math.Pi * x)
		}
		r.table[i] = s * kaiser(x, float64(r.zc), 9)
	}
	for range channels {
		r.buf = append(r.buf, make([]float64, 0, 2*r.zc+rsRoom))
	}
	return r, nil
}

func (r *Resampler) kernel(x float64) float64 {
	x = math.Abs(x) * rsTableRes
	i := int(x)
	if i >= len(r.table)-1 {
		return 0
	}
	f := x - float64(i)
	return r.table[i] + f*(r.table[i+1]-r.table[i])
}

// Process implements Processor. The result is valid until the next call.
func (r *Resampler) Process(x []float64) []float64 {
	ch := r.ch
	frames := len(x) / ch
	for c := 0; c < ch; c++ {
		for i := 0; i < frames; i++ {
			r.buf[c] = append(r.buf[c], x[i*ch+c])
		}
	}
	r.have += int64(frames)
	return r.produce()
}

func (r *Resampler) produce() []float64 {
	r.res = r.res[:0]
	ch := r.ch
	for r.total < 0 || r.next < r.total {
		num := r.next * r.in // position in input samples × out
		ip := num / r.out
		frac := float64(num%r.out) / float64(r.out)
		if ip+int64(r.zc) >= r.have {
			break
		}
		for c := 0; c < ch; c++ {
			b := r.buf[c]
			y := 0.0
			for k := -r.zc + 1; k <= r.zc; k++ {
				idx := ip + int64(k) - r.base
				if idx < 0 || idx >= int64(len(b)) {
					continue
				}
				y += b[idx] * r.kernel(float64(k)-frac)
			}
			r.res = append(r.res, y)
		}
		r.next++
	}
	// Drop input no output needs any more.
	need := (r.next*r.in)/r.out - int64(r.zc) - r.base
	if need > rsRoom {
		for c := range r.buf {
			r.buf[c] = append(r.buf[c][:0], r.buf[c][need:]...)
		}
		r.base += need
	}
	return r.res
}

// Flush implements Processor: pads with silence and returns the remaining
// output, so the total is ceil(inputFrames · outRate / inRate).
func (r *Resampler) Flush() []float64 {
	if r.flushed {
		return nil
	}
	r.flushed = true
	r.total = (r.have*r.out + r.in - 1) / r.in
	for c := range r.buf {
		r.buf[c] = append(r.buf[c], make([]float64, r.zc+1)...)
	}
	r.have += int64(r.zc + 1)
	return append([]float64(nil), r.produce()...)
}
