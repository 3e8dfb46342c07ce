//go:build cgo

package audio

/*
#cgo pkg-config: vorbisfile
#include <stdlib.h>
#include <stdint.h>
#include <vorbis/vorbisfile.h>

extern size_t mbVorbisRead(void *ptr, size_t size, size_t nmemb, uintptr_t h);
extern int mbVorbisSeek(uintptr_t h, int64_t off, int whence);
extern long mbVorbisTell(uintptr_t h);

static size_t mb_read(void *ptr, size_t size, size_t nmemb, void *ds) { return mbVorbisRead(ptr, size, nmemb, (uintptr_t)ds); }
static int mb_seek(void *ds, ogg_int64_t off, int whence) { return mbVorbisSeek((uintptr_t)ds, off, whence); }
static long mb_tell(void *ds) { return mbVorbisTell((uintptr_t)ds); }

static int mb_ov_open(uintptr_t h, OggVorbis_File *vf) {
	ov_callbacks cb = { mb_read, mb_seek, NULL, mb_tell };
	return ov_open_callbacks((void *)h, vf, NULL, 0, cb);
}
static float *mb_chan(float **pcm, int c) { return pcm[c]; }
*/
import "C"

import (
	"fmt"
	"io"
	"runtime/cgo"
	"unsafe"
)

//export mbVorbisRead
func mbVorbisRead(ptr unsafe.Pointer, size, nmemb C.size_t, h C.uintptr_t) C.size_t {
	rs := cgo.Handle(h).Value().(io.ReadSeeker)
	want := int(size * nmemb)
	if want == 0 {
		return 0
	}
	buf := unsafe.Slice((*byte)(ptr), want)
	n, _ := io.ReadFull(rs, buf)
	return C.size_t(n / int(size))
}

//export mbVorbisSeek
func mbVorbisSeek(h C.uintptr_t, off C.int64_t, whence C.int) C.int {
	rs := cgo.Handle(h).Value().(io.ReadSeeker)
	if _, err := rs.Seek(int64(off), int(whence)); err != nil {
		return -1
	}
	return 0
}

//export mbVorbisTell
func mbVorbisTell(h C.uintptr_t) C.long {
	rs := cgo.Handle(h).Value().(io.ReadSeeker)
	p, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}
	return C.long(p)
}

// vorbisReader decodes Ogg Vorbis through libvorbisfile.
type vorbisReader struct {
	vf     *C.OggVorbis_File
	h      cgo.Handle
	info   Info
	closed bool
}

func openVorbis(rs io.ReadSeeker, size int64) (Reader, error) {
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: vorbis seek: %w", err)
	}
	vf := (*C.OggVorbis_File)(C.calloc(1, C.size_t(unsafe.Sizeof(C.OggVorbis_File{}))))
	h := cgo.NewHandle(rs)
	if rc := C.mb_ov_open(C.uintptr_t(h), vf); rc != 0 {
		C.free(unsafe.Pointer(vf))
		h.Delete()
		return nil, fmt.Errorf("%w: vorbis open failed (%d)", ErrMalformed, int(rc))
	}
	vi := C.ov_info(vf, -1)
	ch := int(vi.channels)
	info := Info{
		Format: FormatVorbis, Codec: "vorbis", SampleRate: int(vi.rate), Channels: ch,
		Layout: VorbisLayout(ch), Frames: -1,
	}
	if t := int64(C.ov_pcm_total(vf, -1)); t >= 0 {
		info.Frames = t
		info.setDuration()
		if info.Duration > 0 {
			info.Bitrate = int64(float64(size*8) / info.Duration.Seconds())
		}
	}
	v := &vorbisReader{vf: vf, h: h, info: info}
	if err := info.validate(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *vorbisReader) Info() Info { return v.info }

func (v *vorbisReader) Read(dst []float64) (int, error) {
	if v.closed {
		return 0, fmt.Errorf("audio: vorbis reader closed")
	}
	ch := v.info.Channels
	frames := len(dst) / ch
	out := 0
	for out < frames {
		var pcm **C.float
		var section C.int
		n := int(C.ov_read_float(v.vf, &pcm, C.int(frames-out), &section))
		if n == 0 {
			break
		}
		if n < 0 {
			if n == C.OV_HOLE {
				continue // a gap in the data; libvorbisfile resynchronises
			}
			return out * ch, fmt.Errorf("%w: vorbis decode error %d", ErrMalformed, n)
		}
		if vi := C.ov_info(v.vf, -1); int(vi.channels) != ch || int(vi.rate) != v.info.SampleRate {
			return out * ch, fmt.Errorf("%w: chained vorbis stream changes format", ErrUnsupportedCodec)
		}
		for c := 0; c < ch; c++ {
			src := unsafe.Slice((*float32)(unsafe.Pointer(C.mb_chan(pcm, C.int(c)))), n)
			d := dst[out*ch+c:]
			for i, s := range src {
				d[i*ch] = float64(s)
			}
		}
		out += n
	}
	if out == 0 {
		return 0, io.EOF
	}
	return out * ch, nil
}

func (v *vorbisReader) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	C.ov_clear(v.vf)
	C.free(unsafe.Pointer(v.vf))
	v.h.Delete()
	return nil
}
