package audio

import (
	"fmt"
	"io"
	"math"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// flacBlockSize is the number of frames per FLAC frame we write (the
// reference encoder's default).
const flacBlockSize = 4096

// FLACWriter encodes integer PCM as FLAC through mewkiz/flac (fixed
// predictors chosen by its analysis; files are larger than libFLAC's LPC
// output but lossless and standard).
type FLACWriter struct {
	enc    *flac.Encoder
	ch     int
	bits   int
	pend   [][]int32
	err    error
	dither bool
	rng    uint64
}

// writeSeekerNoClose hides Close: the FLAC encoder closes any io.Closer.
type writeSeekerNoClose struct{ io.WriteSeeker }

// NewFLACWriter starts a FLAC stream of 16 or 24 bits. w must be seekable so
// the stream info (length, MD5) can be written at Close.
func NewFLACWriter(w io.WriteSeeker, sampleRate, channels, bits int, dither bool) (*FLACWriter, error) {
	if channels < 1 || channels > 8 || sampleRate < MinSampleRate || sampleRate > 655350 || (bits != 16 && bits != 24) {
		return nil, fmt.Errorf("%w: flac writer %d Hz, %d channels, %d bits", ErrTooLarge, sampleRate, channels, bits)
	}
	info := &meta.StreamInfo{
		BlockSizeMin: flacBlockSize, BlockSizeMax: flacBlockSize,
		SampleRate: uint32(sampleRate), NChannels: uint8(channels), BitsPerSample: uint8(bits),
	}
	enc, err := flac.NewEncoder(writeSeekerNoClose{w}, info)
	if err != nil {
		return nil, fmt.Errorf("audio: flac encoder: %w", err)
	}
	fw := &FLACWriter{enc: enc, ch: channels, bits: bits, pend: make([][]int32, channels), dither: dither, rng: 0x2545F4914F6CDD1D}
	for c := range fw.pend {
		fw.pend[c] = make([]int32, 0, flacBlockSize)
	}
	return fw, nil
}

func (fw *FLACWriter) rand() float64 {
	fw.rng ^= fw.rng << 13
	fw.rng ^= fw.rng >> 7
	fw.rng ^= fw.rng << 17
	return float64(fw.rng>>11) / (1 << 53)
}

// Write appends interleaved full-scale samples (clipped at full scale).
func (fw *FLACWriter) Write(samples []float64) error {
	if fw.err != nil {
		return fw.err
	}
	if len(samples)%fw.ch != 0 {
		return fmt.Errorf("audio: flac write of %d samples for %d channels", len(samples), fw.ch)
	}
	scale := float64(int64(1) << (fw.bits - 1))
	for i := 0; i < len(samples); i += fw.ch {
		for c := 0; c < fw.ch; c++ {
			v := samples[i+c] * scale
			if fw.dither {
				v += fw.rand() - fw.rand()
			}
			v = math.Max(-scale, math.Min(scale-1, math.Round(v)))
			fw.pend[c] = append(fw.pend[c], int32(v))
		}
		if len(fw.pend[0]) == flacBlockSize {
			if err := fw.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (fw *FLACWriter) flush() error {
	n := len(fw.pend[0])
	if n == 0 {
		return nil
	}
	f := &frame.Frame{
		Header: frame.Header{
			HasFixedBlockSize: true, BlockSize: uint16(n), SampleRate: fw.enc.Info.SampleRate, //nolint:gosec // G115: block size ≤ 4096
			Channels: frame.Channels(fw.ch - 1), BitsPerSample: uint8(fw.bits), //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		},
		Subframes: make([]*frame.Subframe, fw.ch),
	}
	for c := range fw.ch {
		f.Subframes[c] = &frame.Subframe{SubHeader: frame.SubHeader{Pred: frame.PredVerbatim}, Samples: fw.pend[c], NSamples: n}
	}
	if err := fw.enc.WriteFrame(f); err != nil {
		fw.err = fmt.Errorf("audio: flac frame: %w", err)
		return fw.err
	}
	for c := range fw.pend {
		fw.pend[c] = make([]int32, 0, flacBlockSize)
	}
	return nil
}

// Close writes the last frame and the final stream info. It does not close
// the underlying writer.
func (fw *FLACWriter) Close() error {
	if fw.err != nil {
		return fw.err
	}
	if err := fw.flush(); err != nil {
		return err
	}
	fw.err = ErrClosed
	if err := fw.enc.Close(); err != nil {
		return fmt.Errorf("audio: flac close: %w", err)
	}
	return nil
}
