package audio_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/internal/testenv"
)

// sine returns channels × frames interleaved samples of a sine per channel
// (channel c at freq·(c+1) so channel mix-ups show).
func sine(rate, channels, frames int, freq, amp float64) []float64 {
	s := make([]float64, frames*channels)
	for i := 0; i < frames; i++ {
		for c := 0; c < channels; c++ {
			s[i*channels+c] = amp * math.Sin(2*math.Pi*freq*float64(c+1)*float64(i)/float64(rate))
		}
	}
	return s
}

func writeWAV(tb testing.TB, path string, opt audio.WAVOptions, samples []float64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w, err := audio.NewWAVWriter(f, opt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(samples); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

func decodeFile(tb testing.TB, path string) (audio.Info, []float64) {
	tb.Helper()
	r, err := audio.Open(path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", filepath.Base(path), err)
	}
	defer r.Close()
	s, err := audio.ReadAll(r, 1<<26)
	if err != nil {
		tb.Fatalf("ReadAll(%s): %v", filepath.Base(path), err)
	}
	return r.Info(), s
}

// needTool returns the path of an encoder from Debian packages. Without it the
// test skips, except under CI=true, where .ci/run installs it.
func needTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Unavailable(tb, "%s not installed (.ci/run installs it)", name)
	}
	return p
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	out, err := exec.Command(needTool(tb, name), args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// put writes each value with binary.Write (which rejects []any).
func put(b *bytes.Buffer, order binary.ByteOrder, vs ...any) {
	for _, v := range vs {
		if err := binary.Write(b, order, v); err != nil {
			panic(err)
		}
	}
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestWAVRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		format     audio.SampleFormat
		channels   int
		extensible bool
		codec      string
		tol        float64
	}{
		{"u8 mono", audio.PCM8, 1, false, "pcm_u8", 1.0 / 128},
		{"s16 stereo", audio.PCM16, 2, false, "pcm_s16le", 1.0 / 32768},
		{"s24 stereo", audio.PCM24, 2, false, "pcm_s24le", 1.0 / 8388608},
		{"s32 stereo", audio.PCM32, 2, false, "pcm_s32le", 1.0 / 2147483648},
		{"f32 stereo", audio.Float32, 2, false, "pcm_f32le", 1e-7},
		{"f64 stereo", audio.Float64, 2, false, "pcm_f64le", 0},
		{"s24 extensible stereo", audio.PCM24, 2, true, "pcm_s24le", 1.0 / 8388608},
		{"f32 extensible 5.1", audio.Float32, 6, true, "pcm_f32le", 1e-7},
		{"s16 8 channels", audio.PCM16, 8, true, "pcm_s16le", 1.0 / 32768},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const rate, frames = 44100, 10000
			in := sine(rate, tt.channels, frames, 441, 0.9)
			path := filepath.Join(t.TempDir(), "x.wav")
			writeWAV(t, path, audio.WAVOptions{SampleRate: rate, Channels: tt.channels, Format: tt.format, Extensible: tt.extensible}, in)
			info, out := decodeFile(t, path)
			if info.Codec != tt.codec || info.Channels != tt.channels || info.SampleRate != rate || info.Frames != frames || info.BitDepth != tt.format.Bits() {
				t.Errorf("info = %+v", info)
			}
			if len(out) != len(in) {
				t.Fatalf("decoded %d samples, want %d", len(out), len(in))
			}
			if d := maxAbsDiff(in, out); d > tt.tol {
				t.Errorf("max difference %g, want ≤ %g", d, tt.tol)
			}
		})
	}
}

