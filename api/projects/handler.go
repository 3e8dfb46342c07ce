package projects

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
)

// maxBody bounds the JSON bodies of this module's routes.
const maxBody = 16 << 10

// Routes mounts the module's routes. All but GET /api/v1/invites/{token}
// need an authenticated caller.
func (s *Service) Routes(mux *http.ServeMux) {
	auth := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, session.RequireUser(h)) }
	auth("POST /api/v1/projects", s.handleCreate)
	auth("GET /api/v1/projects", s.handleList)
	auth("GET /api/v1/projects/{id}", s.handleGet)
	auth("PATCH /api/v1/projects/{id}", s.handleRename)
	auth("DELETE /api/v1/projects/{id}", s.handleDelete)
	auth("POST /api/v1/projects/{id}/restore", s.handleRestore)
	auth("GET /api/v1/projects/{id}/members", s.handleMembers)
	auth("PATCH /api/v1/projects/{id}/members/{userId}", s.handleSetRole)
	auth("DELETE /api/v1/projects/{id}/members/{userId}", s.handleRemoveMember)
	auth("POST /api/v1/projects/{id}/invites", s.handleInvite)
	auth("DELETE /api/v1/projects/{id}/invites/{inviteId}", s.handleCancelInvite)
	auth("POST /api/v1/projects/{id}/transfer", s.handleTransfer)
	auth("POST /api/v1/projects/{id}/room-token", s.handleRoomToken)
	auth("GET /api/v1/projects/{id}/document", s.handleDocument)
	auth("POST /api/v1/projects/{id}/checkpoints", s.handleCreateCheckpoint)
	auth("GET /api/v1/projects/{id}/checkpoints", s.handleCheckpoints)
	auth("GET /api/v1/projects/{id}/checkpoints/{cid}/update", s.handleCheckpointUpdate)
	auth("GET /api/v1/projects/{id}/checkpoints/{cid}/document", s.handleCheckpointDocument)
	auth("POST /api/v1/projects/{id}/checkpoints/{cid}/fork", s.handleFork)
	mux.HandleFunc("GET /api/v1/invites/{token}", s.handleInviteInfo)
	auth("POST /api/v1/invites/{token}/accept", s.handleAcceptInvite)
}

