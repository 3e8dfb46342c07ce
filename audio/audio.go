// Package audio decodes and describes audio files for Max Booster.
//
// Every decoder is a [Reader]: it yields interleaved float64 samples in
// [-1, 1] (full scale) block by block, so memory is bounded by the caller's
// block size and never by the length of the file. [Open] sniffs the container
// from the first bytes (never from the file name) and picks the decoder:
// WAV/RF64 and AIFF/AIFF-C are parsed here (go-audio/wav v1.1.0 returns the raw
// IEEE bits of 32-bit float files as integers without an error, so it is not
// used), FLAC through github.com/mewkiz/flac, MP3 through
// github.com/hajimehoshi/go-mp3, Ogg Vorbis through libvorbisfile and Ogg Opus
// through libopusfile (both cgo; without cgo they report ErrUnsupportedCodec).
// MP4/M4A files are described ([Probe]) but not decoded: no well-kept Go AAC
// decoder exists, so decoding reports ErrUnsupportedCodec.
//
// The measurement, analysis and processing code lives in subpackages:
// audio/loudness (BS.1770 / EBU R128), audio/compliance (platform targets),
// audio/analysis (peaks, spectrogram, tempo, key) and audio/dsp (processing
// and encoders). They depend on this package, never the other way round.
package audio

import (
	"errors"
	"fmt"
	"time"
)

// Errors reported by the decoders. They are wrapped with %w, so test them with
// errors.Is.
var (
	// ErrUnknownFormat means the bytes match no supported container.
	ErrUnknownFormat = errors.New("audio: unknown file format")
	// ErrUnsupportedCodec means the container is known but its codec cannot be
	// decoded here (for example AAC in M4A, or a WAV format tag such as ADPCM).
	ErrUnsupportedCodec = errors.New("audio: unsupported codec")
	// ErrMalformed means the file is truncated or internally inconsistent.
	ErrMalformed = errors.New("audio: malformed file")
	// ErrTooLarge means a size field exceeds the limits of this package.
	ErrTooLarge = errors.New("audio: value exceeds limit")
)

// Limits applied to every decoded stream. A file that claims more is rejected
// with ErrTooLarge instead of allocating for it.
const (
	MaxChannels   = 32
	MaxSampleRate = 768000
	MinSampleRate = 1000
)

// Format names the container of a file.
type Format string

// The containers this package recognises.
const (
	FormatWAV    Format = "wav"
	FormatAIFF   Format = "aiff"
	FormatFLAC   Format = "flac"
	FormatMP3    Format = "mp3"
	FormatVorbis Format = "ogg-vorbis"
	FormatOpus   Format = "ogg-opus"
	FormatMP4    Format = "m4a"
)

// Lossless reports whether the format stores samples without lossy coding.
// MP4 may hold ALAC, so Info.Lossless is the authority for a given file.
func (f Format) Lossless() bool {
	switch f {
	case FormatWAV, FormatAIFF, FormatFLAC:
		return true
	default:
		return false
	}
}

// Info is the technical description of a stream.
type Info struct {
	Format     Format `json:"format"`
	Codec      string `json:"codec"`      // e.g. "pcm_s24le", "pcm_f32le", "flac", "mp3", "vorbis", "opus", "aac"
	SampleRate int    `json:"sampleRate"` // frames per second of the decoded output
	Channels   int    `json:"channels"`
	// BitDepth is the stored bits per sample for PCM/FLAC; 0 for lossy codecs.
	BitDepth int  `json:"bitDepth"`
	Float    bool `json:"float"`
	Lossless bool `json:"lossless"`
	// Layout gives the speaker position of each channel, in stream order.
	Layout Layout `json:"layout"`
	// Frames is the number of sample frames, or -1 when the container does not
	// say (e.g. a VBR MP3 without an index); Duration is then zero.
	Frames   int64         `json:"frames"`
	Duration time.Duration `json:"-"`
	// Bitrate is the average bits per second of the encoded file (file size
	// over duration) when both are known, else 0.
	Bitrate int64 `json:"bitrate"`
}

// DurationSeconds is Duration as float seconds (for JSON output).
func (i Info) DurationSeconds() float64 { return i.Duration.Seconds() }

func (i *Info) setDuration() {
	if i.Frames >= 0 && i.SampleRate > 0 {
		i.Duration = time.Duration(float64(i.Frames) / float64(i.SampleRate) * float64(time.Second))
	}
}

func (i Info) validate() error {
	if i.Channels < 1 || i.Channels > MaxChannels {
		return fmt.Errorf("%w: %d channels (1..%d allowed)", ErrTooLarge, i.Channels, MaxChannels)
	}
	if i.SampleRate < MinSampleRate || i.SampleRate > MaxSampleRate {
		return fmt.Errorf("%w: sample rate %d Hz (%d..%d allowed)", ErrTooLarge, i.SampleRate, MinSampleRate, MaxSampleRate)
	}
	if len(i.Layout) != i.Channels {
		return fmt.Errorf("%w: layout has %d positions for %d channels", ErrMalformed, len(i.Layout), i.Channels)
	}
	return nil
}

// Reader is a streaming decoder. Read fills dst with whole interleaved frames
// (len(dst) should be a multiple of Info().Channels; a remainder is left
// unused) and returns the number of samples written, which is always a
// multiple of the channel count. At the end of the stream it returns 0, io.EOF.
// Samples are full scale: 1.0 is 0 dBFS. Float sources may exceed ±1.
type Reader interface {
	Info() Info
	Read(dst []float64) (int, error)
	Close() error
}

// ReadAll decodes the whole stream into memory. It is meant for tests and
// short clips; production paths stream with Read. It refuses more than
// maxSamples samples (interleaved) with ErrTooLarge.
func ReadAll(r Reader, maxSamples int) ([]float64, error) {
	ch := r.Info().Channels
	buf := make([]float64, 4096*ch)
	var out []float64
	for {
		n, err := r.Read(buf)
		if len(out)+n > maxSamples {
			return nil, fmt.Errorf("%w: more than %d samples", ErrTooLarge, maxSamples)
		}
		out = append(out, buf[:n]...)
		if err != nil {
			if isEOF(err) {
				return out, nil
			}
			return out, err
		}
	}
}