// TestWAVFloat32Values is the regression test for the go-audio/wav v1.1.0 bug
// (it returns the IEEE bit patterns of 32-bit float samples as integers,
// e.g. 1048576000 for 0.25, without an error). The file is built by hand so
// the test does not depend on our writer.
func TestWAVFloat32Values(t *testing.T) {
	want := []float64{0, 0.25, -0.5, 1, -1, 1.5, 0.001}
	var data bytes.Buffer
	for _, v := range want {
		put(&data, binary.LittleEndian, float32(v))
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	put(&b, le, uint32(4+8+16+8+data.Len()))
	b.WriteString("WAVEfmt ")
	put(&b, le, uint32(16), uint16(3), uint16(1), uint32(48000), uint32(4*48000), uint16(4), uint16(32))
	b.WriteString("data")
	put(&b, le, uint32(data.Len()))
	b.Write(data.Bytes())
	r, err := audio.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := audio.ReadAll(r, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = float64(float32(want[i]))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
	if info := r.Info(); !info.Float || info.Codec != "pcm_f32le" {
		t.Errorf("info = %+v", info)
	}
}

func TestWAVLayout(t *testing.T) {
	tests := []struct {
		name     string
		channels int
		mask     uint32
		want     string
	}{
		{"5.1 back", 6, 0x3F, "FL FR FC LFE BL BR"},
		{"5.1 side", 6, 0x60F, "FL FR FC LFE SL SR"},
		{"5.0", 5, 0x37, "FL FR FC BL BR"},
		{"default 6", 6, 0, "FL FR FC LFE BL BR"},
		{"mask short of channels", 3, 0x3, "FL FR ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.wav")
			writeWAV(t, path, audio.WAVOptions{SampleRate: 48000, Channels: tt.channels, Format: audio.PCM16, Extensible: true, ChannelMask: tt.mask}, make([]float64, tt.channels*10))
			info, _ := decodeFile(t, path)
			if got := info.Layout.String(); got != tt.want {
				t.Errorf("layout %q, want %q", got, tt.want)
			}
		})
	}
	w := audio.Layout{audio.PosFrontLeft, audio.PosFrontRight, audio.PosFrontCenter, audio.PosLFE, audio.PosSideLeft, audio.PosSideRight}.LoudnessWeights()
	if diff := cmp.Diff([]float64{1, 1, 1, 0, 1.41, 1.41}, w); diff != "" {
		t.Errorf("5.1 weights (-want +got):\n%s", diff)
	}
}

