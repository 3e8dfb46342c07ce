package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/maxbooster/maxbooster/store"
)

// Errors of the Store; the Service turns them into apperr kinds.
var (
	ErrNotFound = errors.New("projects: not found")
	ErrConflict = errors.New("projects: conflict")
)

// Store is the module's SQL on *store.DB (tables projects,
// project_members, project_invites, project_checkpoints). Queries are
// written once with ? placeholders and run on SQLite and PostgreSQL.
type Store struct {
	db *store.DB
}

// NewStore returns a Store on db, which must be migrated.
func NewStore(db *store.DB) *Store { return &Store{db: db} }

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// lockLive locks a project row for the rest of tx and checks that it is
// not in the trash (ErrNotFound otherwise). Counting a project's members
// or checkpoints and then inserting one is a race under PostgreSQL's read
// committed isolation (two transactions both see one slot left) unless
// both take this lock first; SQLite's BEGIN IMMEDIATE already serializes
// writers.
func lockLive(ctx context.Context, tx *store.Tx, projectID string) error {
	q := `SELECT COUNT(*) FROM projects WHERE id = ? AND deleted_at IS NULL`
	if tx.Dialect() == store.Postgres {
		q = `SELECT COUNT(*) FROM (SELECT id FROM projects WHERE id = ? AND deleted_at IS NULL FOR UPDATE) p`
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, projectID).Scan(&n); err != nil {
		return fmt.Errorf("projects: lock project: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateProject inserts p and makes p.OwnerID its owner.
func (s *Store) CreateProject(ctx context.Context, p Project) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO projects (id, name, owner_id, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.OwnerID, p.CreatedAt.UTC(), p.UpdatedAt.UTC(), optTime(p.DeletedAt)); err != nil {
			return fmt.Errorf("projects: create: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)`,
			p.ID, p.OwnerID, RoleOwner, p.CreatedAt.UTC()); err != nil {
			return fmt.Errorf("projects: create owner: %w", err)
		}
		return nil
	})
}

// CountOwned returns how many projects userID owns, trash included.
func (s *Store) CountOwned(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE owner_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("projects: count owned: %w", err)
	}
	return n, nil
}

const projectCols = `p.id, p.name, p.owner_id, m.role, p.created_at, p.updated_at, p.deleted_at`

func scanProject(row interface{ Scan(...any) error }) (Project, error) {
	var (
		p   Project
		del sql.NullTime
	)
	if err := row.Scan(&p.ID, &p.Name, &p.OwnerID, &p.Role, &p.CreatedAt, &p.UpdatedAt, &del); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), nullTime(del)
	return p, nil
}

// ProjectFor returns project id with userID's role in it, trashed or
// not; ErrNotFound when it does not exist or userID is not a member.
func (s *Store) ProjectFor(ctx context.Context, id, userID string) (Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects p
		JOIN project_members m ON m.project_id = p.id AND m.user_id = ? WHERE p.id = ?`, userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("projects: get: %w", err)
	}
	return p, nil
}

// ListCursor is a position in a project list: the sort key (updated_at,
// or deleted_at in the trash) and the id of the last project already
// listed. The zero value is the start of the list.
type ListCursor struct {
	At time.Time
	ID string
}

// ListFor returns userID's projects, most recently updated first (ties by
// id): those not in the trash where userID is a member, or (trashed) those
// in the trash that userID owns, most recently deleted first. It starts
// after the cursor and returns at most limit rows.
func (s *Store) ListFor(ctx context.Context, userID string, trashed bool, after ListCursor, limit int) ([]Project, error) {
	key, where := "p.updated_at", "p.deleted_at IS NULL"
	if trashed {
		key, where = "p.deleted_at", "p.deleted_at IS NOT NULL AND p.owner_id = m.user_id"
	}
	q := `SELECT ` + projectCols + ` FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = ? WHERE ` + where
	args := []any{userID}
	if after.ID != "" {
		q += ` AND (` + key + ` < ? OR (` + key + ` = ? AND p.id > ?))`
		args = append(args, after.At.UTC(), after.At.UTC(), after.ID)
	}
	q += ` ORDER BY ` + key + ` DESC, p.id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("projects: list: %w", err)
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("projects: list: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: list: %w", err)
	}
	return out, nil
}

