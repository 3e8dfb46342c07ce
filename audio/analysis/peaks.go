package analysis

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Waveform is min/max pairs per pixel of the channel-merged signal at one
// zoom level, as BBC audiowaveform produces them (its "merge channels" mode).
// Min and Max are full-scale floats; the encoders quantise to 8 or 16 bits.
type Waveform struct {
	SampleRate      int
	SamplesPerPixel int
	Min, Max        []float32
}

type peaksAcc struct {
	rate, ch int
	res      []int
	count    int
	lo, hi   float64
	min, max []float32 // at res[0]
}

func newPeaks(rate, ch int, res []int) *peaksAcc {
	return &peaksAcc{rate: rate, ch: ch, res: res, lo: math.Inf(1), hi: math.Inf(-1)}
}

func (p *peaksAcc) write(x []float64) {
	spp := p.res[0]
	for _, v := range x {
		if v < p.lo {
			p.lo = v
		}
		if v > p.hi {
			p.hi = v
		}
		p.count++
		if p.count == spp*p.ch {
			p.flush()
		}
	}
}

func (p *peaksAcc) flush() {
	if p.count == 0 {
		return
	}
	p.min = append(p.min, float32(p.lo))
	p.max = append(p.max, float32(p.hi))
	p.lo, p.hi, p.count = math.Inf(1), math.Inf(-1), 0
}

func (p *peaksAcc) result() []Waveform {
	p.flush()
	out := make([]Waveform, len(p.res))
	for i, r := range p.res {
		k := r / p.res[0]
		n := (len(p.min) + k - 1) / k
		w := Waveform{SampleRate: p.rate, SamplesPerPixel: r, Min: make([]float32, n), Max: make([]float32, n)}
		for j := 0; j < n; j++ {
			lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range p.min[j*k : min((j+1)*k, len(p.min))] {
				lo = min(lo, v)
			}
			for _, v := range p.max[j*k : min((j+1)*k, len(p.max))] {
				hi = max(hi, v)
			}
			w.Min[j], w.Max[j] = lo, hi
		}
		out[i] = w
	}
	return out
}

// quantize maps a full-scale value to a signed integer of bits (8 or 16)
// the way integer PCM does (−1.0 → −32768 or −128), clipping at the range.
func quantize(v float32, bits int) int {
	scale := 32768.0
	lo, hi := -32768.0, 32767.0
	if bits == 8 {
		scale, lo, hi = 128, -128, 127
	}
	return int(math.Max(lo, math.Min(hi, math.Round(float64(v)*scale))))
}

// ErrBits reports a bit depth other than 8 or 16.
var ErrBits = fmt.Errorf("%w: waveform bits must be 8 or 16", ErrConfig)

// WriteDat writes the audiowaveform binary format, version 2 with one
// channel: int32 version, uint32 flags (bit 0 set = 8-bit), int32 sample
// rate, int32 samples per pixel, uint32 length, int32 channels, then length
// min/max pairs, all little-endian.
func (w Waveform) WriteDat(out io.Writer, bits int) error {
	if bits != 8 && bits != 16 {
		return ErrBits
	}
	bw := bufio.NewWriter(out)
	flags := uint32(0)
	if bits == 8 {
		flags = 1
	}
	le := binary.LittleEndian
	hdr := le.AppendUint32(nil, 2)
	hdr = le.AppendUint32(hdr, flags)
	hdr = le.AppendUint32(hdr, uint32(w.SampleRate))      //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	hdr = le.AppendUint32(hdr, uint32(w.SamplesPerPixel)) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	hdr = le.AppendUint32(hdr, uint32(len(w.Min)))        //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	hdr = le.AppendUint32(hdr, 1)
	_, _ = bw.Write(hdr) // bufio errors are sticky: Flush reports them
	for i := range w.Min {
		lo, hi := quantize(w.Min[i], bits), quantize(w.Max[i], bits)
		if bits == 8 {
			_, _ = bw.Write([]byte{byte(int8(lo)), byte(int8(hi))}) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		} else {
			var b [4]byte
			le.PutUint16(b[0:], uint16(int16(lo))) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
			le.PutUint16(b[2:], uint16(int16(hi))) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
			_, _ = bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// JSON returns the audiowaveform JSON document (version 2) at 8 or 16 bits:
// {"version":2,"channels":1,"sample_rate":…,"samples_per_pixel":…,"bits":…,
// "length":…,"data":[min,max,…]}.
func (w Waveform) JSON(bits int) ([]byte, error) {
	if bits != 8 && bits != 16 {
		return nil, ErrBits
	}
	data := make([]int, 0, 2*len(w.Min))
	for i := range w.Min {
		data = append(data, quantize(w.Min[i], bits), quantize(w.Max[i], bits))
	}
	return json.Marshal(struct {
		Version         int   `json:"version"`
		Channels        int   `json:"channels"`
		SampleRate      int   `json:"sample_rate"`
		SamplesPerPixel int   `json:"samples_per_pixel"`
		Bits            int   `json:"bits"`
		Length          int   `json:"length"`
		Data            []int `json:"data"`
	}{2, 1, w.SampleRate, w.SamplesPerPixel, bits, len(w.Min), data})
}
