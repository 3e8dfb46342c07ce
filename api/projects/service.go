package projects

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/session/ratelimit"
	"github.com/maxbooster/maxbooster/store"
)

// Hub is what the service needs from the collab hub (*collab.Hub): apply
// membership changes to open connections (role 0 disconnects), read a
// project document's whole state, and start a forked document.
type Hub interface {
	Revoke(ctx context.Context, roomID, userID string, role collab.Role) error
	State(ctx context.Context, roomID string) ([]byte, error)
	Apply(ctx context.Context, roomID string, update []byte) error
}

var _ Hub = (*collab.Hub)(nil)

// DocStore is the collab update log, as the service uses it: the purge
// job deletes a purged project's document. *store.DocStore has it.
type DocStore interface {
	Delete(ctx context.Context, room string) error
}

var _ DocStore = (*store.DocStore)(nil)

// AuditFunc records a security-relevant event of userID (session's audit
// log). detail is a short free text.
type AuditFunc func(ctx context.Context, userID, event, detail string)

// Audit events the service records.
const (
	EventCreate       = "project_create"
	EventDelete       = "project_delete"
	EventRestore      = "project_restore"
	EventInvite       = "project_invite"
	EventInviteCancel = "project_invite_cancel"
	EventInviteAccept = "project_invite_accept"
	EventMemberRole   = "project_member_role"
	EventMemberRemove = "project_member_remove"
	EventTransfer     = "project_transfer"
	EventPurge        = "project_purge"
)

// Settings are the tunables of the module; api.Deps carries them. Zero
// values mean the defaults.
type Settings struct {
	// Now is the clock; default time.Now. Tests move it to see the trash
	// purged and invitations expire.
	Now func() time.Time
	// PurgeEvery is how often Run purges the trash and expired invites;
	// default one hour.
	PurgeEvery time.Duration
	Limits     Limits
}

// Options configure a Service. DB, Docs, Hub and Tokens are required.
type Options struct {
	DB     *store.DB
	Docs   DocStore
	Hub    Hub
	Tokens *session.RoomTokens
	Logger *slog.Logger // default: discard
	// Mailer sends invitations; required for Invite.
	Mailer mail.Mailer
	// PublicURL is the base of invitation links and of the collab URL;
	// default http://127.0.0.1:8080 (room tokens then use the request's
	// host).
	PublicURL *url.URL
	// Redis, when set, holds the invitation-mail rate limit so every node
	// shares it. Nil: in-process.
	Redis       redis.UniversalClient
	RedisPrefix string    // default "mb:"
	Audit       AuditFunc // nil: no audit entries
	Settings
}

// Service holds the rules of the module. Build it with New, mount it
// with Routes, and run its background work with Run.
type Service struct {
	opts    Options
	st      *Store
	log     *slog.Logger
	now     func() time.Time
	limits  Limits
	limiter ratelimit.Limiter
	mails   chan mail.Message
}

// New checks opts and builds a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Docs == nil || opts.Hub == nil || opts.Tokens == nil {
		return nil, errors.New("projects: Options.DB, Docs, Hub and Tokens are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RedisPrefix == "" {
		opts.RedisPrefix = "mb:"
	}
	if opts.PurgeEvery <= 0 {
		opts.PurgeEvery = time.Hour
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{
		opts: opts, st: NewStore(opts.DB), log: opts.Logger,
		now:    func() time.Time { return now().UTC().Truncate(time.Microsecond) },
		limits: opts.Limits.withDefaults(),
		mails:  make(chan mail.Message, 1000),
	}
	if opts.Redis != nil {
		s.limiter = ratelimit.NewRedis(opts.Redis, opts.RedisPrefix+"projects:rl:")
	} else {
		s.limiter = ratelimit.NewMemory(nil)
	}
	return s, nil
}

// Store returns the service's SQL store.
func (s *Service) Store() *Store { return s.st }

// Run sends queued invitation mail and purges projects trashed more than
// TrashRetention ago (with their documents) and expired invitations: a
// minute after it starts (so nodes that restart often still purge), then
// every PurgeEvery, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTimer(min(s.opts.PurgeEvery, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.mails:
			s.send(ctx, m)
		case <-t.C:
			if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "projects: purge", slog.String("error", err.Error()))
			}
			t.Reset(s.opts.PurgeEvery)
		}
	}
}

