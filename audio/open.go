package audio

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Sniff names the container from the first bytes of a file (at least 12;
// 64 are enough for every format here). Ogg needs the first packet to tell
// Vorbis from Opus, which the first 64 bytes contain.
func Sniff(head []byte) (Format, error) {
	switch {
	case len(head) >= 12 && (bytes.HasPrefix(head, []byte("RIFF")) || bytes.HasPrefix(head, []byte("RF64")) || bytes.HasPrefix(head, []byte("BW64"))) && string(head[8:12]) == "WAVE":
		return FormatWAV, nil
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("FORM")) && (string(head[8:12]) == "AIFF" || string(head[8:12]) == "AIFC"):
		return FormatAIFF, nil
	case bytes.HasPrefix(head, []byte("fLaC")):
		return FormatFLAC, nil
	case bytes.HasPrefix(head, []byte("OggS")):
		switch {
		case bytes.Contains(head, []byte("\x01vorbis")):
			return FormatVorbis, nil
		case bytes.Contains(head, []byte("OpusHead")):
			return FormatOpus, nil
		case bytes.Contains(head, []byte("\x7fFLAC")):
			return "", fmt.Errorf("%w: FLAC in Ogg", ErrUnsupportedCodec)
		}
		return "", fmt.Errorf("%w: ogg stream of an unknown codec", ErrUnsupportedCodec)
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return FormatMP4, nil
	case bytes.HasPrefix(head, []byte("ID3")):
		// ID3v2 in front of FLAC happens; otherwise it is MP3.
		return FormatMP3, nil
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		return FormatMP3, nil
	}
	return "", ErrUnknownFormat
}

// noClose hides the Close method of the underlying file so that libraries
// which close an io.Closer they were handed (hraban/opus does) leave it to us.
type noClose struct{ io.ReadSeeker }

// NewReader starts decoding rs, which holds size bytes. The caller keeps
// ownership of rs: Close on the returned Reader releases only decoder state.
func NewReader(rs io.ReadSeeker, size int64) (Reader, error) {
	format, err := sniffAt(rs)
	if err != nil {
		return nil, err
	}
	rs = noClose{rs}
	switch format {
	case FormatWAV:
		return openWAV(rs, size)
	case FormatAIFF:
		return openAIFF(rs, size)
	case FormatFLAC:
		return openFLAC(rs, size)
	case FormatMP3:
		var head [10]byte
		if _, err := io.ReadFull(rs, head[:]); err == nil {
			if n := id3v2Size(head[:]); n > 0 {
				var magic [4]byte
				if _, err := rs.Seek(n, io.SeekStart); err == nil {
					if _, err := io.ReadFull(rs, magic[:]); err == nil && string(magic[:]) == "fLaC" {
						if _, err := rs.Seek(0, io.SeekStart); err != nil {
							return nil, fmt.Errorf("audio: seek: %w", err)
						}
						return openFLAC(rs, size) // mewkiz/flac skips the ID3v2 tag itself
					}
				}
			}
		}
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("audio: seek: %w", err)
		}
		return openMP3(rs, size)
	case FormatVorbis:
		return openVorbis(rs, size)
	case FormatOpus:
		return openOpus(rs, size)
	case FormatMP4:
		info, err := mp4Info(rs, size)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s in MP4 cannot be decoded here (no maintained Go decoder)", ErrUnsupportedCodec, info.Codec)
	}
	return nil, ErrUnknownFormat
}

func sniffAt(rs io.ReadSeeker) (Format, error) {
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("audio: seek: %w", err)
	}
	head := make([]byte, 64)
	n, err := io.ReadFull(rs, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		if err == io.EOF {
			return "", fmt.Errorf("%w: empty file", ErrUnknownFormat)
		}
		return "", fmt.Errorf("audio: read: %w", err)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("audio: seek: %w", err)
	}
	return Sniff(head[:n])
}

// Probe describes a file without decoding its samples. Unlike NewReader it
// succeeds for MP4/M4A (AAC, ALAC), whose samples cannot be decoded here.
func Probe(rs io.ReadSeeker, size int64) (Info, error) {
	format, err := sniffAt(rs)
	if err != nil {
		return Info{}, err
	}
	if format == FormatMP4 {
		return mp4Info(rs, size)
	}
	r, err := NewReader(rs, size)
	if err != nil {
		return Info{}, err
	}
	defer r.Close()
	return r.Info(), nil
}

// fileReader is a Reader that owns its file.
type fileReader struct {
	Reader
	f *os.File
}

func (f fileReader) Close() error {
	err := f.Reader.Close()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens and starts decoding the file at path; Close closes the file.
func Open(path string) (Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audio: %w", err)
	}
	r, err := NewReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileReader{Reader: r, f: f}, nil
}