func caller(r *http.Request) session.User {
	u, _ := session.UserFromContext(r.Context()) // RequireUser guarantees one
	return u
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var re *RetryError
	if errors.As(err, &re) {
		secs := int((re.After + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	respond.Error(w, r, err)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := respond.DecodeLimit(w, r, v, maxBody); err != nil {
		writeError(w, r, err)
		return false
	}
	return true
}

type nameRequest struct {
	Name string `json:"name"`
}

type membersResponse struct {
	Members []Member `json:"members"`
	Invites []Invite `json:"invites"`
}

type inviteRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

type roleRequest struct {
	Role string `json:"role"`
}

type transferRequest struct {
	UserID string `json:"userId"`
}

type checkpointsResponse struct {
	Checkpoints []Checkpoint `json:"checkpoints"`
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req nameRequest
	if !decode(w, r, &req) {
		return
	}
	p, err := s.Create(r.Context(), caller(r), req.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, p)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) {
	trashed := false
	switch v := r.URL.Query().Get("deleted"); v {
	case "", "false":
	case "true":
		trashed = true
	default:
		writeError(w, r, apperr.E("projects.List", apperr.Invalid, nil).WithCode("invalid_query").
			WithMsg(`deleted must be "true" or "false".`).WithField("deleted", "true or false"))
		return
	}
	q := ListQuery{Trashed: trashed, Before: r.URL.Query().Get("before")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, r, errLimitParam("projects.List", s.limits.MaxPageSize))
			return
		}
		q.Limit = n
	}
	page, err := s.List(r.Context(), caller(r), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, page)
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.Get(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (s *Service) handleRename(w http.ResponseWriter, r *http.Request) {
	var req nameRequest
	if !decode(w, r, &req) {
		return
	}
	p, err := s.Rename(r.Context(), caller(r), r.PathValue("id"), req.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.Delete(r.Context(), caller(r), r.PathValue("id")); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Service) handleRestore(w http.ResponseWriter, r *http.Request) {
	p, err := s.Restore(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (s *Service) handleMembers(w http.ResponseWriter, r *http.Request) {
	ms, invs, err := s.Members(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, membersResponse{Members: ms, Invites: invs})
}

func (s *Service) handleSetRole(w http.ResponseWriter, r *http.Request) {
	var req roleRequest
	if !decode(w, r, &req) {
		return
	}
	m, err := s.SetRole(r.Context(), caller(r), r.PathValue("id"), r.PathValue("userId"), req.Role)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, m)
}

func (s *Service) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if err := s.RemoveMember(r.Context(), caller(r), r.PathValue("id"), r.PathValue("userId")); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Service) handleInvite(w http.ResponseWriter, r *http.Request) {
	var req inviteRequest
	if !decode(w, r, &req) {
		return
	}
	inv, err := s.Invite(r.Context(), caller(r), r.PathValue("id"), req.Email, req.Role)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, inv)
}

func (s *Service) handleCancelInvite(w http.ResponseWriter, r *http.Request) {
	if err := s.CancelInvite(r.Context(), caller(r), r.PathValue("id"), r.PathValue("inviteId")); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Service) handleTransfer(w http.ResponseWriter, r *http.Request) {
	var req transferRequest
	if !decode(w, r, &req) {
		return
	}
	p, err := s.Transfer(r.Context(), caller(r), r.PathValue("id"), req.UserID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (s *Service) handleRoomToken(w http.ResponseWriter, r *http.Request) {
	base := &url.URL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		base.Scheme = "https"
	}
	rt, err := s.RoomToken(r.Context(), caller(r), r.PathValue("id"), base)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, rt)
}

func writeDocument(w http.ResponseWriter, d daw.Document) {
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, d)
}

func (s *Service) handleDocument(w http.ResponseWriter, r *http.Request) {
	d, err := s.Document(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeDocument(w, d)
}

func (s *Service) handleCreateCheckpoint(w http.ResponseWriter, r *http.Request) {
	var req nameRequest
	if !decode(w, r, &req) {
		return
	}
	c, err := s.CreateCheckpoint(r.Context(), caller(r), r.PathValue("id"), req.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, c)
}

func (s *Service) handleCheckpoints(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Checkpoints(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, checkpointsResponse{Checkpoints: cs})
}

func (s *Service) handleCheckpointUpdate(w http.ResponseWriter, r *http.Request) {
	c, state, err := s.CheckpointState(r.Context(), caller(r), r.PathValue("id"), r.PathValue("cid"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="checkpoint-`+c.ID+`.yjs"`)
	h.Set("Content-Length", strconv.Itoa(len(state)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(state) //nolint:gosec // G705: binary attachment (octet-stream, nosniff), never rendered; a failed write means the client left
}

func (s *Service) handleCheckpointDocument(w http.ResponseWriter, r *http.Request) {
	d, err := s.CheckpointDocument(r.Context(), caller(r), r.PathValue("id"), r.PathValue("cid"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeDocument(w, d)
}

func (s *Service) handleFork(w http.ResponseWriter, r *http.Request) {
	var req nameRequest
	if !decode(w, r, &req) {
		return
	}
	p, err := s.Fork(r.Context(), caller(r), r.PathValue("id"), r.PathValue("cid"), req.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, p)
}

func (s *Service) handleInviteInfo(w http.ResponseWriter, r *http.Request) {
	info, err := s.InviteInfo(r.Context(), r.PathValue("token"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	respond.JSON(w, http.StatusOK, info)
}

func (s *Service) handleAcceptInvite(w http.ResponseWriter, r *http.Request) {
	p, err := s.AcceptInvite(r.Context(), caller(r), r.PathValue("token"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}
