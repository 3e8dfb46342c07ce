package rtc_test

import (
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/rtc"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestMixRender checks the mix arithmetic on constant signals: positions,
// offset, length, gain, fades, volume, pan (Web Audio's StereoPanner law,
// as the studio plays), automation, inserts, mute and solo, and the
// master clip.
func TestMixRender(t *testing.T) {
	ones := make(rtc.PCM, 2*rtc.SampleRate) // 1 s of 0.5 on both sides
	for i := range ones {
		ones[i] = 0.5
	}
	ramp := make(rtc.PCM, 2*rtc.SampleRate) // sample i is i/48000 on both sides
	for i := range len(ramp) / 2 {
		ramp[2*i], ramp[2*i+1] = float32(i)/rtc.SampleRate, float32(i)/rtc.SampleRate
	}
	assets := map[string]rtc.PCM{"ones": ones, "ramp": ramp}
	at := func(m *rtc.Mix, sec float64) (float64, float64) {
		out := make([]float32, 2)
		m.Render(int(math.Round(sec*rtc.SampleRate)), out)
		return float64(out[0]), float64(out[1])
	}
	tests := []struct {
		name   string
		tracks []daw.Track
		sec    float64
		l, r   float64
	}{
		{"before the clip", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Position: 1, Length: 0.5}}}}, 0.5, 0, 0},
		{"inside the clip", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Position: 1, Length: 0.5}}}}, 1.25, 0.5, 0.5},
		{"after the clip's length", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Position: 1, Length: 0.5}}}}, 1.6, 0, 0},
		{"offset reads later source", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ramp", Position: 2, Offset: 0.25, Length: 0.5}}}}, 2.25, 0.5, 0.5},
		{"clip gain +6 dB", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1, Gain: 6.0206}}}}, 0.5, 1, 1},
		{"fade in halfway", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1, FadeIn: 0.2}}}}, 0.1, 0.25, 0.25},
		{"fade out halfway", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1, FadeOut: 0.2}}}}, 0.9, 0.25, 0.25},
		{"track volume -6 dB", []daw.Track{{Kind: "audio", Volume: -6.0206, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 0.25, 0.25},
		{"pan left folds right into left", []daw.Track{{Kind: "audio", Pan: -1, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 1, 0},
		{"pan half right", []daw.Track{{Kind: "audio", Pan: 0.5, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 0.5 * math.Cos(math.Pi/4), 0.5 + 0.5*math.Sin(math.Pi/4)},
		{"muted", []daw.Track{{Kind: "audio", Mute: true, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 0, 0},
		{"solo silences the others", []daw.Track{
			{Kind: "audio", Pan: -1, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}},
			{Kind: "audio", Pan: 1, Solo: true, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 0, 1},
		{"tracks sum, master clips at 1", []daw.Track{
			{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}}},
			{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}}},
			{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 1, 1},
		{"midi and bus tracks play their clips, as in the studio", []daw.Track{
			{Kind: "midi", Clips: []daw.Clip{{AssetID: "ones", Length: 1}}},
			{Kind: "bus", Volume: -6.0206, Clips: []daw.Clip{{AssetID: "ones", Length: 1}}}}, 0.5, 0.75, 0.75},
		{"volume automation: linear in gain between points", []daw.Track{{Kind: "audio", Volume: -60, Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Automation: []daw.Lane{{Param: "volume", Points: []daw.Point{{Time: 0, Value: -6.0206}, {Time: 1, Value: 0}}}}}}, 0.5, 0.375, 0.375},
		{"automation holds before the first point", []daw.Track{{Kind: "audio", Volume: -60, Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Automation: []daw.Lane{{Param: "volume", Points: []daw.Point{{Time: 0.5, Value: 0}, {Time: 0.8, Value: -120}}}}}}, 0.2, 0.5, 0.5},
		{"automation holds after the last point", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Automation: []daw.Lane{{Param: "volume", Points: []daw.Point{{Time: 0.1, Value: 0}, {Time: 0.2, Value: -6.0206}}}}}}, 0.9, 0.25, 0.25},
		{"two lanes of one param read as one", []daw.Track{{Kind: "audio", Pan: -1, Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Automation: []daw.Lane{{Param: "pan", Points: []daw.Point{{Time: 1, Value: 1}}}, {Param: "pan", Points: []daw.Point{{Time: 0, Value: -1}}}}}}, 0.5, 0.5, 0.5},
		{"gain insert", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Effects: []daw.Effect{{Type: "gain", Params: map[string]float64{"gain": -6.0206}}}}}, 0.5, 0.25, 0.25},
		{"bypassed and unknown inserts are skipped", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Effects: []daw.Effect{{Type: "gain", Bypass: true, Params: map[string]float64{"gain": -20}}, {Type: "phaser"}}}}, 0.5, 0.5, 0.5},
		{"insert parameters are clamped to the studio's ranges", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Length: 1}},
			Effects: []daw.Effect{{Type: "gain", Params: map[string]float64{"gain": -1000}}}}}, 0.5, 0.5 * 0.003981, 0.5 * 0.003981},
		{"a limiter's lookahead is compensated", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ramp", Length: 1}},
			Effects: []daw.Effect{{Type: "limiter", Params: map[string]float64{"ceiling": 0}}}}}, 0.5, 0.5, 0.5},
		{"a dry saturator is the input, aligned", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ramp", Length: 1}},
			Effects: []daw.Effect{{Type: "saturator", Params: map[string]float64{"drive": 12, "mix": 0}}}}}, 0.5, 0.5, 0.5},
		{"missing asset is silent", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "nope", Length: 1}}}}, 0.5, 0, 0},
		{"length past the asset end stops there", []daw.Track{{Kind: "audio", Clips: []daw.Clip{{AssetID: "ones", Offset: 0.5, Length: 5}}}}, 0.7, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rtc.NewMix(daw.Document{Tracks: tt.tracks}, assets)
			l, r := at(m, tt.sec)
			if math.Abs(l-tt.l) > 0.002 || math.Abs(r-tt.r) > 0.002 {
				t.Errorf("at %.2f s: %.4f / %.4f, want %.4f / %.4f", tt.sec, l, r, tt.l, tt.r)
			}
		})
	}
	m := rtc.NewMix(daw.Document{Tracks: []daw.Track{{Kind: "audio", Mute: true, Clips: []daw.Clip{{AssetID: "ones", Position: 2, Offset: 0.5, Length: 5}}}}}, assets)
	if got := m.Samples(); got != int(2.5*rtc.SampleRate) {
		t.Errorf("mix length %d samples, want %d (clip cut at the asset's end; muted clips count)", got, int(2.5*rtc.SampleRate))
	}
}

func TestReadOggOpusRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not ogg", []byte("RIFF1234WAVEfmt ")},
		{"truncated page", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x10")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := rtc.ReadOggOpus(bytes.NewReader(tt.in), 1<<20); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := rtc.ReadOggOpus(bytes.NewReader(make([]byte, 100)), 50); err == nil {
		t.Error("accepted input over the limit")
	}
}

func TestOpusPacketSamples(t *testing.T) {
	tests := []struct {
		toc  []byte
		want int
	}{
		{[]byte{0xfc}, 960},       // CELT FB 20 ms, code 0
		{[]byte{0xf8 | 1}, 1920},  // CELT 20 ms, two frames
		{[]byte{0x08}, 960},       // SILK NB 20 ms
		{[]byte{0x70}, 480},       // hybrid FB 10 ms
		{[]byte{0xe3, 0x03}, 360}, // CELT 2.5 ms, code 3 with 3 frames
		{nil, 0},
	}
	for _, tt := range tests {
		if got := rtc.OpusPacketSamples(tt.toc); got != tt.want {
			t.Errorf("OpusPacketSamples(%x) = %d, want %d", tt.toc, got, tt.want)
		}
	}
}

// sliceReader is an audio.Reader over samples in memory.
type sliceReader struct {
	info audio.Info
	x    []float64
}

func (s *sliceReader) Info() audio.Info { return s.info }
func (s *sliceReader) Close() error     { return nil }
func (s *sliceReader) Read(dst []float64) (int, error) {
	if len(s.x) == 0 {
		return 0, io.EOF
	}
	n := copy(dst[:len(dst)/s.info.Channels*s.info.Channels], s.x)
	s.x = s.x[n:]
	return n, nil
}