func (s *Service) send(ctx context.Context, m mail.Message) {
	if s.opts.Mailer == nil {
		s.log.ErrorContext(ctx, "projects: no mailer, invitation not sent")
		return
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.opts.Mailer.Send(mctx, m); err != nil {
		s.log.ErrorContext(ctx, "projects: send invitation", slog.String("error", err.Error()))
	}
}

// Purge removes, for good, every project trashed more than
// TrashRetention ago: first its document log, then its rows. It also
// drops expired invitations. It returns how many projects it purged.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.now()
	if _, err := s.st.DeleteExpiredInvites(ctx, now); err != nil {
		return 0, err
	}
	cutoff := now.Add(-TrashRetention)
	n := 0
	for {
		ids, err := s.st.TrashedBefore(ctx, cutoff, 100)
		if err != nil {
			return n, err
		}
		if len(ids) == 0 {
			return n, nil
		}
		for _, id := range ids {
			if err := s.opts.Docs.Delete(ctx, id); err != nil {
				return n, fmt.Errorf("projects: purge document %s: %w", id, err)
			}
			if err := s.st.Purge(ctx, id, cutoff); err != nil && !errors.Is(err, ErrNotFound) {
				return n, err
			}
			n++
			s.log.InfoContext(ctx, "projects: purged", slog.String("project_id", id))
		}
	}
}

// Access returns userID's role in projectID ("owner", "editor" or
// "viewer"), or an apperr NotFound (code project_not_found) when the
// project does not exist, is in the trash, or userID is not a member.
// Other modules (assets, rtc, the collab authorizer) call it.
func (s *Service) Access(ctx context.Context, userID, projectID string) (string, error) {
	p, err := s.project(ctx, "projects.Access", userID, projectID)
	if err != nil {
		return "", err
	}
	return p.Role, nil
}