// writeAIFF writes a big-endian AIFF (or AIFF-C with comp) of 16-bit or
// fl32 samples.
func writeAIFF(tb testing.TB, path string, rate, channels int, comp string, samples []float64) {
	tb.Helper()
	be := binary.BigEndian
	var data bytes.Buffer
	for _, v := range samples {
		switch comp {
		case "fl32":
			put(&data, be, float32(v))
		case "sowt":
			put(&data, binary.LittleEndian, int16(math.Round(v*32767)))
		default:
			put(&data, be, int16(math.Round(v*32767)))
		}
	}
	bits := 16
	if comp == "fl32" {
		bits = 32
	}
	// 80-bit extended sample rate.
	e := math.Ilogb(float64(rate))
	mant := uint64(rate) << (63 - e)
	var comm bytes.Buffer
	put(&comm, be, uint16(channels), uint32(len(samples)/channels), uint16(bits), uint16(16383+e), mant)
	form := "AIFF"
	if comp != "" {
		form = "AIFC"
		comm.WriteString(comp)
		comm.Write([]byte{0, 0}) // empty pascal string, padded
	}
	var b bytes.Buffer
	b.WriteString("FORM")
	put(&b, be, uint32(4+8+comm.Len()+8+8+data.Len()))
	b.WriteString(form)
	b.WriteString("COMM")
	put(&b, be, uint32(comm.Len()))
	b.Write(comm.Bytes())
	b.WriteString("SSND")
	put(&b, be, uint32(8+data.Len()))
	put(&b, be, []uint32{0, 0})
	b.Write(data.Bytes())
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestAIFF(t *testing.T) {
	tests := []struct {
		comp, codec string
		tol         float64
	}{
		{"", "pcm_s16be", 1.0 / 32767},
		{"sowt", "pcm_s16le", 1.0 / 32767},
		{"fl32", "pcm_f32be", 1e-7},
	}
	for _, tt := range tests {
		t.Run(tt.codec, func(t *testing.T) {
			in := sine(44100, 2, 5000, 1000, 0.5)
			path := filepath.Join(t.TempDir(), "x.aiff")
			writeAIFF(t, path, 44100, 2, tt.comp, in)
			info, out := decodeFile(t, path)
			if info.Format != audio.FormatAIFF || info.Codec != tt.codec || info.SampleRate != 44100 || info.Frames != 5000 {
				t.Errorf("info = %+v", info)
			}
			if d := maxAbsDiff(in, out); len(out) != len(in) || d > tt.tol {
				t.Errorf("%d samples, max difference %g", len(out), d)
			}
		})
	}
}

func TestFLAC(t *testing.T) {
	const rate = 48000
	in := sine(rate, 2, 20000, 500, 0.7)
	dir := t.TempDir()
	t.Run("own writer", func(t *testing.T) {
		path := filepath.Join(dir, "own.flac")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := audio.NewFLACWriter(f, rate, 2, 24, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(in); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		checkLossless(t, path, in, 24, 1.0/(1<<23))
	})
	t.Run("reference flac encoder", func(t *testing.T) {
		wav := filepath.Join(dir, "in.wav")
		writeWAV(t, wav, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.PCM16}, in)
		out := filepath.Join(dir, "ref.flac")
		run(t, "flac", "-s", "-f", "-8", "-o", out, wav)
		checkLossless(t, out, in, 16, 1.0/32768)
	})
}

func checkLossless(t *testing.T, path string, in []float64, bits int, tol float64) {
	t.Helper()
	info, out := decodeFile(t, path)
	if info.Format != audio.FormatFLAC || info.BitDepth != bits || info.Channels != 2 || info.Frames != int64(len(in)/2) || !info.Lossless {
		t.Errorf("info = %+v", info)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d samples, want %d", len(out), len(in))
	}
	if d := maxAbsDiff(in, out); d > tol {
		t.Errorf("max difference %g, want ≤ %g", d, tol)
	}
}

// rms returns the RMS of channel c of interleaved samples, skipping the first
// and last skip frames (codec delay, fades).
func rms(s []float64, ch, c, skip int) float64 {
	var sum float64
	n := 0
	for i := skip; i < len(s)/ch-skip; i++ {
		sum += s[i*ch+c] * s[i*ch+c]
		n++
	}
	return math.Sqrt(sum / float64(n))
}

func TestLossyDecoders(t *testing.T) {
	dir := t.TempDir()
	const rate = 48000
	stereo := sine(rate, 2, rate*2, 440, 0.5) // 2 s: 440 Hz left, 880 Hz right
	wav := filepath.Join(dir, "in.wav")
	writeWAV(t, wav, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.PCM16}, stereo)
	mono := sine(rate, 1, rate*2, 440, 0.5)
	wavMono := filepath.Join(dir, "mono.wav")
	writeWAV(t, wavMono, audio.WAVOptions{SampleRate: rate, Channels: 1, Format: audio.PCM16}, mono)
	tests := []struct {
		name     string
		tool     string
		args     func(in, out string) []string
		in       string
		format   audio.Format
		channels int
	}{
		{"vorbis", "oggenc", func(in, out string) []string { return []string{"-Q", "-q", "6", "-o", out, in} }, wav, audio.FormatVorbis, 2},
		{"opus", "opusenc", func(in, out string) []string { return []string{"--quiet", "--bitrate", "128", in, out} }, wav, audio.FormatOpus, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name+".enc")
			run(t, tt.tool, tt.args(tt.in, out)...)
			info, s := decodeFile(t, out)
			if info.Format != tt.format || info.Channels != tt.channels || info.SampleRate != rate || info.Lossless {
				t.Errorf("info = %+v", info)
			}
			frames := len(s) / tt.channels
			// Encoders add delay and padding (MP3 frames of 1152, no gapless trim).
			if frames < 2*rate || frames > 2*rate+3000 {
				t.Errorf("decoded %d frames, want about %d", frames, 2*rate)
			}
			if info.Frames >= 0 && (info.Frames < 2*rate || info.Frames > 2*rate+3000) {
				t.Errorf("info.Frames = %d", info.Frames)
			}
			for c := 0; c < tt.channels; c++ {
				got := 20 * math.Log10(rms(s, tt.channels, c, 4800)/(0.5/math.Sqrt2))
				if math.Abs(got) > 0.3 {
					t.Errorf("channel %d level %.2f dB off the source", c, got)
				}
			}
		})
	}
}

