package audio

import "strings"

// Position is a loudspeaker position. The values follow the bit order of the
// WAVE_FORMAT_EXTENSIBLE dwChannelMask (bit n ⇔ Position n+1), so a mask
// converts directly.
type Position uint8

// Speaker positions.
const (
	PosUnknown Position = iota
	PosFrontLeft
	PosFrontRight
	PosFrontCenter
	PosLFE
	PosBackLeft
	PosBackRight
	PosFrontLeftOfCenter
	PosFrontRightOfCenter
	PosBackCenter
	PosSideLeft
	PosSideRight
	PosTopCenter
	PosTopFrontLeft
	PosTopFrontCenter
	PosTopFrontRight
	PosTopBackLeft
	PosTopBackCenter
	PosTopBackRight
	// PosMono is the single channel of a mono file.
	PosMono
)

var posNames = [...]string{"?", "FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR",
	"TC", "TFL", "TFC", "TFR", "TBL", "TBC", "TBR", "M"}

// String returns the short name, e.g. "FL" or "LFE".
func (p Position) String() string {
	if int(p) < len(posNames) {
		return posNames[p]
	}
	return "?"
}

// MarshalText implements encoding.TextMarshaler.
func (p Position) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Layout lists the position of each channel in stream order.
type Layout []Position

// String joins the positions, e.g. "FL FR FC LFE BL BR".
func (l Layout) String() string {
	s := make([]string, len(l))
	for i, p := range l {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// LoudnessWeights returns the BS.1770 channel weight G_i for each channel:
// 1.0 for front and centre channels, 1.41 (+1.5 dB) for surround channels
// (back and side, which BS.1770 Table 3 and Annex 3 place at |azimuth|
// 60°–120° in the common layouts; ffmpeg's ebur128 uses the same rule) and 0
// for LFE, which BS.1770 excludes. Height channels get 1.0. A mono file is one
// channel with weight 1.0, so a mono -23 dBFS 1 kHz sine reads -26 LUFS as the
// standard prescribes (no "dual mono" +3 dB).
func (l Layout) LoudnessWeights() []float64 {
	w := make([]float64, len(l))
	for i, p := range l {
		switch p {
		case PosLFE:
			w[i] = 0
		case PosBackLeft, PosBackRight, PosSideLeft, PosSideRight:
			w[i] = 1.41
		default:
			w[i] = 1
		}
	}
	return w
}

// LayoutFromMask converts a WAVE_FORMAT_EXTENSIBLE channel mask. Channels
// beyond the bits set in the mask (allowed by the format) are PosUnknown. A
// zero mask falls back to DefaultLayout.
func LayoutFromMask(mask uint32, channels int) Layout {
	if mask == 0 {
		return DefaultLayout(channels)
	}
	l := make(Layout, 0, channels)
	for bit := 0; bit < 18 && len(l) < channels; bit++ {
		if mask&(1<<bit) != 0 {
			l = append(l, Position(bit+1))
		}
	}
	for len(l) < channels {
		l = append(l, PosUnknown)
	}
	return l
}

// DefaultLayout is the channel order WAV, FLAC and AIFF imply when a file
// carries no explicit layout (the FLAC format's fixed assignment for 1–8
// channels, which is also Microsoft's default order for WAV).
func DefaultLayout(channels int) Layout {
	switch channels {
	case 1:
		return Layout{PosMono}
	case 2:
		return Layout{PosFrontLeft, PosFrontRight}
	case 3:
		return Layout{PosFrontLeft, PosFrontRight, PosFrontCenter}
	case 4:
		return Layout{PosFrontLeft, PosFrontRight, PosBackLeft, PosBackRight}
	case 5:
		return Layout{PosFrontLeft, PosFrontRight, PosFrontCenter, PosBackLeft, PosBackRight}
	case 6:
		return Layout{PosFrontLeft, PosFrontRight, PosFrontCenter, PosLFE, PosBackLeft, PosBackRight}
	case 7:
		return Layout{PosFrontLeft, PosFrontRight, PosFrontCenter, PosLFE, PosBackCenter, PosSideLeft, PosSideRight}
	case 8:
		return Layout{PosFrontLeft, PosFrontRight, PosFrontCenter, PosLFE, PosBackLeft, PosBackRight, PosSideLeft, PosSideRight}
	}
	l := make(Layout, channels)
	for i := range l {
		l[i] = PosUnknown
	}
	return l
}

// VorbisLayout is the channel order of Vorbis and of Opus mapping family 1
// (Vorbis I specification §4.3.9), which differs from WAV for 3, 5 and 6+
// channels (centre second, LFE last).
func VorbisLayout(channels int) Layout {
	switch channels {
	case 3:
		return Layout{PosFrontLeft, PosFrontCenter, PosFrontRight}
	case 5:
		return Layout{PosFrontLeft, PosFrontCenter, PosFrontRight, PosBackLeft, PosBackRight}
	case 6:
		return Layout{PosFrontLeft, PosFrontCenter, PosFrontRight, PosBackLeft, PosBackRight, PosLFE}
	case 7:
		return Layout{PosFrontLeft, PosFrontCenter, PosFrontRight, PosSideLeft, PosSideRight, PosBackCenter, PosLFE}
	case 8:
		return Layout{PosFrontLeft, PosFrontCenter, PosFrontRight, PosSideLeft, PosSideRight, PosBackLeft, PosBackRight, PosLFE}
	}
	return DefaultLayout(channels)
}
