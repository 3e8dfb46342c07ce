// Package tasks are the audio jobs the server runs on audio/jobs workers:
// "analyze" (report, waveform peaks, spectrogram), "process" (gain, fades,
// EQ, compressor, saturation, normalisation; WAV or FLAC out) and "preview"
// (Ogg Opus for streaming). Inputs and outputs are content-addressed blobs,
// written completely before a job reports success.
package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/analysis"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/compliance"
	"github.com/maxbooster/maxbooster/audio/dsp"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/audio/loudness"
	"github.com/maxbooster/maxbooster/audio/report"
)

// Job kinds.
const (
	KindAnalyze = "analyze"
	KindProcess = "process"
	KindPreview = "preview"
)

// Runner holds what the tasks need.
type Runner struct {
	Blobs blob.Store
	// TempDir holds intermediate files ("" = os.TempDir()).
	TempDir string
	// MaxSeconds bounds the audio length a job accepts (0 = 1 hour).
	MaxSeconds float64
	// MaxOutputBytes bounds each output blob (0 = 2 GiB).
	MaxOutputBytes int64
}

// Handlers returns the job handlers by kind, for jobs.Pool.
func (r *Runner) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{KindAnalyze: r.Analyze, KindProcess: r.Process, KindPreview: r.Preview}
}

func (r *Runner) maxSeconds() float64 {
	if r.MaxSeconds > 0 {
		return r.MaxSeconds
	}
	return 3600
}

func (r *Runner) maxOutput() int64 {
	if r.MaxOutputBytes > 0 {
		return r.MaxOutputBytes
	}
	return 2 << 30
}

// decodeInput parses a job's JSON input strictly; a bad input is permanent.
func decodeInput(job *jobs.Job, v any) error {
	d := json.NewDecoder(bytes.NewReader([]byte(job.Input)))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return jobs.Permanent(fmt.Errorf("tasks: %s input: %w", job.Kind, err))
	}
	return nil
}

// classify marks errors no retry can fix as permanent.
func classify(err error) error {
	for _, p := range []error{audio.ErrUnknownFormat, audio.ErrUnsupportedCodec, audio.ErrMalformed, audio.ErrTooLarge,
		report.ErrTooLong, blob.ErrNotFound, blob.ErrBadKey, blob.ErrTooLarge, dsp.ErrConfig, dsp.ErrUndefinedLoudness,
		compliance.ErrUnknownPlatform, analysis.ErrConfig} {
		if errors.Is(err, p) {
			return jobs.Permanent(err)
		}
	}
	return err
}

// openBlob opens an input blob as an audio source.
func (r *Runner) openBlob(ctx context.Context, key string) (blob.Object, error) {
	o, err := r.Blobs.Open(ctx, key)
	if err != nil {
		return nil, classify(err)
	}
	return o, nil
}

// putBytes stores b as a blob.
func (r *Runner) putBytes(ctx context.Context, b []byte) (string, error) {
	ref, err := r.Blobs.Put(ctx, bytes.NewReader(b), r.maxOutput())
	if err != nil {
		return "", classify(err)
	}
	return ref.Key, nil
}

// withTemp gives write a temporary file, then stores its content as a blob.
// The temporary file is removed whatever happens.
func (r *Runner) withTemp(ctx context.Context, write func(f *os.File) error) (string, error) {
	f, err := os.CreateTemp(r.TempDir, "task-*")
	if err != nil {
		return "", fmt.Errorf("tasks: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := write(f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("tasks: %w", err)
	}
	ref, err := r.Blobs.Put(ctx, f, r.maxOutput())
	if err != nil {
		return "", classify(err)
	}
	return ref.Key, nil
}

// AnalyzeInput is the "analyze" job input.
type AnalyzeInput struct {
	Blob   string `json:"blob"`
	Series bool   `json:"series"`
}

// AnalyzeResult is its output: the report and the blobs rendered from it.
type AnalyzeResult struct {
	Report *report.Report `json:"report"`
	// Peaks maps samples per pixel to the blob of the audiowaveform binary
	// (.dat, 16-bit) at that zoom level.
	Peaks map[string]string `json:"peaks"`
	// Spectrogram is the blob of the PNG.
	Spectrogram string `json:"spectrogram"`
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("tasks: result: %w", err)
	}
	return string(b), nil
}

