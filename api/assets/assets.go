// Package assets is the Assets REST module: uploaded audio (plain and
// resumable tus uploads), its metadata, tags and analysis, derived files
// (Ogg Opus preview, waveform peaks, spectrogram), processing into new
// assets, and the jobs that do the work, readable by polling and by
// Server-Sent Events.
//
// The pieces, in the shape every API module has:
//
//   - assets.go: the types the API speaks (JSON camelCase) and errors.
//   - service.go: the rules (who may read and write an asset, limits and
//     quota, the ingest and process jobs on an audio/jobs pool).
//   - store.go: the SQL, on *store.DB (migrations 00310-00312).
//   - handler.go: Routes mounts /api/v1/assets/..., /api/v1/jobs/... and
//     the tus endpoint /api/v1/uploads/ (tus.go).
//
// A resumable (tus) upload is an asset from its creation on: status
// uploading, with the bytes received so far, until its last byte turns the
// same row processing. Deleting it cancels the upload; one that receives
// nothing for Config.AbandonUploadsAfter is swept away with its file.
//
// Bytes live in a content-addressed audio/blob store (local disk or
// S3-compatible); rows only point at blobs. A job writes every output blob
// before the single UPDATE or INSERT that makes the asset ready, so a crash
// mid-job leaves no half-written asset: the job's lease runs out and
// another worker runs it again, or it fails and so does the asset.
//
// An asset is readable by its owner and, when it belongs to a project, by
// the project's members; it is writable (delete, process) by its owner and
// the project's owner and editors. Project roles come from ProjectAccess.
package assets

