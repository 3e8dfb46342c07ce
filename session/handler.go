package session

import (
	"net/http"
	"strconv"
	"time"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
)

// maxAuthBody bounds the JSON bodies of this module's routes.
const maxAuthBody = 16 << 10

// Routes mounts the account, session, token, team and audit routes.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/auth/register", s.handleRegister)
	mux.HandleFunc("POST /api/v1/auth/login", s.handleLogin)
	mux.HandleFunc("POST /api/v1/auth/logout", s.handleLogout)
	mux.HandleFunc("POST /api/v1/auth/verify-email", s.handleVerifyEmail)
	mux.HandleFunc("POST /api/v1/auth/password-reset", s.handleResetRequest)
	mux.HandleFunc("POST /api/v1/auth/password-reset/confirm", s.handleResetConfirm)

	mux.Handle("GET /api/v1/me", RequireUser(http.HandlerFunc(s.handleMe)))
	mux.Handle("POST /api/v1/me/password", RequireSession(http.HandlerFunc(s.handleChangePassword)))
	mux.Handle("POST /api/v1/me/verify-email", RequireSession(http.HandlerFunc(s.handleResendVerification)))
	mux.Handle("GET /api/v1/me/sessions", RequireSession(http.HandlerFunc(s.handleListSessions)))
	mux.Handle("DELETE /api/v1/me/sessions/{id}", RequireSession(http.HandlerFunc(s.handleRevokeSession)))
	mux.Handle("GET /api/v1/me/audit", RequireUser(http.HandlerFunc(s.handleAudit)))

	mux.Handle("GET /api/v1/tokens", RequireSession(http.HandlerFunc(s.handleListTokens)))
	mux.Handle("POST /api/v1/tokens", RequireSession(http.HandlerFunc(s.handleCreateToken)))
	mux.Handle("DELETE /api/v1/tokens/{id}", RequireSession(http.HandlerFunc(s.handleRevokeToken)))

	mux.Handle("GET /api/v1/teams", RequireUser(http.HandlerFunc(s.handleListTeams)))
	mux.Handle("POST /api/v1/teams", RequireUser(http.HandlerFunc(s.handleCreateTeam)))
	mux.Handle("GET /api/v1/teams/{id}", RequireUser(http.HandlerFunc(s.handleGetTeam)))
	mux.Handle("DELETE /api/v1/teams/{id}", RequireUser(http.HandlerFunc(s.handleDeleteTeam)))
	mux.Handle("POST /api/v1/teams/{id}/members", RequireUser(http.HandlerFunc(s.handleAddMember)))
	mux.Handle("PATCH /api/v1/teams/{id}/members/{userId}", RequireUser(http.HandlerFunc(s.handleSetRole)))
	mux.Handle("DELETE /api/v1/teams/{id}/members/{userId}", RequireUser(http.HandlerFunc(s.handleRemoveMember)))
}

