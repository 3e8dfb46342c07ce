package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
)

// UploadsPath is where the tus endpoint is mounted.
const UploadsPath = "/api/v1/uploads/"

// AssetIDHeader carries the upload's asset id on the responses to the
// request that creates a tus upload (the asset is uploading) and to the
// one that completes it (the same asset, now processing).
const AssetIDHeader = "X-Asset-Id"

// tusHeaders are the request headers tus clients send and the response
// headers they read, for CORS.
const (
	tusRequestHeaders  = "Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Defer-Length, Upload-Concat, X-HTTP-Method-Override"
	tusResponseHeaders = "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, " + AssetIDHeader + ", Retry-After, X-Request-Id"
)

// uploads is the resumable upload endpoint: tusd's handler on a file
// store in Config.UploadDir, with our authentication and ownership in
// front. Its creation hook makes the asset (uploading), each request's
// bytes are recorded on it (progressBody, settle), and its finish hook
// turns it into a processing asset.
type uploads struct {
	s     *Service
	fs    filestore.FileStore
	h     *tusd.UnroutedHandler
	dir   string
	log   *slog.Logger
	strip string
}

func (s *Service) newUploads() (*uploads, error) {
	if s.cfg.UploadDir == "" {
		return nil, errors.New("assets: Config.UploadDir is empty")
	}
	if err := os.MkdirAll(s.cfg.UploadDir, 0o750); err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	u := &uploads{s: s, fs: filestore.New(s.cfg.UploadDir), dir: s.cfg.UploadDir, log: s.cfg.Logger, strip: UploadsPath}
	comp := tusd.NewStoreComposer()
	u.fs.UseIn(comp)
	filelocker.New(s.cfg.UploadDir).UseIn(comp)
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:        comp,
		BasePath:             UploadsPath,
		MaxSize:              s.cfg.MaxUploadBytes,
		DisableDownload:      true,
		DisableConcatenation: true,
		Cors:                 &tusd.CorsConfig{Disable: true}, // the API's CORS applies
		// tusd logs every request through x/exp/slog; the API's request
		// log already has them, and failures reach ours via the hooks.
		Logger:                    xslog.New(xslog.NewTextHandler(io.Discard, nil)),
		RespectForwardedHeaders:   false,
		PreUploadCreateCallback:   u.preCreate,
		PreFinishResponseCallback: u.preFinish,
	})
	if err != nil {
		return nil, fmt.Errorf("assets: tus: %w", err)
	}
	u.h = h
	return u, nil
}

// tusError turns an apperr into a tus error response (tusd writes it as
// text: the code and message).
func tusError(err error) error {
	code := apperr.Code(err)
	return tusd.NewError(strings.ToUpper("ERR_"+code), apperr.Message(err), respond.Status(apperr.KindOf(err)))
}

func callerOf(ctx context.Context) (Caller, bool) {
	u, ok := session.UserFromContext(ctx)
	return Caller{UserID: u.ID}, ok
}

// progressEvery is how often a running PATCH records the bytes received
// on its asset (what GET /api/v1/assets shows, and what abandonment is
// measured from).
const progressEvery = time.Second

// createdKey carries, in a creation request's context, where preCreate
// writes the id it gave the upload (see uploads.create).
type createdKey struct{}

// preCreate checks the upload before tusd creates it and makes its asset,
// status uploading (Service.beginUpload). The upload gets an id of ours,
// recorded on the asset; the owner and asset are recorded in its
// metadata, and the asset's id is sent in X-Asset-Id.
func (u *uploads) preCreate(hook tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	c, ok := callerOf(hook.Context)
	if !ok {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_UNAUTHENTICATED", "Log in first.", http.StatusUnauthorized)
	}
	meta := hook.Upload.MetaData
	in := CreateInput{Filename: meta["filename"], ProjectID: meta["projectId"], Size: hook.Upload.Size}
	if hook.Upload.SizeIsDeferred {
		in.Size = -1
	}
	id := newID()
	r, err := u.s.beginUpload(hook.Context, c, in, meta["filetype"], id)
	if err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(err)
	}
	if p, ok := hook.Context.Value(createdKey{}).(*string); ok {
		*p = id
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{AssetIDHeader: r.ID}}, tusd.FileInfoChanges{ID: id, MetaData: tusd.MetaData{
		"filename": r.Filename, "projectId": in.ProjectID, "ownerId": c.UserID, "assetId": r.ID,
	}}, nil
}