import (
	"context"
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

// Asset states. A resumable (tus) upload is an asset from its creation:
// uploading while its bytes arrive, then processing, then ready or
// failed, under the same id. A plain upload starts processing.
const (
	StatusUploading  = "uploading"
	StatusProcessing = "processing"
	StatusReady      = "ready"
	StatusFailed     = "failed"
)

// Project roles, as ProjectAccess reports them.
const (
	RoleOwner  = "owner"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// ProjectAccess tells a user's role in a project: owner, editor or
// viewer, or an apperr NotFound error when the user has none (or the
// project does not exist). *projects.Service implements it.
type ProjectAccess interface {
	Access(ctx context.Context, userID, projectID string) (role string, err error)
}

// Asset is an uploaded or processed audio file as the API shows it.
type Asset struct {
	ID          string  `json:"id"`
	OwnerID     string  `json:"ownerId"`
	ProjectID   *string `json:"projectId"`
	Filename    string  `json:"filename"`
	ContentType string  `json:"contentType"`
	// Size is the file's length; while uploading, the length the upload
	// announced (0 until a deferred-length upload declares it).
	Size int64 `json:"size"`
	// UploadedBytes is how much of the file the server holds: growing
	// while uploading, then Size.
	UploadedBytes int64 `json:"uploadedBytes"`
	// SHA256 is the original's hash and blob key; "" while uploading (and
	// for an upload that failed before its bytes were stored).
	SHA256    string    `json:"sha256"`
	Status    string    `json:"status"`
	Error     *string   `json:"error"`
	CreatedAt time.Time `json:"createdAt"`
	// SourceAssetID is the asset a processed asset was made from.
	SourceAssetID *string   `json:"sourceAssetId"`
	JobID         *string   `json:"jobId"` // the job that analyses (or made) it
	Metadata      *Metadata `json:"metadata"`
	Tags          *Tags     `json:"tags"`
	Analysis      *Analysis `json:"analysis"`
	PreviewReady  bool      `json:"previewReady"`
	PeaksReady    bool      `json:"peaksReady"`
	// PeaksLevels are the samples-per-pixel zoom levels stored.
	PeaksLevels []int `json:"peaksLevels"`
}

// Metadata is the technical description of the file.
type Metadata struct {
	Codec       string  `json:"codec"`
	SampleRate  int     `json:"sampleRate"`
	BitDepth    int     `json:"bitDepth"`
	Channels    int     `json:"channels"`
	DurationSec float64 `json:"durationSec"`
	Bitrate     int64   `json:"bitrate"`
}

// Tags are the descriptive tags read from the file; absent ones are null.
type Tags struct {
	Title       *string  `json:"title"`
	Artist      *string  `json:"artist"`
	Album       *string  `json:"album"`
	AlbumArtist *string  `json:"albumArtist"`
	Year        *int     `json:"year"`
	Track       *int     `json:"track"`
	TrackTotal  *int     `json:"trackTotal"`
	Disc        *int     `json:"disc"`
	DiscTotal   *int     `json:"discTotal"`
	Genre       *string  `json:"genre"`
	BPM         *float64 `json:"bpm"`
	Key         *string  `json:"key"`
	ISRC        *string  `json:"isrc"`
	Composer    *string  `json:"composer"`
	Comment     *string  `json:"comment"`
	HasCover    bool     `json:"hasCover"`
}

// Analysis is what the ingest job measured.
type Analysis struct {
	Loudness   Loudness     `json:"loudness"`
	Compliance []Compliance `json:"compliance"`
	Readiness  Readiness    `json:"readiness"`
	BPM        *float64     `json:"bpm"`
	Key        *string      `json:"key"`
}

// Loudness is the BS.1770 / EBU R128 measurement; undefined values
// (silence) are null.
type Loudness struct {
	IntegratedLUFS   *float64 `json:"integratedLufs"`
	RangeLU          *float64 `json:"rangeLu"`
	TruePeakDBTP     *float64 `json:"truePeakDbtp"`
	SamplePeakDBFS   *float64 `json:"samplePeakDbfs"`
	MomentaryMaxLUFS *float64 `json:"momentaryMaxLufs"`
	ShortTermMaxLUFS *float64 `json:"shortTermMaxLufs"`
}

// Compliance is what one streaming platform does with the track.
type Compliance struct {
	Platform              string   `json:"platform"`
	TargetLUFS            float64  `json:"targetLufs"`
	GainDB                float64  `json:"gainDb"`
	ResultingTruePeakDBTP *float64 `json:"resultingTruePeakDbtp"`
	OK                    bool     `json:"ok"`
	Advice                string   `json:"advice"`
}

// Readiness is the distribution readiness check: OK unless a check
// failed; Problems lists the checks that did not pass.
type Readiness struct {
	OK       bool      `json:"ok"`
	Problems []Problem `json:"problems"`
}

// Problem is one readiness check that did not pass.
type Problem struct {
	ID       string `json:"id"`
	Severity string `json:"severity"` // "fail" or "warn"
	Message  string `json:"message"`
}

// List is the body of GET /api/v1/assets.
type List struct {
	Assets []Asset `json:"assets"`
}

// Job kinds as the API shows them.
const (
	JobIngest  = "ingest"
	JobProcess = "process"
)

// Job is an ingest or process job as the API shows it.
type Job struct {
	ID            string  `json:"id"`
	Kind          string  `json:"kind"`
	Status        string  `json:"status"` // queued, running, done, failed
	Stage         string  `json:"stage"`
	Percent       float64 `json:"percent"`
	Error         *string `json:"error"`
	AssetID       string  `json:"assetId"`
	ResultAssetID *string `json:"resultAssetId"`
}

// ProcessRequest is the body of POST /api/v1/assets/{id}/process.
// Operations run in a fixed order whatever their order in the list: gain,
// eq, compress, warmth, fade, then normalize (which measures the processed
// signal first). Each type may appear once.
type ProcessRequest struct {
	Operations []Operation `json:"operations"`
	// Format is "wav" (default) or "flac"; BitDepth 16 or 24 (default 24).
	Format   string `json:"format"`
	BitDepth int    `json:"bitDepth"`
	// NormalizeTo is a platform id (spotify, apple_music, ...): shorthand
	// for a normalize operation to that platform's target.
	NormalizeTo string `json:"normalizeTo"`
	// Filename of the result (default: the source's name with the new
	// extension and "-processed").
	Filename string `json:"filename"`
}

// Operation is one processing step; which fields apply depends on Type.
type Operation struct {
	Type string `json:"type"` // gain, fade, eq, compress, warmth, normalize
	// gain
	GainDB float64 `json:"gainDb"`
	// fade
	InMs  float64 `json:"inMs"`
	OutMs float64 `json:"outMs"`
	// eq
	Bands []EQBand `json:"bands"`
	// compress
	ThresholdDB float64 `json:"thresholdDb"`
	Ratio       float64 `json:"ratio"`
	KneeDB      float64 `json:"kneeDb"`
	AttackMs    float64 `json:"attackMs"`
	ReleaseMs   float64 `json:"releaseMs"`
	MakeupDB    float64 `json:"makeupDb"`
	// warmth: saturation drive in dB
	AmountDB float64 `json:"amountDb"`
	// normalize: a platform, or both targetLufs and ceilingDbtp
	Platform    string   `json:"platform"`
	TargetLUFS  *float64 `json:"targetLufs"`
	CeilingDBTP *float64 `json:"ceilingDbtp"`
}

// EQBand is one band of the eq operation.
type EQBand struct {
	Type   string  `json:"type"` // peaking, lowShelf, highShelf, highPass, lowPass
	Hz     float64 `json:"hz"`
	GainDB float64 `json:"gainDb"`
	Q      float64 `json:"q"`
}

// Errors with stable codes.
var (
	errNotFound = apperr.E("assets", apperr.NotFound, nil).WithCode("asset_not_found").
			WithMsg("No such asset.")
	errJobNotFound = apperr.E("assets", apperr.NotFound, nil).WithCode("job_not_found").
			WithMsg("No such job.")
	errUploadNotFound = apperr.E("assets", apperr.NotFound, nil).WithCode("upload_not_found").
				WithMsg("No such upload: it does not exist, or it was cancelled (its asset deleted) or abandoned.")
	// errTusNotFound answers tus requests (HEAD, PATCH, DELETE) for an
	// upload whose files are gone.
	errTusNotFound = apperr.E("assets", apperr.NotFound, nil).WithCode("upload_not_found").
			WithMsg("No such upload: it does not exist, it has finished (its asset is at GET /api/v1/uploads/{id}/asset), or it was cancelled or abandoned.")
	errUploadCancelled = apperr.E("assets", apperr.NotFound, nil).WithCode("upload_cancelled").
				WithMsg("This upload was cancelled: its asset was deleted, or the upload was abandoned.")
	errForbidden = apperr.E("assets", apperr.Forbidden, nil).WithCode("asset_forbidden").
			WithMsg("Only the asset's owner or the project's owner and editors may change it.")
	errQuota = apperr.E("assets", apperr.TooLarge, nil).WithCode("quota_exceeded").
			WithMsg("This upload would exceed your storage quota.")
	errProjectsUnavailable = apperr.E("assets", apperr.Unavailable, nil).WithCode("projects_unavailable").
				WithMsg("Project assets are not available on this server yet: upload without projectId.")
	errNotReady = apperr.E("assets", apperr.Conflict, nil).WithCode("asset_not_ready").
			WithMsg("The asset has not been analysed yet; wait for its job.")
)
