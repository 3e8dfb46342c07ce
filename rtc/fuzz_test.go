package rtc_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/maxbooster/maxbooster/rtc"
)

// oggPage builds one Ogg page holding packets (the CRC is left zero; the
// reader does not check it).
func oggPage(seq uint32, flags byte, packets ...[]byte) []byte {
	var lacing []byte
	var body []byte
	for _, p := range packets {
		n := len(p)
		for n >= 255 {
			lacing = append(lacing, 255)
			n -= 255
		}
		lacing = append(lacing, byte(n))
		body = append(body, p...)
	}
	b := []byte("OggS")
	b = append(b, 0, flags)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = append(b, 0, 0, 0, 0, byte(len(lacing)))
	b = append(b, lacing...)
	return append(b, body...)
}

// tinyOgg is a valid three-packet 20 ms stereo stream, one packet spanning
// a 255-byte lacing boundary.
func tinyOgg() []byte {
	head := append([]byte("OpusHead"), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0)
	tags := append([]byte("OpusTags"), 0, 0, 0, 0, 0, 0, 0, 0)
	big := append([]byte{0xfc}, bytes.Repeat([]byte{7}, 300)...)
	var b []byte
	b = append(b, oggPage(0, 2, head)...)
	b = append(b, oggPage(1, 0, tags)...)
	b = append(b, oggPage(2, 0, []byte{0xfc, 1, 2}, big)...)
	return append(b, oggPage(3, 4, []byte{0xfc})...)
}

func TestReadOggOpusPackets(t *testing.T) {
	pkts, err := rtc.ReadOggOpus(bytes.NewReader(tinyOgg()), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 3 || len(pkts[0]) != 3 || len(pkts[1]) != 301 || len(pkts[2]) != 1 {
		t.Errorf("packets of %d, want 3 (3, 301, 1 bytes)", len(pkts))
	}
	// A 10 ms packet is not a 20 ms preview.
	bad := append(tinyOgg(), oggPage(4, 0, []byte{0xf4})...)
	if _, err := rtc.ReadOggOpus(bytes.NewReader(bad), 1<<20); err == nil {
		t.Error("accepted a 10 ms packet")
	}
}

// FuzzReadOggOpus: any input is read or refused, never a panic, and what
// is read is 20 ms packets.
func FuzzReadOggOpus(f *testing.F) {
	f.Add(tinyOgg())
	f.Add([]byte("OggS"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := rtc.ReadOggOpus(bytes.NewReader(b), 1<<20)
		if err != nil {
			return
		}
		for _, p := range pkts {
			if rtc.OpusPacketSamples(p) != rtc.FrameLen {
				t.Fatalf("accepted a packet of %d samples", rtc.OpusPacketSamples(p))
			}
		}
	})
}