// preFinish turns the completed upload's asset from uploading into
// processing (Service.finishUpload) and names it in the response. A
// repeated finish (a client retrying the last PATCH) finds the asset
// already finished. The work runs to its end even if the client hangs up
// on the last request: the bytes are all here.
func (u *uploads) preFinish(hook tusd.HookEvent) (tusd.HTTPResponse, error) {
	ctx := context.WithoutCancel(hook.Context)
	c, ok := callerOf(ctx)
	if !ok {
		return tusd.HTTPResponse{}, tusd.NewError("ERR_UNAUTHENTICATED", "Log in first.", http.StatusUnauthorized)
	}
	info := hook.Upload
	r, err := u.s.st.byUpload(ctx, info.ID)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		return tusd.HTTPResponse{}, tusError(errUploadCancelled)
	case err != nil:
		return tusd.HTTPResponse{}, tusError(err)
	case r.Status != StatusUploading:
		return tusd.HTTPResponse{Header: tusd.HTTPHeader{AssetIDHeader: r.ID}}, nil
	}
	f, err := os.Open(filepath.Join(u.dir, info.ID)) //nolint:gosec // G304: tusd's id of an upload we created (validUploadID)
	if err != nil {
		return tusd.HTTPResponse{}, tusError(apperr.E("assets.tus", apperr.Internal, err))
	}
	defer f.Close()
	a, err := u.s.finishUpload(ctx, c, r, f, info.Size)
	if err != nil {
		u.log.Warn("assets: tus upload refused", "upload", info.ID, "asset", r.ID, "err", err)
		return tusd.HTTPResponse{}, tusError(err)
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{AssetIDHeader: a.ID}}, nil
}

// progressBody is a tus request's body that records the bytes received
// on the upload's asset at most every progressEvery while tusd reads it,
// and stops the upload with upload_cancelled once the asset is gone
// (deleted or abandoned).
type progressBody struct {
	io.ReadCloser
	ctx    context.Context
	st     *Store
	now    func() time.Time
	id     *string // the upload's id; a creation learns it in preCreate
	offset int64   // the upload's offset before this request
	read   int64
	saved  time.Time // wall clock of the last write
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.read += int64(n)
	if n > 0 && *p.id != "" && time.Since(p.saved) >= progressEvery {
		p.saved = time.Now()
		found, serr := p.st.received(p.ctx, *p.id, p.offset+p.read, p.now())
		if serr == nil && !found {
			// Answer at once and drop the connection, instead of reading
			// the rest of the body first (net/http would, for a keep-alive).
			e := tusError(errUploadCancelled).(tusd.Error) //nolint:errorlint // tusError returns a tusd.Error
			e.HTTPResponse.Header["Connection"] = "close"
			return n, e
		}
	}
	return n, err
}

// settle brings an upload's asset and files in line after a tus request:
// an uploading asset gets the offset and size of tusd's file info; an
// uploading asset whose files are gone (terminated, or never created) is
// removed; the files of an upload whose asset is finished, deleted or
// abandoned are removed.
func (u *uploads) settle(ctx context.Context, id string) {
	r, err := u.s.st.byUpload(ctx, id)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		u.remove(id)
		return
	case err != nil:
		u.log.Warn("assets: tus upload state", "upload", id, "err", err)
		return
	case r.Status != StatusUploading:
		u.remove(id)
		return
	}
	up, err := u.fs.GetUpload(ctx, id)
	if errors.Is(err, tusd.ErrNotFound) {
		if _, err := u.s.st.dropUploading(ctx, r.ID, time.Time{}); err != nil {
			u.log.Warn("assets: drop terminated upload", "upload", id, "err", err)
		}
		return
	}
	var info tusd.FileInfo
	if err == nil {
		info, err = up.GetInfo(ctx)
	}
	if err != nil {
		u.log.Warn("assets: tus upload state", "upload", id, "err", err)
		return
	}
	size := info.Size
	if info.SizeIsDeferred {
		size = 0
	}
	if err := u.s.st.resync(ctx, id, info.Offset, size, u.s.now()); err != nil {
		u.log.Warn("assets: tus upload progress", "upload", id, "err", err)
	}
}

// validUploadID accepts tusd's ids (hex) and nothing that could name
// another file.
func validUploadID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// owned checks that the upload exists and belongs to the caller.
func (u *uploads) owned(r *http.Request, c Caller, id string) bool {
	if !validUploadID(id) {
		return false
	}
	up, err := u.fs.GetUpload(r.Context(), id)
	if err != nil {
		return false
	}
	info, err := up.GetInfo(r.Context())
	return err == nil && info.MetaData["ownerId"] == c.UserID
}

// remove deletes an upload's files (finished, cancelled or abandoned);
// files already gone are no error.
func (u *uploads) remove(id string) {
	if !validUploadID(id) {
		return
	}
	for _, f := range []string{id, id + ".info", id + ".lock"} {
		err := os.Remove(filepath.Join(u.dir, f)) //nolint:gosec // G703: id passed validUploadID (alphanumeric)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			u.log.Warn("assets: remove upload file", "upload", id, "err", err)
		}
	}
}