// TestMP3 compares go-mp3 plus our gapless trimming with LAME's own decoder
// (lame --decode), sample by sample: same length, same alignment.
func TestMP3(t *testing.T) {
	dir := t.TempDir()
	const rate = 48000
	for _, ch := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d channels", ch), func(t *testing.T) {
			in := sine(rate, ch, rate*2, 440, 0.5)
			wav := filepath.Join(dir, fmt.Sprintf("in%d.wav", ch))
			writeWAV(t, wav, audio.WAVOptions{SampleRate: rate, Channels: ch, Format: audio.PCM16}, in)
			mp3 := filepath.Join(dir, fmt.Sprintf("x%d.mp3", ch))
			run(t, "lame", "--quiet", "-b", "160", wav, mp3)
			ref := filepath.Join(dir, fmt.Sprintf("ref%d.wav", ch))
			run(t, "lame", "--quiet", "--decode", mp3, ref)
			_, want := decodeFile(t, ref)
			info, got := decodeFile(t, mp3)
			if info.Format != audio.FormatMP3 || info.Channels != ch || info.SampleRate != rate || info.Frames != int64(2*rate) {
				t.Errorf("info = %+v", info)
			}
			if len(got) != len(want) {
				t.Fatalf("decoded %d samples, lame --decode gives %d", len(got), len(want))
			}
			if d := maxAbsDiff(got, want); d > 3.0/32768 {
				t.Errorf("max difference from lame --decode %g", d)
			}
		})
	}
}