// RoomAccess adapts Access to session.RoomAccess.
func (s *Service) RoomAccess(ctx context.Context, u session.User, projectID string) (string, error) {
	return s.Access(ctx, u.ID, projectID)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// lookup returns the project with the caller's role, trashed or not.
func (s *Service) lookup(ctx context.Context, op, userID, id string) (Project, error) {
	if !idPattern.MatchString(id) {
		return Project{}, errProjectNotFound(op)
	}
	p, err := s.st.ProjectFor(ctx, id, userID)
	if errors.Is(err, ErrNotFound) {
		return p, errProjectNotFound(op)
	}
	if err != nil {
		return p, apperr.E(op, apperr.Internal, err)
	}
	if p.DeletedAt != nil {
		t := p.DeletedAt.Add(TrashRetention)
		p.PurgeAt = &t
	}
	return p, nil
}

// project returns a live (not trashed) project the caller is a member of.
func (s *Service) project(ctx context.Context, op, userID, id string) (Project, error) {
	p, err := s.lookup(ctx, op, userID, id)
	if err != nil {
		return p, err
	}
	if p.DeletedAt != nil {
		return p, errProjectNotFound(op)
	}
	return p, nil
}

// projectAs is project plus a role check: owner needs owner, editor
// accepts owner or editor.
func (s *Service) projectAs(ctx context.Context, op, userID, id, need string) (Project, error) {
	p, err := s.project(ctx, op, userID, id)
	if err != nil {
		return p, err
	}
	switch {
	case need == RoleOwner && p.Role != RoleOwner:
		return p, errRole(op, RoleOwner)
	case need == RoleEditor && p.Role != RoleOwner && p.Role != RoleEditor:
		return p, errRole(op, "editor or owner")
	}
	return p, nil
}

func (s *Service) cleanName(op, field, name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	bad := !utf8.ValidString(name) || n == 0 || n > s.limits.MaxNameRunes
	for _, r := range name {
		if unicode.IsControl(r) {
			bad = true
		}
	}
	if bad {
		return "", apperr.Msgf(op, apperr.Invalid, "The %s must be 1 to %d characters, without control characters.", field, s.limits.MaxNameRunes).
			WithCode("invalid_name").WithField(field, "1 to "+fmt.Sprint(s.limits.MaxNameRunes)+" characters")
	}
	return name, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

const invitePrefix = "mbi_"

func newInviteToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return invitePrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func validInviteToken(tok string) bool {
	if len(tok) > 128 || !strings.HasPrefix(tok, invitePrefix) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[len(invitePrefix):])
	return err == nil && len(b) == 32
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func (s *Service) audit(ctx context.Context, userID, event, detail string) {
	if s.opts.Audit != nil {
		s.opts.Audit(ctx, userID, event, detail)
	}
}

// revoke applies a membership change to userID's open collab
// connections. The change is already committed, so a failure is logged,
// not returned; the collab authorizer also checks Access on every join.
func (s *Service) revoke(ctx context.Context, projectID, userID string, role collab.Role) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.opts.Hub.Revoke(rctx, projectID, userID, role); err != nil {
		s.log.ErrorContext(ctx, "projects: revoke collab access", slog.String("project_id", projectID),
			slog.String("user_id", userID), slog.String("error", err.Error()))
	}
}

func collabRole(role string) collab.Role {
	r, _ := collab.ParseRole(role)
	return r
}

// Create makes a new, empty project owned by u.
func (s *Service) Create(ctx context.Context, u session.User, name string) (Project, error) {
	const op = "projects.Create"
	name, err := s.cleanName(op, "name", name)
	if err != nil {
		return Project{}, err
	}
	return s.create(ctx, op, u, name, nil)
}

// create inserts a project owned by u; state, when not nil, becomes its
// document's first log entry.
func (s *Service) create(ctx context.Context, op string, u session.User, name string, state []byte) (Project, error) {
	n, err := s.st.CountOwned(ctx, u.ID)
	if err != nil {
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	if n >= s.limits.ProjectsPerUser {
		return Project{}, errLimit(op, "projects per user", s.limits.ProjectsPerUser)
	}
	now := s.now()
	p := Project{ID: newID(), Name: name, OwnerID: u.ID, Role: RoleOwner, CreatedAt: now, UpdatedAt: now}
	if state != nil {
		if err := s.appendState(ctx, p.ID, state); err != nil {
			return Project{}, apperr.E(op, apperr.Internal, err)
		}
	}
	if err := s.st.CreateProject(ctx, p); err != nil {
		if state != nil {
			_ = s.opts.Docs.Delete(context.WithoutCancel(ctx), p.ID) // best effort: nobody can reach it
		}
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventCreate, "project "+p.ID)
	return p, nil
}

// List returns a page of u's projects, most recently updated first (ties
// by id); with q.Trashed, the projects u owns that are in the trash, most
// recently deleted first. Pages follow each other by a keyset cursor, so
// paging never shows a project twice; a project changed while a client
// pages moves to the top of the list, where the next pass finds it.
func (s *Service) List(ctx context.Context, u session.User, q ListQuery) (ProjectPage, error) {
	const op = "projects.List"
	limit := q.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > s.limits.MaxPageSize {
		return ProjectPage{}, errLimitParam(op, s.limits.MaxPageSize)
	}
	var after ListCursor
	if q.Before != "" {
		c, ok := decodeCursor(q.Before, q.Trashed)
		if !ok {
			return ProjectPage{}, apperr.E(op, apperr.Invalid, nil).WithCode("invalid_cursor").
				WithMsg("before must be the nextBefore of an earlier page of this list.").WithField("before", "invalid")
		}
		after = c
	}
	ps, err := s.st.ListFor(ctx, u.ID, q.Trashed, after, limit+1)
	if err != nil {
		return ProjectPage{}, apperr.E(op, apperr.Internal, err)
	}
	page := ProjectPage{Projects: ps}
	if len(ps) > limit {
		page.Projects = ps[:limit]
		last := page.Projects[limit-1]
		key := last.UpdatedAt
		if q.Trashed {
			key = *last.DeletedAt
		}
		page.NextBefore = encodeCursor(ListCursor{At: key, ID: last.ID}, q.Trashed)
	}
	for i := range page.Projects {
		if d := page.Projects[i].DeletedAt; d != nil {
			t := d.Add(TrashRetention)
			page.Projects[i].PurgeAt = &t
		}
	}
	return page, nil
}

func errLimitParam(op string, most int) error {
	return apperr.E(op, apperr.Invalid, nil).WithCode("invalid_limit").
		WithMsg("limit must be from 1 to "+strconv.Itoa(most)+".").WithField("limit", "invalid")
}

// A cursor is opaque to clients: base64url of "<list>.<unix µs>.<id>",
// where <list> is "l" (live projects) or "t" (trash), so that a cursor of
// one list is refused by the other.
func encodeCursor(c ListCursor, trashed bool) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorKind(trashed) + "." + strconv.FormatInt(c.At.UnixMicro(), 10) + "." + c.ID))
}

