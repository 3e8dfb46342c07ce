package assets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/compliance"
	"github.com/maxbooster/maxbooster/audio/dsp"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/audio/tasks"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// Config is what the module needs besides the database. Zero values mean
// the documented defaults.
type Config struct {
	// Blobs stores originals and derived files; required.
	Blobs blob.Store
	// Projects answers project roles; nil refuses project-scoped assets
	// with projects_unavailable.
	Projects ProjectAccess
	// UploadDir holds unfinished tus uploads; required for /api/v1/uploads/.
	UploadDir string
	// TempDir holds intermediate files of jobs ("" = os.TempDir()).
	TempDir string
	// MaxUploadBytes bounds one upload (default 2 GiB).
	MaxUploadBytes int64
	// MaxSeconds bounds the audio length accepted (default 1 hour).
	MaxSeconds float64
	// MaxUploadsPerUser bounds one user's unfinished tus uploads (assets
	// in status uploading; default 10); creating one more is 429
	// too_many_uploads.
	MaxUploadsPerUser int
	// AbandonUploadsAfter is how long an unfinished tus upload may go
	// without receiving bytes before the sweep removes its asset and its
	// partial file (default DefaultAbandonUploadsAfter).
	AbandonUploadsAfter time.Duration
	// QuotaBytes bounds the bytes of originals one user stores, counting
	// the sizes their unfinished uploads announced (0: none).
	QuotaBytes int64
	// Workers is the number of jobs run at once on this node (default 2).
	Workers int
	// JobTimeout bounds one job attempt (default 10 minutes).
	JobTimeout time.Duration
	// Poll is how often idle workers and event streams look at the job
	// table (default 500 ms for workers, a fifth of it for streams).
	Poll time.Duration
	// BlobGrace is how long a blob nothing refers to is kept before the
	// collector deletes it (default DefaultBlobGrace). It must be longer
	// than any gap between a blob's write and the row that refers to it.
	BlobGrace time.Duration
	// Logger receives job and cleanup messages (default discard).
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultMaxUploadBytes = 2 << 30
	DefaultMaxSeconds     = 3600
	maxAttempts           = 3
	// DefaultAbandonUploadsAfter is Config.AbandonUploadsAfter's default.
	DefaultAbandonUploadsAfter = 24 * time.Hour
	// jobLease is how long a worker holds a job without renewing it: the
	// pool stores progress every third of it (what event streams see),
	// and a dead worker's job is taken over once it has passed.
	jobLease    = 9 * time.Second
	maxFilename = 255
	listLimit   = 500
)

// Job kinds in the audio_jobs table.
const (
	kindIngest  = "asset.ingest"
	kindProcess = "asset.process"
)

// Service holds the rules of the module.
type Service struct {
	cfg     Config
	st      *Store
	q       *jobs.Queue
	runner  *tasks.Runner
	uploads *uploads // nil without Config.UploadDir
	now     func() time.Time
}

