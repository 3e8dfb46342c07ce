package audio

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// mp3Reader adapts hajimehoshi/go-mp3, which always outputs 16-bit stereo.
// For a mono file (channel mode 3 in the frame header) the duplicated right
// channel is dropped, so loudness reads as BS.1770 prescribes for mono.
//
// When the first frame is a Xing/Info frame with a LAME tag, the reader
// trims it, the encoder delay and padding, and the decoder's 529-sample delay
// ("gapless" playback), so a LAME file decodes to exactly its source length.
type mp3Reader struct {
	d    *mp3.Decoder
	info Info
	buf  []byte
	skip int64 // frames still to drop at the start
	left int64 // frames still to output, or -1 when unknown
}

// mp3DecoderDelay is the delay of the MPEG-1 Layer III synthesis filterbank
// that LAME's gapless information assumes (528 + 1).
const mp3DecoderDelay = 529

// lameGapless holds what a LAME tag says about the stream.
type lameGapless struct {
	frames         int64 // MPEG frames after the Info frame
	delay, padding int64
}

// parseLAME reads the Xing/Info header and LAME tag from the first frame.
func parseLAME(frame []byte, hdr uint32) (lameGapless, bool) {
	mpeg1 := (hdr>>19)&3 == 3
	mono := (hdr>>6)&3 == 3
	side := 32
	switch {
	case mpeg1 && mono:
		side = 17
	case !mpeg1 && mono:
		side = 9
	case !mpeg1:
		side = 17
	}
	off := 4 + side
	if hdr&(1<<16) == 0 {
		off += 2 // CRC
	}
	if len(frame) < off+8 {
		return lameGapless{}, false
	}
	x := frame[off:]
	if string(x[0:4]) != "Xing" && string(x[0:4]) != "Info" {
		return lameGapless{}, false
	}
	flags := binary.BigEndian.Uint32(x[4:])
	p := 8
	var g lameGapless
	if flags&1 != 0 {
		if len(x) < p+4 {
			return lameGapless{}, false
		}
		g.frames = int64(binary.BigEndian.Uint32(x[p:]))
		p += 4
	}
	if flags&2 != 0 {
		p += 4
	}
	if flags&4 != 0 {
		p += 100
	}
	if flags&8 != 0 {
		p += 4
	}
	if g.frames == 0 || len(x) < p+24 || (string(x[p:p+4]) != "LAME" && string(x[p:p+4]) != "Lavc" && string(x[p:p+4]) != "Lavf") {
		return lameGapless{}, false
	}
	d := x[p+21 : p+24]
	g.delay = int64(d[0])<<4 | int64(d[1])>>4
	g.padding = int64(d[1]&0x0F)<<8 | int64(d[2])
	return g, true
}

// id3v2Size returns the length of an ID3v2 tag at the start of b (0 if none).
func id3v2Size(b []byte) int64 {
	if len(b) < 10 || string(b[0:3]) != "ID3" {
		return 0
	}
	n := int64(b[6]&0x7f)<<21 | int64(b[7]&0x7f)<<14 | int64(b[8]&0x7f)<<7 | int64(b[9]&0x7f)
	if b[5]&0x10 != 0 {
		n += 10 // footer
	}
	return 10 + n
}

// mp3FrameHeader finds the first MPEG audio frame header at or after off and
// reports whether it is mono.
func mp3FirstFrame(rs io.ReadSeeker, off int64) (mono bool, gapless lameGapless, ok bool) {
	if _, err := rs.Seek(off, io.SeekStart); err != nil {
		return false, gapless, false
	}
	b := make([]byte, 64<<10)
	n, _ := io.ReadFull(rs, b)
	b = b[:n]
	for i := 0; i+4 <= len(b); i++ {
		if b[i] != 0xFF || b[i+1]&0xE0 != 0xE0 {
			continue
		}
		h := binary.BigEndian.Uint32(b[i:])
		version := (h >> 19) & 3
		layer := (h >> 17) & 3
		bitrate := (h >> 12) & 0xF
		rate := (h >> 10) & 3
		if version == 1 || layer == 0 || bitrate == 0xF || rate == 3 {
			continue
		}
		gapless, _ = parseLAME(b[i:], h)
		return (h>>6)&3 == 3, gapless, true
	}
	return false, gapless, false
}

