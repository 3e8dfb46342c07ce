// Package projects is the Projects REST module: a project is a DAW
// document edited together in the collab hub, plus who may open it and
// how (owner, editor, viewer), invitations by email, a trash with a
// 30-day grace period, and named checkpoints of the document that can be
// downloaded or forked into a new project.
//
// The pieces, in the shape every API module has:
//
//   - projects.go: the types the API speaks (JSON camelCase) and errors.
//   - service.go: the rules (who may do what, limits, revocation of open
//     collab connections, invitation mail, the purge job in Run).
//   - store.go: the SQL, on *store.DB (migrations 00210_projects.sql).
//   - handler.go: Routes mounts /api/v1/projects/... and
//     /api/v1/invites/...
//
// Other modules ask Service.Access for a caller's role in a project; it
// answers project_not_found both for projects that do not exist and for
// projects the caller may not see, so existence never leaks.
package projects

import (
	"time"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

// Roles of a project member.
const (
	RoleOwner  = "owner"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// TrashRetention is how long a deleted project stays restorable before
// the purge job removes it with its document.
const TrashRetention = 30 * 24 * time.Hour

// InviteTTL is how long an invitation link stays valid.
const InviteTTL = 7 * 24 * time.Hour

// Project is a project as the caller sees it.
type Project struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OwnerID string `json:"ownerId"`
	// Role is the caller's role in the project.
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	DeletedAt *time.Time `json:"deletedAt"` // nil unless in the trash
	PurgeAt   *time.Time `json:"purgeAt"`   // nil unless in the trash
}

// DefaultPageSize is the size of a project list page without ?limit=.
const DefaultPageSize = 50

// ListQuery selects one page of a project list.
type ListQuery struct {
	// Trashed lists the caller's own projects in the trash instead.
	Trashed bool
	// Limit is the page size, 1 to Limits.MaxPageSize; 0 means
	// DefaultPageSize.
	Limit int
	// Before is ProjectPage.NextBefore of the previous page; "" starts
	// at the top.
	Before string
}

// ProjectPage is one page of a project list.
type ProjectPage struct {
	Projects []Project `json:"projects"`
	// NextBefore is the opaque cursor of the next page (pass it as
	// ?before=); empty on the last page.
	NextBefore string `json:"nextBefore,omitempty"`
}

// Member is one member of a project.
type Member struct {
	UserID      string    `json:"userId"`
	Email       string    `json:"email"`
	DisplayName string    `json:"displayName"`
	Role        string    `json:"role"`
	JoinedAt    time.Time `json:"joinedAt"`
}

// Invite is a pending invitation, as the project's owner sees it.
type Invite struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// InviteInfo is what the holder of an invitation link may see before
// signing in.
type InviteInfo struct {
	ProjectID   string `json:"projectId"`
	ProjectName string `json:"projectName"`
	Role        string `json:"role"`
	InviterName string `json:"inviterName"`
	Email       string `json:"email"`
}

// Checkpoint is a named copy of a project's document state.
type Checkpoint struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"` // user id
	Size      int64     `json:"size"`      // bytes of the stored yjs update
}

// RoomToken is the answer of POST /api/v1/projects/{id}/room-token.
type RoomToken struct {
	Token     string    `json:"token"`
	URL       string    `json:"url"` // y-websocket server URL; the client appends /{projectId}
	ExpiresAt time.Time `json:"expiresAt"`
	Role      string    `json:"role"`
}

// Limits bound what one user or project may hold. Zero fields take
// DefaultLimits.
type Limits struct {
	ProjectsPerUser       int // projects a user owns, trash included
	MembersPerProject     int
	InvitesPerProject     int // pending invitations
	CheckpointsPerProject int
	MaxNameRunes          int // project and checkpoint names
	// MaxDocumentBytes bounds a checkpoint (the document's full state).
	MaxDocumentBytes int
	// InviteMailsPerHour is how many invitation mails one user may send
	// per hour (burst InviteMailBurst).
	InviteMailsPerHour int
	InviteMailBurst    int
	// MaxPageSize is the largest page of the project list (?limit=).
	MaxPageSize int
}

// DefaultLimits apply to zero fields of Limits.
var DefaultLimits = Limits{
	ProjectsPerUser:       1000,
	MembersPerProject:     100,
	InvitesPerProject:     50,
	CheckpointsPerProject: 200,
	MaxNameRunes:          200,
	MaxDocumentBytes:      64 << 20,
	InviteMailsPerHour:    30,
	InviteMailBurst:       10,
	MaxPageSize:           200,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(p *int, v int) {
		if v > 0 {
			*p = v
		}
	}
	set(&d.ProjectsPerUser, l.ProjectsPerUser)
	set(&d.MembersPerProject, l.MembersPerProject)
	set(&d.InvitesPerProject, l.InvitesPerProject)
	set(&d.CheckpointsPerProject, l.CheckpointsPerProject)
	set(&d.MaxNameRunes, l.MaxNameRunes)
	set(&d.MaxDocumentBytes, l.MaxDocumentBytes)
	set(&d.InviteMailsPerHour, l.InviteMailsPerHour)
	set(&d.InviteMailBurst, l.InviteMailBurst)
	set(&d.MaxPageSize, l.MaxPageSize)
	return d
}

// Stable error codes, beside the kind names.
const (
	CodeProjectNotFound    = "project_not_found"
	CodeMemberNotFound     = "member_not_found"
	CodeInviteNotFound     = "invite_not_found"
	CodeCheckpointNotFound = "checkpoint_not_found"
	CodeInsufficientRole   = "insufficient_role"
	CodeInviteEmail        = "invite_email_mismatch"
	CodeAlreadyMember      = "already_member"
	CodeOwnerCannotLeave   = "owner_cannot_leave"
	CodeLimitReached       = "limit_reached"
	CodeRateLimited        = "rate_limited"
)

// errProjectNotFound is what a caller without access sees, whether or
// not the project exists.
func errProjectNotFound(op string) error {
	return apperr.E(op, apperr.NotFound, nil).WithCode(CodeProjectNotFound).WithMsg("No such project.")
}

func errRole(op, need string) error {
	return apperr.E(op, apperr.Forbidden, nil).WithCode(CodeInsufficientRole).
		WithMsg("This needs the " + need + " role in the project.")
}

func errLimit(op, what string, n int) error {
	return apperr.Msgf(op, apperr.Conflict, "Limit reached: at most %d %s.", n, what).WithCode(CodeLimitReached)
}
