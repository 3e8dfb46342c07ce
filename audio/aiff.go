package audio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// aiffHeader is what the COMM and SSND chunks of an AIFF or AIFF-C file say.
type aiffHeader struct {
	info      Info
	kind      sampleKind
	width     int
	bigEndian bool
	data      riffChunk // sample bytes (after SSND offset/blockSize)
	chunks    []riffChunk
}

// extended80 decodes the 80-bit IEEE 754 extended float AIFF uses for the
// sample rate.
func extended80(b []byte) float64 {
	exp := int(binary.BigEndian.Uint16(b[0:]) & 0x7FFF)
	mant := binary.BigEndian.Uint64(b[2:])
	if exp == 0 && mant == 0 {
		return 0
	}
	v := math.Ldexp(float64(mant), exp-16383-63)
	if b[0]&0x80 != 0 {
		v = -v
	}
	return v
}

func parseAIFF(rs io.ReadSeeker, fileSize int64) (*aiffHeader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(rs, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: aiff header: %w", ErrMalformed, err)
	}
	form := string(hdr[8:12])
	if string(hdr[0:4]) != "FORM" || (form != "AIFF" && form != "AIFC") {
		return nil, ErrUnknownFormat
	}
	h := &aiffHeader{bigEndian: true}
	var haveComm, haveSSND bool
	var frames int64
	pos := int64(12)
	for n := 0; n < maxChunks && pos+8 <= fileSize; n++ {
		if _, err := rs.Seek(pos, io.SeekStart); err != nil {
			return nil, fmt.Errorf("audio: aiff seek: %w", err)
		}
		var ch [8]byte
		if _, err := io.ReadFull(rs, ch[:]); err != nil {
			break
		}
		c := riffChunk{id: string(ch[0:4]), offset: pos + 8, size: int64(binary.BigEndian.Uint32(ch[4:]))}
		h.chunks = append(h.chunks, c)
		switch c.id {
		case "COMM":
			if c.size < 18 || c.size > 1024 {
				return nil, fmt.Errorf("%w: COMM chunk of %d bytes", ErrMalformed, c.size)
			}
			b := make([]byte, c.size)
			if _, err := io.ReadFull(rs, b); err != nil {
				return nil, fmt.Errorf("%w: COMM: %w", ErrMalformed, err)
			}
			channels := int(binary.BigEndian.Uint16(b[0:]))
			frames = int64(binary.BigEndian.Uint32(b[2:]))
			bits := int(binary.BigEndian.Uint16(b[6:]))
			rate := extended80(b[8:18])
			comp := "NONE"
			if form == "AIFC" {
				if c.size < 22 {
					return nil, fmt.Errorf("%w: AIFC COMM without compression type", ErrMalformed)
				}
				comp = string(b[18:22])
			}
			width := (bits + 7) / 8
			switch comp {
			case "NONE", "twos":
				h.kind = kindInt
			case "sowt":
				h.kind, h.bigEndian = kindInt, false
			case "fl32", "FL32":
				h.kind, bits, width = kindFloat, 32, 4
			case "fl64", "FL64":
				h.kind, bits, width = kindFloat, 64, 8
			default:
				return nil, fmt.Errorf("%w: AIFF-C compression %q", ErrUnsupportedCodec, comp)
			}
			if h.kind == kindInt && (width < 1 || width > 4) {
				return nil, fmt.Errorf("%w: AIFF sample size %d bits", ErrUnsupportedCodec, bits)
			}
			if channels == 0 {
				return nil, fmt.Errorf("%w: AIFF with 0 channels", ErrMalformed)
			}
			if rate != math.Trunc(rate) || rate > MaxSampleRate {
				return nil, fmt.Errorf("%w: AIFF sample rate %v", ErrUnsupportedCodec, rate)
			}
			h.width = width
			h.info = Info{
				Format: FormatAIFF, Codec: pcmCodec(h.kind, width, h.bigEndian),
				SampleRate: int(rate), Channels: channels, BitDepth: bits,
				Float: h.kind == kindFloat, Lossless: true, Layout: DefaultLayout(channels),
			}
			if err := h.info.validate(); err != nil {
				return nil, err
			}
			haveComm = true
		case "SSND":
			var b [8]byte
			if c.size < 8 {
				return nil, fmt.Errorf("%w: SSND chunk too short", ErrMalformed)
			}
			if _, err := io.ReadFull(rs, b[:]); err != nil {
				return nil, fmt.Errorf("%w: SSND: %w", ErrMalformed, err)
			}
			off := int64(binary.BigEndian.Uint32(b[0:]))
			h.data = riffChunk{id: "SSND", offset: c.offset + 8 + off, size: c.size - 8 - off}
			if h.data.offset+h.data.size > fileSize {
				h.data.size = fileSize - h.data.offset
			}
			haveSSND = true
		}
		pos = c.offset + c.size + c.size&1
	}
	if !haveComm {
		return nil, fmt.Errorf("%w: aiff has no COMM chunk", ErrMalformed)
	}
	if !haveSSND {
		if frames == 0 {
			h.data = riffChunk{id: "SSND", offset: fileSize}
		} else {
			return nil, fmt.Errorf("%w: aiff has no SSND chunk", ErrMalformed)
		}
	}
	if have := h.data.size / int64(h.info.Channels*h.width); have < frames {
		return nil, fmt.Errorf("%w: aiff says %d frames, holds %d", ErrMalformed, frames, have)
	}
	h.info.Frames = frames
	h.info.setDuration()
	if h.info.Duration > 0 {
		h.info.Bitrate = int64(float64(fileSize*8) / h.info.Duration.Seconds())
	}
	return h, nil
}

func openAIFF(rs io.ReadSeeker, size int64) (Reader, error) {
	h, err := parseAIFF(rs, size)
	if err != nil {
		return nil, err
	}
	if _, err := rs.Seek(h.data.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: aiff seek: %w", err)
	}
	return &pcmReader{
		r: rs, info: h.info, kind: h.kind, width: h.width,
		bigEndian: h.bigEndian, remaining: h.info.Frames,
	}, nil
}