func principal(r *http.Request) *Principal {
	p, _ := PrincipalFromContext(r.Context())
	return p // the Require* wrappers guarantee one
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

type userResponse struct {
	User User `json:"user"`
}

type registerRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName"`
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	u, secret, err := s.Register(r.Context(), req.Email, req.Password, req.DisplayName, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.dropCurrentSession(r)
	s.setCookie(w, secret)
	noStore(w)
	respond.JSON(w, http.StatusCreated, userResponse{User: u})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	u, secret, err := s.Login(r.Context(), req.Email, req.Password, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.dropCurrentSession(r)
	s.setCookie(w, secret)
	noStore(w)
	respond.JSON(w, http.StatusOK, userResponse{User: u})
}

// dropCurrentSession ends the session the request came with, if any: a
// login always starts a fresh session id (no fixation).
func (s *Service) dropCurrentSession(r *http.Request) {
	if p, ok := PrincipalFromContext(r.Context()); ok && p.sessionHash != "" {
		_ = s.sessions.DeleteSession(r.Context(), p.sessionHash)
	}
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	if p, ok := PrincipalFromContext(r.Context()); ok && p.ViaSession() {
		if c, err := r.Cookie(s.cookie); err == nil {
			if err := s.Logout(r.Context(), c.Value, p.User.ID, s.meta(r)); err != nil {
				writeError(w, r, err)
				return
			}
		}
	}
	s.clearCookie(w)
	respond.NoContent(w)
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	respond.JSON(w, http.StatusOK, userResponse{User: principal(r).User})
}

type tokenRequest struct {
	Token string `json:"token"`
}

func (s *Service) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.VerifyEmail(r.Context(), req.Token, s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Service) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	if err := s.ResendVerification(r.Context(), principal(r).User, s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

type resetRequest struct {
	Email string `json:"email"`
}

func (s *Service) handleResetRequest(w http.ResponseWriter, r *http.Request) {
	var req resetRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.RequestPasswordReset(r.Context(), req.Email, s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

type resetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (s *Service) handleResetConfirm(w http.ResponseWriter, r *http.Request) {
	var req resetConfirmRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.ResetPassword(r.Context(), req.Token, req.Password, s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	s.clearCookie(w)
	respond.NoContent(w)
}

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

func (s *Service) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var req changePasswordRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	p := principal(r)
	secret, err := s.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.setCookie(w, secret)
	noStore(w)
	respond.JSON(w, http.StatusOK, userResponse{User: p.User})
}

type sessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	Current    bool      `json:"current"`
}

func (s *Service) handleListSessions(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	list, err := s.sessions.ListSessions(r.Context(), p.User.ID)
	if err != nil {
		writeError(w, r, apperr.E("session.ListSessions", apperr.Internal, err))
		return
	}
	out := make([]sessionView, 0, len(list))
	for _, ss := range list {
		if now().Sub(ss.LastSeenAt) > s.opts.IdleTimeout {
			continue
		}
		out = append(out, sessionView{ID: ss.ID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAt,
			IP: ss.IP, UserAgent: ss.UserAgent, Current: ss.ID == p.SessionID})
	}
	noStore(w)
	respond.JSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Service) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id := r.PathValue("id")
	if err := s.RevokeSession(r.Context(), p.User, id, s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	if id == p.SessionID {
		s.clearCookie(w)
	}
	respond.NoContent(w)
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) {
	const op = "session.Audit"
	q := r.URL.Query()
	limit, before := 50, int64(0)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.limits.AuditPageLimit {
			writeError(w, r, apperr.E(op, apperr.Invalid, err).WithCode("invalid_limit").
				WithMsg("limit must be from 1 to "+strconv.Itoa(s.limits.AuditPageLimit)+".").WithField("limit", "invalid"))
			return
		}
		limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, r, apperr.E(op, apperr.Invalid, err).WithCode("invalid_cursor").
				WithMsg("before must be a positive event id.").WithField("before", "invalid"))
			return
		}
		before = n
	}
	events, err := s.store.ListAudit(r.Context(), principal(r).User.ID, before, limit)
	if err != nil {
		writeError(w, r, apperr.E(op, apperr.Internal, err))
		return
	}
	resp := map[string]any{"events": events}
	if len(events) == limit {
		resp["nextBefore"] = events[len(events)-1].ID
	}
	noStore(w)
	respond.JSON(w, http.StatusOK, resp)
}

func (s *Service) handleListTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListTokens(r.Context(), principal(r).User.ID)
	if err != nil {
		writeError(w, r, apperr.E("session.ListTokens", apperr.Internal, err))
		return
	}
	noStore(w)
	respond.JSON(w, http.StatusOK, map[string]any{"tokens": list})
}

type createTokenRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresInDays int      `json:"expiresInDays"`
}

type createTokenResponse struct {
	Token
	Secret string `json:"token"`
}

func (s *Service) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	t, secret, err := s.CreateToken(r.Context(), principal(r).User, req.Name, req.Scopes, req.ExpiresInDays, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	noStore(w)
	respond.JSON(w, http.StatusCreated, createTokenResponse{Token: t, Secret: secret})
}

func (s *Service) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.RevokeToken(r.Context(), principal(r).User, r.PathValue("id"), s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Service) handleListTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := s.store.UserTeams(r.Context(), principal(r).User.ID)
	if err != nil {
		writeError(w, r, apperr.E("session.ListTeams", apperr.Internal, err))
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"teams": teams})
}

type createTeamRequest struct {
	Name string `json:"name"`
}

func (s *Service) handleCreateTeam(w http.ResponseWriter, r *http.Request) {
	var req createTeamRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	t, err := s.CreateTeam(r.Context(), principal(r).User, req.Name, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]any{"team": t})
}

func (s *Service) handleGetTeam(w http.ResponseWriter, r *http.Request) {
	t, members, err := s.Team(r.Context(), principal(r).User, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"team": t, "members": members})
}

func (s *Service) handleDeleteTeam(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteTeam(r.Context(), principal(r).User, r.PathValue("id"), s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}

type addMemberRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (s *Service) handleAddMember(w http.ResponseWriter, r *http.Request) {
	var req addMemberRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	m, err := s.AddTeamMember(r.Context(), principal(r).User, r.PathValue("id"), req.Email, req.Role, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]any{"member": m})
}

type setRoleRequest struct {
	Role string `json:"role"`
}

func (s *Service) handleSetRole(w http.ResponseWriter, r *http.Request) {
	var req setRoleRequest
	if err := respond.DecodeLimit(w, r, &req, maxAuthBody); err != nil {
		writeError(w, r, err)
		return
	}
	m, err := s.SetTeamRole(r.Context(), principal(r).User, r.PathValue("id"), r.PathValue("userId"), req.Role, s.meta(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"member": m})
}

func (s *Service) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if err := s.RemoveTeamMember(r.Context(), principal(r).User, r.PathValue("id"), r.PathValue("userId"), s.meta(r)); err != nil {
		writeError(w, r, err)
		return
	}
	respond.NoContent(w)
}