func cursorKind(trashed bool) string {
	if trashed {
		return "t"
	}
	return "l"
}

func decodeCursor(s string, trashed bool) (ListCursor, bool) {
	if len(s) > 128 {
		return ListCursor{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ListCursor{}, false
	}
	kind, rest, _ := strings.Cut(string(b), ".")
	at, id, ok := strings.Cut(rest, ".")
	if !ok || kind != cursorKind(trashed) || !validProjectID(id) {
		return ListCursor{}, false
	}
	us, err := strconv.ParseInt(at, 10, 64)
	if err != nil || us < 0 {
		return ListCursor{}, false
	}
	return ListCursor{At: time.UnixMicro(us).UTC(), ID: id}, true
}

// validProjectID reports whether id could be a project id (newID makes
// 32 hex digits; the check is loose on purpose, only bounding the input).
func validProjectID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_'
		return !ok
	}) < 0
}

// Get returns a project u is a member of. Its owner also sees it in the
// trash (to restore it); nobody else does.
func (s *Service) Get(ctx context.Context, u session.User, id string) (Project, error) {
	const op = "projects.Get"
	p, err := s.lookup(ctx, op, u.ID, id)
	if err != nil {
		return p, err
	}
	if p.DeletedAt != nil && p.Role != RoleOwner {
		return Project{}, errProjectNotFound(op)
	}
	return p, nil
}

// Rename changes a project's name (owner or editor).
func (s *Service) Rename(ctx context.Context, u session.User, id, name string) (Project, error) {
	const op = "projects.Rename"
	name, err := s.cleanName(op, "name", name)
	if err != nil {
		return Project{}, err
	}
	if _, err := s.projectAs(ctx, op, u.ID, id, RoleEditor); err != nil {
		return Project{}, err
	}
	if err := s.st.Rename(ctx, id, name, s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Project{}, errProjectNotFound(op)
		}
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	return s.project(ctx, op, u.ID, id)
}

// Delete moves a project to the trash (owner only) and cuts every open
// collab connection to it. It stays restorable for TrashRetention.
func (s *Service) Delete(ctx context.Context, u session.User, id string) error {
	const op = "projects.Delete"
	if _, err := s.projectAs(ctx, op, u.ID, id, RoleOwner); err != nil {
		return err
	}
	now := s.now()
	if err := s.st.SetDeleted(ctx, id, &now, now, time.Time{}); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errProjectNotFound(op)
		}
		return apperr.E(op, apperr.Internal, err)
	}
	members, err := s.st.MemberIDs(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "projects: members of deleted project", slog.String("error", err.Error()))
	}
	for _, m := range members {
		s.revoke(ctx, id, m, 0)
	}
	s.audit(ctx, u.ID, EventDelete, "project "+id)
	return nil
}

// Restore takes a project out of the trash (owner only).
func (s *Service) Restore(ctx context.Context, u session.User, id string) (Project, error) {
	const op = "projects.Restore"
	p, err := s.lookup(ctx, op, u.ID, id)
	if err != nil {
		return p, err
	}
	if p.Role != RoleOwner {
		if p.DeletedAt != nil {
			return Project{}, errProjectNotFound(op)
		}
		return Project{}, errRole(op, RoleOwner)
	}
	if p.DeletedAt == nil {
		return Project{}, apperr.E(op, apperr.Conflict, nil).WithCode("not_deleted").WithMsg("The project is not in the trash.")
	}
	now := s.now()
	if err := s.st.SetDeleted(ctx, id, nil, now, now.Add(-TrashRetention)); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Project{}, errProjectNotFound(op)
		}
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventRestore, "project "+id)
	return s.project(ctx, op, u.ID, id)
}

// Members returns a project's members and, for its owner, the pending
// invitations (others get none).
func (s *Service) Members(ctx context.Context, u session.User, id string) ([]Member, []Invite, error) {
	const op = "projects.Members"
	p, err := s.project(ctx, op, u.ID, id)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.st.Members(ctx, id)
	if err != nil {
		return nil, nil, apperr.E(op, apperr.Internal, err)
	}
	invites := []Invite{}
	if p.Role == RoleOwner {
		if invites, err = s.st.Invites(ctx, id, s.now()); err != nil {
			return nil, nil, apperr.E(op, apperr.Internal, err)
		}
	}
	return ms, invites, nil
}

