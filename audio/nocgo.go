//go:build !cgo

package audio

import (
	"fmt"
	"io"
)

func openVorbis(io.ReadSeeker, int64) (Reader, error) {
	return nil, fmt.Errorf("%w: ogg vorbis needs a cgo build with libvorbisfile", ErrUnsupportedCodec)
}

func openOpus(io.ReadSeeker, int64) (Reader, error) {
	return nil, fmt.Errorf("%w: ogg opus needs a cgo build with libopusfile", ErrUnsupportedCodec)
}

// OpusWriter is unavailable without cgo.
type OpusWriter struct{}

// NewOpusWriter reports that Opus encoding needs cgo and libopus.
func NewOpusWriter(io.Writer, uint32, int) (*OpusWriter, error) {
	return nil, fmt.Errorf("%w: opus encoding needs a cgo build with libopus", ErrUnsupportedCodec)
}

// Write is never reached: NewOpusWriter fails without cgo.
func (*OpusWriter) Write([]float64) error { return ErrUnsupportedCodec }

// Close is never reached: NewOpusWriter fails without cgo.
func (*OpusWriter) Close() error { return ErrUnsupportedCodec }
