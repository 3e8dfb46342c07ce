//go:build cgo

package audio

import (
	"errors"
	"fmt"
	"io"

	"gopkg.in/hraban/opus.v2"
)

// opusReader decodes Ogg Opus through libopusfile (gopkg.in/hraban/opus.v2).
// Output is always 48 kHz, the rate Opus works at internally; the header's
// "input sample rate" is informational only (RFC 7845 §5.1).
type opusReader struct {
	s    *opus.Stream
	info Info
	buf  []float32
}

func openOpus(rs io.ReadSeeker, size int64) (Reader, error) {
	p, err := oggFirstPacket(rs)
	if err != nil {
		return nil, err
	}
	head, err := parseOpusHead(p)
	if err != nil {
		return nil, err
	}
	if head.mapFamily > 1 {
		return nil, fmt.Errorf("%w: opus channel mapping family %d", ErrUnsupportedCodec, head.mapFamily)
	}
	info := Info{
		Format: FormatOpus, Codec: "opus", SampleRate: 48000, Channels: head.channels,
		Layout: VorbisLayout(head.channels), Frames: -1,
	}
	if head.channels == 1 {
		info.Layout = Layout{PosMono}
	}
	if g := oggLastGranule(rs, size); g > int64(head.preSkip) {
		info.Frames = g - int64(head.preSkip)
		info.setDuration()
		if info.Duration > 0 {
			info.Bitrate = int64(float64(size*8) / info.Duration.Seconds())
		}
	}
	if err := info.validate(); err != nil {
		return nil, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: opus seek: %w", err)
	}
	s, err := opus.NewStream(rs)
	if err != nil {
		return nil, fmt.Errorf("%w: opus: %w", ErrMalformed, err)
	}
	return &opusReader{s: s, info: info}, nil
}

func (o *opusReader) Info() Info { return o.info }

func (o *opusReader) Read(dst []float64) (int, error) {
	ch := o.info.Channels
	frames := len(dst) / ch
	if frames == 0 {
		return 0, nil
	}
	if cap(o.buf) < frames*ch {
		o.buf = make([]float32, frames*ch)
	}
	n, err := o.s.ReadFloat32(o.buf[:frames*ch])
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: opus: %w", ErrMalformed, err)
	}
	for i, v := range o.buf[:n*ch] {
		dst[i] = float64(v)
	}
	return n * ch, nil
}

// Close frees the decoder. hraban's Stream closes its reader if it is an
// io.Closer; Open hands it the file only through a wrapper without Close.
func (o *opusReader) Close() error { return o.s.Close() }
