//go:build cgo

package audio

import (
	"encoding/binary"
	"fmt"
	"io"

	"gopkg.in/hraban/opus.v2"
)

const (
	opusPreSkip     = 312 // libopus's encoder lookahead at 48 kHz (OPUS_GET_LOOKAHEAD)
	opusPagePackets = 50  // one Ogg page per second of audio
)

// OpusWriter encodes 48 kHz stereo float samples as Ogg Opus (RFC 7845)
// through libopus. Resample other rates first (audio/dsp.Resampler).
type OpusWriter struct {
	w       io.Writer
	enc     *opus.Encoder
	serial  uint32
	seq     uint32
	pcm     []float32 // pending interleaved samples, < one frame
	packet  []byte
	page    [][]byte
	granule int64 // samples encoded so far (the decoder discards the first opusPreSkip)
	frames  int64 // input frames
	closing bool  // Close keeps every remaining packet for the last page
	err     error
}

// NewOpusWriter writes the Ogg Opus headers and returns the writer.
// inputRate is recorded in the header as the original rate (informational).
func NewOpusWriter(w io.Writer, serial uint32, inputRate int) (*OpusWriter, error) {
	enc, err := opus.NewEncoder(OpusRate, 2, opus.AppAudio)
	if err != nil {
		return nil, fmt.Errorf("audio: opus encoder: %w", err)
	}
	if err := enc.SetBitrate(OpusBitrate); err != nil {
		return nil, fmt.Errorf("audio: opus bitrate: %w", err)
	}
	ow := &OpusWriter{w: w, enc: enc, serial: serial, packet: make([]byte, 4000)}
	head := []byte("OpusHead")
	head = append(head, 1, 2)
	head = binary.LittleEndian.AppendUint16(head, opusPreSkip)
	head = binary.LittleEndian.AppendUint32(head, uint32(inputRate)) //nolint:gosec // G115: rates are ≤ 768 kHz
	head = append(head, 0, 0, 0)                                     // output gain 0, mapping family 0
	if err := ow.writePage([][]byte{head}, 0, 0x02); err != nil {
		return nil, err
	}
	vendor := "maxbooster (libopus)"
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor))) //nolint:gosec // G115: constant length
	tags = append(tags, vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	if err := ow.writePage([][]byte{tags}, 0, 0); err != nil {
		return nil, err
	}
	return ow, nil
}

// writePage writes packets as one Ogg page (flags: 0x02 first, 0x04 last).
func (ow *OpusWriter) writePage(packets [][]byte, granule int64, flags byte) error {
	var lacing []byte
	size := 0
	for _, p := range packets {
		n := len(p)
		for n >= 255 {
			lacing = append(lacing, 255)
			n -= 255
		}
		lacing = append(lacing, byte(n)) //nolint:gosec // G115: n < 255 here
		size += len(p)
	}
	if len(lacing) > 255 {
		return fmt.Errorf("audio: ogg page of %d segments", len(lacing))
	}
	b := make([]byte, 0, 27+len(lacing)+size)
	b = append(b, "OggS"...)
	b = append(b, 0, flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(granule)) //nolint:gosec // G115: granule positions are non-negative
	b = binary.LittleEndian.AppendUint32(b, ow.serial)
	b = binary.LittleEndian.AppendUint32(b, ow.seq)
	b = append(b, 0, 0, 0, 0, byte(len(lacing))) //nolint:gosec // G115: checked ≤ 255 above
	b = append(b, lacing...)
	for _, p := range packets {
		b = append(b, p...)
	}
	binary.LittleEndian.PutUint32(b[22:], oggCRC(0, b))
	ow.seq++
	if _, err := ow.w.Write(b); err != nil {
		return fmt.Errorf("audio: write ogg page: %w", err)
	}
	return nil
}

func (ow *OpusWriter) encode() error {
	n, err := ow.enc.EncodeFloat32(ow.pcm[:2*OpusFrame], ow.packet)
	if err != nil {
		return fmt.Errorf("audio: opus encode: %w", err)
	}
	ow.page = append(ow.page, append([]byte(nil), ow.packet[:n]...))
	ow.granule += OpusFrame
	ow.pcm = ow.pcm[:0]
	if len(ow.page) == opusPagePackets && !ow.closing {
		if err := ow.writePage(ow.page, ow.granule, 0); err != nil {
			return err
		}
		ow.page = ow.page[:0]
	}
	return nil
}

// Write appends interleaved 48 kHz stereo samples.
func (ow *OpusWriter) Write(samples []float64) error {
	if ow.err != nil {
		return ow.err
	}
	if len(samples)%2 != 0 {
		return fmt.Errorf("audio: opus write of %d samples for 2 channels", len(samples))
	}
	ow.frames += int64(len(samples) / 2)
	for _, v := range samples {
		ow.pcm = append(ow.pcm, float32(v))
		if len(ow.pcm) == 2*OpusFrame {
			if err := ow.encode(); err != nil {
				ow.err = err
				return err
			}
		}
	}
	return nil
}

// Close encodes the last partial frame (padded with silence, plus enough
// frames to flush the encoder's lookahead) and writes the final page, whose
// granule position trims the padding (RFC 7845 §4.4). It does not close w.
func (ow *OpusWriter) Close() error {
	if ow.err != nil {
		return ow.err
	}
	ow.err = ErrClosed
	ow.closing = true
	end := opusPreSkip + ow.frames
	for ow.granule < end || len(ow.pcm) > 0 {
		for len(ow.pcm) < 2*OpusFrame {
			ow.pcm = append(ow.pcm, 0)
		}
		if err := ow.encode(); err != nil {
			return err
		}
	}
	return ow.writePage(ow.page, end, 0x04)
}
