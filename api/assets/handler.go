package assets

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/audio/jobs"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
)

// Handler serves the module's routes.
type Handler struct {
	s *Service
	// KeepAlive is the pause between comments on an idle event stream
	// (default 15 s).
	KeepAlive time.Duration
	// MaxStreamsPerUser bounds the job event streams one user holds open
	// on this node at once (default DefaultMaxStreamsPerUser); one more is
	// answered 429 too_many_streams. Each stream polls the database.
	MaxStreamsPerUser int

	mu      sync.Mutex
	streams map[string]int // open event streams per user id
}

// DefaultMaxStreamsPerUser is Handler.MaxStreamsPerUser's default.
const DefaultMaxStreamsPerUser = 8

// NewHandler returns the HTTP side of s.
func NewHandler(s *Service) *Handler {
	return &Handler{s: s, KeepAlive: 15 * time.Second, MaxStreamsPerUser: DefaultMaxStreamsPerUser, streams: map[string]int{}}
}

// openStream counts an event stream of userID, or reports false when the
// user already holds the maximum; closeStream ends the count.
func (h *Handler) openStream(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[userID] >= h.maxStreams() {
		return false
	}
	h.streams[userID]++
	return true
}

func (h *Handler) maxStreams() int {
	if h.MaxStreamsPerUser <= 0 {
		return DefaultMaxStreamsPerUser
	}
	return h.MaxStreamsPerUser
}

func (h *Handler) closeStream(userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[userID]--; h.streams[userID] <= 0 {
		delete(h.streams, userID)
	}
}

// Routes mounts the asset, job and upload routes; all need a caller.
func (h *Handler) Routes(mux *http.ServeMux) {
	auth := func(f http.HandlerFunc) http.Handler { return session.RequireUser(f) }
	mux.Handle("POST /api/v1/assets", auth(h.upload))
	mux.Handle("GET /api/v1/assets", auth(h.list))
	mux.Handle("GET /api/v1/assets/{id}", auth(h.get))
	mux.Handle("DELETE /api/v1/assets/{id}", auth(h.delete))
	mux.Handle("GET /api/v1/assets/{id}/file", auth(h.file(BlobOriginal)))
	mux.Handle("GET /api/v1/assets/{id}/preview", auth(h.file(BlobPreview)))
	mux.Handle("GET /api/v1/assets/{id}/spectrogram.png", auth(h.file(BlobSpectrogram)))
	mux.Handle("GET /api/v1/assets/{id}/peaks", auth(h.peaks))
	mux.Handle("POST /api/v1/assets/{id}/process", auth(h.process))
	mux.Handle("GET /api/v1/jobs/{id}", auth(h.job))
	mux.Handle("GET /api/v1/jobs/{id}/events", auth(h.events))
	if u := h.s.uploads; u != nil {
		mux.Handle("POST "+UploadsPath+"{$}", auth(u.create))
		mux.Handle("HEAD "+UploadsPath+"{id}", auth(u.resource))
		mux.Handle("PATCH "+UploadsPath+"{id}", auth(u.resource))
		mux.Handle("DELETE "+UploadsPath+"{id}", auth(u.resource))
		mux.Handle("GET "+UploadsPath+"{id}/asset", auth(h.uploadAsset))
	}
}

func caller(r *http.Request) Caller {
	c, _ := callerOf(r.Context())
	return c
}

// upload stores a plain upload: the raw body (?filename=) or the "file"
// part of a multipart/form-data body.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := CreateInput{Filename: q.Get("filename"), ProjectID: q.Get("projectId"), Body: r.Body, Size: r.ContentLength}
	// Large bodies take long: bound the whole upload by an hour instead of
	// the server's read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Hour))
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			respond.Error(w, r, apperr.E("assets", apperr.Invalid, err).WithCode("invalid_multipart").WithMsg("Malformed multipart body."))
			return
		}
		if in.Size > h.s.cfg.MaxUploadBytes+64<<10 {
			respond.Error(w, r, tooLarge(h.s.cfg.MaxUploadBytes))
			return
		}
		in.Size = -1
		for {
			p, err := mr.NextPart()
			if err != nil {
				respond.Error(w, r, apperr.E("assets", apperr.Invalid, err).WithCode("missing_file").
					WithMsg(`The multipart body has no "file" part.`))
				return
			}
			if p.FormName() == "file" {
				if in.Filename == "" {
					in.Filename = p.FileName()
				}
				in.Body = p
				break
			}
			_ = p.Close()
		}
	}
	a, err := h.s.Create(r.Context(), caller(r), in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/assets/"+a.ID)
	respond.JSON(w, http.StatusCreated, a)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	l, err := h.s.List(r.Context(), caller(r), r.URL.Query().Get("projectId"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, l)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	a, err := h.s.Get(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, a)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	if err := h.s.Delete(r.Context(), caller(r), r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

// file serves one of an asset's files with range requests, ETag (the
// blob's SHA-256) and conditional requests (http.ServeContent).
func (h *Handler) file(which Blob) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, a, err := h.s.Open(r.Context(), caller(r), r.PathValue("id"), which)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		defer o.Close()
		ct, name := a.ContentType, a.Filename
		switch which {
		case BlobPreview:
			ct, name = "audio/ogg; codecs=opus", strings.TrimSuffix(name, extOf(name))+".preview.opus"
		case BlobSpectrogram:
			ct, name = "image/png", strings.TrimSuffix(name, extOf(name))+".spectrogram.png"
		case BlobOriginal:
		}
		hd := w.Header()
		hd.Set("Content-Type", ct)
		if which == BlobOriginal {
			hd.Set("ETag", `"`+a.SHA256+`"`)
			hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		} else {
			hd.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
		}
		hd.Set("Cache-Control", "private, max-age=3600")
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
		http.ServeContent(w, r, "", time.Time{}, o)
	}
}

func extOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[i:]
	}
	return ""
}