func checkGrantRole(op, role string) error {
	if role != RoleEditor && role != RoleViewer {
		return apperr.E(op, apperr.Invalid, nil).WithCode("invalid_role").
			WithMsg(`The role must be "editor" or "viewer".`).WithField("role", "editor or viewer")
	}
	return nil
}

// RetryError is a rate-limit denial; the handler turns After into a
// Retry-After header.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Invite invites email to a project with role (owner only) and mails the
// link. Inviting the same address again replaces the earlier link.
func (s *Service) Invite(ctx context.Context, u session.User, id, email, role string) (Invite, error) {
	const op = "projects.Invite"
	email, err := session.NormalizeEmail(email)
	if err != nil {
		return Invite{}, apperr.E(op, apperr.Invalid, err).WithCode("invalid_email").
			WithMsg("The email address is not valid.").WithField("email", "invalid")
	}
	if err := checkGrantRole(op, role); err != nil {
		return Invite{}, err
	}
	p, err := s.projectAs(ctx, op, u.ID, id, RoleOwner)
	if err != nil {
		return Invite{}, err
	}
	member, err := s.st.MemberByEmail(ctx, id, email)
	if err != nil {
		return Invite{}, apperr.E(op, apperr.Internal, err)
	}
	if member {
		return Invite{}, apperr.E(op, apperr.Conflict, nil).WithCode(CodeAlreadyMember).WithMsg("That person is already a member.")
	}
	now := s.now()
	if n, err := s.st.CountMembers(ctx, id); err != nil {
		return Invite{}, apperr.E(op, apperr.Internal, err)
	} else if n >= s.limits.MembersPerProject {
		return Invite{}, errLimit(op, "members per project", s.limits.MembersPerProject)
	}
	if n, err := s.st.CountInvites(ctx, id, email, now); err != nil {
		return Invite{}, apperr.E(op, apperr.Internal, err)
	} else if n >= s.limits.InvitesPerProject {
		return Invite{}, errLimit(op, "pending invitations per project", s.limits.InvitesPerProject)
	}
	res, err := s.limiter.Allow(ctx, "invite:"+u.ID, ratelimit.Limit{Rate: s.limits.InviteMailsPerHour, Burst: s.limits.InviteMailBurst, Period: time.Hour})
	if err != nil {
		return Invite{}, apperr.E(op, apperr.Unavailable, err)
	}
	if !res.Allowed {
		return Invite{}, &RetryError{After: res.RetryAfter, Err: apperr.E(op, apperr.TooManyRequests, nil).WithCode(CodeRateLimited).
			WithMsg("Too many invitations; try again later.")}
	}
	tok := newInviteToken()
	rec := inviteRecord{
		Invite:    Invite{ID: newID(), Email: email, Role: role, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)},
		ProjectID: id, TokenHash: hashToken(tok), InvitedBy: u.ID,
	}
	if err := s.st.CreateInvite(ctx, rec); err != nil {
		return Invite{}, apperr.E(op, apperr.Internal, err)
	}
	msg := mail.Message{To: email, Subject: "You are invited to a Max Booster project",
		Text: fmt.Sprintf("Hello,\n\n%s invited you to the Max Booster project %q as %s.\n"+
			"Open this link within 7 days to join (you can create an account with this address there):\n\n%s\n\n"+
			"If you did not expect this, ignore this mail.\n", u.DisplayName, p.Name, role, s.inviteLink(tok))}
	select {
	case s.mails <- msg:
	default:
		s.log.WarnContext(ctx, "projects: mail queue full, invitation not sent", slog.String("project_id", id))
	}
	s.audit(ctx, u.ID, EventInvite, "project "+id+" role "+role)
	return rec.Invite, nil
}

func (s *Service) publicURL() url.URL {
	if s.opts.PublicURL != nil {
		return *s.opts.PublicURL
	}
	return url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
}