// exposeTusHeaders lets browsers read tus's response headers when the
// API's CORS middleware admitted the origin.
func exposeTusHeaders(w http.ResponseWriter) {
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		w.Header().Set("Access-Control-Expose-Headers", tusResponseHeaders)
	}
}

// create serves POST /api/v1/uploads/.
func (u *uploads) create(w http.ResponseWriter, r *http.Request) {
	exposeTusHeaders(w)
	id := new(string)
	r = r.WithContext(context.WithValue(r.Context(), createdKey{}, id))
	r.Body = &progressBody{ReadCloser: r.Body, ctx: r.Context(), st: u.s.st, now: u.s.now, id: id, saved: time.Now()}
	u.serve(w, r, u.h.PostFile, id)
}

// resource serves HEAD, PATCH and DELETE /api/v1/uploads/{id} for the
// upload's owner while its asset is uploading; anyone else gets 404
// upload_not_found, and a request for an upload whose asset was deleted
// or abandoned 404 upload_cancelled.
func (u *uploads) resource(w http.ResponseWriter, r *http.Request) {
	exposeTusHeaders(w)
	c, _ := callerOf(r.Context())
	id := r.PathValue("id")
	fail := func(err error) {
		if r.Method == http.MethodHead {
			w.WriteHeader(respond.Status(apperr.KindOf(err)))
			return
		}
		respond.Error(w, r, err)
	}
	if !u.owned(r, c, id) {
		fail(errTusNotFound)
		return
	}
	if _, err := u.s.st.byUpload(r.Context(), id); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			u.remove(id)
			err = errUploadCancelled
		}
		fail(err)
		return
	}
	var next http.HandlerFunc
	switch r.Method {
	case http.MethodHead:
		next = u.h.HeadFile
	case http.MethodPatch:
		next = u.h.PatchFile
		offset, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
		r.Body = &progressBody{ReadCloser: r.Body, ctx: r.Context(), st: u.s.st, now: u.s.now, id: &id,
			offset: offset, saved: time.Now()}
	default:
		next = u.h.DelFile
	}
	u.serve(w, r, http.StripPrefix(u.strip, next).ServeHTTP, &id)
}

// serve runs a tusd handler behind its middleware (protocol version
// checks, method override), then settles the upload's asset and files
// (*id, when the request named or created one).
func (u *uploads) serve(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, id *string) {
	// A resumable upload may take long: tusd enforces its own timeout on
	// each read of the body instead of the server's whole-request one.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	u.h.Middleware(h).ServeHTTP(w, r)
	if *id != "" {
		u.settle(context.WithoutCancel(r.Context()), *id)
	}
}

// sweepUploads removes abandoned uploads: the assets of unfinished tus
// uploads that received nothing for Config.AbandonUploadsAfter (their
// quota goes with them), with their files when they are on this node;
// then the files on this node whose asset is gone or finished. It returns
// how many assets it removed; Run calls it periodically.
func (s *Service) sweepUploads(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.AbandonUploadsAfter)
	n := 0
	for {
		recs, err := s.st.abandoned(ctx, cutoff, gcBatch)
		if err != nil {
			return n, err
		}
		progress := false
		for _, r := range recs {
			dropped, err := s.st.dropUploading(ctx, r.ID, cutoff)
			if err != nil {
				return n, err
			}
			if dropped {
				n++
				progress = true
				if s.uploads != nil && r.UploadID.Valid {
					s.uploads.remove(r.UploadID.String)
				}
			}
		}
		if len(recs) < gcBatch || !progress {
			break
		}
	}
	if s.uploads != nil {
		if err := s.uploads.sweepFiles(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// sweepFiles removes the upload files in the upload directory whose
// asset is gone (cancelled or abandoned on any node) or no longer
// uploading (finished). An upload's asset exists before its files do, so
// files without one are left over.
func (u *uploads) sweepFiles(ctx context.Context) error {
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return fmt.Errorf("assets: sweep uploads: %w", err)
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || !validUploadID(id) {
			continue
		}
		r, err := u.s.st.byUpload(ctx, id)
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return err
		}
		if err != nil || r.Status != StatusUploading {
			u.remove(id)
		}
	}
	return nil
}

// TusPreflight answers CORS preflights for the tus endpoint from the
// configured origins, allowing the tus headers (the API's own CORS
// preflight lists only the JSON API's headers). Everything else goes to
// next unchanged.
func TusPreflight(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	allowed := map[string]bool{}
	for _, o := range origins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if r.Method != http.MethodOptions || !strings.HasPrefix(r.URL.Path, UploadsPath) || !allowed[origin] ||
			r.Header.Get("Access-Control-Request-Method") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", "POST, HEAD, PATCH, DELETE")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Request-Id, "+tusRequestHeaders)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}
