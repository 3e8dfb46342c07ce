package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
)

// roleRank orders team roles; higher is stronger.
func roleRank(role string) int {
	switch role {
	case TeamRoleOwner:
		return 3
	case TeamRoleAdmin:
		return 2
	case TeamRoleMember:
		return 1
	}
	return 0
}

// --- SQL ---

// createTeam inserts the team with creator as owner, refusing when the
// creator already owns max teams.
func (s *Store) createTeam(ctx context.Context, t Team, ownerID string, maxOwned int) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM team_members WHERE user_id = ? AND role = ?`, ownerID, TeamRoleOwner).Scan(&n); err != nil {
			return fmt.Errorf("session: count teams: %w", err)
		}
		if n >= maxOwned {
			return errLimit
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, t.CreatedAt); err != nil {
			return fmt.Errorf("session: create team: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			t.ID, ownerID, TeamRoleOwner, t.CreatedAt); err != nil {
			return fmt.Errorf("session: add owner: %w", err)
		}
		return nil
	})
}

var errLimit = errors.New("session: limit reached")

// TeamRole returns userID's role in teamID; ErrNotFound if not a member.
// Other modules authorize against it.
func (s *Store) TeamRole(ctx context.Context, teamID, userID string) (string, error) {
	var role string
	err := s.db.QueryRowContext(ctx, `SELECT role FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("session: team role: %w", err)
	}
	return role, nil
}

