package assets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/compliance"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/audio/report"
	"github.com/maxbooster/maxbooster/audio/tasks"
	"github.com/maxbooster/maxbooster/internal/apperr"
)

// derived is everything the ingest work produces for one file, as the
// row stores it.
type derived struct {
	Metadata, Tags, Analysis            string
	PreviewBlob, Peaks, SpectrogramBlob string
}

// blobs lists the derived blobs.
func (d *derived) blobs() []string {
	keys := []string{d.PreviewBlob, d.SpectrogramBlob}
	var peaks map[string]string
	_ = json.Unmarshal([]byte(d.Peaks), &peaks)
	for _, k := range peaks {
		keys = append(keys, k)
	}
	return keys
}

// scaled maps a sub-task's 0…100 onto lo…hi of the job.
func scaled(progress func(float64, string), lo, hi float64) func(float64, string) {
	return func(p float64, stage string) { progress(lo+(hi-lo)*p/100, stage) }
}

// analyze runs the analysis (report, peaks, spectrogram) and the preview
// on a blob; every output is a complete blob when it returns.
func (s *Service) analyze(ctx context.Context, key string, progress func(float64, string)) (*derived, error) {
	in, _ := json.Marshal(tasks.AnalyzeInput{Blob: key})
	out, err := s.runner.Analyze(ctx, &jobs.Job{Kind: tasks.KindAnalyze, Input: string(in)}, scaled(progress, 0, 70))
	if err != nil {
		return nil, err
	}
	var res tasks.AnalyzeResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("assets: analyze result: %w", err)
	}
	pin, _ := json.Marshal(tasks.PreviewInput{Blob: key})
	pout, err := s.runner.Preview(ctx, &jobs.Job{Kind: tasks.KindPreview, Input: string(pin)}, scaled(progress, 70, 100))
	if err != nil {
		return nil, err
	}
	var prev tasks.PreviewResult
	if err := json.Unmarshal([]byte(pout), &prev); err != nil {
		return nil, fmt.Errorf("assets: preview result: %w", err)
	}
	return fromReport(res, prev.Blob)
}

// fromReport is the row's view of an analysis.
func fromReport(res tasks.AnalyzeResult, preview string) (*derived, error) {
	rep := res.Report
	if rep == nil {
		return nil, errors.New("assets: analysis without a report")
	}
	f := rep.Format
	meta := Metadata{Codec: f.Codec, SampleRate: f.SampleRate, BitDepth: f.BitDepth, Channels: f.Channels,
		Bitrate: f.BitrateBps}
	if d := num(f.DurationSeconds); d != nil {
		meta.DurationSec = math.Round(*d*1000) / 1000
	}
	a := Analysis{
		Loudness: Loudness{
			IntegratedLUFS: num(rep.Loudness.IntegratedLUFS), RangeLU: num(rep.Loudness.LoudnessRangeLU),
			TruePeakDBTP: num(rep.Loudness.TruePeakDBTP), SamplePeakDBFS: num(rep.Loudness.SamplePeakDBFS),
			MomentaryMaxLUFS: num(rep.Loudness.MomentaryMaxLUFS), ShortTermMaxLUFS: num(rep.Loudness.ShortTermMaxLUFS),
		},
		Compliance: []Compliance{},
		Readiness:  Readiness{OK: rep.Compliance.Delivery.Ready, Problems: []Problem{}},
	}
	for _, p := range rep.Compliance.Platforms {
		a.Compliance = append(a.Compliance, Compliance{Platform: p.Platform, TargetLUFS: p.TargetLUFS, GainDB: p.GainDB,
			ResultingTruePeakDBTP: p.PlaybackTruePeakDBTP, OK: p.Pass, Advice: strings.Join(p.Advice, " ")})
	}
	for _, c := range rep.Compliance.Delivery.Checks {
		if c.Status != compliance.StatusPass {
			a.Readiness.Problems = append(a.Readiness.Problems, Problem{ID: c.ID, Severity: string(c.Status), Message: c.Message})
		}
	}
	if rep.Tempo != nil && rep.Tempo.BPM > 0 {
		b := math.Round(rep.Tempo.BPM*10) / 10
		a.BPM = &b
	}
	if rep.Key != nil && rep.Key.Name != "" {
		k := rep.Key.Name
		a.Key = &k
	}
	mb, _ := json.Marshal(meta)
	tb, _ := json.Marshal(tagsOf(rep.Tags))
	ab, _ := json.Marshal(a)
	pb, _ := json.Marshal(res.Peaks)
	return &derived{Metadata: string(mb), Tags: string(tb), Analysis: string(ab), PreviewBlob: preview,
		Peaks: string(pb), SpectrogramBlob: res.Spectrogram}, nil
}