// peaks serves the waveform as audiowaveform's binary format, or its JSON
// with ?format=json, at ?samplesPerPixel=N or at the ?level=i-th stored
// zoom level.
func (h *Handler) peaks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(code, msg string) {
		respond.Error(w, r, apperr.E("assets", apperr.Invalid, nil).WithCode(code).WithMsg(msg))
	}
	spp := 0
	if v := q.Get("samplesPerPixel"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<22 {
			bad("invalid_samples_per_pixel", "samplesPerPixel must be a whole number from 1 to 4194304.")
			return
		}
		spp = n
	}
	level := -1
	if v := q.Get("level"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 64 || spp != 0 {
			bad("invalid_level", "level must be a small whole number, and not given with samplesPerPixel.")
			return
		}
		level = n
	}
	bits := 16
	switch q.Get("bits") {
	case "", "16":
	case "8":
		bits = 8
	default:
		bad("invalid_bits", "bits must be 8 or 16.")
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "dat" {
		bad("invalid_format", "format must be dat or json.")
		return
	}
	wf, err := h.s.Peaks(r.Context(), caller(r), r.PathValue("id"), spp, level)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if format == "json" {
		b, err := wf.JSON(bits)
		if err != nil {
			respond.Error(w, r, apperr.E("assets.peaks", apperr.Internal, err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b) //nolint:gosec // G705: JSON we encoded, served as application/json with nosniff
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_ = wf.WriteDat(w, bits)
}

func (h *Handler) process(w http.ResponseWriter, r *http.Request) {
	var req ProcessRequest
	if err := respond.Decode(w, r, &req); err != nil {
		respond.Error(w, r, err)
		return
	}
	j, err := h.s.Process(r.Context(), caller(r), r.PathValue("id"), req)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	respond.JSON(w, http.StatusAccepted, j)
}

func (h *Handler) job(w http.ResponseWriter, r *http.Request) {
	j, _, err := h.s.Job(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, j)
}

func (h *Handler) uploadAsset(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validUploadID(id) {
		respond.Error(w, r, errUploadNotFound)
		return
	}
	a, err := h.s.ByUpload(r.Context(), caller(r), id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, a)
}

// eventID names a job state; a client that reconnects with the id of the
// state it saw last gets only newer ones.
func eventID(j *jobs.Job) string {
	return fmt.Sprintf("%d-%s-%.1f", j.UpdatedAt.UnixMilli(), j.Status, j.Progress)
}

// events streams a job's progress as Server-Sent Events until it ends:
// "progress" while it is queued or running, then "done" or "error", each
// with the Job as data. Idle periods carry keep-alive comments. A client
// reconnecting with the Last-Event-ID of the final event gets 204, which
// tells EventSource to stop.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := caller(r)
	id := r.PathValue("id")
	v, j, err := h.s.Job(ctx, c, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	last := r.Header.Get("Last-Event-ID")
	terminal := func(j *jobs.Job) bool { return j.Status == jobs.StatusDone || j.Status == jobs.StatusFailed }
	if terminal(j) && last == eventID(j) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !h.openStream(c.UserID) {
		w.Header().Set("Retry-After", "10")
		respond.Error(w, r, apperr.E("assets.events", apperr.TooManyRequests, nil).WithCode("too_many_streams").
			WithMsg(fmt.Sprintf("At most %d job event streams at once; close one or poll GET /api/v1/jobs/{id}.", h.maxStreams())))
		return
	}
	defer h.closeStream(c.UserID)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the write timeout
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "retry: 2000\n\n")
	_ = rc.Flush()

	poll := max(h.s.cfg.Poll/5, 20*time.Millisecond)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	quiet := time.Now()
	deadline := time.Now().Add(h.s.cfg.JobTimeout*maxAttempts + 10*time.Minute)
	for {
		if eid := eventID(j); eid != last {
			event := "progress"
			switch j.Status {
			case jobs.StatusDone:
				event = "done"
			case jobs.StatusFailed:
				event = "error"
			}
			data, _ := json.Marshal(v)
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", eid, event, data); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			last, quiet = eid, time.Now()
			if terminal(j) {
				return
			}
		}
		if time.Since(quiet) >= h.KeepAlive {
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			quiet = time.Now()
		}
		if time.Now().After(deadline) {
			return // the client reconnects with Last-Event-ID
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		nv, nj, err := h.s.Job(ctx, c, id)
		if err != nil {
			if ctx.Err() != nil || apperr.KindOf(err) == apperr.NotFound {
				return
			}
			continue // a passing database error: try again at the next tick
		}
		v, j = nv, nj
	}
}