func (s *Service) inviteLink(tok string) string {
	u := s.publicURL()
	u.Path = strings.TrimSuffix(u.Path, "/") + "/invite/" + tok
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

var errInvite = apperr.E("projects", apperr.NotFound, nil).WithCode(CodeInviteNotFound).
	WithMsg("The invitation is invalid, was already used or has expired.")

// InviteInfo shows what an invitation link offers, to anyone holding it.
func (s *Service) InviteInfo(ctx context.Context, token string) (InviteInfo, error) {
	if !validInviteToken(token) {
		return InviteInfo{}, errInvite
	}
	_, info, err := s.st.InviteByHash(ctx, hashToken(token), s.now())
	if errors.Is(err, ErrNotFound) {
		return InviteInfo{}, errInvite
	}
	if err != nil {
		return InviteInfo{}, apperr.E("projects.InviteInfo", apperr.Internal, err)
	}
	return info, nil
}

// AcceptInvite makes u a member with the invitation's role. u's email must
// be the invited address. The link works once.
func (s *Service) AcceptInvite(ctx context.Context, u session.User, token string) (Project, error) {
	const op = "projects.AcceptInvite"
	if !validInviteToken(token) {
		return Project{}, errInvite
	}
	now := s.now()
	rec, _, err := s.st.InviteByHash(ctx, hashToken(token), now)
	if errors.Is(err, ErrNotFound) {
		return Project{}, errInvite
	}
	if err != nil {
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	if !strings.EqualFold(strings.TrimSpace(u.Email), rec.Email) {
		return Project{}, apperr.E(op, apperr.Forbidden, nil).WithCode(CodeInviteEmail).
			WithMsg("This invitation is for another email address; sign in with the invited address.")
	}
	switch err := s.st.AcceptInvite(ctx, rec, u.ID, s.limits.MembersPerProject, now); {
	case errors.Is(err, ErrNotFound):
		return Project{}, errInvite
	case errors.Is(err, ErrConflict):
		return Project{}, errLimit(op, "members per project", s.limits.MembersPerProject)
	case err != nil:
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventInviteAccept, "project "+rec.ProjectID+" role "+rec.Role)
	return s.project(ctx, op, u.ID, rec.ProjectID)
}

// CancelInvite withdraws a pending invitation (owner only).
func (s *Service) CancelInvite(ctx context.Context, u session.User, id, inviteID string) error {
	const op = "projects.CancelInvite"
	if _, err := s.projectAs(ctx, op, u.ID, id, RoleOwner); err != nil {
		return err
	}
	if !idPattern.MatchString(inviteID) {
		return apperr.E(op, apperr.NotFound, nil).WithCode(CodeInviteNotFound).WithMsg("No such invitation.")
	}
	if err := s.st.DeleteInvite(ctx, id, inviteID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return apperr.E(op, apperr.NotFound, nil).WithCode(CodeInviteNotFound).WithMsg("No such invitation.")
		}
		return apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventInviteCancel, "project "+id)
	return nil
}

func errMember(op string) error {
	return apperr.E(op, apperr.NotFound, nil).WithCode(CodeMemberNotFound).WithMsg("No such member.")
}

// SetRole changes a member's role to editor or viewer (owner only; the
// owner's own role changes only by Transfer). Open collab connections of
// the member get the new role within seconds.
func (s *Service) SetRole(ctx context.Context, u session.User, id, userID, role string) (Member, error) {
	const op = "projects.SetRole"
	if err := checkGrantRole(op, role); err != nil {
		return Member{}, err
	}
	if _, err := s.projectAs(ctx, op, u.ID, id, RoleOwner); err != nil {
		return Member{}, err
	}
	if userID == u.ID {
		return Member{}, apperr.E(op, apperr.Conflict, nil).WithCode("owner_role").
			WithMsg("The owner's role changes only by transferring ownership.")
	}
	if !idPattern.MatchString(userID) {
		return Member{}, errMember(op)
	}
	if err := s.st.SetMemberRole(ctx, id, userID, role, s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Member{}, errMember(op)
		}
		return Member{}, apperr.E(op, apperr.Internal, err)
	}
	s.revoke(ctx, id, userID, collabRole(role))
	s.audit(ctx, u.ID, EventMemberRole, "project "+id+" user "+userID+" role "+role)
	m, err := s.st.Member(ctx, id, userID)
	if err != nil {
		return Member{}, apperr.E(op, apperr.Internal, err)
	}
	return m, nil
}

