package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// sampleKind is how one stored sample is encoded.
type sampleKind uint8

const (
	kindUint8 sampleKind = iota + 1 // unsigned 8-bit, 128 = silence (WAV)
	kindInt                         // two's complement, 1..4 bytes
	kindFloat                       // IEEE 754, 4 or 8 bytes
)

// pcmReader decodes a run of uncompressed interleaved frames.
type pcmReader struct {
	r         io.Reader
	info      Info
	kind      sampleKind
	width     int // bytes per sample
	bigEndian bool
	remaining int64 // frames left, or -1 for "until EOF"
	buf       []byte
	closer    io.Closer
}

func (p *pcmReader) Info() Info { return p.info }

func (p *pcmReader) Close() error {
	if p.closer != nil {
		return p.closer.Close()
	}
	return nil
}

func (p *pcmReader) Read(dst []float64) (int, error) {
	ch := p.info.Channels
	frames := len(dst) / ch
	if p.remaining >= 0 && int64(frames) > p.remaining {
		frames = int(p.remaining)
	}
	if frames == 0 {
		if p.remaining == 0 {
			return 0, io.EOF
		}
		return 0, nil
	}
	block := ch * p.width
	need := frames * block
	if cap(p.buf) < need {
		p.buf = make([]byte, need)
	}
	buf := p.buf[:need]
	n, err := io.ReadFull(p.r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		if p.remaining >= 0 {
			return p.convert(dst, buf[:n-n%block]), fmt.Errorf("%w: sample data ends %d frames early", ErrMalformed, p.remaining-int64(n/block))
		}
		p.remaining = 0
		got := p.convert(dst, buf[:n-n%block])
		if got == 0 {
			return 0, io.EOF
		}
		return got, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audio: read samples: %w", err)
	}
	if p.remaining >= 0 {
		p.remaining -= int64(frames)
	}
	return p.convert(dst, buf), nil
}

// convert turns raw bytes into full-scale float64 samples and returns the count.
func (p *pcmReader) convert(dst []float64, b []byte) int {
	n := len(b) / p.width
	switch p.kind {
	case kindUint8:
		for i := 0; i < n; i++ {
			dst[i] = (float64(b[i]) - 128) / 128
		}
	case kindInt:
		switch p.width {
		case 1:
			for i := 0; i < n; i++ {
				dst[i] = float64(int8(b[i])) / 128 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
			}
		case 2:
			if p.bigEndian {
				for i := 0; i < n; i++ {
					dst[i] = float64(int16(binary.BigEndian.Uint16(b[2*i:]))) / 32768 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
				}
			} else {
				for i := 0; i < n; i++ {
					dst[i] = float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
				}
			}
		case 3:
			for i := 0; i < n; i++ {
				s := b[3*i : 3*i+3]
				var v int32
				if p.bigEndian {
					v = int32(uint32(s[0])<<24|uint32(s[1])<<16|uint32(s[2])<<8) >> 8 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
				} else {
					v = int32(uint32(s[2])<<24|uint32(s[1])<<16|uint32(s[0])<<8) >> 8 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
				}
				dst[i] = float64(v) / 8388608
			}
		case 4:
			for i := 0; i < n; i++ {
				var v uint32
				if p.bigEndian {
					v = binary.BigEndian.Uint32(b[4*i:])
				} else {
					v = binary.LittleEndian.Uint32(b[4*i:])
				}
				dst[i] = float64(int32(v)) / 2147483648 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
			}
		}
	case kindFloat:
		var order binary.ByteOrder = binary.LittleEndian
		if p.bigEndian {
			order = binary.BigEndian
		}
		if p.width == 4 {
			for i := 0; i < n; i++ {
				dst[i] = float64(math.Float32frombits(order.Uint32(b[4*i:])))
			}
		} else {
			for i := 0; i < n; i++ {
				dst[i] = math.Float64frombits(order.Uint64(b[8*i:]))
			}
		}
	}
	return n
}

func pcmCodec(kind sampleKind, width int, bigEndian bool) string {
	end := "le"
	if bigEndian {
		end = "be"
	}
	switch kind {
	case kindUint8:
		return "pcm_u8"
	case kindFloat:
		return fmt.Sprintf("pcm_f%d%s", width*8, end)
	default:
		if width == 1 {
			return "pcm_s8"
		}
		return fmt.Sprintf("pcm_s%d%s", width*8, end)
	}
}

// recoverMalformed turns a panic inside a third-party decoder (go-mp3 and
// mewkiz/flac index past their buffers on some corrupt input) into
// ErrMalformed, so no panic reaches a user. Use as: defer recoverMalformed(&err, "mp3").
func recoverMalformed(err *error, what string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %s decoder failed on corrupt data: %v", ErrMalformed, what, p)
	}
}
