package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/report"
)

func writeTone(tb testing.TB, path string, rate int, seconds, dbfs float64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.PCM24})
	if err != nil {
		tb.Fatal(err)
	}
	a := math.Pow(10, dbfs/20)
	n := int(seconds * float64(rate))
	buf := make([]float64, 0, 2*4096)
	for i := 0; i < n; i++ {
		v := a * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))
		buf = append(buf, v, v)
		if len(buf) == cap(buf) || i == n-1 {
			if err := w.Write(buf); err != nil {
				tb.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestAnalyzeJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	writeTone(t, path, 48000, 40, -23)
	var calls, last, total int64
	rep, err := report.AnalyzeFile(context.Background(), path, report.Options{Series: true, Progress: func(done, all int64) {
		if done <= last {
			t.Errorf("progress went from %d to %d", last, done)
		}
		calls, last, total = calls+1, done, all
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != 40*48000 || total != 40*48000 {
		t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		File     string
		Format   map[string]any
		Loudness map[string]any
		Series   struct {
			Momentary struct {
				HopSeconds, FirstEndSeconds float64
				LUFS                        []*float64
			}
			ShortTerm struct {
				HopSeconds, FirstEndSeconds float64
				LUFS                        []*float64
			}
		}
		Compliance struct {
			Platforms []map[string]any
			Delivery  struct{ Ready bool }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"integratedLufs", "loudnessRangeLu", "truePeakDbtp", "samplePeakDbfs", "momentaryMaxLufs", "shortTermMaxLufs"} {
		v, ok := doc.Loudness[k].(float64)
		if !ok {
			t.Errorf("loudness.%s = %v", k, doc.Loudness[k])
			continue
		}
		want := -23.0
		if k == "loudnessRangeLu" {
			want = 0
		}
		if math.Abs(v-want) > 0.1 {
			t.Errorf("loudness.%s = %v, want %v", k, v, want)
		}
	}
	if got := doc.Format; got["container"] != "wav" || got["codec"] != "pcm_s24le" || got["sampleRate"] != 48000.0 || got["bitDepth"] != 24.0 || got["durationSeconds"] != 40.0 {
		t.Errorf("format = %v", got)
	}
	// 40 s: momentary windows end at 0.40 … 40.00 s, short-term at 3.00 … 40.00 s.
	if m := doc.Series.Momentary; m.HopSeconds != 0.01 || m.FirstEndSeconds != 0.4 || len(m.LUFS) != 3961 {
		t.Errorf("momentary series hop %v first %v len %d", m.HopSeconds, m.FirstEndSeconds, len(m.LUFS))
	}
	if s := doc.Series.ShortTerm; s.FirstEndSeconds != 3 || len(s.LUFS) != 3701 || s.LUFS[0] == nil || math.Abs(*s.LUFS[0]+23) > 0.1 {
		t.Errorf("short-term series first %v len %d", s.FirstEndSeconds, len(s.LUFS))
	}
	if len(doc.Compliance.Platforms) != 8 {
		t.Errorf("%d platforms", len(doc.Compliance.Platforms))
	}
	if !doc.Compliance.Delivery.Ready {
		t.Errorf("a 40 s 24-bit 48 kHz stereo tone is not ready: %s", b)
	}
}

func TestAnalyzeSilenceIsNull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "silence.wav")
	writeTone(t, path, 44100, 2, math.Inf(-1))
	rep, err := report.AnalyzeFile(context.Background(), path, report.Options{Series: true, Platform: "spotify"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep.Loudness)
	if err != nil {
		t.Fatal(err)
	}
	var l map[string]any
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"integratedLufs", "loudnessRangeLu", "truePeakDbtp", "samplePeakDbfs", "momentaryMaxLufs", "shortTermMaxLufs"} {
		if v, ok := l[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
	if len(rep.Compliance.Platforms) != 1 || rep.Compliance.Platforms[0].Platform != "spotify" {
		t.Errorf("platforms %+v", rep.Compliance.Platforms)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("marshal: %v", err)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tone.wav")
	writeTone(t, path, 8000, 2, -20)
	tests := []struct {
		name string
		path string
		opt  report.Options
		want error
	}{
		{"missing file", filepath.Join(dir, "nope.wav"), report.Options{}, os.ErrNotExist},
		{"unknown platform", path, report.Options{Platform: "myspace"}, nil},
		{"too long", path, report.Options{MaxFrames: 8000}, report.ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := report.AnalyzeFile(context.Background(), tt.path, tt.opt)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	notAudio := filepath.Join(dir, "x.txt")
	if err := os.WriteFile(notAudio, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := report.AnalyzeFile(context.Background(), notAudio, report.Options{}); !errors.Is(err, audio.ErrUnknownFormat) {
		t.Errorf("text file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := report.AnalyzeFile(ctx, path, report.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestNumRoundTrip: undefined values are null in JSON and NaN again when
// read back (job results carry reports as JSON).
func TestNumRoundTrip(t *testing.T) {
	in := report.Loudness{IntegratedLUFS: report.Num(math.NaN()), TruePeakDBTP: -1.25, ShortTermMaxLUFS: report.Num(math.Inf(-1))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out report.Loudness
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(out.IntegratedLUFS)) || !math.IsNaN(float64(out.ShortTermMaxLUFS)) || out.TruePeakDBTP != -1.25 {
		t.Errorf("round trip of %s: %+v", b, out)
	}
	var bad report.Num
	if err := json.Unmarshal([]byte(`"loud"`), &bad); err == nil {
		t.Error("a string decoded as a number")
	}
}
