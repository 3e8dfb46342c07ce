package assets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
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

// AssetIDHeader carries the created asset's id on the response to the
// request that completes a tus upload.
const AssetIDHeader = "X-Asset-Id"

// tusHeaders are the request headers tus clients send and the response
// headers they read, for CORS.
const (
	tusRequestHeaders  = "Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Defer-Length, Upload-Concat, X-HTTP-Method-Override"
	tusResponseHeaders = "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, " + AssetIDHeader + ", Retry-After, X-Request-Id"
)

// uploads is the resumable upload endpoint: tusd's handler on a file
// store in Config.UploadDir, with our authentication and ownership in
// front and asset creation in its finish hook.
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

// preCreate checks the upload before tusd creates it: a caller, a
// filename, a project the caller may add to, the size limit and quota.
// The owner is recorded in the upload's metadata.
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
	n, pending := u.inFlight(c.UserID)
	if n >= u.s.cfg.MaxUploadsPerUser {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(apperr.E("assets.tus", apperr.TooManyRequests, nil).
			WithCode("too_many_uploads").WithMsg(fmt.Sprintf(
			"At most %d unfinished uploads at once; finish or delete one first.", u.s.cfg.MaxUploadsPerUser)))
	}
	if err := u.s.precheck(hook.Context, c, &in); err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(err)
	}
	// The quota counts what the caller's unfinished uploads announced too,
	// or parallel uploads could each fit and together overrun it.
	if err := u.s.checkQuota(hook.Context, c, max(in.Size, 0)+pending); err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(err)
	}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: tusd.MetaData{
		"filename": in.Filename, "projectId": in.ProjectID, "ownerId": c.UserID,
	}}, nil
}

// preFinish makes the asset from a completed upload and names it in the
// response. A repeated finish (a client retrying the last PATCH) finds
// the asset made the first time.
func (u *uploads) preFinish(hook tusd.HookEvent) (tusd.HTTPResponse, error) {
	ctx := hook.Context
	c, ok := callerOf(ctx)
	if !ok {
		return tusd.HTTPResponse{}, tusd.NewError("ERR_UNAUTHENTICATED", "Log in first.", http.StatusUnauthorized)
	}
	info := hook.Upload
	if a, err := u.s.ByUpload(ctx, c, info.ID); err == nil {
		return tusd.HTTPResponse{Header: tusd.HTTPHeader{AssetIDHeader: a.ID}}, nil
	}
	f, err := os.Open(filepath.Join(u.dir, info.ID))
	if err != nil {
		return tusd.HTTPResponse{}, tusError(apperr.E("assets.tus", apperr.Internal, err))
	}
	defer f.Close()
	a, err := u.s.Create(ctx, c, CreateInput{
		Filename: info.MetaData["filename"], ProjectID: info.MetaData["projectId"],
		Body: f, Size: info.Size, UploadID: info.ID,
	})
	if err != nil {
		u.log.Warn("assets: tus upload refused", "upload", info.ID, "err", err)
		return tusd.HTTPResponse{}, tusError(err)
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{AssetIDHeader: a.ID}}, nil
}

// inFlight counts userID's unfinished uploads in the upload directory and
// the bytes they announced.
func (u *uploads) inFlight(userID string) (n int, bytes int64) {
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".info") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(u.dir, e.Name()))
		if err != nil {
			continue
		}
		var info tusd.FileInfo
		if json.Unmarshal(b, &info) != nil || info.MetaData["ownerId"] != userID {
			continue
		}
		if info.SizeIsDeferred || info.Offset < info.Size {
			n++
			bytes += info.Size
		}
	}
	return n, bytes
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

// remove deletes an upload's files once its asset exists.
func (u *uploads) remove(ctx context.Context, id string) {
	up, err := u.fs.GetUpload(ctx, id)
	if err == nil {
		err = u.fs.AsTerminatableUpload(up).Terminate(ctx)
	}
	if err != nil {
		u.log.Warn("assets: remove finished upload", "upload", id, "err", err)
	}
	_ = os.Remove(filepath.Join(u.dir, id+".lock")) //nolint:gosec // G703: id passed validUploadID (alphanumeric)
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
	u.serve(w, r, u.h.PostFile)
}

// resource serves HEAD, PATCH and DELETE /api/v1/uploads/{id} for the
// upload's owner; anyone else gets 404.
func (u *uploads) resource(w http.ResponseWriter, r *http.Request) {
	exposeTusHeaders(w)
	c, _ := callerOf(r.Context())
	id := r.PathValue("id")
	if !u.owned(r, c, id) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		respond.Error(w, r, errUploadNotFound)
		return
	}
	var next http.HandlerFunc
	switch r.Method {
	case http.MethodHead:
		next = u.h.HeadFile
	case http.MethodPatch:
		next = u.h.PatchFile
	default:
		next = u.h.DelFile
	}
	u.serve(w, r, http.StripPrefix(u.strip, next).ServeHTTP)
}

// serve runs a tusd handler behind its middleware (protocol version
// checks, method override) and removes the upload's files once it has
// turned into an asset.
func (u *uploads) serve(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	// A resumable upload may take long: tusd enforces its own timeout on
	// each read of the body instead of the server's whole-request one.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	u.h.Middleware(h).ServeHTTP(w, r)
	if id := w.Header().Get(AssetIDHeader); id != "" {
		if up := uploadIDFrom(w.Header().Get("Location"), r); up != "" {
			u.remove(context.WithoutCancel(r.Context()), up)
		}
	}
}

// uploadIDFrom is the upload id of the request's path, or of the
// Location tusd answered a creation with.
func uploadIDFrom(location string, r *http.Request) string {
	if id := r.PathValue("id"); id != "" {
		return id
	}
	if i := strings.LastIndex(location, "/"); i >= 0 && validUploadID(location[i+1:]) {
		return location[i+1:]
	}
	return ""
}

// sweep removes uploads untouched for longer than age (abandoned ones).
func (u *uploads) sweep(age time.Duration) {
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".info") {
			continue
		}
		id := strings.TrimSuffix(name, ".info")
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < age {
			continue
		}
		if data, err := os.Stat(filepath.Join(u.dir, id)); err == nil && time.Since(data.ModTime()) < age {
			continue
		}
		for _, f := range []string{id, id + ".info", id + ".lock"} {
			_ = os.Remove(filepath.Join(u.dir, f))
		}
	}
}

// sweepUploads removes abandoned tus uploads.
func (s *Service) sweepUploads(age time.Duration) {
	if s.uploads != nil {
		s.uploads.sweep(age)
	}
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
