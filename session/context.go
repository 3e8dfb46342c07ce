package session

import (
	"context"
	"slices"
)

// Token scopes. A personal access token carries some of them; a browser
// session has all. The middleware requires ScopeRead for safe methods and
// ScopeWrite for the others; modules may check more with RequireScope.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// KnownScopes are the scopes a token may be given.
var KnownScopes = []string{ScopeRead, ScopeWrite}

// Principal is the authenticated caller of a request.
type Principal struct {
	User User
	// SessionID is the public id of the browser session, when the caller
	// came with the session cookie.
	SessionID string
	// TokenID is the personal access token's id, when the caller came
	// with Authorization: Bearer.
	TokenID string
	// Scopes of the token; nil for a browser session, which has all.
	Scopes []string

	sessionHash string
}

// ViaSession reports whether the caller is a browser session (not a token).
func (p *Principal) ViaSession() bool { return p.SessionID != "" }

// HasScope reports whether the caller may act with scope.
func (p *Principal) HasScope(scope string) bool {
	return p.Scopes == nil || slices.Contains(p.Scopes, scope)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The middleware does this; tests of
// other modules may too.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the authenticated caller, if any.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// UserFromContext returns the authenticated user, if any.
func UserFromContext(ctx context.Context) (User, bool) {
	if p, ok := PrincipalFromContext(ctx); ok {
		return p.User, true
	}
	return User{}, false
}

// HasScope reports whether the caller in ctx is authenticated and may act
// with scope.
func HasScope(ctx context.Context, scope string) bool {
	p, ok := PrincipalFromContext(ctx)
	return ok && p.HasScope(scope)
}