func num(n report.Num) *float64 {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	f = math.Round(f*100) / 100
	return &f
}

func tagsOf(t audio.Tags) Tags {
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	integer := func(n int) *int {
		if n == 0 {
			return nil
		}
		return &n
	}
	out := Tags{Title: str(t.Title), Artist: str(t.Artist), Album: str(t.Album), AlbumArtist: str(t.AlbumArtist),
		Year: integer(t.Year), Track: integer(t.Track), TrackTotal: integer(t.TrackTotal), Disc: integer(t.Disc),
		DiscTotal: integer(t.DiscTotal), Genre: str(t.Genre), Key: str(t.Key), ISRC: str(t.ISRC),
		Composer: str(t.Composer), Comment: str(t.Comment), HasCover: t.Picture != nil}
	if t.BPM > 0 {
		b := t.BPM
		out.BPM = &b
	}
	return out
}

// final reports whether a failed attempt is the job's last: the pool
// will not run it again.
func final(ctx context.Context, job *jobs.Job, err error) bool {
	return jobs.IsPermanent(err) || job.Attempts >= job.MaxAttempts || errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// clientMessage is a failure as the asset shows it.
func clientMessage(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "processing took too long"
	case errors.Is(err, audio.ErrUnsupportedCodec):
		return "unsupported codec"
	case errors.Is(err, audio.ErrUnknownFormat), errors.Is(err, audio.ErrMalformed):
		return "the file is not audio we can read"
	case errors.Is(err, report.ErrTooLong):
		return "the audio is longer than the limit"
	case errors.Is(err, blob.ErrTooLarge):
		return "the result is larger than the limit"
	case jobs.IsPermanent(err):
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return msg
	}
	return "analysis failed"
}

// publicMessages are the job failures a client may read as they are:
// what clientMessage and the job handlers write.
var publicMessages = map[string]bool{
	"processing took too long": true, "unsupported codec": true, "the file is not audio we can read": true,
	"the audio is longer than the limit": true, "the result is larger than the limit": true,
	"the asset was deleted": true, "the source asset was deleted": true, "analysis failed": true,
	"you may no longer add assets to the project": true,
}

// publicJobError is a job's stored error as a client sees it. The pool
// stores whatever the handler returned (wrapped internal errors with
// paths, a panic's value, its own timeout text), so only the messages
// written for clients pass; the rest read as a generic failure.
func publicJobError(stored string) string {
	switch {
	case publicMessages[stored]:
		return stored
	case strings.HasPrefix(stored, "took longer than "):
		return "processing took too long"
	}
	return "processing failed"
}

