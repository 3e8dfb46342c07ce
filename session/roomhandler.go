package session

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
)

// RoomAccess decides the room role of user in projectID: RoomRoleOwner,
// RoomRoleEditor or RoomRoleViewer, or an error (apperr NotFound or
// Forbidden when the user has no access). The module that owns projects
// supplies it.
type RoomAccess func(ctx context.Context, user User, projectID string) (role string, err error)

// RoomTokenResponse is the body RoomTokenHandler answers with.
type RoomTokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	Role      string    `json:"role"`
}

// RoomTokenHandler issues a room token for the project named by the
// route's {id} wildcard to the authenticated caller, with the role access
// grants. Mount it on a route with an {id} wildcard, for example
// "POST /api/v1/projects/{id}/room-token", and document that route in the
// OpenAPI document. Clients pass the token to the collab WebSocket
// (?token=) or the rtc signalling endpoint.
func (s *Service) RoomTokenHandler(access RoomAccess) http.Handler {
	return RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const op = "session.RoomToken"
		u := principal(r).User
		project := r.PathValue("id")
		if !roomIDPattern.MatchString(project) {
			respond.Error(w, r, apperr.E(op, apperr.NotFound, nil).WithCode("project_not_found").WithMsg("No such project."))
			return
		}
		role, err := access(r.Context(), u, project)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		tok, exp, err := s.rooms.Issue(r.Context(), u.ID, project, role)
		if errors.Is(err, ErrRoomClaims) {
			respond.Error(w, r, apperr.E(op, apperr.Internal, err)) // access returned a bad role
			return
		}
		if err != nil {
			respond.Error(w, r, apperr.E(op, apperr.Internal, err))
			return
		}
		noStore(w)
		respond.JSON(w, http.StatusOK, RoomTokenResponse{Token: tok, ExpiresAt: exp, Role: role})
	}))
}