func openMP3(rs io.ReadSeeker, size int64) (_ Reader, err error) {
	defer recoverMalformed(&err, "mp3")
	var head [10]byte
	if _, err := io.ReadFull(rs, head[:]); err != nil {
		return nil, fmt.Errorf("%w: mp3: %w", ErrMalformed, err)
	}
	mono, gapless, ok := mp3FirstFrame(rs, id3v2Size(head[:]))
	if !ok {
		return nil, fmt.Errorf("%w: no MPEG audio frame found", ErrMalformed)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: mp3 seek: %w", err)
	}
	d, err := mp3.NewDecoder(rs)
	if err != nil {
		return nil, fmt.Errorf("%w: mp3: %w", ErrMalformed, err)
	}
	ch := 2
	layout := DefaultLayout(2)
	if mono {
		ch, layout = 1, DefaultLayout(1)
	}
	info := Info{
		Format: FormatMP3, Codec: "mp3", SampleRate: d.SampleRate(), Channels: ch,
		Layout: layout, Frames: -1,
	}
	m := &mp3Reader{d: d, left: -1}
	spf := int64(1152)
	if d.SampleRate() < 32000 {
		spf = 576 // MPEG-2/2.5 Layer III
	}
	if l := d.Length(); l > 0 {
		info.Frames = l / 4
		// go-mp3 outputs the Info frame as a frame of silence.
		if total := gapless.frames*spf - gapless.delay - gapless.padding; gapless.frames > 0 && info.Frames == (gapless.frames+1)*spf && total > 0 {
			m.skip = spf + gapless.delay + mp3DecoderDelay
			m.left = total
			info.Frames = total
		}
		info.setDuration()
		if info.Duration > 0 {
			info.Bitrate = int64(float64(size*8) / info.Duration.Seconds())
		}
	}
	if err := info.validate(); err != nil {
		return nil, err
	}
	m.info = info
	return m, nil
}

func (m *mp3Reader) Info() Info { return m.info }

func (m *mp3Reader) Close() error { return nil }

func (m *mp3Reader) Read(dst []float64) (_ int, err error) {
	defer recoverMalformed(&err, "mp3")
	for m.skip > 0 {
		n := min(m.skip, 4096)
		if cap(m.buf) < int(n)*4 {
			m.buf = make([]byte, n*4)
		}
		if _, err := io.ReadFull(m.d, m.buf[:n*4]); err != nil {
			return 0, io.EOF
		}
		m.skip -= n
	}
	ch := m.info.Channels
	frames := len(dst) / ch
	if m.left >= 0 && int64(frames) > m.left {
		frames = int(m.left)
	}
	if frames == 0 {
		if m.left == 0 {
			return 0, io.EOF
		}
		return 0, nil
	}
	need := frames * 4
	if cap(m.buf) < need {
		m.buf = make([]byte, need)
	}
	n, err := io.ReadFull(m.d, m.buf[:need])
	got := n / 4
	if m.left >= 0 {
		m.left -= int64(got)
	}
	b := m.buf
	for i := 0; i < got; i++ {
		l := float64(int16(binary.LittleEndian.Uint16(b[4*i:]))) / 32768 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		if ch == 1 {
			dst[i] = l
			continue
		}
		dst[2*i] = l
		dst[2*i+1] = float64(int16(binary.LittleEndian.Uint16(b[4*i+2:]))) / 32768 //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		if got == 0 {
			return 0, io.EOF
		}
		return got * ch, nil
	}
	if err != nil {
		return got * ch, fmt.Errorf("%w: mp3: %w", ErrMalformed, err)
	}
	return got * ch, nil
}
