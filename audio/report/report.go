// Package report decodes a file once and runs every measurement on it:
// technical metadata, tags, loudness (audio/loudness), analysis
// (audio/analysis) and compliance (audio/compliance). Its Report is the JSON
// document `maxbooster analyze --json` prints and the API will serve.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/analysis"
	"github.com/maxbooster/maxbooster/audio/compliance"
	"github.com/maxbooster/maxbooster/audio/loudness"
)

// Num is a float that encodes NaN and ±Inf (undefined loudness, the true
// peak of silence) as JSON null.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(math.Round(f*1e4) / 1e4)
}

// UnmarshalJSON implements json.Unmarshaler: null (undefined) reads back
// as NaN, so a report survives a JSON round trip (a job result) without
// undefined values turning into 0.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("report: number: %w", err)
	}
	*n = Num(f)
	return nil
}

// Format is the technical metadata.
type Format struct {
	Container       string   `json:"container"`
	Codec           string   `json:"codec"`
	SampleRate      int      `json:"sampleRate"`
	BitDepth        int      `json:"bitDepth"`
	Float           bool     `json:"float"`
	Lossless        bool     `json:"lossless"`
	Channels        int      `json:"channels"`
	Layout          []string `json:"layout"`
	DurationSeconds Num      `json:"durationSeconds"`
	Frames          int64    `json:"frames"`
	BitrateBps      int64    `json:"bitrate"`
	FileBytes       int64    `json:"fileBytes"`
}

// Loudness is the BS.1770 / EBU R128 measurement.
type Loudness struct {
	IntegratedLUFS        Num   `json:"integratedLufs"`
	LoudnessRangeLU       Num   `json:"loudnessRangeLu"`
	LoudnessRangeLowLUFS  Num   `json:"loudnessRangeLowLufs"`
	LoudnessRangeHighLUFS Num   `json:"loudnessRangeHighLufs"`
	TruePeakDBTP          Num   `json:"truePeakDbtp"`
	SamplePeakDBFS        Num   `json:"samplePeakDbfs"`
	MomentaryMaxLUFS      Num   `json:"momentaryMaxLufs"`
	ShortTermMaxLUFS      Num   `json:"shortTermMaxLufs"`
	RelativeThresholdLUFS Num   `json:"relativeThresholdLufs"`
	PLRDB                 Num   `json:"plrDb"` // peak to loudness ratio, TP − I
	ChannelTruePeaksDBTP  []Num `json:"channelTruePeaksDbtp"`
	GatedBlocks           int64 `json:"gatedBlocks"`
	Oversampling          int   `json:"oversampling"`
}

// SeriesJSON is one loudness series on the 10 ms hop.
type SeriesJSON struct {
	HopSeconds      float64 `json:"hopSeconds"`
	FirstEndSeconds float64 `json:"firstEndSeconds"`
	LUFS            []Num   `json:"lufs"`
}

// Series holds the momentary and short-term series.
type Series struct {
	Momentary SeriesJSON `json:"momentary"`
	ShortTerm SeriesJSON `json:"shortTerm"`
}

// Compliance is the platform report and the delivery check.
type Compliance struct {
	TableVersion string              `json:"tableVersion"`
	Platforms    []compliance.Report `json:"platforms"`
	Delivery     Delivery            `json:"delivery"`
}

// Delivery is the readiness check.
type Delivery struct {
	Ready  bool               `json:"ready"`
	Checks []compliance.Check `json:"checks"`
}

// Report is everything known about one file.
type Report struct {
	File       string          `json:"file"`
	Format     Format          `json:"format"`
	Tags       audio.Tags      `json:"tags"`
	Loudness   Loudness        `json:"loudness"`
	Tempo      *analysis.Tempo `json:"tempo"`
	Key        *analysis.Key   `json:"key"`
	Stats      analysis.Stats  `json:"stats"`
	Compliance Compliance      `json:"compliance"`
	Series     *Series         `json:"series,omitempty"`

	// Waveforms and Spectrogram are kept for callers that render them; they
	// are not part of the JSON document.
	Waveforms   []analysis.Waveform   `json:"-"`
	Spectrogram *analysis.Spectrogram `json:"-"`
}

// Options selects what Analyze does.
type Options struct {
	// Series adds the momentary/short-term series.
	Series bool
	// Platform restricts the compliance report to one platform id; "" means
	// every platform.
	Platform string
	// Analysis passes options to audio/analysis.
	Analysis analysis.Options
	// MaxFrames stops decoding with an error after this many frames (0: no
	// limit), so a server can bound the work per file.
	MaxFrames int64
	// MaxSeconds does the same in seconds of audio (0: no limit).
	MaxSeconds float64
	// Progress, when set, is called after each decoded block with the frames
	// done and the expected total (−1 when the container does not say).
	Progress func(done, total int64)
}

// ErrTooLong is returned when a file exceeds Options.MaxFrames.
var ErrTooLong = errors.New("report: audio longer than the limit")

// blockFrames is the decode block: memory per file is this times the
// channel count, whatever the file's length.
const blockFrames = 8192

// AnalyzeFile opens path and analyses it.
func AnalyzeFile(ctx context.Context, path string, opt Options) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r, err := Analyze(ctx, f, st.Size(), opt)
	if r != nil {
		r.File = path
	}
	return r, err
}

