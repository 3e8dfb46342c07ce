package audio

import (
	"encoding/binary"
	"fmt"
	"io"
)

// mp4Info walks the MP4 box tree (ISO/IEC 14496-12) far enough to describe the
// first sound track: codec from the sample entry, rate and channels, and the
// duration from mdhd.
func mp4Info(rs io.ReadSeeker, size int64) (Info, error) {
	info := Info{Format: FormatMP4, Frames: -1}
	var found bool
	var timescale, duration uint64
	var walk func(start, end int64, depth int) error
	walk = func(start, end int64, depth int) error {
		if depth > 8 {
			return nil
		}
		for pos, n := start, 0; pos+8 <= end && n < maxChunks; n++ {
			if _, err := rs.Seek(pos, io.SeekStart); err != nil {
				return fmt.Errorf("audio: mp4 seek: %w", err)
			}
			var h [16]byte
			if _, err := io.ReadFull(rs, h[:8]); err != nil {
				return fmt.Errorf("%w: mp4 box header: %w", ErrMalformed, err)
			}
			bsize := int64(binary.BigEndian.Uint32(h[0:]))
			typ := string(h[4:8])
			body := pos + 8
			switch bsize {
			case 0:
				bsize = end - pos
			case 1:
				if _, err := io.ReadFull(rs, h[8:16]); err != nil {
					return fmt.Errorf("%w: mp4 large box: %w", ErrMalformed, err)
				}
				bsize = int64(binary.BigEndian.Uint64(h[8:])) //nolint:gosec // G115: PCM bit reinterpretation or a range checked above
				body += 8
			}
			if bsize < 8 || pos+bsize > end {
				return fmt.Errorf("%w: mp4 box %q of %d bytes", ErrMalformed, typ, bsize)
			}
			switch typ {
			case "moov", "trak", "mdia", "minf", "stbl":
				if err := walk(body, pos+bsize, depth+1); err != nil {
					return err
				}
			case "mdhd":
				b := make([]byte, min(bsize-(body-pos), 64))
				if _, err := io.ReadFull(rs, b); err != nil || len(b) < 24 {
					return fmt.Errorf("%w: mdhd", ErrMalformed)
				}
				var ts, du uint64
				if b[0] == 1 && len(b) >= 36 {
					ts, du = uint64(binary.BigEndian.Uint32(b[20:])), binary.BigEndian.Uint64(b[24:])
				} else {
					ts, du = uint64(binary.BigEndian.Uint32(b[12:])), uint64(binary.BigEndian.Uint32(b[16:]))
				}
				if !found {
					timescale, duration = ts, du
				}
			case "stsd":
				if found {
					break
				}
				b := make([]byte, min(bsize-(body-pos), 256))
				if _, err := io.ReadFull(rs, b); err != nil || len(b) < 8+36 {
					return fmt.Errorf("%w: stsd", ErrMalformed)
				}
				e := b[8:] // first sample entry
				codec := string(e[4:8])
				switch codec {
				case "mp4a":
					info.Codec = "aac"
				case "alac":
					info.Codec, info.Lossless = "alac", true
				case "ac-3", "ec-3", "Opus", "fLaC":
					info.Codec = codec
				default:
					return nil // a video or text track: keep looking
				}
				info.Channels = int(binary.BigEndian.Uint16(e[24:]))
				info.BitDepth = int(binary.BigEndian.Uint16(e[26:]))
				info.SampleRate = int(binary.BigEndian.Uint32(e[32:]) >> 16)
				if !info.Lossless {
					info.BitDepth = 0
				}
				info.Layout = DefaultLayout(info.Channels)
				found = true
			}
			pos += bsize
		}
		return nil
	}
	if err := walk(0, size, 0); err != nil {
		return info, err
	}
	if !found {
		return info, fmt.Errorf("%w: mp4 has no audio track", ErrMalformed)
	}
	if timescale > 0 && info.SampleRate > 0 {
		info.Frames = int64(float64(duration) / float64(timescale) * float64(info.SampleRate))
		info.setDuration()
		if info.Duration > 0 {
			info.Bitrate = int64(float64(size*8) / info.Duration.Seconds())
		}
	}
	return info, nil
}