// RemoveMember removes userID from a project: the owner removes anyone
// else; any other member may remove only themselves (leave). The owner
// leaves only after transferring ownership. Open collab connections of
// the removed member are cut.
func (s *Service) RemoveMember(ctx context.Context, u session.User, id, userID string) error {
	const op = "projects.RemoveMember"
	p, err := s.project(ctx, op, u.ID, id)
	if err != nil {
		return err
	}
	switch {
	case userID == u.ID && p.Role == RoleOwner:
		return apperr.E(op, apperr.Conflict, nil).WithCode(CodeOwnerCannotLeave).
			WithMsg("The owner cannot leave; transfer ownership first.")
	case userID != u.ID && p.Role != RoleOwner:
		return errRole(op, RoleOwner)
	}
	if !idPattern.MatchString(userID) {
		return errMember(op)
	}
	if err := s.st.RemoveMember(ctx, id, userID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errMember(op)
		}
		return apperr.E(op, apperr.Internal, err)
	}
	s.revoke(ctx, id, userID, 0)
	s.audit(ctx, u.ID, EventMemberRemove, "project "+id+" user "+userID)
	return nil
}

// Transfer makes member userID the owner (owner only); the old owner
// becomes an editor.
func (s *Service) Transfer(ctx context.Context, u session.User, id, userID string) (Project, error) {
	const op = "projects.Transfer"
	if _, err := s.projectAs(ctx, op, u.ID, id, RoleOwner); err != nil {
		return Project{}, err
	}
	if userID == u.ID {
		return Project{}, apperr.E(op, apperr.Conflict, nil).WithCode("already_owner").WithMsg("You already own the project.")
	}
	if !idPattern.MatchString(userID) {
		return Project{}, errMember(op)
	}
	if n, err := s.st.CountOwned(ctx, userID); err != nil {
		return Project{}, apperr.E(op, apperr.Internal, err)
	} else if n >= s.limits.ProjectsPerUser {
		return Project{}, errLimit(op, "projects per user", s.limits.ProjectsPerUser)
	}
	if err := s.st.Transfer(ctx, id, u.ID, userID, s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Project{}, errMember(op)
		}
		return Project{}, apperr.E(op, apperr.Internal, err)
	}
	s.revoke(ctx, id, u.ID, collab.RoleEditor)
	s.revoke(ctx, id, userID, collab.RoleOwner) // a viewer's open connections may edit now
	s.audit(ctx, u.ID, EventTransfer, "project "+id+" to "+userID)
	return s.project(ctx, op, u.ID, id)
}

// RoomToken issues a room token for the collab WebSocket with u's role.
// base is the collab URL to hand out when no PublicURL is configured.
func (s *Service) RoomToken(ctx context.Context, u session.User, id string, base *url.URL) (RoomToken, error) {
	const op = "projects.RoomToken"
	p, err := s.project(ctx, op, u.ID, id)
	if err != nil {
		return RoomToken{}, err
	}
	tok, exp, err := s.opts.Tokens.Issue(ctx, u.ID, id, p.Role)
	if err != nil {
		return RoomToken{}, apperr.E(op, apperr.Internal, err)
	}
	var cu url.URL
	if s.opts.PublicURL != nil || base == nil {
		cu = s.publicURL()
	} else {
		cu = *base
	}
	switch cu.Scheme {
	case "https", "wss":
		cu.Scheme = "wss"
	default:
		cu.Scheme = "ws"
	}
	cu.Path = strings.TrimSuffix(cu.Path, "/") + "/collab"
	cu.RawQuery, cu.Fragment = "", ""
	return RoomToken{Token: tok, URL: cu.String(), ExpiresAt: exp.UTC(), Role: p.Role}, nil
}

// state returns a project document's full state as a yjs v1 update,
// including every update the hub has accepted.
func (s *Service) state(ctx context.Context, id string) ([]byte, error) {
	return s.opts.Hub.State(ctx, id)
}

// appendState starts a new project's document with state.
func (s *Service) appendState(ctx context.Context, id string, state []byte) error {
	return s.opts.Hub.Apply(ctx, id, state)
}

func readDocument(state []byte) (daw.Document, error) {
	doc := crdt.NewDoc(nil)
	if err := crdt.ApplyUpdate(doc, state, nil); err != nil {
		return daw.Document{}, err
	}
	return daw.Read(doc), nil
}

// Document returns a project's document as plain values.
func (s *Service) Document(ctx context.Context, u session.User, id string) (daw.Document, error) {
	const op = "projects.Document"
	if _, err := s.project(ctx, op, u.ID, id); err != nil {
		return daw.Document{}, err
	}
	state, err := s.state(ctx, id)
	if err != nil {
		return daw.Document{}, apperr.E(op, apperr.Unavailable, err).WithCode("document_unavailable").
			WithMsg("The project document cannot be loaded right now.")
	}
	d, err := readDocument(state)
	if err != nil {
		return daw.Document{}, apperr.E(op, apperr.Internal, err)
	}
	return d, nil
}

