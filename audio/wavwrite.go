package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// SampleFormat is how a writer stores samples.
type SampleFormat uint8

// Sample formats for WAV output.
const (
	PCM16 SampleFormat = iota + 1
	PCM24
	PCM32
	Float32
	Float64
	PCM8
)

// Bits returns the stored bits per sample.
func (f SampleFormat) Bits() int {
	switch f {
	case PCM8:
		return 8
	case PCM16:
		return 16
	case PCM24:
		return 24
	case PCM32, Float32:
		return 32
	case Float64:
		return 64
	}
	return 0
}

// WAVOptions configures a WAVWriter.
type WAVOptions struct {
	SampleRate int
	Channels   int
	Format     SampleFormat
	// Extensible writes a WAVE_FORMAT_EXTENSIBLE header with ChannelMask. It is
	// forced on for more than two channels, as Microsoft requires.
	Extensible  bool
	ChannelMask uint32
	// Dither adds TPDF dither of ±1 LSB before rounding to integer formats.
	// Leave it off for bit-exact round trips of integer sources.
	Dither bool
}

// WAVWriter writes a WAV file sample block by sample block and fixes the
// sizes in the header on Close, so it needs an io.WriteSeeker.
type WAVWriter struct {
	w      io.WriteSeeker
	bw     *bufio.Writer
	opt    WAVOptions
	frames int64
	hdr    int64 // header length
	buf    []byte
	rng    uint64
	err    error
}

// ErrClosed is returned by writers used after Close.
var ErrClosed = errors.New("audio: writer closed")

// NewWAVWriter writes the header and returns the writer.
func NewWAVWriter(w io.WriteSeeker, opt WAVOptions) (*WAVWriter, error) {
	if opt.Channels < 1 || opt.Channels > MaxChannels || opt.SampleRate < MinSampleRate || opt.SampleRate > MaxSampleRate || opt.Format.Bits() == 0 {
		return nil, fmt.Errorf("%w: wav writer options %+v", ErrTooLarge, opt)
	}
	if opt.Channels > 2 {
		opt.Extensible = true
	}
	ww := &WAVWriter{w: w, bw: bufio.NewWriterSize(w, 64<<10), opt: opt, rng: 0x9E3779B97F4A7C15}
	ww.writeHeader()
	if err := ww.bw.Flush(); err != nil {
		return nil, fmt.Errorf("audio: write wav header: %w", err)
	}
	return ww, nil
}

func (ww *WAVWriter) writeHeader() {
	o := ww.opt
	bits := o.Format.Bits()
	block := o.Channels * bits / 8
	tag := uint16(wavFormatPCM)
	if o.Format == Float32 || o.Format == Float64 {
		tag = wavFormatFloat
	}
	fmtLen := 16
	if o.Extensible {
		fmtLen = 40
	}
	dataLen := ww.frames * int64(block)
	ww.hdr = int64(12 + 8 + fmtLen + 8)
	le := binary.LittleEndian
	b := make([]byte, 0, ww.hdr)
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, uint32(min(ww.hdr-8+dataLen+dataLen&1, math.MaxUint32))) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, uint32(fmtLen))
	if o.Extensible {
		b = le.AppendUint16(b, wavFormatExtensible)
	} else {
		b = le.AppendUint16(b, tag)
	}
	b = le.AppendUint16(b, uint16(o.Channels))         //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	b = le.AppendUint32(b, uint32(o.SampleRate))       //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	b = le.AppendUint32(b, uint32(o.SampleRate*block)) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	b = le.AppendUint16(b, uint16(block))              //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	b = le.AppendUint16(b, uint16(bits))               //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	if o.Extensible {
		b = le.AppendUint16(b, 22)
		b = le.AppendUint16(b, uint16(bits)) //nolint:gosec // G115: 8…64
		mask := o.ChannelMask
		if mask == 0 && o.Channels <= 8 {
			for _, p := range DefaultLayout(o.Channels) {
				if p == PosMono {
					p = PosFrontCenter
				}
				if p != PosUnknown {
					mask |= 1 << (p - 1)
				}
			}
		}
		b = le.AppendUint32(b, mask)
		b = le.AppendUint16(b, tag)
		b = append(b, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	}
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(min(dataLen, math.MaxUint32))) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	_, _ = ww.bw.Write(b)                                        // bufio errors are sticky: the Flush after it reports them
}

