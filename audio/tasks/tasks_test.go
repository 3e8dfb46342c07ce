package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/dsp"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/audio/loudness"
	"github.com/maxbooster/maxbooster/audio/tasks"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func setup(tb testing.TB) (*tasks.Runner, string) {
	tb.Helper()
	bs, err := blob.NewLocal(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	r := &tasks.Runner{Blobs: bs, TempDir: tb.TempDir()}
	// 6 s of 48 kHz stereo: a 440 Hz tone at −20 dBFS with louder bursts.
	path := filepath.Join(tb.TempDir(), "in.wav")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: 48000, Channels: 2, Format: audio.PCM24})
	if err != nil {
		tb.Fatal(err)
	}
	x := make([]float64, 2*48000*6)
	for i := 0; i < len(x)/2; i++ {
		a := 0.1
		if i/12000%4 == 0 {
			a = 0.5
		}
		x[2*i] = a * math.Sin(2*math.Pi*440*float64(i)/48000)
		x[2*i+1] = x[2*i]
	}
	if err := w.Write(x); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		tb.Fatal(err)
	}
	ref, err := bs.Put(context.Background(), f, 1<<30)
	f.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return r, ref.Key
}

func job(kind string, input any) *jobs.Job {
	b, _ := json.Marshal(input)
	return &jobs.Job{ID: "test", Kind: kind, Input: string(b)}
}

func noProgress(float64, string) {}

func decodeBlob(tb testing.TB, r *tasks.Runner, key string) (audio.Info, []float64) {
	tb.Helper()
	o, err := r.Blobs.Open(context.Background(), key)
	if err != nil {
		tb.Fatal(err)
	}
	defer o.Close()
	d, err := audio.NewReader(o, o.Size())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := audio.ReadAll(d, 1<<24)
	if err != nil {
		tb.Fatal(err)
	}
	return d.Info(), s
}

func TestAnalyze(t *testing.T) {
	r, key := setup(t)
	var last float64
	out, err := r.Analyze(context.Background(), job(tasks.KindAnalyze, tasks.AnalyzeInput{Blob: key}), func(p float64, _ string) {
		if p < last {
			t.Errorf("progress went back from %v to %v", last, p)
		}
		last = p
	})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Report struct {
			Loudness struct{ IntegratedLufs float64 }
		}
		Peaks       map[string]string
		Spectrogram string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Peaks) != 6 || res.Peaks["256"] == "" {
		t.Errorf("peaks %v", res.Peaks)
	}
	o, err := r.Blobs.Open(context.Background(), res.Peaks["1024"])
	if err != nil {
		t.Fatal(err)
	}
	dat, _ := io.ReadAll(o)
	o.Close()
	if want := 24 + 4*((6*48000+1023)/1024); len(dat) != want {
		t.Errorf("1024 spp dat is %d bytes, want %d", len(dat), want)
	}
	o, err = r.Blobs.Open(context.Background(), res.Spectrogram)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(o); err != nil {
		t.Errorf("spectrogram: %v", err)
	}
	o.Close()
	if l := res.Report.Loudness.IntegratedLufs; l > -10 || l < -30 {
		t.Errorf("integrated %v", l)
	}
	if last < 90 {
		t.Errorf("progress stopped at %v", last)
	}
}

func TestPreview(t *testing.T) {
	r, key := setup(t)
	out, err := r.Preview(context.Background(), job(tasks.KindPreview, tasks.PreviewInput{Blob: key}), noProgress)
	if err != nil {
		t.Fatal(err)
	}
	var res tasks.PreviewResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	info, s := decodeBlob(t, r, res.Blob)
	if info.Format != audio.FormatOpus || info.Channels != 2 || len(s) != 2*6*48000 {
		t.Errorf("preview %+v, %d samples", info, len(s))
	}
}