func errCheckpoint(op string) error {
	return apperr.E(op, apperr.NotFound, nil).WithCode(CodeCheckpointNotFound).WithMsg("No such checkpoint.")
}

// CreateCheckpoint stores the document's current state under name (owner
// or editor).
func (s *Service) CreateCheckpoint(ctx context.Context, u session.User, id, name string) (Checkpoint, error) {
	const op = "projects.CreateCheckpoint"
	name, err := s.cleanName(op, "name", name)
	if err != nil {
		return Checkpoint{}, err
	}
	if _, err := s.projectAs(ctx, op, u.ID, id, RoleEditor); err != nil {
		return Checkpoint{}, err
	}
	state, err := s.state(ctx, id)
	if err != nil {
		return Checkpoint{}, apperr.E(op, apperr.Unavailable, err).WithCode("document_unavailable").
			WithMsg("The project document cannot be loaded right now.")
	}
	if len(state) > s.limits.MaxDocumentBytes {
		return Checkpoint{}, apperr.Msgf(op, apperr.TooLarge, "The document is over %d bytes.", s.limits.MaxDocumentBytes).WithCode("document_too_large")
	}
	c := Checkpoint{ID: newID(), Name: name, CreatedAt: s.now(), CreatedBy: u.ID, Size: int64(len(state))}
	if err := s.st.CreateCheckpoint(ctx, id, c, state, s.limits.CheckpointsPerProject); err != nil {
		if errors.Is(err, ErrConflict) {
			return Checkpoint{}, errLimit(op, "checkpoints per project", s.limits.CheckpointsPerProject)
		}
		if errors.Is(err, ErrNotFound) {
			return Checkpoint{}, errProjectNotFound(op)
		}
		return Checkpoint{}, apperr.E(op, apperr.Internal, err)
	}
	return c, nil
}

// Checkpoints lists a project's checkpoints, newest first.
func (s *Service) Checkpoints(ctx context.Context, u session.User, id string) ([]Checkpoint, error) {
	const op = "projects.Checkpoints"
	if _, err := s.project(ctx, op, u.ID, id); err != nil {
		return nil, err
	}
	cs, err := s.st.Checkpoints(ctx, id)
	if err != nil {
		return nil, apperr.E(op, apperr.Internal, err)
	}
	return cs, nil
}

// CheckpointState returns a checkpoint and its document state (a yjs v1
// update).
func (s *Service) CheckpointState(ctx context.Context, u session.User, id, cid string) (Checkpoint, []byte, error) {
	const op = "projects.CheckpointState"
	if _, err := s.project(ctx, op, u.ID, id); err != nil {
		return Checkpoint{}, nil, err
	}
	if !idPattern.MatchString(cid) {
		return Checkpoint{}, nil, errCheckpoint(op)
	}
	c, state, err := s.st.CheckpointState(ctx, id, cid)
	if errors.Is(err, ErrNotFound) {
		return c, nil, errCheckpoint(op)
	}
	if err != nil {
		return c, nil, apperr.E(op, apperr.Internal, err)
	}
	return c, state, nil
}

// CheckpointDocument returns a checkpoint's document as plain values.
func (s *Service) CheckpointDocument(ctx context.Context, u session.User, id, cid string) (daw.Document, error) {
	_, state, err := s.CheckpointState(ctx, u, id, cid)
	if err != nil {
		return daw.Document{}, err
	}
	d, err := readDocument(state)
	if err != nil {
		return daw.Document{}, apperr.E("projects.CheckpointDocument", apperr.Internal, err)
	}
	return d, nil
}

// Fork creates a new project owned by u whose document starts as the
// checkpoint's state. Any member may fork: a viewer can read the
// document anyway.
func (s *Service) Fork(ctx context.Context, u session.User, id, cid, name string) (Project, error) {
	const op = "projects.Fork"
	name, err := s.cleanName(op, "name", name)
	if err != nil {
		return Project{}, err
	}
	_, state, err := s.CheckpointState(ctx, u, id, cid)
	if err != nil {
		return Project{}, err
	}
	return s.create(ctx, op, u, name, state)
}