func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("projects: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("projects: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Rename sets a project's name.
func (s *Store) Rename(ctx context.Context, id, name string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE projects SET name = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`, name, now.UTC(), id)
	return affectedOne(res, err, "rename")
}

// SetDeleted moves a project to the trash (deletedAt set) or out of it
// (nil). Restoring a project whose trash time is before notBefore fails
// with ErrNotFound: the purge job may be removing it.
func (s *Store) SetDeleted(ctx context.Context, id string, deletedAt *time.Time, now, notBefore time.Time) error {
	if deletedAt != nil {
		res, err := s.db.ExecContext(ctx, `UPDATE projects SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`,
			deletedAt.UTC(), now.UTC(), id)
		return affectedOne(res, err, "delete")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE projects SET deleted_at = NULL, updated_at = ? WHERE id = ? AND deleted_at IS NOT NULL AND deleted_at > ?`,
		now.UTC(), id, notBefore.UTC())
	return affectedOne(res, err, "restore")
}

// Members returns the members of a project, owner first, then by join
// time.
func (s *Store) Members(ctx context.Context, projectID string) ([]Member, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.user_id, u.email, u.display_name, m.role, m.joined_at
		FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ?
		ORDER BY CASE m.role WHEN 'owner' THEN 0 ELSE 1 END, m.joined_at, m.user_id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("projects: members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.UserID, &m.Email, &m.DisplayName, &m.Role, &m.JoinedAt); err != nil {
			return nil, fmt.Errorf("projects: members: %w", err)
		}
		m.JoinedAt = m.JoinedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: members: %w", err)
	}
	return out, nil
}

// Member returns one member; ErrNotFound if userID is not one.
func (s *Store) Member(ctx context.Context, projectID, userID string) (Member, error) {
	var m Member
	err := s.db.QueryRowContext(ctx, `SELECT m.user_id, u.email, u.display_name, m.role, m.joined_at
		FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? AND m.user_id = ?`, projectID, userID).
		Scan(&m.UserID, &m.Email, &m.DisplayName, &m.Role, &m.JoinedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("projects: member: %w", err)
	}
	m.JoinedAt = m.JoinedAt.UTC()
	return m, nil
}

// MemberByEmail reports whether the account with email (lower case) is a
// member of the project.
func (s *Store) MemberByEmail(ctx context.Context, projectID, email string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = ? AND u.email = ?`, projectID, email).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("projects: member by email: %w", err)
	}
	return n > 0, nil
}

// CountMembers returns the number of members of a project.
func (s *Store) CountMembers(ctx context.Context, projectID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_members WHERE project_id = ?`, projectID).Scan(&n); err != nil {
		return 0, fmt.Errorf("projects: count members: %w", err)
	}
	return n, nil
}

// SetMemberRole changes a non-owner member's role; ErrNotFound when
// userID is not a member or is the owner.
func (s *Store) SetMemberRole(ctx context.Context, projectID, userID, role string, now time.Time) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE project_members SET role = ? WHERE project_id = ? AND user_id = ? AND role <> 'owner'`,
			role, projectID, userID)
		if err := affectedOne(res, err, "set role"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE projects SET updated_at = ? WHERE id = ?`, now.UTC(), projectID)
		return err
	})
}

// RemoveMember removes a non-owner member; ErrNotFound when userID is not
// a member or is the owner.
func (s *Store) RemoveMember(ctx context.Context, projectID, userID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM project_members WHERE project_id = ? AND user_id = ? AND role <> 'owner'`, projectID, userID)
	return affectedOne(res, err, "remove member")
}

// Transfer makes member to the owner and the current owner from an
// editor. ErrNotFound when from is not the owner or to is not a member.
func (s *Store) Transfer(ctx context.Context, projectID, from, to string, now time.Time) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE project_members SET role = 'editor' WHERE project_id = ? AND user_id = ? AND role = 'owner'`, projectID, from)
		if err := affectedOne(res, err, "transfer"); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE project_members SET role = 'owner' WHERE project_id = ? AND user_id = ?`, projectID, to)
		if err := affectedOne(res, err, "transfer"); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE projects SET owner_id = ?, updated_at = ? WHERE id = ? AND owner_id = ?`, to, now.UTC(), projectID, from)
		return affectedOne(res, err, "transfer")
	})
}