// NewService returns the service on db.
func NewService(db *store.DB, cfg Config) (*Service, error) {
	if cfg.Blobs == nil {
		return nil, errors.New("assets: Config.Blobs is nil")
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.MaxSeconds <= 0 {
		cfg.MaxSeconds = DefaultMaxSeconds
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 10 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUploadsPerUser <= 0 {
		cfg.MaxUploadsPerUser = 10
	}
	if cfg.BlobGrace <= 0 {
		cfg.BlobGrace = DefaultBlobGrace
	}
	if cfg.AbandonUploadsAfter <= 0 {
		cfg.AbandonUploadsAfter = DefaultAbandonUploadsAfter
	}
	s := &Service{
		cfg:    cfg,
		st:     NewStore(db),
		q:      jobs.NewQueue(db),
		runner: &tasks.Runner{Blobs: cfg.Blobs, TempDir: cfg.TempDir, MaxSeconds: cfg.MaxSeconds, MaxOutputBytes: cfg.MaxUploadBytes},
		now:    func() time.Time { return time.Now().UTC() },
	}
	if cfg.UploadDir != "" {
		u, err := s.newUploads()
		if err != nil {
			return nil, err
		}
		s.uploads = u
	}
	return s, nil
}

// Run works the job queue until ctx ends: a bounded pool of workers for
// ingest and process jobs (a job whose worker died is claimed again when
// its lease runs out), after re-queuing assets a crash left without a job,
// and a periodic sweep of abandoned tus uploads and unused blobs (hourly,
// or every half of Config.AbandonUploadsAfter when that is shorter).
func (s *Service) Run(ctx context.Context) {
	s.requeue(ctx)
	pool := &jobs.Pool{
		Queue:    s.q,
		Handlers: map[string]jobs.Handler{kindIngest: s.ingest, kindProcess: s.process},
		Workers:  s.cfg.Workers,
		Timeout:  s.cfg.JobTimeout,
		Poll:     s.cfg.Poll,
		Lease:    jobLease,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(min(time.Hour, s.cfg.AbandonUploadsAfter/2), time.Second))
		defer t.Stop()
		for {
			if n, err := s.sweepUploads(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("assets: sweep uploads", "err", err)
			} else if n > 0 {
				s.cfg.Logger.Info("assets: removed abandoned uploads", "count", n)
			}
			if n, err := s.CollectBlobs(ctx, s.cfg.BlobGrace); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("assets: collect blobs", "err", err)
			} else if n > 0 {
				s.cfg.Logger.Info("assets: collected blobs", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	_ = pool.Run(ctx)
	<-done
}

// requeue enqueues ingest jobs for assets inserted by a process that died
// before it could enqueue theirs.
func (s *Service) requeue(ctx context.Context) {
	recs, err := s.st.unqueued(ctx, s.now().Add(-time.Minute))
	if err != nil {
		s.cfg.Logger.Warn("assets: requeue", "err", err)
		return
	}
	for _, r := range recs {
		if err := s.enqueueIngest(ctx, r.ID); err != nil {
			s.cfg.Logger.Warn("assets: requeue", "asset", r.ID, "err", err)
		}
	}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// Caller is who asks.
type Caller struct {
	UserID string
}

// roleIn returns the caller's role in the asset's project ("" for none).
func (s *Service) roleIn(ctx context.Context, userID, projectID string) (string, error) {
	if s.cfg.Projects == nil {
		return "", nil
	}
	role, err := s.cfg.Projects.Access(ctx, userID, projectID)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return "", nil
		}
		return "", apperr.E("assets.roleIn", apperr.KindOf(err), err)
	}
	return role, nil
}

// readable loads an asset the caller may read; others get asset_not_found.
func (s *Service) readable(ctx context.Context, c Caller, id string) (*record, error) {
	r, err := s.st.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.OwnerID == c.UserID {
		return r, nil
	}
	if r.ProjectID.Valid {
		role, err := s.roleIn(ctx, c.UserID, r.ProjectID.String)
		if err != nil {
			return nil, err
		}
		if role != "" {
			return r, nil
		}
	}
	return nil, errNotFound
}

// writable loads an asset the caller may change: a personal asset's
// owner; a project asset's project owners and editors (its uploader only
// while one of them). Readers get asset_forbidden, others
// asset_not_found.
func (s *Service) writable(ctx context.Context, c Caller, id string) (*record, error) {
	r, err := s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !r.ProjectID.Valid {
		if r.OwnerID == c.UserID {
			return r, nil
		}
		return nil, errForbidden
	}
	// A project's asset is the project's content: its uploader changes it
	// only while still an owner or editor of the live project (a removed
	// member, or anyone while the project is in the trash, may not).
	role, err := s.roleIn(ctx, c.UserID, r.ProjectID.String)
	if err != nil {
		return nil, err
	}
	if role == RoleOwner || role == RoleEditor {
		return r, nil
	}
	return nil, errForbidden
}

// checkProject lets the caller add assets to a project: owners and
// editors may.
func (s *Service) checkProject(ctx context.Context, c Caller, projectID string) error {
	if projectID == "" {
		return nil
	}
	if s.cfg.Projects == nil {
		return errProjectsUnavailable
	}
	if len(projectID) > 128 {
		return apperr.E("assets", apperr.Invalid, nil).WithCode("invalid_project").WithMsg("projectId is too long.")
	}
	role, err := s.roleIn(ctx, c.UserID, projectID)
	if err != nil {
		return err
	}
	switch role {
	case RoleOwner, RoleEditor:
		return nil
	case "":
		return apperr.E("assets", apperr.NotFound, nil).WithCode("project_not_found").WithMsg("No such project.")
	}
	return apperr.E("assets", apperr.Forbidden, nil).WithCode("project_forbidden").
		WithMsg("Only the project's owner and editors may add assets to it.")
}

// cleanFilename keeps the base name of what the client sent.
func cleanFilename(name string) (string, error) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	bad := apperr.E("assets", apperr.Invalid, nil).WithCode("invalid_filename")
	if name == "" || name == "." || name == ".." {
		return "", bad.WithMsg("A filename is required.")
	}
	if len(name) > maxFilename || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", bad.WithMsg("The filename must be valid UTF-8 of at most 255 bytes without control characters.")
	}
	return name, nil
}

func tooLarge(limit int64) error {
	return apperr.E("assets", apperr.TooLarge, nil).WithCode("upload_too_large").
		WithMsg(fmt.Sprintf("Uploads are limited to %d bytes.", limit))
}

// checkQuota refuses adding n bytes over the caller's quota.
func (s *Service) checkQuota(ctx context.Context, c Caller, n int64) error {
	if s.cfg.QuotaBytes <= 0 {
		return nil
	}
	used, err := s.st.usage(ctx, c.UserID)
	if err != nil {
		return err
	}
	if used+n > s.cfg.QuotaBytes {
		return errQuota
	}
	return nil
}

// CreateInput is a new upload.
type CreateInput struct {
	Filename  string
	ProjectID string
	Body      io.Reader
	// Size is the declared length, or -1 when unknown.
	Size int64
}

// precheck validates what is known before the bytes arrive.
func (s *Service) precheck(ctx context.Context, c Caller, in *CreateInput) error {
	name, err := cleanFilename(in.Filename)
	if err != nil {
		return err
	}
	in.Filename = name
	if in.Size > s.cfg.MaxUploadBytes {
		return tooLarge(s.cfg.MaxUploadBytes)
	}
	if err := s.checkProject(ctx, c, in.ProjectID); err != nil {
		return err
	}
	return s.checkQuota(ctx, c, max(in.Size, 0))
}

var contentTypes = map[audio.Format]string{
	audio.FormatWAV: "audio/wav", "aiff": "audio/aiff", "flac": "audio/flac", "mp3": "audio/mpeg",
	"ogg": "audio/ogg", "mp4": "audio/mp4",
}

// Create stores an upload and queues its analysis: the asset is returned
// processing, with its technical metadata already read.
func (s *Service) Create(ctx context.Context, c Caller, in CreateInput) (*Asset, error) {
	if err := s.precheck(ctx, c, &in); err != nil {
		return nil, err
	}
	ref, info, err := s.intake(ctx, c, in.Body, in.Size, 0)
	if err != nil {
		return nil, err
	}
	now := s.now()
	meta, _ := json.Marshal(metadataOf(info))
	r := &record{
		ID: newID(), OwnerID: c.UserID, Filename: in.Filename, ContentType: formatType(info.Format),
		Size: ref.Size, SHA256: ref.Key, Status: StatusProcessing, Metadata: string(meta),
		CreatedAt: now, UpdatedAt: now,
	}
	if in.ProjectID != "" {
		r.ProjectID = ns(&in.ProjectID)
	}
	if err := s.st.insert(ctx, r, false); err != nil {
		return nil, err
	}
	if err := s.enqueueIngest(ctx, r.ID); err != nil {
		// The row stays processing; Run's requeue picks it up.
		s.cfg.Logger.Warn("assets: enqueue ingest", "asset", r.ID, "err", err)
	}
	return s.Get(ctx, c, r.ID)
}

// formatType is the media type of a probed format.
func formatType(f audio.Format) string {
	if ct := contentTypes[f]; ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// intake stores body as a blob and runs the checks that need the bytes:
// the announced size (size, or -1 when unknown), the quota and the audio
// itself. reserved is what the caller's usage already counts for this
// file (the size an uploading asset announced). On error nothing refers
// to the blob.
func (s *Service) intake(ctx context.Context, c Caller, body io.Reader, size, reserved int64) (blob.Ref, audio.Info, error) {
	ref, err := s.cfg.Blobs.Put(ctx, body, s.cfg.MaxUploadBytes)
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return ref, audio.Info{}, tooLarge(s.cfg.MaxUploadBytes)
	case errors.As(err, &mbe):
		return ref, audio.Info{}, tooLarge(min(s.cfg.MaxUploadBytes, mbe.Limit))
	case ctx.Err() != nil:
		return ref, audio.Info{}, apperr.E("assets.Create", apperr.Canceled, ctx.Err())
	case err != nil:
		return ref, audio.Info{}, apperr.E("assets.Create", apperr.Internal, err)
	}
	// A blob of the same bytes may be on its way out: claim it before
	// anything refers to it, and check that it is still there.
	if err := s.claimExisting(ctx, ref.Key); err != nil {
		return ref, audio.Info{}, err
	}
	if size >= 0 && ref.Size != size {
		s.releaseBlobs(ctx, ref.Key)
		return ref, audio.Info{}, apperr.E("assets", apperr.Invalid, nil).WithCode("incomplete_upload").
			WithMsg(fmt.Sprintf("Received %d bytes of the %d announced.", ref.Size, size))
	}
	if err := s.checkQuota(ctx, c, ref.Size-reserved); err != nil {
		s.releaseBlobs(ctx, ref.Key)
		return ref, audio.Info{}, err
	}
	info, err := s.probe(ctx, ref.Key, ref.Size)
	if err != nil {
		s.releaseBlobs(ctx, ref.Key)
		return ref, audio.Info{}, err
	}
	return ref, info, nil
}

// beginUpload makes the asset of a new tus upload, before its bytes: status
// uploading, the announced size (in.Size, -1 when deferred), nothing
// received. It runs the checks a plain upload gets before its bytes
// (filename, size limit, project rights, quota: usage counts the sizes the
// caller's unfinished uploads announced) and bounds the caller's
// unfinished uploads. contentType is the client's (tus metadata
// "filetype"); the file's own format replaces it when the upload finishes.
func (s *Service) beginUpload(ctx context.Context, c Caller, in CreateInput, contentType, uploadID string) (*record, error) {
	n, err := s.st.uploading(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	if n >= s.cfg.MaxUploadsPerUser {
		return nil, apperr.E("assets.tus", apperr.TooManyRequests, nil).WithCode("too_many_uploads").WithMsg(fmt.Sprintf(
			"At most %d unfinished uploads at once; finish or delete one first.", s.cfg.MaxUploadsPerUser))
	}
	if err := s.precheck(ctx, c, &in); err != nil {
		return nil, err
	}
	now := s.now()
	r := &record{
		ID: newID(), OwnerID: c.UserID, Filename: in.Filename, ContentType: uploadType(contentType, in.Filename),
		Size: max(in.Size, 0), Status: StatusUploading, UploadID: ns(&uploadID), CreatedAt: now, UpdatedAt: now,
	}
	if in.ProjectID != "" {
		r.ProjectID = ns(&in.ProjectID)
	}
	if err := s.st.insert(ctx, r, false); err != nil {
		return nil, err
	}
	return r, nil
}

// extTypes are the media types of audio file extensions, for uploads
// whose client sent no type.
var extTypes = map[string]string{
	".wav": "audio/wav", ".aif": "audio/aiff", ".aiff": "audio/aiff", ".flac": "audio/flac", ".mp3": "audio/mpeg",
	".ogg": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".mp4": "audio/mp4",
}

// uploadType is an uploading asset's content type: the client's when it
// is a well-formed media type, else the one its extension suggests.
func uploadType(clientType, filename string) string {
	if len(clientType) <= 127 {
		if mt, _, err := mime.ParseMediaType(clientType); err == nil && strings.Contains(mt, "/") {
			return mt
		}
	}
	if ct := extTypes[strings.ToLower(filepath.Ext(filename))]; ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// finishUpload turns the uploading asset r of a finished tus upload into
// a processing one: the project and the checks that need the bytes, then
// one UPDATE of the same row, then its ingest job. When a check fails the
// asset is failed with the reason; when the asset was deleted meanwhile
// the answer is upload_cancelled.
func (s *Service) finishUpload(ctx context.Context, c Caller, r *record, body io.Reader, size int64) (*Asset, error) {
	fail := func(err error) (*Asset, error) {
		msg := apperr.Message(err)
		if k := apperr.KindOf(err); k == apperr.Internal || k == apperr.Unavailable || k == apperr.Canceled {
			msg = "the upload could not be stored; upload the file again"
		}
		if ferr := s.st.markFailed(context.WithoutCancel(ctx), r.ID, StatusUploading, msg, s.now()); ferr != nil {
			s.cfg.Logger.Warn("assets: mark upload failed", "asset", r.ID, "err", ferr)
		}
		return nil, err
	}
	if r.ProjectID.Valid {
		if err := s.checkProject(ctx, c, r.ProjectID.String); err != nil {
			if k := apperr.KindOf(err); k == apperr.NotFound || k == apperr.Forbidden {
				err = apperr.E("assets", apperr.Forbidden, err).WithCode("project_forbidden").
					WithMsg("You may no longer add assets to the project.")
			}
			return fail(err)
		}
	}
	ref, info, err := s.intake(ctx, c, body, size, r.Size)
	if err != nil {
		return fail(err)
	}
	meta, _ := json.Marshal(metadataOf(info))
	r.SHA256, r.Size, r.ContentType, r.Metadata = ref.Key, ref.Size, formatType(info.Format), string(meta)
	updated, err := s.st.promote(ctx, r, s.now())
	if err != nil {
		s.releaseBlobs(ctx, ref.Key)
		return fail(err)
	}
	if !updated {
		// Deleted (or abandoned) meanwhile, or finished by a retry.
		s.releaseBlobs(ctx, ref.Key)
		cur, err := s.st.get(ctx, r.ID)
		if apperr.KindOf(err) == apperr.NotFound {
			return nil, errUploadCancelled
		}
		if err != nil {
			return nil, err
		}
		a := s.view(ctx, cur)
		return &a, nil
	}
	if err := s.enqueueIngest(ctx, r.ID); err != nil {
		// The row stays processing; Run's requeue picks it up.
		s.cfg.Logger.Warn("assets: enqueue ingest", "asset", r.ID, "err", err)
	}
	return s.Get(ctx, c, r.ID)
}

// probe reads the technical metadata, refusing what is not audio and
// what is longer than the limit.
func (s *Service) probe(ctx context.Context, key string, size int64) (audio.Info, error) {
	o, err := s.cfg.Blobs.Open(ctx, key)
	if err != nil {
		return audio.Info{}, apperr.E("assets.probe", apperr.Internal, err)
	}
	defer o.Close()
	info, err := audio.Probe(o, size)
	if err != nil {
		if errors.Is(err, audio.ErrUnknownFormat) || errors.Is(err, audio.ErrMalformed) || errors.Is(err, audio.ErrUnsupportedCodec) {
			return info, apperr.E("assets.probe", apperr.Unsupported, err).WithCode("unsupported_format").
				WithMsg("This is not an audio file we can read (WAV, AIFF, FLAC, MP3, Ogg Vorbis, Ogg Opus, M4A).")
		}
		return info, apperr.E("assets.probe", apperr.Internal, err)
	}
	if info.Frames > 0 && info.DurationSeconds() > s.cfg.MaxSeconds {
		return info, apperr.E("assets", apperr.TooLarge, nil).WithCode("audio_too_long").
			WithMsg(fmt.Sprintf("Audio is limited to %.0f seconds.", s.cfg.MaxSeconds))
	}
	return info, nil
}

func metadataOf(info audio.Info) Metadata {
	return Metadata{Codec: info.Codec, SampleRate: info.SampleRate, BitDepth: info.BitDepth, Channels: info.Channels,
		DurationSec: math.Round(info.DurationSeconds()*1000) / 1000, Bitrate: info.Bitrate}
}

func (s *Service) enqueueIngest(ctx context.Context, assetID string) error {
	in, _ := json.Marshal(jobInput{AssetID: assetID})
	j, err := s.q.Enqueue(ctx, kindIngest, string(in), maxAttempts)
	if err != nil {
		return apperr.E("assets.enqueue", apperr.Internal, err)
	}
	return s.st.setJob(ctx, assetID, j.ID, s.now())
}

// Get returns an asset the caller may read.
func (s *Service) Get(ctx context.Context, c Caller, id string) (*Asset, error) {
	r, err := s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	a := s.view(ctx, r)
	return &a, nil
}

// view is the API shape of a row. A processing asset whose job failed
// without saying so (its worker died on the last attempt) is failed.
func (s *Service) view(ctx context.Context, r *record) Asset {
	if r.Status == StatusProcessing && r.JobID.Valid {
		if j, err := s.q.Get(ctx, r.JobID.String); err == nil && j.Status == jobs.StatusFailed {
			msg := publicJobError(j.Error)
			_ = s.st.markFailed(ctx, r.ID, StatusProcessing, msg, s.now())
			r.Status, r.Error = StatusFailed, ns(&msg)
		}
	}
	return r.asset()
}

// List returns the caller's assets, or a project's when projectID is set
// (for members of the project).
func (s *Service) List(ctx context.Context, c Caller, projectID string) (*List, error) {
	if projectID != "" {
		if s.cfg.Projects == nil {
			return nil, errProjectsUnavailable
		}
		role, err := s.roleIn(ctx, c.UserID, projectID)
		if err != nil {
			return nil, err
		}
		if role == "" {
			return nil, apperr.E("assets", apperr.NotFound, nil).WithCode("project_not_found").WithMsg("No such project.")
		}
	}
	recs, err := s.st.list(ctx, c.UserID, projectID, listLimit)
	if err != nil {
		return nil, err
	}
	out := &List{Assets: make([]Asset, 0, len(recs))}
	for _, r := range recs {
		out.Assets = append(out.Assets, s.view(ctx, r))
	}
	return out, nil
}

// Delete removes an asset; the blobs nothing else uses are deleted by the
// collector after Config.BlobGrace. Deleting an uploading asset cancels
// its upload: the partial file goes, and further tus requests for it are
// refused.
func (s *Service) Delete(ctx context.Context, c Caller, id string) error {
	r, err := s.writable(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.st.delete(ctx, r, s.now()); err != nil {
		return err
	}
	if r.Status == StatusUploading && r.UploadID.Valid && s.uploads != nil {
		// A PATCH still running stops at its next progress write, which
		// finds the asset gone (tus.go, progressBody).
		s.uploads.remove(r.UploadID.String)
	}
	return nil
}

// Blob names one of an asset's files.
type Blob int

// The files of an asset.
const (
	BlobOriginal Blob = iota
	BlobPreview
	BlobSpectrogram
)

// Open returns one of the asset's files for reading, with the asset.
func (s *Service) Open(ctx context.Context, c Caller, id string, which Blob) (blob.Object, *Asset, error) {
	r, err := s.readable(ctx, c, id)
	if err != nil {
		return nil, nil, err
	}
	key := r.SHA256
	switch which {
	case BlobPreview:
		key = r.PreviewBlob
	case BlobSpectrogram:
		key = r.SpectrogramBlob
	case BlobOriginal:
	}
	if key == "" {
		return nil, nil, errNotReady
	}
	o, err := s.cfg.Blobs.Open(ctx, key)
	if err != nil {
		return nil, nil, apperr.E("assets.Open", apperr.Internal, err)
	}
	a := r.asset()
	return o, &a, nil
}

// Peaks returns the waveform at samplesPerPixel (0: the finest level
// stored). A level that is a multiple of a stored one is computed from it.
// level ≥ 0 instead picks the level-th stored zoom level, finest first
// (Asset.PeaksLevels).
func (s *Service) Peaks(ctx context.Context, c Caller, id string, samplesPerPixel, level int) (*Waveform, error) {
	r, err := s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	levels := r.peaks()
	if len(levels) == 0 {
		return nil, errNotReady
	}
	if level >= 0 {
		sorted := r.asset().PeaksLevels
		if level >= len(sorted) {
			return nil, apperr.E("assets", apperr.Invalid, nil).WithCode("invalid_level").
				WithMsg(fmt.Sprintf("level must be from 0 to %d.", len(sorted)-1))
		}
		samplesPerPixel = sorted[level]
	}
	best := 0
	for spp := range levels {
		if (samplesPerPixel == 0 && (best == 0 || spp < best)) ||
			(samplesPerPixel > 0 && samplesPerPixel%spp == 0 && spp > best) {
			best = spp
		}
	}
	if best == 0 {
		return nil, apperr.E("assets", apperr.Invalid, nil).WithCode("invalid_samples_per_pixel").
			WithMsg(fmt.Sprintf("samplesPerPixel must be a multiple of %d.", minKey(levels)))
	}
	o, err := s.cfg.Blobs.Open(ctx, levels[best])
	if err != nil {
		return nil, apperr.E("assets.Peaks", apperr.Internal, err)
	}
	defer o.Close()
	w, err := readDat(io.LimitReader(o, 64<<20))
	if err != nil {
		return nil, apperr.E("assets.Peaks", apperr.Internal, err)
	}
	if samplesPerPixel > best {
		w = merge(w, samplesPerPixel/best)
	}
	return w, nil
}

func minKey(m map[int]string) int {
	lo := 0
	for k := range m {
		if lo == 0 || k < lo {
			lo = k
		}
	}
	return lo
}

// Process queues a processing job on an asset the caller may change; the
// result becomes a new asset owned by the caller in the same project.
func (s *Service) Process(ctx context.Context, c Caller, id string, req ProcessRequest) (*Job, error) {
	r, err := s.writable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusReady {
		return nil, errNotReady
	}
	task, err := req.task()
	if err != nil {
		return nil, err
	}
	name := req.Filename
	if name == "" {
		base := strings.TrimSuffix(r.Filename, filepath.Ext(r.Filename))
		name = base + "-processed." + task.Format
	}
	if name, err = cleanFilename(name); err != nil {
		return nil, err
	}
	if err := s.checkQuota(ctx, c, r.Size); err != nil {
		return nil, err
	}
	in := processInput{AssetID: r.ID, ResultAssetID: newID(), OwnerID: c.UserID, Filename: name, Task: task}
	if r.ProjectID.Valid {
		in.ProjectID = r.ProjectID.String
	}
	b, _ := json.Marshal(in)
	j, err := s.q.Enqueue(ctx, kindProcess, string(b), maxAttempts)
	if err != nil {
		return nil, apperr.E("assets.Process", apperr.Internal, err)
	}
	v := jobView(j)
	return &v, nil
}

var filterTypes = map[string]dsp.FilterType{
	"peaking": dsp.Peaking, "lowShelf": dsp.LowShelf, "highShelf": dsp.HighShelf, "highPass": dsp.HighPass, "lowPass": dsp.LowPass,
}

// task turns the request into the process task's input.
func (req ProcessRequest) task() (tasks.ProcessInput, error) {
	bad := func(msg string) error {
		return apperr.E("assets", apperr.Invalid, nil).WithCode("invalid_process").WithMsg(msg)
	}
	t := tasks.ProcessInput{Format: req.Format, BitDepth: req.BitDepth}
	if t.Format == "" {
		t.Format = "wav"
	}
	if t.BitDepth == 0 {
		t.BitDepth = 24
	}
	if t.Format != "wav" && t.Format != "flac" {
		return t, bad("format must be wav or flac.")
	}
	if t.BitDepth != 16 && t.BitDepth != 24 {
		return t, bad("bitDepth must be 16 or 24.")
	}
	if len(req.Operations) > 16 {
		return t, bad("At most 16 operations.")
	}
	seen := map[string]bool{}
	finite := func(vs ...float64) bool {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	for _, op := range req.Operations {
		if seen[op.Type] {
			return t, bad("Each operation type may appear once: " + op.Type + " is repeated.")
		}
		seen[op.Type] = true
		switch op.Type {
		case "gain":
			if op.GainDB < -60 || op.GainDB > 40 {
				return t, bad("gainDb must be between -60 and 40.")
			}
			t.GainDB = op.GainDB
		case "fade":
			if op.InMs < 0 || op.OutMs < 0 || op.InMs > 600000 || op.OutMs > 600000 {
				return t, bad("inMs and outMs must be between 0 and 600000.")
			}
			t.FadeInMs, t.FadeOutMs = op.InMs, op.OutMs
		case "eq":
			if len(op.Bands) == 0 || len(op.Bands) > 16 {
				return t, bad("eq needs 1 to 16 bands.")
			}
			for _, b := range op.Bands {
				ft, ok := filterTypes[b.Type]
				if !ok {
					return t, bad("Band type must be peaking, lowShelf, highShelf, highPass or lowPass.")
				}
				if !finite(b.Hz, b.GainDB, b.Q) || b.Hz <= 0 || b.Hz > 96000 || math.Abs(b.GainDB) > 36 || b.Q < 0 || b.Q > 100 {
					return t, bad("Band hz must be in (0, 96000], gainDb within ±36, q in [0, 100].")
				}
				t.EQ = append(t.EQ, dsp.Band{Type: ft, Hz: b.Hz, GainDB: b.GainDB, Q: b.Q})
			}
		case "compress":
			t.Compressor = &dsp.CompressorOptions{ThresholdDB: op.ThresholdDB, Ratio: op.Ratio, KneeDB: op.KneeDB,
				AttackMs: op.AttackMs, ReleaseMs: op.ReleaseMs, MakeupDB: op.MakeupDB}
			if t.Compressor.Ratio == 0 {
				t.Compressor.Ratio = 2
			}
		case "warmth":
			if op.AmountDB <= 0 || op.AmountDB > 24 {
				return t, bad("warmth amountDb must be in (0, 24].")
			}
			t.SaturationDB = op.AmountDB
		case "normalize":
			t.Normalize = &tasks.NormalizeSpec{Platform: op.Platform, TargetLUFS: op.TargetLUFS, CeilingDBTP: op.CeilingDBTP}
		default:
			return t, bad("Operation type must be gain, fade, eq, compress, warmth or normalize.")
		}
		if !finite(op.GainDB, op.InMs, op.OutMs, op.ThresholdDB, op.Ratio, op.KneeDB, op.AttackMs, op.ReleaseMs, op.MakeupDB, op.AmountDB) {
			return t, bad("Numbers must be finite.")
		}
	}
	if req.NormalizeTo != "" {
		if t.Normalize != nil {
			return t, bad("Use either normalizeTo or a normalize operation.")
		}
		t.Normalize = &tasks.NormalizeSpec{Platform: req.NormalizeTo}
	}
	if n := t.Normalize; n != nil {
		if n.Platform != "" {
			if _, err := compliance.Lookup(n.Platform); err != nil {
				return t, bad("Unknown platform " + n.Platform + ".")
			}
		} else if n.TargetLUFS == nil || n.CeilingDBTP == nil || !finite(*n.TargetLUFS, *n.CeilingDBTP) ||
			*n.TargetLUFS < -40 || *n.TargetLUFS > 0 || *n.CeilingDBTP < -12 || *n.CeilingDBTP > 0 {
			return t, bad("normalize needs a platform, or targetLufs in [-40, 0] and ceilingDbtp in [-12, 0].")
		}
	}
	if len(req.Operations) == 0 && t.Normalize == nil {
		return t, bad("Give at least one operation or normalizeTo.")
	}
	return t, nil
}

// jobInput is the ingest job's input, and the part of every asset job's
// input that names its asset.
type jobInput struct {
	AssetID string `json:"assetId"`
}

// processInput is the process job's input.
type processInput struct {
	AssetID       string             `json:"assetId"`
	ResultAssetID string             `json:"resultAssetId"`
	OwnerID       string             `json:"ownerId"`
	ProjectID     string             `json:"projectId,omitempty"`
	Filename      string             `json:"filename"`
	Task          tasks.ProcessInput `json:"task"`
}

func jobView(j *jobs.Job) Job {
	v := Job{ID: j.ID, Kind: strings.TrimPrefix(j.Kind, "asset."), Status: j.Status, Stage: j.Stage,
		Percent: math.Round(j.Progress*10) / 10}
	if v.Stage == "" { // before the first progress report
		switch j.Status {
		case jobs.StatusQueued:
			v.Stage = "queued"
		case jobs.StatusRunning:
			v.Stage = "starting"
		}
	}
	var in processInput
	_ = json.Unmarshal([]byte(j.Input), &in)
	v.AssetID = in.AssetID
	if j.Error != "" && j.Status != jobs.StatusDone {
		e := publicJobError(j.Error)
		v.Error = &e
	}
	if j.Kind == kindProcess && j.Status == jobs.StatusDone {
		id := in.ResultAssetID
		v.ResultAssetID = &id
	}
	return v
}

// Job returns a job on an asset the caller may read.
func (s *Service) Job(ctx context.Context, c Caller, id string) (*Job, *jobs.Job, error) {
	if len(id) > 64 {
		return nil, nil, errJobNotFound
	}
	j, err := s.q.Get(ctx, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, nil, errJobNotFound
	}
	if err != nil {
		return nil, nil, apperr.E("assets.Job", apperr.Internal, err)
	}
	if j.Kind != kindIngest && j.Kind != kindProcess {
		return nil, nil, errJobNotFound
	}
	v := jobView(j)
	if _, err := s.readable(ctx, c, v.AssetID); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return nil, nil, errJobNotFound
		}
		return nil, nil, err
	}
	return &v, j, nil
}

// ByUpload returns the asset of a tus upload: uploading while it runs,
// then the asset made from it.
func (s *Service) ByUpload(ctx context.Context, c Caller, uploadID string) (*Asset, error) {
	r, err := s.st.byUpload(ctx, uploadID)
	if err != nil {
		return nil, err
	}
	if _, err := s.readable(ctx, c, r.ID); err != nil {
		return nil, errUploadNotFound
	}
	a := s.view(ctx, r)
	return &a, nil
}
