package rtc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// ReadOggOpus reads an Ogg Opus stream (RFC 7845) into its audio packets,
// splitting pages on lacing values (a page may hold many packets, and a
// packet may span pages). Every packet must be 20 ms, the preview format.
// More than maxBytes of input fails.
func ReadOggOpus(r io.Reader, maxBytes int64) ([][]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPreview, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadPreview, maxBytes)
	}
	var (
		packets [][]byte
		partial []byte
		serial  uint32
		n       int
	)
	for off := 0; off < len(data); {
		if len(data)-off < 27 || !bytes.Equal(data[off:off+4], []byte("OggS")) {
			return nil, fmt.Errorf("%w: no Ogg page at byte %d", ErrBadPreview, off)
		}
		h := data[off : off+27]
		s := binary.LittleEndian.Uint32(h[14:])
		if n == 0 {
			serial = s
		} else if s != serial {
			return nil, fmt.Errorf("%w: more than one logical stream", ErrBadPreview)
		}
		segs := int(h[26])
		if len(data)-off < 27+segs {
			return nil, fmt.Errorf("%w: truncated page", ErrBadPreview)
		}
		lacing := data[off+27 : off+27+segs]
		body := off + 27 + segs
		for _, l := range lacing {
			if body+int(l) > len(data) {
				return nil, fmt.Errorf("%w: truncated page", ErrBadPreview)
			}
			partial = append(partial, data[body:body+int(l)]...)
			body += int(l)
			if l < 255 {
				packets = append(packets, partial)
				partial = nil
			}
		}
		off = body
		n++
	}
	if len(packets) < 2 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || !bytes.HasPrefix(packets[1], []byte("OpusTags")) {
		return nil, fmt.Errorf("%w: not Ogg Opus", ErrBadPreview)
	}
	if len(packets[0]) < 19 || packets[0][9] != 2 && packets[0][9] != 1 {
		return nil, fmt.Errorf("%w: preview must be mono or stereo", ErrBadPreview)
	}
	audio := packets[2:]
	for i, p := range audio {
		if d := OpusPacketSamples(p); d != FrameLen {
			return nil, fmt.Errorf("%w: packet %d holds %d samples, want %d (20 ms)", ErrBadPreview, i, d, FrameLen)
		}
	}
	return audio, nil
}

// OpusPacketSamples is the number of 48 kHz samples an Opus packet holds
// (RFC 6716 §3.1), or 0 when it is malformed.
func OpusPacketSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	cfg := toc >> 3
	var per int
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		per = []int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		per = []int{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		per = []int{120, 240, 480, 960}[cfg&3]
	}
	switch toc & 3 {
	case 0:
		return per
	case 1, 2:
		return 2 * per
	default:
		if len(p) < 2 {
			return 0
		}
		return int(p[1]&0x3f) * per
	}
}