// MemberIDs returns the user ids of every member of a project.
func (s *Store) MemberIDs(ctx context.Context, projectID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM project_members WHERE project_id = ? ORDER BY user_id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("projects: member ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("projects: member ids: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// inviteRecord is an invite row with what the Store needs besides the API
// fields.
type inviteRecord struct {
	Invite
	ProjectID string
	TokenHash string
	InvitedBy string
}

// CreateInvite stores an invitation, replacing any earlier one for the
// same email in the same project (a re-invite sends a fresh link).
func (s *Store) CreateInvite(ctx context.Context, inv inviteRecord) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM project_invites WHERE project_id = ? AND email = ?`, inv.ProjectID, inv.Email); err != nil {
			return fmt.Errorf("projects: replace invite: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO project_invites (id, project_id, email, role, token_hash, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, inv.ID, inv.ProjectID, inv.Email, inv.Role, inv.TokenHash, inv.InvitedBy,
			inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()); err != nil {
			return fmt.Errorf("projects: create invite: %w", err)
		}
		return nil
	})
}

// Invites returns a project's invitations still valid at now, newest
// first.
func (s *Store) Invites(ctx context.Context, projectID string, now time.Time) ([]Invite, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, email, role, created_at, expires_at FROM project_invites
		WHERE project_id = ? AND expires_at > ? ORDER BY created_at DESC, id`, projectID, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("projects: invites: %w", err)
	}
	defer rows.Close()
	out := []Invite{}
	for rows.Next() {
		var i Invite
		if err := rows.Scan(&i.ID, &i.Email, &i.Role, &i.CreatedAt, &i.ExpiresAt); err != nil {
			return nil, fmt.Errorf("projects: invites: %w", err)
		}
		i.CreatedAt, i.ExpiresAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC()
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: invites: %w", err)
	}
	return out, nil
}

// CountInvites returns the number of a project's invitations valid at
// now, not counting those for email (which a new invite would replace).
func (s *Store) CountInvites(ctx context.Context, projectID, email string, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_invites WHERE project_id = ? AND expires_at > ? AND email <> ?`,
		projectID, now.UTC(), email).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("projects: count invites: %w", err)
	}
	return n, nil
}

// InviteByHash returns the invitation with the token hash, valid at now,
// for a project not in the trash, with what its link page shows.
func (s *Store) InviteByHash(ctx context.Context, tokenHash string, now time.Time) (inviteRecord, InviteInfo, error) {
	var (
		r    inviteRecord
		info InviteInfo
	)
	err := s.db.QueryRowContext(ctx, `SELECT i.id, i.project_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at,
			p.name, COALESCE(u.display_name, '')
		FROM project_invites i JOIN projects p ON p.id = i.project_id LEFT JOIN users u ON u.id = i.invited_by
		WHERE i.token_hash = ? AND i.expires_at > ? AND p.deleted_at IS NULL`, tokenHash, now.UTC()).
		Scan(&r.ID, &r.ProjectID, &r.Email, &r.Role, &r.InvitedBy, &r.CreatedAt, &r.ExpiresAt, &info.ProjectName, &info.InviterName)
	if errors.Is(err, sql.ErrNoRows) {
		return r, info, ErrNotFound
	}
	if err != nil {
		return r, info, fmt.Errorf("projects: invite: %w", err)
	}
	r.TokenHash = tokenHash
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	info.ProjectID, info.Role, info.Email = r.ProjectID, r.Role, r.Email
	return r, info, nil
}

// AcceptInvite consumes the invitation (single use) and adds userID to
// its project with its role; someone who already is a member keeps the
// role they have. ErrNotFound when the invitation was used meanwhile or
// its project went to the trash; ErrConflict when the project would
// exceed maxMembers.
func (s *Store) AcceptInvite(ctx context.Context, inv inviteRecord, userID string, maxMembers int, now time.Time) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := lockLive(ctx, tx, inv.ProjectID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM project_invites WHERE id = ? AND token_hash = ?`, inv.ID, inv.TokenHash)
		if err := affectedOne(res, err, "accept invite"); err != nil {
			return err
		}
		var have, n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_members WHERE project_id = ? AND user_id = ?`, inv.ProjectID, userID).Scan(&have); err != nil {
			return fmt.Errorf("projects: accept invite: %w", err)
		}
		if have > 0 {
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_members WHERE project_id = ?`, inv.ProjectID).Scan(&n); err != nil {
			return fmt.Errorf("projects: accept invite: %w", err)
		}
		if n >= maxMembers {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)`,
			inv.ProjectID, userID, inv.Role, now.UTC()); err != nil {
			return fmt.Errorf("projects: accept invite: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE projects SET updated_at = ? WHERE id = ?`, now.UTC(), inv.ProjectID)
		return err
	})
}

