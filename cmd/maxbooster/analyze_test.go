package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxbooster/maxbooster/audio"
)

func writeAnalyzeTone(tb testing.TB, path string, seconds, dbfs float64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: 48000, Channels: 2, Format: audio.PCM16})
	if err != nil {
		tb.Fatal(err)
	}
	a := math.Pow(10, dbfs/20)
	x := make([]float64, 2*int(seconds*48000))
	for i := 0; i < len(x)/2; i++ {
		x[2*i] = a * math.Sin(2*math.Pi*1000*float64(i)/48000)
		x[2*i+1] = x[2*i]
	}
	if err := w.Write(x); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), func() {}, args, &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

func TestAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	writeAnalyzeTone(t, a, 5, -23)
	writeAnalyzeTone(t, b, 5, -14)

	code, out, errs := runCLI("analyze", a, "--json", b, "--series", "--target", "spotify")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines, want one per file", len(lines))
	}
	for i, want := range []float64{-23, -14} {
		var doc struct {
			File       string
			Loudness   struct{ IntegratedLufs *float64 }
			Series     struct{ Momentary struct{ LUFS []*float64 } }
			Compliance struct {
				Platforms []struct{ Platform string }
			}
		}
		if err := json.Unmarshal([]byte(lines[i]), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Loudness.IntegratedLufs == nil || math.Abs(*doc.Loudness.IntegratedLufs-want) > 0.1 {
			t.Errorf("%s: integratedLufs %v, want %v", doc.File, doc.Loudness.IntegratedLufs, want)
		}
		if len(doc.Series.Momentary.LUFS) != 461 {
			t.Errorf("%s: %d momentary values, want 461", doc.File, len(doc.Series.Momentary.LUFS))
		}
		if len(doc.Compliance.Platforms) != 1 || doc.Compliance.Platforms[0].Platform != "spotify" {
			t.Errorf("%s: platforms %+v", doc.File, doc.Compliance.Platforms)
		}
	}

	code, out, _ = runCLI("analyze", a)
	if code != exitOK || !strings.Contains(out, "I -23.0 LUFS") || !strings.Contains(out, "Spotify") {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}

	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no files", []string{"analyze"}, exitUsage},
		{"unknown platform", []string{"analyze", a, "--target", "myspace"}, exitUsage},
		{"missing file", []string{"analyze", a, filepath.Join(dir, "missing.wav")}, exitFailed},
		{"bad flag", []string{"analyze", "--loud", a}, exitUsage},
		{"help", []string{"analyze", "--help"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, errs := runCLI(tt.args...); code != tt.code {
				t.Errorf("exit %d, want %d (%s)", code, tt.code, errs)
			}
		})
	}
}