// Analyze decodes rs (size bytes) once and returns the report.
func Analyze(ctx context.Context, rs io.ReadSeeker, size int64, opt Options) (*Report, error) {
	var platforms []compliance.Platform
	if opt.Platform != "" {
		p, err := compliance.Lookup(opt.Platform)
		if err != nil {
			return nil, err
		}
		platforms = []compliance.Platform{p}
	} else {
		platforms = compliance.Platforms()
	}
	tags, err := audio.ReadTags(rs, size)
	if err != nil && !errors.Is(err, audio.ErrMalformed) {
		return nil, err
	}
	dec, err := audio.NewReader(rs, size)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	info := dec.Info()
	meter, err := loudness.New(info.SampleRate, info.Layout.LoudnessWeights(), loudness.Options{Series: opt.Series})
	if err != nil {
		return nil, err
	}
	aopt := opt.Analysis
	aopt.FramesHint = info.Frames
	an, err := analysis.New(info.SampleRate, info.Channels, aopt)
	if err != nil {
		return nil, err
	}
	buf := make([]float64, blockFrames*info.Channels)
	var frames int64
	if opt.MaxSeconds > 0 {
		if limit := int64(opt.MaxSeconds * float64(info.SampleRate)); opt.MaxFrames == 0 || limit < opt.MaxFrames {
			opt.MaxFrames = limit
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := dec.Read(buf)
		if n > 0 {
			meter.Write(buf[:n])
			an.Write(buf[:n])
			frames += int64(n / info.Channels)
			if opt.MaxFrames > 0 && frames > opt.MaxFrames {
				return nil, fmt.Errorf("%w (%d frames)", ErrTooLong, opt.MaxFrames)
			}
			if opt.Progress != nil {
				opt.Progress(frames, info.Frames)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	lr := meter.Result()
	ar := an.Result()
	if info.Frames < 0 || info.Frames != frames {
		info.Frames = frames // the container's count was missing or wrong
	}
	dur := float64(frames) / float64(info.SampleRate)
	rep := &Report{
		Format: Format{
			Container: string(info.Format), Codec: info.Codec, SampleRate: info.SampleRate, BitDepth: info.BitDepth,
			Float: info.Float, Lossless: info.Lossless, Channels: info.Channels, DurationSeconds: Num(dur),
			Frames: frames, BitrateBps: info.Bitrate, FileBytes: size,
		},
		Tags:        tags,
		Tempo:       ar.Tempo,
		Key:         ar.Key,
		Stats:       ar.Stats,
		Waveforms:   ar.Peaks,
		Spectrogram: ar.Spectrogram,
	}
	if dur > 0 && info.Bitrate == 0 {
		rep.Format.BitrateBps = int64(float64(size*8) / dur)
	}
	for _, p := range info.Layout {
		rep.Format.Layout = append(rep.Format.Layout, p.String())
	}
	rep.Loudness = Loudness{
		IntegratedLUFS: Num(lr.Integrated), LoudnessRangeLU: Num(lr.Range),
		LoudnessRangeLowLUFS: Num(lr.RangeLow), LoudnessRangeHighLUFS: Num(lr.RangeHigh),
		TruePeakDBTP: Num(lr.TruePeak), SamplePeakDBFS: Num(lr.SamplePeak),
		MomentaryMaxLUFS: Num(lr.MomentaryMax), ShortTermMaxLUFS: Num(lr.ShortTermMax),
		RelativeThresholdLUFS: Num(lr.RelativeThreshold), PLRDB: Num(lr.TruePeak - lr.Integrated),
		GatedBlocks: lr.GatedBlocks, Oversampling: lr.OversamplingFactor,
	}
	for _, v := range lr.ChannelTruePeaks {
		rep.Loudness.ChannelTruePeaksDBTP = append(rep.Loudness.ChannelTruePeaksDBTP, Num(20*math.Log10(v)))
	}
	m := compliance.Measurement{IntegratedLUFS: lr.Integrated, TruePeakDBTP: lr.TruePeak}
	rep.Compliance.TableVersion = compliance.Version()
	for _, p := range platforms {
		rep.Compliance.Platforms = append(rep.Compliance.Platforms, compliance.Evaluate(p, m))
	}
	rep.Compliance.Delivery.Ready, rep.Compliance.Delivery.Checks = compliance.Ready(compliance.Delivery{
		Format: string(info.Format), Lossless: info.Lossless, SampleRate: info.SampleRate, BitDepth: info.BitDepth,
		Float: info.Float, Channels: info.Channels, DurationSeconds: dur, TruePeakDBTP: lr.TruePeak,
		SamplePeakDBFS: lr.SamplePeak, ClippedSamples: ar.Stats.ClippedSamples,
		LeadingSilenceSeconds: ar.Stats.LeadingSilenceSeconds, TrailingSilenceSeconds: ar.Stats.TrailingSilenceSeconds,
		DCOffset: ar.Stats.DCOffset,
	})
	if opt.Series {
		mo, st := meter.Series()
		rep.Series = &Series{Momentary: seriesJSON(mo), ShortTerm: seriesJSON(st)}
	}
	return rep, nil
}

func seriesJSON(s loudness.Series) SeriesJSON {
	out := SeriesJSON{HopSeconds: s.HopSeconds, FirstEndSeconds: s.FirstEndSeconds, LUFS: make([]Num, len(s.LUFS))}
	for i, v := range s.LUFS {
		out.LUFS[i] = Num(v)
	}
	return out
}
