package audio_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/maxbooster/maxbooster/audio"
)

func readTags(tb testing.TB, path string) audio.Tags {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	tags, err := audio.ReadTags(f, st.Size())
	if err != nil {
		tb.Fatalf("ReadTags(%s): %v", filepath.Base(path), err)
	}
	return tags
}

// ffmpegMeta is the metadata every ffmpeg-written fixture carries.
var ffmpegMeta = []string{
	"-metadata", "title=Night Drive", "-metadata", "artist=Max B", "-metadata", "album=Boost",
	"-metadata", "album_artist=Various", "-metadata", "composer=M. Booster", "-metadata", "genre=Synthwave",
	"-metadata", "comment=first take", "-metadata", "date=2024", "-metadata", "track=3/12", "-metadata", "disc=1/2",
}

var fullTags = audio.Tags{
	Title: "Night Drive", Artist: "Max B", Album: "Boost", AlbumArtist: "Various", Composer: "M. Booster",
	Genre: "Synthwave", Comment: "first take", Year: 2024, Track: 3, TrackTotal: 12, Disc: 1, DiscTotal: 2,
	BPM: 128, Key: "Am", ISRC: "USRC17607839",
}

func tinyPNG(tb testing.TB, dir string) string {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, "cover.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestTagsID3(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "in.wav")
	writeWAV(t, wav, audio.WAVOptions{SampleRate: 44100, Channels: 2, Format: audio.PCM16}, sine(44100, 2, 44100, 440, 0.3))
	cover := tinyPNG(t, dir)
	for _, v := range []string{"3", "4"} {
		t.Run("id3v2."+v, func(t *testing.T) {
			out := filepath.Join(dir, "x"+v+".mp3")
			args := []string{"-loglevel", "error", "-y", "-i", wav, "-i", cover, "-map", "0", "-map", "1", "-c:v", "copy", "-disposition:v", "attached_pic", "-id3v2_version", v}
			args = append(args, ffmpegMeta...)
			args = append(args, "-metadata", "TBPM=128", "-metadata", "TKEY=Am", "-metadata", "TSRC=USRC17607839", out)
			run(t, "ffmpeg", args...)
			got := readTags(t, out)
			want := fullTags
			want.Source = "id3v2." + v
			if got.Picture == nil || got.Picture.MIMEType != "image/png" || got.Picture.Size == 0 {
				t.Errorf("picture %+v", got.Picture)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(audio.Tags{}, "Picture")); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagsVorbisComments(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "in.wav")
	writeWAV(t, wav, audio.WAVOptions{SampleRate: 44100, Channels: 2, Format: audio.PCM16}, sine(44100, 2, 44100, 440, 0.3))
	comments := []string{"TITLE=Night Drive", "ARTIST=Max B", "ALBUM=Boost", "ALBUMARTIST=Various", "COMPOSER=M. Booster",
		"GENRE=Synthwave", "COMMENT=first take", "DATE=2024-05-01", "TRACKNUMBER=3/12", "DISCNUMBER=1/2", "BPM=128", "INITIALKEY=Am", "ISRC=US-RC1-76-07839"}
	tests := []struct {
		name, tool string
		args       func(out string) []string
	}{
		{"flac", "flac", func(out string) []string {
			a := []string{"-s", "-f", "-o", out}
			for _, c := range comments {
				a = append(a, "-T", c)
			}
			return append(a, wav)
		}},
		{"ogg vorbis", "oggenc", func(out string) []string {
			a := []string{"-Q", "-o", out}
			for _, c := range comments {
				a = append(a, "-c", c)
			}
			return append(a, wav)
		}},
		{"ogg opus", "opusenc", func(out string) []string {
			a := []string{"--quiet"}
			for _, c := range comments {
				a = append(a, "--comment", c)
			}
			return append(a, wav, out)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "x")
			run(t, tt.tool, tt.args(out)...)
			got := readTags(t, out)
			want := fullTags
			want.Source = "vorbis"
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(audio.Tags{}, "Picture")); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagsMP4(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "in.wav")
	writeWAV(t, wav, audio.WAVOptions{SampleRate: 44100, Channels: 2, Format: audio.PCM16}, sine(44100, 2, 44100, 440, 0.3))
	out := filepath.Join(dir, "x.m4a")
	args := append([]string{"-loglevel", "error", "-y", "-i", wav, "-c:a", "aac"}, ffmpegMeta...)
	run(t, "ffmpeg", append(args, "-metadata", "tmpo=128", out)...)
	got := readTags(t, out)
	want := fullTags
	want.Source, want.Key, want.ISRC = "mp4", "", "" // ffmpeg's mp4 muxer writes no key or ISRC atoms
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(audio.Tags{}, "Picture")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// riffChunkBytes builds one chunk, padded to an even length.
func riffChunkBytes(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// appendChunks adds chunks after the data chunk of a WAV file and fixes the
// RIFF size.
func appendChunks(tb testing.TB, path string, chunks ...[]byte) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestTagsWAV(t *testing.T) {
	dir := t.TempDir()
	info := []byte("INFO")
	for _, f := range [][2]string{{"INAM", "Night Drive"}, {"IART", "Max B"}, {"IPRD", "Boost"}, {"IGNR", "Synthwave"},
		{"ICMT", "first take"}, {"ICRD", "2024-05-01"}, {"ITRK", "3/12"}, {"ISRC", "USRC17607839"}} {
		info = append(info, riffChunkBytes(f[0], append([]byte(f[1]), 0))...)
	}
	t.Run("LIST INFO", func(t *testing.T) {
		path := filepath.Join(dir, "info.wav")
		writeWAV(t, path, audio.WAVOptions{SampleRate: 44100, Channels: 2, Format: audio.PCM16}, sine(44100, 2, 100, 440, 0.3))
		appendChunks(t, path, riffChunkBytes("LIST", info))
		want := audio.Tags{Title: "Night Drive", Artist: "Max B", Album: "Boost", Genre: "Synthwave", Comment: "first take",
			Year: 2024, Track: 3, TrackTotal: 12, ISRC: "USRC17607839", Source: "riff-info"}
		if diff := cmp.Diff(want, readTags(t, path)); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		// The audio still decodes: chunks after data are skipped.
		if i, s := decodeFile(t, path); i.Frames != 100 || len(s) != 200 {
			t.Errorf("frames %d, samples %d", i.Frames, len(s))
		}
	})
	t.Run("id3 chunk", func(t *testing.T) {
		mp3 := filepath.Join(dir, "src.mp3")
		args := append([]string{"-loglevel", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "0.1", "-id3v2_version", "4"}, ffmpegMeta...)
		run(t, "ffmpeg", append(args, "-metadata", "TBPM=128", "-metadata", "TKEY=Am", "-metadata", "TSRC=USRC17607839", mp3)...)
		b, _ := os.ReadFile(mp3)
		n := 10 + int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9])
		path := filepath.Join(dir, "id3.wav")
		writeWAV(t, path, audio.WAVOptions{SampleRate: 44100, Channels: 2, Format: audio.PCM16}, sine(44100, 2, 100, 440, 0.3))
		appendChunks(t, path, riffChunkBytes("id3 ", b[:n]), riffChunkBytes("LIST", info))
		want := fullTags
		want.Source = "id3v2.4"
		if diff := cmp.Diff(want, readTags(t, path)); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
	t.Run("no tags", func(t *testing.T) {
		path := filepath.Join(dir, "plain.wav")
		writeWAV(t, path, audio.WAVOptions{SampleRate: 44100, Channels: 1, Format: audio.PCM16}, make([]float64, 10))
		if diff := cmp.Diff(audio.Tags{}, readTags(t, path)); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
}

// mp4Box builds an MP4 box.
func mp4Box(typ string, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return append(append(binary.BigEndian.AppendUint32(nil, uint32(8+len(body))), typ...), body...)
}

// TestTagsMP4Freeform builds the iTunes freeform atoms ffmpeg does not
// write. dhowden/tag returns this ISRC as "\x00\x00\x00\x00USRC17607839" and
// the tempo as 0 (it reads one byte of the 16-bit tmpo).
func TestTagsMP4Freeform(t *testing.T) {
	full := func(typ string, parts ...[]byte) []byte {
		return mp4Box(typ, append([][]byte{{0, 0, 0, 0}}, parts...)...)
	}
	data := func(class byte, v []byte) []byte {
		return mp4Box("data", []byte{0, 0, 0, class}, []byte{0, 0, 0, 0}, v)
	}
	freeform := func(name, v string) []byte {
		return mp4Box("----", full("mean", []byte("com.apple.iTunes")), full("name", []byte(name)), data(1, []byte(v)))
	}
	ilst := mp4Box("ilst", mp4Box("\xa9nam", data(1, []byte("Night Drive"))), freeform("ISRC", "USRC17607839"),
		freeform("initialkey", "Am"), mp4Box("tmpo", data(21, []byte{0x01, 0x2c})))
	b := append(mp4Box("ftyp", []byte("M4A \x00\x00\x00\x00M4A mp42isom")), mp4Box("moov", mp4Box("udta", full("meta", full("hdlr", make([]byte, 20)), ilst)))...)
	tags, err := audio.ReadTags(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := audio.Tags{Title: "Night Drive", ISRC: "USRC17607839", Key: "Am", BPM: 300, Source: "mp4"}
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func FuzzReadTags(f *testing.F) {
	full := func(typ string, parts ...[]byte) []byte {
		return mp4Box(typ, append([][]byte{{0, 0, 0, 0}}, parts...)...)
	}
	data := func(class byte, v []byte) []byte {
		return mp4Box("data", []byte{0, 0, 0, class}, []byte{0, 0, 0, 0}, v)
	}
	ilst := mp4Box("ilst", mp4Box("\xa9nam", data(1, []byte("T"))), mp4Box("tmpo", data(21, []byte{0, 120})))
	f.Add(append(mp4Box("ftyp", []byte("M4A \x00\x00\x00\x00M4A mp42isom")), mp4Box("moov", mp4Box("udta", full("meta", full("hdlr", make([]byte, 20)), ilst)))...))
	wav := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00data\x02\x00\x00\x00\x00\x00")
	wav = append(wav, riffChunkBytes("LIST", append([]byte("INFO"), riffChunkBytes("INAM", []byte("x\x00"))...))...)
	wav = append(wav, riffChunkBytes("id3 ", []byte("ID3\x04\x00\x00\x00\x00\x00\x0bTIT2\x00\x00\x00\x01\x00\x00\x03"))...)
	f.Add(wav)
	f.Add([]byte("fLaC\x00\x00\x00\x22"))
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x10TSRC\x00\x00\x00\x02\x00\x00\x00A"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = audio.ReadTags(bytes.NewReader(b), int64(len(b))) // must not panic
	})
}