// Analyze implements the "analyze" job.
func (r *Runner) Analyze(ctx context.Context, job *jobs.Job, progress func(float64, string)) (string, error) {
	var in AnalyzeInput
	if err := decodeInput(job, &in); err != nil {
		return "", err
	}
	o, err := r.openBlob(ctx, in.Blob)
	if err != nil {
		return "", err
	}
	defer o.Close()
	progress(0, "analyzing")
	rep, err := report.Analyze(ctx, o, o.Size(), report.Options{Series: in.Series, MaxSeconds: r.maxSeconds(),
		Progress: func(done, total int64) {
			if total > 0 {
				progress(90*float64(done)/float64(total), "analyzing")
			}
		}})
	if err != nil {
		return "", classify(err)
	}
	rep.File = in.Blob
	progress(90, "rendering")
	res := AnalyzeResult{Report: rep, Peaks: map[string]string{}}
	for _, w := range rep.Waveforms {
		var b bytes.Buffer
		if err := w.WriteDat(&b, 16); err != nil {
			return "", err
		}
		key, err := r.putBytes(ctx, b.Bytes())
		if err != nil {
			return "", err
		}
		res.Peaks[strconv.Itoa(w.SamplesPerPixel)] = key
	}
	if rep.Spectrogram != nil && rep.Spectrogram.Width > 0 {
		var b bytes.Buffer
		if err := rep.Spectrogram.WritePNG(&b, -100); err != nil {
			return "", fmt.Errorf("tasks: spectrogram: %w", err)
		}
		if res.Spectrogram, err = r.putBytes(ctx, b.Bytes()); err != nil {
			return "", err
		}
	}
	return marshal(res)
}

// PreviewInput is the "preview" job input; the result is PreviewResult.
type PreviewInput struct {
	Blob string `json:"blob"`
}

// PreviewResult names the Ogg Opus blob.
type PreviewResult struct {
	Blob string `json:"blob"`
}

// Preview implements the "preview" job.
func (r *Runner) Preview(ctx context.Context, job *jobs.Job, progress func(float64, string)) (string, error) {
	var in PreviewInput
	if err := decodeInput(job, &in); err != nil {
		return "", err
	}
	o, err := r.openBlob(ctx, in.Blob)
	if err != nil {
		return "", err
	}
	defer o.Close()
	dec, err := audio.NewReader(o, o.Size())
	if err != nil {
		return "", classify(err)
	}
	defer dec.Close()
	if err := r.checkLength(dec.Info()); err != nil {
		return "", err
	}
	progress(0, "encoding")
	key, err := r.withTemp(ctx, func(f *os.File) error { return classify(dsp.Preview(ctx, dec, f)) })
	if err != nil {
		return "", err
	}
	return marshal(PreviewResult{Blob: key})
}

func (r *Runner) checkLength(info audio.Info) error {
	if info.Frames > 0 && float64(info.Frames) > r.maxSeconds()*float64(info.SampleRate) {
		return jobs.Permanent(fmt.Errorf("%w: %.0f s of audio (limit %.0f s)", report.ErrTooLong, info.Duration.Seconds(), r.maxSeconds()))
	}
	return nil
}

// NormalizeSpec is the normalisation step: a platform from the compliance
// table, or an explicit target and ceiling.
type NormalizeSpec struct {
	Platform    string   `json:"platform,omitempty"`
	TargetLUFS  *float64 `json:"targetLufs,omitempty"`
	CeilingDBTP *float64 `json:"ceilingDbtp,omitempty"`
}