// UserTeams lists the teams userID belongs to with its role in each.
func (s *Store) UserTeams(ctx context.Context, userID string) ([]Team, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id, t.name, m.role, t.created_at FROM teams t
		JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ? ORDER BY t.created_at, t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list teams: %w", err)
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		var t Team
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt); err != nil {
			return nil, fmt.Errorf("session: list teams: %w", err)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) team(ctx context.Context, teamID string) (Team, error) {
	var t Team
	err := s.db.QueryRowContext(ctx, `SELECT id, name, created_at FROM teams WHERE id = ?`, teamID).Scan(&t.ID, &t.Name, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Team{}, ErrNotFound
	}
	if err != nil {
		return Team{}, fmt.Errorf("session: team: %w", err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, nil
}

// TeamMembers lists a team's members, strongest role first.
func (s *Store) TeamMembers(ctx context.Context, teamID string) ([]TeamMember, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.user_id, u.email, u.display_name, m.role, m.created_at
		FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ?
		ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.created_at, m.user_id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("session: team members: %w", err)
	}
	defer rows.Close()
	out := []TeamMember{}
	for rows.Next() {
		var m TeamMember
		if err := rows.Scan(&m.UserID, &m.Email, &m.DisplayName, &m.Role, &m.JoinedAt); err != nil {
			return nil, fmt.Errorf("session: team members: %w", err)
		}
		m.JoinedAt = m.JoinedAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// --- service ---

const maxTeamName = 100

func cleanTeamName(op, name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n == 0 || n > maxTeamName || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", apperr.E(op, apperr.Invalid, nil).WithCode("invalid_name").
			WithMsg(fmt.Sprintf("The team name must be 1 to %d characters without control characters.", maxTeamName)).
			WithField("name", "invalid")
	}
	return name, nil
}

func validTeamRole(role string) bool { return roleRank(role) > 0 }

var errTeamNotFound = apperr.E("session.team", apperr.NotFound, nil).WithCode("team_not_found").WithMsg("No such team.")

// TeamRole returns userID's role in teamID as an apperr NotFound when the
// user is not a member (teams are invisible to outsiders).
func (s *Service) TeamRole(ctx context.Context, teamID, userID string) (string, error) {
	if len(teamID) > 64 {
		return "", errTeamNotFound
	}
	role, err := s.store.TeamRole(ctx, teamID, userID)
	if errors.Is(err, ErrNotFound) {
		return "", errTeamNotFound
	}
	if err != nil {
		return "", apperr.E("session.TeamRole", apperr.Internal, err)
	}
	return role, nil
}

// CreateTeam makes a team owned by u.
func (s *Service) CreateTeam(ctx context.Context, u User, name string, m Meta) (Team, error) {
	const op = "session.CreateTeam"
	name, err := cleanTeamName(op, name)
	if err != nil {
		return Team{}, err
	}
	t := Team{ID: newID(), Name: name, Role: TeamRoleOwner, CreatedAt: now()}
	if err := s.store.createTeam(ctx, t, u.ID, s.limits.TeamsPerUser); err != nil {
		if errors.Is(err, errLimit) {
			return Team{}, apperr.E(op, apperr.Conflict, err).WithCode("limit_reached").
				WithMsg(fmt.Sprintf("You can own at most %d teams.", s.limits.TeamsPerUser))
		}
		return Team{}, apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventTeamCreate, m, t.ID)
	return t, nil
}

// Team returns a team and its members, for members only.
func (s *Service) Team(ctx context.Context, u User, teamID string) (Team, []TeamMember, error) {
	const op = "session.Team"
	role, err := s.TeamRole(ctx, teamID, u.ID)
	if err != nil {
		return Team{}, nil, err
	}
	t, err := s.store.team(ctx, teamID)
	if err != nil {
		return Team{}, nil, apperr.E(op, apperr.Internal, err)
	}
	t.Role = role
	members, err := s.store.TeamMembers(ctx, teamID)
	if err != nil {
		return Team{}, nil, apperr.E(op, apperr.Internal, err)
	}
	return t, members, nil
}

func forbiddenTeam(op string) error {
	return apperr.E(op, apperr.Forbidden, nil).WithCode("team_forbidden").WithMsg("Your role in this team does not allow this.")
}

// AddTeamMember adds the account with email to the team with role. Owners
// add anyone; admins add admins and members.
func (s *Service) AddTeamMember(ctx context.Context, u User, teamID, email, role string, m Meta) (TeamMember, error) {
	const op = "session.AddTeamMember"
	mine, err := s.TeamRole(ctx, teamID, u.ID)
	if err != nil {
		return TeamMember{}, err
	}
	if !validTeamRole(role) {
		return TeamMember{}, apperr.E(op, apperr.Invalid, nil).WithCode("invalid_role").WithMsg("The role must be owner, admin or member.").WithField("role", "invalid")
	}
	if roleRank(mine) < roleRank(TeamRoleAdmin) || roleRank(role) > roleRank(mine) {
		return TeamMember{}, forbiddenTeam(op)
	}
	norm, err := NormalizeEmail(email)
	if err != nil {
		return TeamMember{}, emailErr(op)
	}
	target, _, err := s.store.UserByEmail(ctx, norm)
	if errors.Is(err, ErrNotFound) {
		return TeamMember{}, apperr.E(op, apperr.NotFound, err).WithCode("user_not_found").WithMsg("No account has this email address.").WithField("email", "unknown")
	}
	if err != nil {
		return TeamMember{}, apperr.E(op, apperr.Internal, err)
	}
	t := now()
	err = s.opts.DB.WithTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM team_members WHERE team_id = ?`, teamID).Scan(&n); err != nil {
			return err
		}
		if n >= s.limits.MembersPerTeam {
			return errLimit
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, teamID, target.ID, role, t)
		return err
	})
	switch {
	case errors.Is(err, errLimit):
		return TeamMember{}, apperr.E(op, apperr.Conflict, err).WithCode("limit_reached").WithMsg("The team is full.")
	case store.IsUniqueViolation(err):
		return TeamMember{}, apperr.E(op, apperr.Conflict, err).WithCode("already_member").WithMsg("This account is already a member.")
	case err != nil:
		return TeamMember{}, apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventTeamMemberAdd, m, teamID+" "+target.ID+" "+role)
	return TeamMember{UserID: target.ID, Email: target.Email, DisplayName: target.DisplayName, Role: role, JoinedAt: t}, nil
}

// SetTeamRole changes a member's role. Owners change anyone's; admins
// change members and admins but cannot make owners. The last owner
// cannot step down.
func (s *Service) SetTeamRole(ctx context.Context, u User, teamID, userID, role string, m Meta) (TeamMember, error) {
	const op = "session.SetTeamRole"
	mine, err := s.TeamRole(ctx, teamID, u.ID)
	if err != nil {
		return TeamMember{}, err
	}
	if !validTeamRole(role) {
		return TeamMember{}, apperr.E(op, apperr.Invalid, nil).WithCode("invalid_role").WithMsg("The role must be owner, admin or member.").WithField("role", "invalid")
	}
	var out TeamMember
	err = s.opts.DB.WithTx(ctx, func(tx *store.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT role FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.E(op, apperr.NotFound, err).WithCode("member_not_found").WithMsg("No such member.")
		}
		if err != nil {
			return err
		}
		if roleRank(mine) < roleRank(TeamRoleAdmin) || roleRank(cur) > roleRank(mine) || roleRank(role) > roleRank(mine) {
			return forbiddenTeam(op)
		}
		if cur == TeamRoleOwner && role != TeamRoleOwner {
			if err := lastOwnerCheck(ctx, tx, teamID, op); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE team_members SET role = ? WHERE team_id = ? AND user_id = ?`, role, teamID, userID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT m.user_id, u.email, u.display_name, m.role, m.created_at FROM team_members m
			JOIN users u ON u.id = m.user_id WHERE m.team_id = ? AND m.user_id = ?`, teamID, userID).
			Scan(&out.UserID, &out.Email, &out.DisplayName, &out.Role, &out.JoinedAt)
	})
	if err != nil {
		if apperr.KindOf(err) != apperr.Internal {
			return TeamMember{}, err
		}
		return TeamMember{}, apperr.E(op, apperr.Internal, err)
	}
	out.JoinedAt = out.JoinedAt.UTC()
	s.audit(ctx, u.ID, EventTeamMemberRole, m, teamID+" "+userID+" "+role)
	return out, nil
}

func lastOwnerCheck(ctx context.Context, tx *store.Tx, teamID, op string) error {
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM team_members WHERE team_id = ? AND role = ?`, teamID, TeamRoleOwner).Scan(&owners); err != nil {
		return err
	}
	if owners <= 1 {
		return apperr.E(op, apperr.Conflict, nil).WithCode("last_owner").WithMsg("A team needs at least one owner; make someone else owner first.")
	}
	return nil
}

// RemoveTeamMember removes a member. Anyone may leave; admins remove
// members and admins; owners remove anyone; the last owner cannot go.
func (s *Service) RemoveTeamMember(ctx context.Context, u User, teamID, userID string, m Meta) error {
	const op = "session.RemoveTeamMember"
	mine, err := s.TeamRole(ctx, teamID, u.ID)
	if err != nil {
		return err
	}
	err = s.opts.DB.WithTx(ctx, func(tx *store.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT role FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.E(op, apperr.NotFound, err).WithCode("member_not_found").WithMsg("No such member.")
		}
		if err != nil {
			return err
		}
		if userID != u.ID && (roleRank(mine) < roleRank(TeamRoleAdmin) || roleRank(cur) > roleRank(mine)) {
			return forbiddenTeam(op)
		}
		if cur == TeamRoleOwner {
			if err := lastOwnerCheck(ctx, tx, teamID, op); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID)
		return err
	})
	if err != nil {
		if apperr.KindOf(err) != apperr.Internal {
			return err
		}
		return apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventTeamMemberLeave, m, teamID+" "+userID)
	return nil
}

// DeleteTeam deletes a team; owners only.
func (s *Service) DeleteTeam(ctx context.Context, u User, teamID string, m Meta) error {
	const op = "session.DeleteTeam"
	mine, err := s.TeamRole(ctx, teamID, u.ID)
	if err != nil {
		return err
	}
	if mine != TeamRoleOwner {
		return forbiddenTeam(op)
	}
	if _, err := s.opts.DB.ExecContext(ctx, `DELETE FROM teams WHERE id = ?`, teamID); err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventTeamDelete, m, teamID)
	return nil
}
