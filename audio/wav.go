package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// WAV format tags (mmreg.h).
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatExtensible = 0xFFFE
)

// riffChunk is one chunk header found while walking a RIFF or FORM file.
type riffChunk struct {
	id     string
	offset int64 // of the chunk body
	size   int64
}

// wavHeader is what the chunks before "data" say.
type wavHeader struct {
	info    Info
	kind    sampleKind
	width   int
	data    riffChunk
	chunks  []riffChunk // every chunk seen, including ones after data
	unknown bool        // data size unknown (0 or 0xFFFFFFFF in a plain RIFF)
}

// maxChunks bounds the chunk walk so a file of tiny chunks cannot spin.
const maxChunks = 4096

func parseWAV(rs io.ReadSeeker, fileSize int64) (*wavHeader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(rs, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: wav header: %w", ErrMalformed, err)
	}
	id := string(hdr[0:4])
	if (id != "RIFF" && id != "RF64" && id != "BW64") || string(hdr[8:12]) != "WAVE" {
		return nil, ErrUnknownFormat
	}
	h := &wavHeader{}
	var ds64Data int64 = -1
	var haveFmt bool
	pos := int64(12)
	for n := 0; n < maxChunks; n++ {
		var ch [8]byte
		if _, err := rs.Seek(pos, io.SeekStart); err != nil {
			return nil, fmt.Errorf("audio: wav seek: %w", err)
		}
		if _, err := io.ReadFull(rs, ch[:]); err != nil {
			break // end of chunks
		}
		c := riffChunk{id: string(ch[0:4]), offset: pos + 8, size: int64(binary.LittleEndian.Uint32(ch[4:]))}
		switch c.id {
		case "ds64":
			var b [16]byte
			if c.size < 16 {
				return nil, fmt.Errorf("%w: ds64 chunk too short", ErrMalformed)
			}
			if _, err := io.ReadFull(rs, b[:]); err != nil {
				return nil, fmt.Errorf("%w: ds64: %w", ErrMalformed, err)
			}
			ds64Data = int64(binary.LittleEndian.Uint64(b[8:])) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		case "fmt ":
			if err := h.parseFmt(rs, c.size); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if (id == "RF64" || id == "BW64") && c.size == 0xFFFFFFFF && ds64Data >= 0 {
				c.size = ds64Data
			}
			if c.size == 0 || c.size == 0xFFFFFFFF || c.offset+c.size > fileSize {
				// Recorders that crashed (or stream) leave 0 or -1; a size past the
				// end is a truncated file. Read what is there.
				h.unknown = true
				c.size = fileSize - c.offset
			}
			h.data = c
		}
		h.chunks = append(h.chunks, c)
		pos = c.offset + c.size + c.size&1 // chunks are word aligned
		if pos >= fileSize {
			break
		}
	}
	if !haveFmt {
		return nil, fmt.Errorf("%w: wav has no fmt chunk", ErrMalformed)
	}
	if h.data.id == "" {
		return nil, fmt.Errorf("%w: wav has no data chunk", ErrMalformed)
	}
	block := int64(h.info.Channels * h.width)
	if h.unknown {
		h.data.size -= h.data.size % block
	}
	h.info.Frames = h.data.size / block
	h.info.setDuration()
	if h.info.Duration > 0 {
		h.info.Bitrate = int64(float64(fileSize*8) / h.info.Duration.Seconds())
	}
	return h, nil
}

func (h *wavHeader) parseFmt(r io.Reader, size int64) error {
	if size < 16 || size > 1024 {
		return fmt.Errorf("%w: fmt chunk of %d bytes", ErrMalformed, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("%w: fmt chunk: %w", ErrMalformed, err)
	}
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := int(le.Uint32(b[4:]))
	blockAlign := int(le.Uint16(b[12:]))
	bits := int(le.Uint16(b[14:]))
	var mask uint32
	ext := tag == wavFormatExtensible
	if ext {
		if size < 40 {
			return fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", ErrMalformed, size)
		}
		mask = le.Uint32(b[20:])
		// The SubFormat GUID starts with the format tag; the rest is the fixed
		// KSDATAFORMAT suffix 00000000-0010-8000-00AA00389B71.
		if !bytes.Equal(b[26:40], []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}) {
			return fmt.Errorf("%w: wav extensible subformat %x", ErrUnsupportedCodec, b[24:40])
		}
		tag = le.Uint16(b[24:])
	}
	if channels == 0 {
		return fmt.Errorf("%w: wav with 0 channels", ErrMalformed)
	}
	width := (bits + 7) / 8
	if blockAlign != channels*width {
		return fmt.Errorf("%w: wav block align %d for %d channels of %d bits", ErrMalformed, blockAlign, channels, bits)
	}
	switch {
	case tag == wavFormatPCM && width == 1:
		h.kind = kindUint8
	case tag == wavFormatPCM && width >= 2 && width <= 4:
		h.kind = kindInt
	case tag == wavFormatFloat && (width == 4 || width == 8):
		h.kind = kindFloat
	default:
		return fmt.Errorf("%w: wav format tag 0x%04x with %d bits", ErrUnsupportedCodec, tag, bits)
	}
	h.width = width
	h.info = Info{
		Format:     FormatWAV,
		Codec:      pcmCodec(h.kind, width, false),
		SampleRate: rate,
		Channels:   channels,
		BitDepth:   bits,
		Float:      h.kind == kindFloat,
		Lossless:   true,
		Layout:     LayoutFromMask(mask, channels),
	}
	if ext {
		// wValidBitsPerSample can be smaller than the container (20-bit in 24);
		// the samples are left-justified, so scaling by the container width
		// stays right and only the reported depth changes.
		if vb := int(le.Uint16(b[18:])); vb > 0 && vb <= bits {
			h.info.BitDepth = vb
		}
	}
	return h.info.validate()
}

func openWAV(rs io.ReadSeeker, size int64) (Reader, error) {
	h, err := parseWAV(rs, size)
	if err != nil {
		return nil, err
	}
	if _, err := rs.Seek(h.data.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: wav seek: %w", err)
	}
	return &pcmReader{
		r:         io.LimitReader(rs, h.data.size),
		info:      h.info,
		kind:      h.kind,
		width:     h.width,
		remaining: h.info.Frames,
	}, nil
}