// DeleteInvite removes a pending invitation of a project.
func (s *Store) DeleteInvite(ctx context.Context, projectID, inviteID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM project_invites WHERE project_id = ? AND id = ?`, projectID, inviteID)
	return affectedOne(res, err, "delete invite")
}

// DeleteExpiredInvites removes invitations that expired before now.
func (s *Store) DeleteExpiredInvites(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM project_invites WHERE expires_at <= ?`, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("projects: delete expired invites: %w", err)
	}
	return res.RowsAffected()
}

// CreateCheckpoint stores a checkpoint with the document state, unless
// the project already has max of them (ErrConflict) or is in the trash
// (ErrNotFound).
func (s *Store) CreateCheckpoint(ctx context.Context, projectID string, c Checkpoint, state []byte, maxPerProject int) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := lockLive(ctx, tx, projectID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_checkpoints WHERE project_id = ?`, projectID).Scan(&n); err != nil {
			return fmt.Errorf("projects: count checkpoints: %w", err)
		}
		if n >= maxPerProject {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO project_checkpoints (id, project_id, name, created_by, created_at, size, state)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, projectID, c.Name, c.CreatedBy, c.CreatedAt.UTC(), int64(len(state)), state); err != nil {
			return fmt.Errorf("projects: create checkpoint: %w", err)
		}
		return nil
	})
}

// Checkpoints lists a project's checkpoints, newest first.
func (s *Store) Checkpoints(ctx context.Context, projectID string) ([]Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created_by, created_at, size FROM project_checkpoints
		WHERE project_id = ? ORDER BY created_at DESC, id DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("projects: checkpoints: %w", err)
	}
	defer rows.Close()
	out := []Checkpoint{}
	for rows.Next() {
		var c Checkpoint
		if err := rows.Scan(&c.ID, &c.Name, &c.CreatedBy, &c.CreatedAt, &c.Size); err != nil {
			return nil, fmt.Errorf("projects: checkpoints: %w", err)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: checkpoints: %w", err)
	}
	return out, nil
}

// CheckpointState returns a checkpoint and its stored document state.
func (s *Store) CheckpointState(ctx context.Context, projectID, id string) (Checkpoint, []byte, error) {
	var (
		c     Checkpoint
		state []byte
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, name, created_by, created_at, size, state FROM project_checkpoints
		WHERE project_id = ? AND id = ?`, projectID, id).Scan(&c.ID, &c.Name, &c.CreatedBy, &c.CreatedAt, &c.Size, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil, ErrNotFound
	}
	if err != nil {
		return c, nil, fmt.Errorf("projects: checkpoint: %w", err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, state, nil
}

// TrashedBefore returns up to limit ids of projects trashed before t.
func (s *Store) TrashedBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ? ORDER BY deleted_at, id LIMIT ?`,
		t.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("projects: trashed: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("projects: trashed: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Purge removes a project trashed before t, with its members, invites and
// checkpoints. ErrNotFound if it is not (or no longer) such a project.
func (s *Store) Purge(ctx context.Context, id string, t time.Time) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE id = ? AND deleted_at IS NOT NULL AND deleted_at <= ?`,
			id, t.UTC()).Scan(&n); err != nil {
			return fmt.Errorf("projects: purge: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		for _, q := range []string{
			`DELETE FROM project_checkpoints WHERE project_id = ?`,
			`DELETE FROM project_invites WHERE project_id = ?`,
			`DELETE FROM project_members WHERE project_id = ?`,
			`DELETE FROM projects WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("projects: purge: %w", err)
			}
		}
		return nil
	})
}
