//go:build cgo

package rtc

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// opusEncoder encodes 20 ms 48 kHz stereo frames with libopus (music
// settings: 128 kbit/s VBR, complexity 5, no DTX).
type opusEncoder struct {
	enc *opus.Encoder
	buf []byte
}

func newOpusEncoder() (opusEncoder, error) {
	enc, err := opus.NewEncoder(SampleRate, Channels, opus.AppAudio)
	if err != nil {
		return opusEncoder{}, fmt.Errorf("rtc: opus encoder: %w", err)
	}
	if err := enc.SetBitrate(128000); err != nil {
		return opusEncoder{}, fmt.Errorf("rtc: opus bitrate: %w", err)
	}
	if err := enc.SetComplexity(5); err != nil {
		return opusEncoder{}, fmt.Errorf("rtc: opus complexity: %w", err)
	}
	return opusEncoder{enc: enc, buf: make([]byte, 1500)}, nil
}

// encode returns the packet for one frame (valid until the next call).
func (e opusEncoder) encode(pcm []float32) ([]byte, error) {
	n, err := e.enc.EncodeFloat32(pcm, e.buf)
	if err != nil {
		return nil, fmt.Errorf("rtc: opus encode: %w", err)
	}
	return e.buf[:n], nil
}

// reset clears the encoder's state (OPUS_RESET_STATE), keeping its
// settings: the next frame is encoded as by a new encoder, with nothing
// of the audio before it (a seek).
func (e opusEncoder) reset() error {
	if err := e.enc.Reset(); err != nil {
		return fmt.Errorf("rtc: opus reset: %w", err)
	}
	return nil
}

func (e opusEncoder) close() {}