// ProcessInput is the "process" job input. Steps run in this order: gain,
// EQ, compressor, saturation, fades, then normalisation (which measures the
// processed signal first).
type ProcessInput struct {
	Blob         string                 `json:"blob"`
	GainDB       float64                `json:"gainDb"`
	EQ           []dsp.Band             `json:"eq"`
	Compressor   *dsp.CompressorOptions `json:"compressor"`
	SaturationDB float64                `json:"saturationDb"`
	FadeInMs     float64                `json:"fadeInMs"`
	FadeOutMs    float64                `json:"fadeOutMs"`
	Normalize    *NormalizeSpec         `json:"normalize"`
	// Format is "wav" (default) or "flac"; BitDepth 16 or 24 (default 24).
	Format   string `json:"format"`
	BitDepth int    `json:"bitDepth"`
}

// ProcessResult names the output blob and its measurement.
type ProcessResult struct {
	Blob           string             `json:"blob"`
	Normalize      *dsp.NormalizePlan `json:"normalize,omitempty"`
	IntegratedLUFS report.Num         `json:"integratedLufs"`
	TruePeakDBTP   report.Num         `json:"truePeakDbtp"`
}

// chain builds the processors before normalisation.
func (in *ProcessInput) chain(info audio.Info) (dsp.Chain, error) {
	var c dsp.Chain
	if in.GainDB != 0 {
		if in.GainDB < -60 || in.GainDB > 40 {
			return nil, fmt.Errorf("%w: gain %v dB", dsp.ErrConfig, in.GainDB)
		}
		c = append(c, dsp.NewGain(in.GainDB))
	}
	if len(in.EQ) > 0 {
		eq, err := dsp.NewEQ(info.SampleRate, info.Channels, in.EQ)
		if err != nil {
			return nil, err
		}
		c = append(c, eq)
	}
	if in.Compressor != nil {
		comp, err := dsp.NewCompressor(info.SampleRate, info.Channels, *in.Compressor)
		if err != nil {
			return nil, err
		}
		c = append(c, comp)
	}
	if in.SaturationDB > 0 {
		s, err := dsp.NewSaturator(info.Channels, in.SaturationDB)
		if err != nil {
			return nil, err
		}
		c = append(c, s)
	}
	if in.FadeInMs > 0 || in.FadeOutMs > 0 {
		if info.Frames < 0 {
			return nil, fmt.Errorf("%w: fades need a known length", dsp.ErrConfig)
		}
		ms := func(v float64) int64 { return int64(v / 1000 * float64(info.SampleRate)) }
		f, err := dsp.NewFade(info.Channels, info.Frames, ms(in.FadeInMs), ms(in.FadeOutMs), dsp.Logarithmic)
		if err != nil {
			return nil, err
		}
		c = append(c, f)
	}
	return c, nil
}

// meterWriter is a dsp.Writer that only feeds a loudness meter.
type meterWriter struct{ m *loudness.Meter }

func (w meterWriter) Write(x []float64) error { w.m.Write(x); return nil }
func (w meterWriter) Close() error            { return nil }

