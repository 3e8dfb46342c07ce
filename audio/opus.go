package audio

// Opus preview encoding parameters: the studio streams previews as Ogg Opus,
// 48 kHz stereo, 20 ms frames, about 128 kbit/s (OpusWriter).
const (
	OpusRate    = 48000
	OpusFrame   = 960 // 20 ms at 48 kHz
	OpusBitrate = 128000
)
