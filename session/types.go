package session

import (
	"context"
	"errors"
	"time"
)

// Errors of the stores. The service turns them into apperr kinds.
var (
	ErrNotFound   = errors.New("session: not found")
	ErrEmailTaken = errors.New("session: email already registered")
	ErrTokenUsed  = errors.New("session: token invalid, used or expired")
)

// User is an account as other modules see it.
type User struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	DisplayName   string    `json:"displayName"`
	EmailVerified bool      `json:"emailVerified"`
	CreatedAt     time.Time `json:"createdAt"`
}

// Session is one server-side login. The cookie holds a secret whose
// SHA-256 is TokenHash; ID is a separate public id for listing and
// revoking.
type Session struct {
	ID         string
	TokenHash  string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	IP         string
	UserAgent  string
}

// Sessions keeps sessions: in the database by default (*Store), in
// Redis when configured (*RedisSessions). Both pass one conformance suite.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns ErrNotFound for a missing or expired session.
	SessionByHash(ctx context.Context, tokenHash string) (Session, error)
	// TouchSession records activity; idle expiry counts from lastSeen.
	TouchSession(ctx context.Context, tokenHash string, lastSeen time.Time, idle time.Duration) error
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteSessionByID removes userID's session id; ErrNotFound if none.
	DeleteSessionByID(ctx context.Context, userID, id string) error
	// ListSessions returns userID's live sessions, newest first.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteUserSessions removes all of userID's sessions except the one
	// with exceptHash (may be empty) and reports how many went.
	DeleteUserSessions(ctx context.Context, userID, exceptHash string) (int, error)
}

// Token is a personal access token as listed (never its secret).
type Token struct {
	ID         string     `json:"id"`
	UserID     string     `json:"-"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

// Team roles, strongest first.
const (
	TeamRoleOwner  = "owner"
	TeamRoleAdmin  = "admin"
	TeamRoleMember = "member"
)

// Team is a group of users (a label with its artists, a collective).
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role,omitempty"` // the caller's role, when listed for a user
	CreatedAt time.Time `json:"createdAt"`
}

// TeamMember is one member of a team.
type TeamMember struct {
	UserID      string    `json:"userId"`
	Email       string    `json:"email"`
	DisplayName string    `json:"displayName"`
	Role        string    `json:"role"`
	JoinedAt    time.Time `json:"joinedAt"`
}

// Audit events.
const (
	EventRegister        = "register"
	EventLogin           = "login"
	EventLoginFailed     = "login_failed"
	EventLogout          = "logout"
	EventPasswordChange  = "password_change"
	EventPasswordReset   = "password_reset"
	EventResetRequested  = "password_reset_requested"
	EventEmailVerified   = "email_verified"
	EventTokenCreate     = "token_create"
	EventTokenRevoke     = "token_revoke"
	EventSessionRevoke   = "session_revoke"
	EventTeamCreate      = "team_create"
	EventTeamMemberAdd   = "team_member_add"
	EventTeamMemberRole  = "team_member_role"
	EventTeamMemberLeave = "team_member_remove"
	EventTeamDelete      = "team_delete"
)

// AuditEvent is one security event.
type AuditEvent struct {
	ID        int64     `json:"id"`
	UserID    string    `json:"-"`
	Event     string    `json:"event"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"userAgent"`
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"createdAt"`
}

// now is the time stored in the database: UTC, microseconds (PostgreSQL's
// precision), so what is read back equals what was written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