// Process implements the "process" job.
func (r *Runner) Process(ctx context.Context, job *jobs.Job, progress func(float64, string)) (string, error) {
	var in ProcessInput
	if err := decodeInput(job, &in); err != nil {
		return "", err
	}
	if in.Format == "" {
		in.Format = "wav"
	}
	if in.BitDepth == 0 {
		in.BitDepth = 24
	}
	if (in.Format != "wav" && in.Format != "flac") || (in.BitDepth != 16 && in.BitDepth != 24) {
		return "", jobs.Permanent(fmt.Errorf("tasks: output %s at %d bits (wav or flac, 16 or 24)", in.Format, in.BitDepth))
	}
	o, err := r.openBlob(ctx, in.Blob)
	if err != nil {
		return "", err
	}
	defer o.Close()
	open := func() (audio.Reader, error) {
		if _, err := o.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("tasks: %w", err)
		}
		d, err := audio.NewReader(o, o.Size())
		if err != nil {
			return nil, classify(err)
		}
		return d, r.checkLength(d.Info())
	}
	dec, err := open()
	if err != nil {
		return "", err
	}
	info := dec.Info()
	dec.Close()
	var res ProcessResult
	var plan *dsp.NormalizePlan
	if in.Normalize != nil {
		target, ceiling, err := in.Normalize.resolve()
		if err != nil {
			return "", jobs.Permanent(err)
		}
		// Pass 1: measure what the other steps produce.
		progress(0, "measuring")
		pre, err := in.chain(info)
		if err != nil {
			return "", jobs.Permanent(err)
		}
		m, err := loudness.New(info.SampleRate, info.Layout.LoudnessWeights(), loudness.Options{})
		if err != nil {
			return "", jobs.Permanent(err)
		}
		d, err := open()
		if err != nil {
			return "", err
		}
		_, err = dsp.Render(ctx, d, pre, meterWriter{m}, info.Channels)
		d.Close()
		if err != nil {
			return "", classify(err)
		}
		p, err := dsp.PlanNormalize(m.Result(), target, ceiling)
		if err != nil {
			return "", classify(err)
		}
		plan = &p
		res.Normalize = plan
	}
	// Pass 2: render, measuring the output as it is written.
	progress(50, "rendering")
	c, err := in.chain(info)
	if err != nil {
		return "", jobs.Permanent(err)
	}
	if plan != nil {
		norm, err := plan.Chain(info.SampleRate, info.Channels)
		if err != nil {
			return "", jobs.Permanent(err)
		}
		c = append(c, norm...)
	}
	out, err := loudness.New(info.SampleRate, info.Layout.LoudnessWeights(), loudness.Options{})
	if err != nil {
		return "", jobs.Permanent(err)
	}
	d, err := open()
	if err != nil {
		return "", err
	}
	defer d.Close()
	key, err := r.withTemp(ctx, func(f *os.File) error {
		var w dsp.Writer
		if in.Format == "flac" {
			w, err = audio.NewFLACWriter(f, info.SampleRate, info.Channels, in.BitDepth, true)
		} else {
			format := audio.PCM24
			if in.BitDepth == 16 {
				format = audio.PCM16
			}
			w, err = audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: info.SampleRate, Channels: info.Channels, Format: format, Dither: true})
		}
		if err != nil {
			return classify(err)
		}
		_, err = dsp.Render(ctx, d, c, teeWriter{w, out}, info.Channels)
		return classify(err)
	})
	if err != nil {
		return "", err
	}
	m := out.Result()
	res.Blob, res.IntegratedLUFS, res.TruePeakDBTP = key, report.Num(m.Integrated), report.Num(m.TruePeak)
	return marshal(res)
}

// teeWriter writes to w and measures what it writes.
type teeWriter struct {
	w dsp.Writer
	m *loudness.Meter
}

func (t teeWriter) Write(x []float64) error { t.m.Write(x); return t.w.Write(x) }
func (t teeWriter) Close() error            { return t.w.Close() }

func (n *NormalizeSpec) resolve() (target, ceiling float64, err error) {
	if n.Platform != "" {
		p, err := compliance.Lookup(n.Platform)
		if err != nil {
			return 0, 0, err
		}
		// A master normalised to the target is not louder than it, so the
		// platform's plain ceiling applies (Spotify's -2 dBTP is for masters
		// louder than -14 LUFS).
		target, ceiling = p.TargetLUFS, p.MaxTruePeakDBTP
	}
	if n.TargetLUFS != nil {
		target = *n.TargetLUFS
	}
	if n.CeilingDBTP != nil {
		ceiling = *n.CeilingDBTP
	}
	if n.Platform == "" && (n.TargetLUFS == nil || n.CeilingDBTP == nil) {
		return 0, 0, fmt.Errorf("%w: normalize needs a platform or both targetLufs and ceilingDbtp", dsp.ErrConfig)
	}
	return target, ceiling, nil
}