func TestM4A(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "in.wav")
	writeWAV(t, wav, audio.WAVOptions{SampleRate: 44100, Channels: 2, Format: audio.PCM16}, sine(44100, 2, 44100*3, 440, 0.5))
	m4a := filepath.Join(dir, "x.m4a")
	run(t, "ffmpeg", "-loglevel", "error", "-y", "-i", wav, "-c:a", "aac", "-b:a", "128k", m4a)
	f, err := os.Open(m4a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	info, err := audio.Probe(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != audio.FormatMP4 || info.Codec != "aac" || info.Channels != 2 || info.SampleRate != 44100 || math.Abs(info.Duration.Seconds()-3) > 0.1 {
		t.Errorf("info = %+v (duration %v)", info, info.Duration)
	}
	if _, err := audio.NewReader(f, st.Size()); !errors.Is(err, audio.ErrUnsupportedCodec) {
		t.Errorf("NewReader error %v, want ErrUnsupportedCodec", err)
	}
}

func TestBadInput(t *testing.T) {
	le := binary.LittleEndian
	fmtChunk := func(tag, ch uint16, rate uint32, align, bits uint16) []byte {
		var b bytes.Buffer
		b.WriteString("RIFF")
		put(&b, le, uint32(36))
		b.WriteString("WAVEfmt ")
		put(&b, le, uint32(16), tag, ch, rate, rate*uint32(align), align, bits)
		b.WriteString("data")
		put(&b, le, uint32(0))
		return b.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, audio.ErrUnknownFormat},
		{"text", []byte("hello, this is not audio at all"), audio.ErrUnknownFormat},
		{"riff without fmt", []byte("RIFF\x04\x00\x00\x00WAVE"), audio.ErrMalformed},
		{"adpcm", fmtChunk(2, 2, 44100, 4, 16), audio.ErrUnsupportedCodec},
		{"too many channels", fmtChunk(1, 200, 44100, 400, 16), audio.ErrTooLarge},
		{"zero rate", fmtChunk(1, 2, 0, 4, 16), audio.ErrTooLarge},
		{"bad block align", fmtChunk(1, 2, 44100, 3, 16), audio.ErrMalformed},
		{"aiff without comm", []byte("FORM\x00\x00\x00\x04AIFF"), audio.ErrMalformed},
		{"ogg of unknown codec", append([]byte("OggS"), make([]byte, 60)...), audio.ErrUnsupportedCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := audio.NewReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestTruncatedWAV checks that a data chunk whose size runs past the end of
// the file (a crashed recorder) decodes the frames that are there.
func TestTruncatedWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	in := sine(48000, 2, 1000, 1000, 0.5)
	writeWAV(t, path, audio.WAVOptions{SampleRate: 48000, Channels: 2, Format: audio.PCM16}, in)
	b, _ := os.ReadFile(path)
	b = b[:len(b)-401] // cut 100 frames and one byte
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	info, out := decodeFile(t, path)
	if info.Frames != 899 || len(out) != 899*2 {
		t.Errorf("frames %d, samples %d, want 899 frames", info.Frames, len(out))
	}
}

func FuzzNewReader(f *testing.F) {
	var b bytes.Buffer
	b.WriteString("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x44\xac\x00\x00\x10\xb1\x02\x00\x04\x00\x10\x00data\x08\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08")
	f.Add(b.Bytes())
	f.Add([]byte("FORM\x00\x00\x00\x2eAIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x00\x01\x00\x10\x40\x0e\xac\x44\x00\x00\x00\x00\x00\x00SSND\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02"))
	f.Add([]byte("\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A mp42isom"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := audio.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		defer r.Close()
		_, _ = audio.ReadAll(r, 1<<20) // must not panic; errors are expected
	})
}

// TestMultichannelOrder encodes a 5.1 WAV whose channels each carry their
// own frequency and checks that every decoder reports the position each
// frequency arrives at: FLAC keeps the WAV order, Vorbis and Opus use the
// Vorbis order (centre second, LFE last), and loudness weights follow the
// positions, not the indices.
func TestMultichannelOrder(t *testing.T) {
	const rate = 48000
	wavOrder := audio.Layout{audio.PosFrontLeft, audio.PosFrontRight, audio.PosFrontCenter, audio.PosLFE, audio.PosBackLeft, audio.PosBackRight}
	freq := map[audio.Position]float64{audio.PosFrontLeft: 300, audio.PosFrontRight: 500, audio.PosFrontCenter: 700,
		audio.PosLFE: 60, audio.PosBackLeft: 1100, audio.PosBackRight: 1300}
	x := make([]float64, 6*rate)
	for i := 0; i < rate; i++ {
		for c, p := range wavOrder {
			x[6*i+c] = 0.3 * math.Sin(2*math.Pi*freq[p]*float64(i)/rate)
		}
	}
	dir := t.TempDir()
	wav := filepath.Join(dir, "51.wav")
	writeWAV(t, wav, audio.WAVOptions{SampleRate: rate, Channels: 6, Format: audio.PCM16, ChannelMask: 0x3F}, x)
	tests := []struct {
		name, tool string
		args       func(out string) []string
	}{
		{"wav", "", nil},
		{"flac", "flac", func(out string) []string { return []string{"-s", "-f", "-o", out, wav} }},
		{"vorbis", "oggenc", func(out string) []string { return []string{"-Q", "-o", out, wav} }},
		{"opus", "opusenc", func(out string) []string { return []string{"--quiet", wav, out} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := wav
			if tt.tool != "" {
				path = filepath.Join(dir, tt.name)
				run(t, tt.tool, tt.args(path)...)
			}
			info, s := decodeFile(t, path)
			if info.Channels != 6 {
				t.Fatalf("%d channels", info.Channels)
			}
			for c, p := range info.Layout {
				want, ok := freq[p]
				if !ok {
					t.Fatalf("channel %d has position %v", c, p)
				}
				// The strongest of the six frequencies in this channel must be its own.
				best, bestF := -1.0, 0.0
				for _, f := range freq {
					if a := tonePower(s, 6, c, f, rate); a > best {
						best, bestF = a, f
					}
				}
				if bestF != want {
					t.Errorf("channel %d (%v) carries %v Hz, want %v Hz; layout %v", c, p, bestF, want, info.Layout)
				}
			}
		})
	}
}

// tonePower correlates channel c with a sine and cosine at f.
func tonePower(s []float64, ch, c int, f, rate float64) float64 {
	var re, im float64
	n := len(s) / ch
	for i := n / 4; i < 3*n/4; i++ {
		sn, cs := math.Sincos(2 * math.Pi * f * float64(i) / rate)
		re += s[i*ch+c] * cs
		im += s[i*ch+c] * sn
	}
	return re*re + im*im
}