// ingest is the job that analyses a new upload: report, peaks,
// spectrogram and preview are written as blobs, then one UPDATE makes the
// asset ready. A retry after a crash redoes the work and writes the same
// blobs again.
func (s *Service) ingest(ctx context.Context, job *jobs.Job, progress func(float64, string)) (string, error) {
	var in jobInput
	if err := json.Unmarshal([]byte(job.Input), &in); err != nil {
		return "", jobs.Permanent(fmt.Errorf("assets: ingest input: %w", err))
	}
	r, err := s.st.get(ctx, in.AssetID)
	if apperr.KindOf(err) == apperr.NotFound {
		return "", jobs.Permanent(errors.New("the asset was deleted"))
	}
	if err != nil {
		return "", err
	}
	if r.Status != StatusProcessing {
		return `{}`, nil
	}
	d, err := s.analyze(ctx, r.SHA256, progress)
	if err != nil {
		if final(ctx, job, err) {
			_ = s.st.markFailed(context.WithoutCancel(ctx), r.ID, StatusProcessing, clientMessage(ctx, err), s.now())
		}
		return "", err
	}
	if err := s.claimExisting(ctx, d.blobs()...); err != nil {
		return "", err // a derived blob was collected under us: the retry writes it again
	}
	r.Metadata, r.Tags, r.Analysis = d.Metadata, d.Tags, d.Analysis
	r.PreviewBlob, r.Peaks, r.SpectrogramBlob = d.PreviewBlob, d.Peaks, d.SpectrogramBlob
	updated, err := s.st.markReady(ctx, r, s.now())
	if err != nil {
		return "", err
	}
	if !updated { // deleted while the job ran: drop what it wrote
		s.releaseBlobs(ctx, d.blobs()...)
	}
	return `{}`, nil
}

// process is the job that renders a processed copy: the output and all
// its derived files are written as blobs first, then one INSERT (which a
// retry repeats harmlessly: the result's id is fixed in the input) adds
// the new, ready asset.
func (s *Service) process(ctx context.Context, job *jobs.Job, progress func(float64, string)) (string, error) {
	var in processInput
	if err := json.Unmarshal([]byte(job.Input), &in); err != nil {
		return "", jobs.Permanent(fmt.Errorf("assets: process input: %w", err))
	}
	src, err := s.st.get(ctx, in.AssetID)
	if apperr.KindOf(err) == apperr.NotFound {
		return "", jobs.Permanent(errors.New("the source asset was deleted"))
	}
	if err != nil {
		return "", err
	}
	// The requester may have lost the project (removed, demoted, project
	// trashed) while the job waited: then nothing is added to it.
	if err := s.checkProject(ctx, Caller{UserID: in.OwnerID}, in.ProjectID); err != nil {
		if k := apperr.KindOf(err); k == apperr.NotFound || k == apperr.Forbidden {
			return "", jobs.Permanent(errors.New("you may no longer add assets to the project"))
		}
		return "", err
	}
	task := in.Task
	task.Blob = src.SHA256
	tin, _ := json.Marshal(task)
	out, err := s.runner.Process(ctx, &jobs.Job{Kind: tasks.KindProcess, Input: string(tin)}, scaled(progress, 0, 60))
	if err != nil {
		return "", err
	}
	var res tasks.ProcessResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", fmt.Errorf("assets: process result: %w", err)
	}
	ref, err := s.cfg.Blobs.Stat(ctx, res.Blob)
	if err != nil {
		return "", err
	}
	d, err := s.analyze(ctx, res.Blob, scaled(progress, 60, 100))
	if err != nil {
		return "", err
	}
	if err := s.claimExisting(ctx, append(d.blobs(), ref.Key)...); err != nil {
		return "", err // collected under us: the retry writes it again
	}
	now := s.now()
	ct := "audio/wav"
	if task.Format == "flac" {
		ct = "audio/flac"
	}
	r := &record{
		ID: in.ResultAssetID, OwnerID: in.OwnerID, Filename: in.Filename, ContentType: ct, Size: ref.Size,
		SHA256: ref.Key, Status: StatusReady, JobID: ns(&job.ID), SourceAssetID: ns(&src.ID),
		Metadata: d.Metadata, Tags: d.Tags, Analysis: d.Analysis, PreviewBlob: d.PreviewBlob, Peaks: d.Peaks,
		SpectrogramBlob: d.SpectrogramBlob, CreatedAt: now, UpdatedAt: now,
	}
	if in.ProjectID != "" {
		r.ProjectID = ns(&in.ProjectID)
	}
	if err := s.st.insert(ctx, r, true); err != nil {
		return "", err
	}
	b, _ := json.Marshal(map[string]string{"resultAssetId": r.ID})
	return string(b), nil
}