// tpdf returns triangular noise in (-1, 1) LSB.
func (ww *WAVWriter) tpdf() float64 {
	next := func() float64 {
		ww.rng ^= ww.rng << 13
		ww.rng ^= ww.rng >> 7
		ww.rng ^= ww.rng << 17
		return float64(ww.rng>>11) / (1 << 53)
	}
	return next() - next()
}

func (ww *WAVWriter) quant(v, scale, lo, hi float64) float64 {
	v *= scale
	if ww.opt.Dither {
		v += ww.tpdf()
	}
	v = math.Round(v)
	return math.Max(lo, math.Min(hi, v))
}

// Write appends interleaved full-scale samples; integer formats clip at full
// scale. len(samples) must be a multiple of the channel count.
func (ww *WAVWriter) Write(samples []float64) error {
	if ww.err != nil {
		return ww.err
	}
	if len(samples)%ww.opt.Channels != 0 {
		return fmt.Errorf("audio: wav write of %d samples for %d channels", len(samples), ww.opt.Channels)
	}
	bits := ww.opt.Format.Bits()
	need := len(samples) * bits / 8
	if cap(ww.buf) < need {
		ww.buf = make([]byte, need)
	}
	b := ww.buf[:need]
	le := binary.LittleEndian
	switch ww.opt.Format {
	case PCM8:
		for i, v := range samples {
			b[i] = byte(ww.quant(v, 128, -128, 127) + 128)
		}
	case PCM16:
		for i, v := range samples {
			le.PutUint16(b[2*i:], uint16(int16(ww.quant(v, 32768, -32768, 32767)))) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		}
	case PCM24:
		for i, v := range samples {
			s := int32(ww.quant(v, 8388608, -8388608, 8388607))
			b[3*i], b[3*i+1], b[3*i+2] = byte(s), byte(s>>8), byte(s>>16) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		}
	case PCM32:
		for i, v := range samples {
			le.PutUint32(b[4*i:], uint32(int32(ww.quant(v, 2147483648, -2147483648, 2147483647)))) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		}
	case Float32:
		for i, v := range samples {
			le.PutUint32(b[4*i:], math.Float32bits(float32(v)))
		}
	case Float64:
		for i, v := range samples {
			le.PutUint64(b[8*i:], math.Float64bits(v))
		}
	}
	if _, err := ww.bw.Write(b); err != nil {
		ww.err = fmt.Errorf("audio: write wav: %w", err)
		return ww.err
	}
	ww.frames += int64(len(samples) / ww.opt.Channels)
	return nil
}

// Close pads the data chunk, flushes and rewrites the header with the final
// sizes. It does not close the underlying writer.
func (ww *WAVWriter) Close() error {
	if ww.err != nil {
		return ww.err
	}
	ww.err = ErrClosed
	dataLen := ww.frames * int64(ww.opt.Channels*ww.opt.Format.Bits()/8)
	if dataLen > math.MaxUint32-64 {
		return fmt.Errorf("%w: wav data of %d bytes exceeds 4 GiB", ErrTooLarge, dataLen)
	}
	if dataLen&1 == 1 {
		_ = ww.bw.WriteByte(0) // reported by Flush
	}
	if err := ww.bw.Flush(); err != nil {
		return fmt.Errorf("audio: write wav: %w", err)
	}
	if _, err := ww.w.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audio: wav seek: %w", err)
	}
	ww.writeHeader()
	if err := ww.bw.Flush(); err != nil {
		return fmt.Errorf("audio: write wav header: %w", err)
	}
	_, err := ww.w.Seek(0, io.SeekEnd)
	return err
}