func measure(tb testing.TB, info audio.Info, s []float64) loudness.Result {
	tb.Helper()
	m, err := loudness.New(info.SampleRate, info.Layout.LoudnessWeights(), loudness.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	m.Write(s)
	return m.Result()
}

func TestProcess(t *testing.T) {
	r, key := setup(t)
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name   string
		in     tasks.ProcessInput
		format audio.Format
		target float64
		ceil   float64
	}{
		{"normalise for spotify, flac 24", tasks.ProcessInput{Normalize: &tasks.NormalizeSpec{Platform: "spotify"}, Format: "flac"}, audio.FormatFLAC, -14, -1},
		{"normalise hot with limiting, wav 16", tasks.ProcessInput{Normalize: &tasks.NormalizeSpec{TargetLUFS: f(-5), CeilingDBTP: f(-1)}, Format: "wav", BitDepth: 16}, audio.FormatWAV, -5, -1},
		{"full chain then r128", tasks.ProcessInput{
			GainDB: -3, EQ: []dsp.Band{{Type: dsp.HighPass, Hz: 30}, {Type: dsp.Peaking, Hz: 3000, GainDB: 2, Q: 1}},
			Compressor:   &dsp.CompressorOptions{ThresholdDB: -18, Ratio: 3, AttackMs: 10, ReleaseMs: 150},
			SaturationDB: 6, FadeInMs: 50, FadeOutMs: 200, Normalize: &tasks.NormalizeSpec{Platform: "ebu-r128"},
		}, audio.FormatWAV, -23, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Blob = key
			out, err := r.Process(context.Background(), job(tasks.KindProcess, tt.in), noProgress)
			if err != nil {
				t.Fatal(err)
			}
			var res tasks.ProcessResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			info, s := decodeBlob(t, r, res.Blob)
			if info.Format != tt.format || info.Frames != 6*48000 {
				t.Errorf("output %+v", info)
			}
			m := measure(t, info, s)
			t.Logf("I %.2f LUFS, TP %.2f dBTP (plan %+v)", m.Integrated, m.TruePeak, res.Normalize)
			if res.Normalize == nil {
				t.Fatal("no normalisation plan in the result")
			}
			if want := tt.target == -5; res.Normalize.Limit != want {
				t.Errorf("limit %v, want %v", res.Normalize.Limit, want)
			}
			// The limiter can take off at most the predicted overshoot.
			low := tt.target - 0.2
			if res.Normalize.Limit {
				low -= res.Normalize.PredictedPeakDB - tt.ceil
			}
			if m.Integrated < low || m.Integrated > tt.target+0.2 {
				t.Errorf("integrated %.2f, want %.2f … %.2f", m.Integrated, low, tt.target+0.2)
			}
			if m.TruePeak > tt.ceil+0.05 { // + quantisation and dither of the stored file
				t.Errorf("true peak %.3f over %v", m.TruePeak, tt.ceil)
			}
			if math.Abs(float64(res.IntegratedLUFS)-m.Integrated) > 0.05 {
				t.Errorf("reported %v, measured %v", res.IntegratedLUFS, m.Integrated)
			}
		})
	}
}

func TestBadJobs(t *testing.T) {
	r, key := setup(t)
	ctx := context.Background()
	text, err := r.Blobs.Put(ctx, strings.NewReader("not audio"), 100)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() (string, error)
	}{
		{"unknown field", func() (string, error) {
			return r.Analyze(ctx, &jobs.Job{Kind: tasks.KindAnalyze, Input: `{"blob":"` + key + `","loud":1}`}, noProgress)
		}},
		{"missing blob", func() (string, error) {
			return r.Preview(ctx, job(tasks.KindPreview, tasks.PreviewInput{Blob: strings.Repeat("a", 64)}), noProgress)
		}},
		{"not audio", func() (string, error) {
			return r.Analyze(ctx, job(tasks.KindAnalyze, tasks.AnalyzeInput{Blob: text.Key}), noProgress)
		}},
		{"bad format", func() (string, error) {
			return r.Process(ctx, job(tasks.KindProcess, tasks.ProcessInput{Blob: key, Format: "mp3"}), noProgress)
		}},
		{"unknown platform", func() (string, error) {
			return r.Process(ctx, job(tasks.KindProcess, tasks.ProcessInput{Blob: key, Normalize: &tasks.NormalizeSpec{Platform: "myspace"}}), noProgress)
		}},
		{"too long", func() (string, error) {
			short := &tasks.Runner{Blobs: r.Blobs, MaxSeconds: 1}
			return short.Preview(ctx, job(tasks.KindPreview, tasks.PreviewInput{Blob: key}), noProgress)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			// Every one of these is permanent: retrying cannot help.
			if !jobs.IsPermanent(err) {
				t.Errorf("error %v is retryable", err)
			}
		})
	}
}

// TestPoolRunsTasks runs one job of each kind through the real queue
// (SQLite) and worker pool.
func TestPoolRunsTasks(t *testing.T) {
	r, key := setup(t)
	db := storetest.OpenSQLite(t)
	q := jobs.NewQueue(db)
	ctx := context.Background()
	ids := map[string]string{}
	for kind, in := range map[string]any{
		tasks.KindAnalyze: tasks.AnalyzeInput{Blob: key},
		tasks.KindPreview: tasks.PreviewInput{Blob: key},
		tasks.KindProcess: tasks.ProcessInput{Blob: key, Normalize: &tasks.NormalizeSpec{Platform: "apple-music"}},
	} {
		b, _ := json.Marshal(in)
		j, err := q.Enqueue(ctx, kind, string(b), 2)
		if err != nil {
			t.Fatal(err)
		}
		ids[kind] = j.ID
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&jobs.Pool{Queue: q, Handlers: r.Handlers(), Workers: 2, Poll: 10 * time.Millisecond}).Run(runCtx)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for kind, id := range ids {
		for {
			j, err := q.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status == jobs.StatusDone || j.Status == jobs.StatusFailed || time.Now().After(deadline) {
				if j.Status != jobs.StatusDone || j.Progress != 100 || j.Result == "" {
					t.Errorf("%s: %s (%s)", kind, j.Status, j.Error)
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("pool: %v", err)
	}
}
