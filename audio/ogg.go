package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// oggFirstPacket returns the start of the first packet of the first Ogg page
// (enough to tell Vorbis from Opus and to read the Opus header).
func oggFirstPacket(rs io.ReadSeeker) ([]byte, error) {
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: ogg seek: %w", err)
	}
	var h [27]byte
	if _, err := io.ReadFull(rs, h[:]); err != nil || string(h[0:4]) != "OggS" {
		return nil, fmt.Errorf("%w: ogg page header", ErrMalformed)
	}
	lacing := make([]byte, h[26])
	if _, err := io.ReadFull(rs, lacing); err != nil {
		return nil, fmt.Errorf("%w: ogg lacing: %w", ErrMalformed, err)
	}
	n := 0
	for _, l := range lacing {
		n += int(l)
		if l < 255 {
			break
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(rs, p); err != nil {
		return nil, fmt.Errorf("%w: ogg packet: %w", ErrMalformed, err)
	}
	return p, nil
}

// oggLastGranule returns the granule position of the last page in the file,
// or -1 if none is found in the final 64 KiB.
func oggLastGranule(rs io.ReadSeeker, size int64) int64 {
	start := max(size-64<<10, 0)
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return -1
	}
	b, err := io.ReadAll(io.LimitReader(rs, size-start))
	if err != nil {
		return -1
	}
	i := bytes.LastIndex(b, []byte("OggS"))
	for i >= 0 {
		if i+14 <= len(b) {
			g := int64(binary.LittleEndian.Uint64(b[i+6:])) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
			if g >= 0 {
				return g
			}
		}
		i = bytes.LastIndex(b[:i], []byte("OggS"))
	}
	return -1
}

// opusHead is the identification header of an Ogg Opus stream (RFC 7845 §5.1).
type opusHead struct {
	channels   int
	preSkip    int
	inputRate  int
	mapFamily  int
	outputGain int16
}

func parseOpusHead(p []byte) (opusHead, error) {
	if len(p) < 19 || string(p[0:8]) != "OpusHead" {
		return opusHead{}, fmt.Errorf("%w: no OpusHead", ErrMalformed)
	}
	if p[8]>>4 != 0 {
		return opusHead{}, fmt.Errorf("%w: opus header version %d", ErrUnsupportedCodec, p[8])
	}
	return opusHead{
		channels:   int(p[9]),
		preSkip:    int(binary.LittleEndian.Uint16(p[10:])),
		inputRate:  int(binary.LittleEndian.Uint32(p[12:])),
		outputGain: int16(binary.LittleEndian.Uint16(p[16:])), //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		mapFamily:  int(p[18]),
	}, nil
}

// oggCRC is the CRC-32 of Ogg pages: polynomial 0x04c11db7, no reflection,
// zero initial value, no final xor.
var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(crc uint32, b []byte) uint32 {
	for _, v := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^v]
	}
	return crc
}
