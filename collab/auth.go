package collab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Principal is who a connection acts as, and with which role.
type Principal struct {
	UserID string
	Role   Role
}

// Authorizer decides, at WebSocket upgrade, whether a request may join a
// room. It returns an error wrapping ErrUnauthenticated (no or bad
// credentials) or ErrForbidden (valid credentials, no access).
type Authorizer interface {
	Authorize(r *http.Request, room string) (Principal, error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *http.Request, room string) (Principal, error)

// Authorize implements Authorizer.
func (f AuthorizerFunc) Authorize(r *http.Request, room string) (Principal, error) { return f(r, room) }

// Authorization errors.
var (
	ErrUnauthenticated = errors.New("collab: not authenticated")
	ErrForbidden       = errors.New("collab: no access to this room")
)

// RoomTokenAuthorizer admits requests carrying a valid room token for the
// room: in the "token" query parameter (what y-websocket's params option
// produces, `ws://host/collab/{projectId}?token=...`) or as an
// "Authorization: Bearer" header. Verify checks the token; wire it to
// session.RoomTokens.Verify:
//
//	collab.RoomTokenAuthorizer{Verify: func(ctx context.Context, tok string) (collab.RoomGrant, error) {
//		c, err := tokens.Verify(ctx, tok)
//		if err != nil {
//			return collab.RoomGrant{}, err
//		}
//		return collab.RoomGrant{UserID: c.UserID, ProjectID: c.ProjectID, Role: c.Role}, nil
//	}}
type RoomTokenAuthorizer struct {
	Verify func(ctx context.Context, token string) (RoomGrant, error)
}

// RoomGrant is what a verified room token says.
type RoomGrant struct {
	UserID    string
	ProjectID string
	Role      string // "viewer", "editor" or "owner"
}

// Authorize implements Authorizer.
func (a RoomTokenAuthorizer) Authorize(r *http.Request, room string) (Principal, error) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			tok = strings.TrimSpace(h[7:])
		}
	}
	if tok == "" {
		return Principal{}, fmt.Errorf("%w: no room token", ErrUnauthenticated)
	}
	g, err := a.Verify(r.Context(), tok)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if g.ProjectID != room {
		return Principal{}, fmt.Errorf("%w: token is for another project", ErrForbidden)
	}
	role, ok := ParseRole(g.Role)
	if !ok {
		return Principal{}, fmt.Errorf("%w: unknown role %q", ErrForbidden, g.Role)
	}
	if g.UserID == "" {
		return Principal{}, fmt.Errorf("%w: token names no user", ErrUnauthenticated)
	}
	return Principal{UserID: g.UserID, Role: role}, nil
}