func TestDecodePCM(t *testing.T) {
	// 1 s of 44.1 kHz mono at 0.5 → 48,000 stereo frames of about 0.5.
	mono := make([]float64, 44100)
	for i := range mono {
		mono[i] = 0.5
	}
	pcm, err := rtc.DecodePCM(&sliceReader{info: audio.Info{SampleRate: 44100, Channels: 1, Frames: 44100}, x: mono}, 60*rtc.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pcm) / 2; n < 47990 || n > 48010 {
		t.Errorf("%d frames, want about 48000", n)
	}
	if l, r := pcm[2*24000], pcm[2*24000+1]; math.Abs(float64(l)-0.5) > 0.01 || l != r {
		t.Errorf("middle frame %g/%g, want 0.5 on both sides", l, r)
	}
	// Three channels keep the first two; a limit is enforced.
	x := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	pcm, err = rtc.DecodePCM(&sliceReader{info: audio.Info{SampleRate: 48000, Channels: 3}, x: x}, 10)
	if err != nil || len(pcm) != 4 || pcm[0] != 0.1 || pcm[1] != 0.2 || pcm[2] != 0.4 || pcm[3] != 0.5 {
		t.Errorf("3 channels: %v, %v", pcm, err)
	}
	if _, err := rtc.DecodePCM(&sliceReader{info: audio.Info{SampleRate: 48000, Channels: 1}, x: mono}, 1000); err == nil {
		t.Error("no error past maxFrames")
	}
}

// TestMixerStreams renders a mix with stateful inserts block by block and
// checks it against one render of the whole span (the inserts' state
// carries across blocks), that a seek starts from rest, that the inserts
// act (a compressor and a limiter tame a loud tone), and that editing
// something other than the inserts keeps their state.
func TestMixerStreams(t *testing.T) {
	tone := make(rtc.PCM, 2*2*rtc.SampleRate)
	for i := range len(tone) / 2 {
		v := float32(0.9 * math.Sin(2*math.Pi*220*float64(i)/rtc.SampleRate))
		tone[2*i], tone[2*i+1] = v, v
	}
	track := daw.Track{ID: "t1", Kind: "audio", Clips: []daw.Clip{{AssetID: "tone", Length: 2}},
		Effects: []daw.Effect{
			{Type: "eq", Params: map[string]float64{"lowGain": 6, "lowFreq": 200}},
			{Type: "compressor", Params: map[string]float64{"threshold": -30, "ratio": 8, "attack": 1, "makeup": 24}},
			{Type: "saturator", Params: map[string]float64{"drive": 6, "mix": 0.5}},
			{Type: "limiter", Params: map[string]float64{"ceiling": -6}},
		}}
	assets := map[string]rtc.PCM{"tone": tone}
	m := rtc.NewMix(daw.Document{Tracks: []daw.Track{track}}, assets)

	const blocks = 50
	whole := make([]float32, 2*rtc.FrameLen*blocks)
	m.Render(0, whole)
	mx := rtc.NewMixer()
	block := make([]float32, 2*rtc.FrameLen)
	for b := range blocks {
		mx.Render(m, b*rtc.FrameLen, block)
		for i, v := range block {
			if w := whole[b*len(block)+i]; math.Abs(float64(v-w)) > 1e-6 {
				t.Fatalf("block %d sample %d: %v, one render gives %v", b, i, v, w)
			}
		}
	}
	peak := 0.0
	for _, v := range whole[len(whole)/2:] {
		peak = max(peak, math.Abs(float64(v)))
	}
	if peak > 0.51 || peak < 0.4 { // compressed to about -2 dB with makeup, then the limiter at -6 dB (0.501)
		t.Errorf("peak after the inserts %.3f, want at most 0.501 and not silence", peak)
	}

	// A seek starts the chain from rest: the same as a fresh mixer there.
	at := 70 * rtc.FrameLen
	mx.Render(m, at, block)
	fresh := make([]float32, len(block))
	rtc.NewMixer().Render(m, at, fresh)
	for i := range block {
		if block[i] != fresh[i] {
			t.Fatalf("after a seek, sample %d: %v, a fresh mixer gives %v", i, block[i], fresh[i])
		}
	}

	// An edit that leaves the inserts alone (a new clip on another track)
	// keeps the chain's state: the track sounds as if nothing happened.
	other := daw.Track{ID: "t2", Kind: "audio", Mute: true, Clips: []daw.Clip{{AssetID: "tone", Length: 1}}}
	m2 := rtc.NewMix(daw.Document{Tracks: []daw.Track{track, other}}, assets)
	mx.Render(m2, at+rtc.FrameLen, block)
	cont := make([]float32, 2*rtc.FrameLen*2)
	rtc.NewMixer().Render(m, at, cont)
	for i := range block {
		if d := math.Abs(float64(block[i] - cont[len(block)+i])); d > 1e-6 {
			t.Fatalf("after an edit elsewhere, sample %d: %v, without the edit %v", i, block[i], cont[len(block)+i])
		}
	}
}
