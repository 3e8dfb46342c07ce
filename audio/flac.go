package audio

import (
	"errors"
	"fmt"
	"io"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
)

// flacReader adapts mewkiz/flac, which decodes one frame (up to 65535
// samples per channel) at a time.
type flacReader struct {
	s     *flac.Stream
	info  Info
	cur   *frame.Frame
	pos   int // next sample index within cur
	scale float64
}

func openFLAC(rs io.ReadSeeker, size int64) (_ Reader, err error) {
	defer recoverMalformed(&err, "flac")
	s, err := flac.New(rs)
	if err != nil {
		return nil, fmt.Errorf("%w: flac: %w", ErrMalformed, err)
	}
	si := s.Info
	info := Info{
		Format: FormatFLAC, Codec: "flac",
		SampleRate: int(si.SampleRate), Channels: int(si.NChannels),
		BitDepth: int(si.BitsPerSample), Lossless: true,
		Layout: DefaultLayout(int(si.NChannels)), Frames: -1,
	}
	if si.NSamples > 0 {
		info.Frames = int64(si.NSamples) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
		info.setDuration()
		if info.Duration > 0 {
			info.Bitrate = int64(float64(size*8) / info.Duration.Seconds())
		}
	}
	if err := info.validate(); err != nil {
		return nil, err
	}
	if info.BitDepth < 4 || info.BitDepth > 32 {
		return nil, fmt.Errorf("%w: flac with %d bits per sample", ErrUnsupportedCodec, info.BitDepth)
	}
	return &flacReader{s: s, info: info, scale: 1 / float64(int64(1)<<(info.BitDepth-1))}, nil
}

func (f *flacReader) Info() Info { return f.info }

func (f *flacReader) Close() error { return nil } // the caller owns the file

func (f *flacReader) Read(dst []float64) (_ int, err error) {
	defer recoverMalformed(&err, "flac")
	ch := f.info.Channels
	frames := len(dst) / ch
	out := 0
	for out < frames {
		if f.cur == nil || f.pos >= int(f.cur.BlockSize) {
			fr, err := f.s.ParseNext()
			if err != nil {
				if errors.Is(err, io.EOF) {
					if out == 0 {
						return 0, io.EOF
					}
					break
				}
				return out * ch, fmt.Errorf("%w: flac frame: %w", ErrMalformed, err)
			}
			if len(fr.Subframes) != ch {
				return out * ch, fmt.Errorf("%w: flac frame with %d channels in a %d-channel stream", ErrMalformed, len(fr.Subframes), ch)
			}
			f.cur, f.pos = fr, 0
		}
		n := min(int(f.cur.BlockSize)-f.pos, frames-out)
		for c, sf := range f.cur.Subframes {
			src := sf.Samples[f.pos : f.pos+n]
			d := dst[out*ch+c:]
			for i, v := range src {
				d[i*ch] = float64(v) * f.scale
			}
		}
		f.pos += n
		out += n
	}
	return out * ch, nil
}
