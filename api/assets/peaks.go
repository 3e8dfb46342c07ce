package assets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/maxbooster/maxbooster/audio/analysis"
)

// Waveform is min/max peaks at one zoom level (audio/analysis), written
// as audiowaveform's binary or JSON format.
type Waveform = analysis.Waveform

// maxPeaks bounds the pairs read from a stored level.
const maxPeaks = 16 << 20

// readDat parses the audiowaveform binary format (version 1 or 2, one
// channel, 8 or 16 bits) that the analyze task stores.
func readDat(r io.Reader) (*Waveform, error) {
	var hdr [20]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("assets: peaks header: %w", err)
	}
	le := binary.LittleEndian
	version, flags := le.Uint32(hdr[0:]), le.Uint32(hdr[4:])
	channels := uint32(1)
	if version == 2 {
		var c [4]byte
		if _, err := io.ReadFull(r, c[:]); err != nil {
			return nil, fmt.Errorf("assets: peaks header: %w", err)
		}
		channels = le.Uint32(c[:])
	}
	n := le.Uint32(hdr[16:])
	if (version != 1 && version != 2) || channels != 1 || n > maxPeaks {
		return nil, errors.New("assets: peaks: unsupported layout")
	}
	w := &Waveform{
		SampleRate:      int(le.Uint32(hdr[8:])),
		SamplesPerPixel: int(le.Uint32(hdr[12:])),
		Min:             make([]float32, n),
		Max:             make([]float32, n),
	}
	size, scale := 2, float32(32768)
	if flags&1 != 0 {
		size, scale = 1, 128
	}
	buf := make([]byte, 2*size*int(n))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("assets: peaks data: %w", err)
	}
	for i := range w.Min {
		if size == 1 {
			w.Min[i], w.Max[i] = float32(int8(buf[2*i]))/scale, float32(int8(buf[2*i+1]))/scale //nolint:gosec // G115: two's complement bytes
		} else {
			w.Min[i] = float32(int16(le.Uint16(buf[4*i:]))) / scale   //nolint:gosec // G115: two's complement samples
			w.Max[i] = float32(int16(le.Uint16(buf[4*i+2:]))) / scale //nolint:gosec // G115: two's complement samples
		}
	}
	return w, nil
}

// merge returns the waveform at k times fewer pixels: each pixel is the
// min of k mins and the max of k maxes, as audiowaveform does.
func merge(w *Waveform, k int) *Waveform {
	if k <= 1 {
		return w
	}
	n := (len(w.Min) + k - 1) / k
	out := &Waveform{SampleRate: w.SampleRate, SamplesPerPixel: w.SamplesPerPixel * k,
		Min: make([]float32, n), Max: make([]float32, n)}
	for i := range n {
		lo, hi := w.Min[i*k], w.Max[i*k]
		for j := i*k + 1; j < min((i+1)*k, len(w.Min)); j++ {
			lo, hi = min(lo, w.Min[j]), max(hi, w.Max[j])
		}
		out.Min[i], out.Max[i] = lo, hi
	}
	return out
}
