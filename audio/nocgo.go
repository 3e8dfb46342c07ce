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
