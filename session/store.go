package session

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
)

// Store is the session module's SQL on SQLite or PostgreSQL: users,
// email tokens, sessions (Sessions), personal access tokens, teams,
// the audit log, the mail outbox (mail.OutboxStore) and the room-token
// keyring (RoomKeyStore).
type Store struct {
	db      *store.DB
	secrets *SecretKeys // seal room keys at rest; nil: stored plain
}

var (
	_ Sessions         = (*Store)(nil)
	_ RoomKeyStore     = (*Store)(nil)
	_ mail.OutboxStore = (*Store)(nil)
)

// NewStore returns a Store on db, which must be migrated. Its room keys
// are stored plain; New gives the Service's store Options.SecretKeys.
func NewStore(db *store.DB) *Store { return &Store{db: db} }

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// CreateUser inserts u with the password hash; ErrEmailTaken if the email
// is registered.
func (s *Store) CreateUser(ctx context.Context, u User, passwordHash string) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, passwordHash, u.CreatedAt, u.CreatedAt)
	if store.IsUniqueViolation(err) {
		return ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("session: create user: %w", err)
	}
	return nil
}

const userCols = `id, email, display_name, password_hash, email_verified_at, created_at`

func scanUser(row interface{ Scan(...any) error }) (User, string, error) {
	var (
		u        User
		hash     string
		verified sql.NullTime
	)
	err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &hash, &verified, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrNotFound
	}
	if err != nil {
		return User{}, "", fmt.Errorf("session: read user: %w", err)
	}
	u.EmailVerified = verified.Valid
	u.CreatedAt = u.CreatedAt.UTC()
	return u, hash, nil
}

// UserByEmail returns the user with the normalized email and its password
// hash.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, string, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, email))
}

// UserByID returns the user with id and its password hash.
func (s *Store) UserByID(ctx context.Context, id string) (User, string, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// SetPasswordHash replaces userID's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, now(), userID)
	return affectedOne(res, err, "set password")
}

// ReplacePassword sets userID's password hash and revokes every one of
// its personal access tokens in one transaction, so no token minted
// under the old password outlives it. It returns the revoked token ids.
func (s *Store) ReplacePassword(ctx context.Context, userID, hash string) ([]string, error) {
	var revoked []string
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		revoked = nil // WithTx may retry
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, now(), userID)
		if err := affectedOne(res, err, "set password"); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM api_tokens WHERE user_id = ? RETURNING id`, userID)
		if err != nil {
			return fmt.Errorf("session: revoke tokens: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("session: revoke tokens: %w", err)
			}
			revoked = append(revoked, id)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("session: revoke tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(revoked)
	return revoked, nil
}

// MarkEmailVerified records that userID proved its email address.
func (s *Store) MarkEmailVerified(ctx context.Context, userID string) error {
	t := now()
	res, err := s.db.ExecContext(ctx,
		`UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ? WHERE id = ?`, t, t, userID)
	return affectedOne(res, err, "verify email")
}

func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("session: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("session: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Email token purposes.
const (
	purposeVerify = "verify"
	purposeReset  = "reset"
)

// AddEmailToken stores the hash of a single-use mailed secret. Earlier
// unused tokens of the same purpose for the user are dropped, so only the
// latest mail works.
func (s *Store) AddEmailToken(ctx context.Context, tokenHash, userID, purpose string, expires time.Time) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?`, userID, purpose); err != nil {
			return fmt.Errorf("session: drop email tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			tokenHash, userID, purpose, now(), expires.UTC()); err != nil {
			return fmt.Errorf("session: add email token: %w", err)
		}
		return nil
	})
}

// PeekEmailToken returns the user of a valid, unused token without using
// it; ErrTokenUsed otherwise.
func (s *Store) PeekEmailToken(ctx context.Context, tokenHash, purpose string) (string, error) {
	var userID string
	err := s.db.QueryRowContext(ctx,
		`SELECT user_id FROM email_tokens WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
		tokenHash, purpose, now()).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrTokenUsed
	}
	if err != nil {
		return "", fmt.Errorf("session: peek email token: %w", err)
	}
	return userID, nil
}

// UseEmailToken marks the token used and returns its user, atomically, so
// two concurrent uses cannot both succeed. ErrTokenUsed when it is
// unknown, used, expired or of another purpose.
func (s *Store) UseEmailToken(ctx context.Context, tokenHash, purpose string) (string, error) {
	t := now()
	var userID string
	err := s.db.QueryRowContext(ctx,
		`UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
		t, tokenHash, purpose, t).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrTokenUsed
	}
	if err != nil {
		return "", fmt.Errorf("session: use email token: %w", err)
	}
	return userID, nil
}

// --- sessions (Sessions) ---

// CreateSession implements Sessions.
func (s *Store) CreateSession(ctx context.Context, ss Session) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.TokenHash, ss.UserID, ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC(), ss.IP, ss.UserAgent)
	if err != nil {
		return fmt.Errorf("session: create session: %w", err)
	}
	return nil
}

const sessionCols = `id, token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var ss Session
	err := row.Scan(&ss.ID, &ss.TokenHash, &ss.UserID, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt, &ss.IP, &ss.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: read session: %w", err)
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC()
	return ss, nil
}

// SessionByHash implements Sessions.
func (s *Store) SessionByHash(ctx context.Context, tokenHash string) (Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return Session{}, err
	}
	if !now().Before(ss.ExpiresAt) {
		return Session{}, ErrNotFound
	}
	return ss, nil
}

// TouchSession implements Sessions. The database keeps the absolute
// expiry; idle expiry is checked against last_seen_at by the caller.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, lastSeen time.Time, _ time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, lastSeen.UTC(), tokenHash)
	if err != nil {
		return fmt.Errorf("session: touch session: %w", err)
	}
	return nil
}

// DeleteSession implements Sessions.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("session: delete session: %w", err)
	}
	return nil
}

// DeleteSessionByID implements Sessions.
func (s *Store) DeleteSessionByID(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id = ?`, userID, id)
	return affectedOne(res, err, "delete session")
}

// ListSessions implements Sessions.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sessionCols+` FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id`, userID, now())
	if err != nil {
		return nil, fmt.Errorf("session: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session: list sessions: %w", err)
	}
	return out, nil
}

// DeleteUserSessions implements Sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptHash string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, exceptHash)
	if err != nil {
		return 0, fmt.Errorf("session: delete user sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpiredSessions removes sessions past their absolute expiry or
// idle for longer than idle, and reports how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idle time.Duration) (int, error) {
	t := now()
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`, t, t.Add(-idle))
	if err != nil {
		return 0, fmt.Errorf("session: delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpiredEmailTokens removes mailed tokens that expired more than a
// day ago, and reports how many.
func (s *Store) DeleteExpiredEmailTokens(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM email_tokens WHERE expires_at < ?`, now().Add(-24*time.Hour))
	if err != nil {
		return 0, fmt.Errorf("session: delete expired email tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteAuditBefore removes audit events older than t, and reports how
// many.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE created_at < ?`, t.UTC())
	if err != nil {
		return 0, fmt.Errorf("session: trim audit log: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// --- personal access tokens ---

// CreateToken stores a token whose secret hashes to tokenHash.
func (s *Store) CreateToken(ctx context.Context, t Token, tokenHash string) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Name, tokenHash, strings.Join(t.Scopes, " "), t.CreatedAt.UTC(), t.ExpiresAt.UTC())
	if err != nil {
		return fmt.Errorf("session: create token: %w", err)
	}
	return nil
}

const tokenCols = `id, user_id, name, scopes, created_at, expires_at, last_used_at` //nolint:gosec // G101: column names, not a credential

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var (
		t      Token
		scopes string
		used   sql.NullTime
	)
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &scopes, &t.CreatedAt, &t.ExpiresAt, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("session: read token: %w", err)
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), nullTime(used)
	return t, nil
}

// TokenByHash returns the unexpired token whose secret hashes to tokenHash.
func (s *Store) TokenByHash(ctx context.Context, tokenHash string) (Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return Token{}, err
	}
	if !now().Before(t.ExpiresAt) {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// TouchToken records that the token was used at t.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, t.UTC(), id); err != nil {
		return fmt.Errorf("session: touch token: %w", err)
	}
	return nil
}

// ListTokens returns userID's tokens, newest first, expired ones included.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session: list tokens: %w", err)
	}
	return out, nil
}

// CountTokens returns how many tokens userID has.
func (s *Store) CountTokens(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("session: count tokens: %w", err)
	}
	return n, nil
}

// DeleteToken revokes userID's token id; ErrNotFound if there is none.
func (s *Store) DeleteToken(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = ? AND id = ?`, userID, id)
	return affectedOne(res, err, "delete token")
}

// --- audit log ---

// AddAudit appends an event.
func (s *Store) AddAudit(ctx context.Context, e AuditEvent) error {
	var uid any
	if e.UserID != "" {
		uid = e.UserID
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO audit_log (user_id, event, ip, user_agent, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		uid, e.Event, e.IP, e.UserAgent, e.Detail, now())
	if err != nil {
		return fmt.Errorf("session: audit: %w", err)
	}
	return nil
}

// ListAudit returns up to limit of userID's events with id < before
// (before <= 0: from the newest), newest first.
func (s *Store) ListAudit(ctx context.Context, userID string, before int64, limit int) ([]AuditEvent, error) {
	q := `SELECT id, user_id, event, ip, user_agent, detail, created_at FROM audit_log WHERE user_id = ?`
	args := []any{userID}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("session: list audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEvent{}
	for rows.Next() {
		var (
			e   AuditEvent
			uid sql.NullString
		)
		if err := rows.Scan(&e.ID, &uid, &e.Event, &e.IP, &e.UserAgent, &e.Detail, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("session: list audit: %w", err)
		}
		e.UserID, e.CreatedAt = uid.String, e.CreatedAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session: list audit: %w", err)
	}
	return out, nil
}

// --- mail outbox (mail.OutboxStore) ---

// AddOutbox implements mail.OutboxStore.
func (s *Store) AddOutbox(ctx context.Context, m mail.Message) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx,
		`INSERT INTO mail_outbox (to_addr, subject, body, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		m.To, m.Subject, m.Text, now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("session: outbox: %w", err)
	}
	return id, nil
}

// Outbox returns the newest limit mails sent to addr, newest first. It is
// for development and tests.
func (s *Store) Outbox(ctx context.Context, addr string, limit int) ([]mail.Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT to_addr, subject, body FROM mail_outbox WHERE to_addr = ? ORDER BY id DESC LIMIT ?`, addr, limit)
	if err != nil {
		return nil, fmt.Errorf("session: outbox: %w", err)
	}
	defer rows.Close()
	var out []mail.Message
	for rows.Next() {
		var m mail.Message
		if err := rows.Scan(&m.To, &m.Subject, &m.Text); err != nil {
			return nil, fmt.Errorf("session: outbox: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// --- room keys (RoomKeyStore) ---

// roomKeyContext binds a sealed room key to its row.
func roomKeyContext(id string) string { return "room_keys:" + id }

// RoomKeys implements RoomKeyStore. With secrets keys (Options.SecretKeys)
// it opens sealed rows and reseals, in place, rows that are plain or
// sealed with a key other than the current one, so that existing keys
// are encrypted at rest, and rotated to a new secrets key, by the first
// load. A row sealed with a key that is not configured is an error that
// names the key.
func (s *Store) RoomKeys(ctx context.Context) ([]RoomKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, private_key, sealed_with, created_at FROM room_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("session: room keys: %w", err)
	}
	defer rows.Close()
	type stale struct {
		id, was string
		seed    []byte
	}
	var (
		out    []RoomKey
		reseal []stale
	)
	for rows.Next() {
		var (
			k      RoomKey
			stored []byte
			sealed sql.NullString
		)
		if err := rows.Scan(&k.ID, &stored, &sealed, &k.Created); err != nil {
			return nil, fmt.Errorf("session: room keys: %w", err)
		}
		seed := stored
		switch {
		case sealed.Valid && s.secrets == nil:
			return nil, fmt.Errorf("session: room key %s is sealed with secrets key %s, but no secrets key is configured (MB_SECRETS_KEY)", k.ID, sealed.String)
		case sealed.Valid:
			if seed, err = s.secrets.Open(stored, sealed.String, roomKeyContext(k.ID)); err != nil {
				return nil, fmt.Errorf("session: room key %s: %w", k.ID, err)
			}
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("session: room key %s: bad seed length %d", k.ID, len(seed))
		}
		if s.secrets != nil && sealed.String != s.secrets.CurrentID() {
			reseal = append(reseal, stale{id: k.ID, was: sealed.String, seed: seed})
		}
		k.Key, k.Created = ed25519.NewKeyFromSeed(seed), k.Created.UTC()
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session: room keys: %w", err)
	}
	rows.Close()
	for _, r := range reseal {
		if err := s.resealRoomKey(ctx, r.id, r.was, r.seed); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resealRoomKey seals a plain (was "") or otherwise sealed row with the
// current secrets key, unless another node got there first.
func (s *Store) resealRoomKey(ctx context.Context, id, was string, seed []byte) error {
	sealed, keyID := s.secrets.Seal(seed, roomKeyContext(id))
	q := `UPDATE room_keys SET private_key = ?, sealed_with = ? WHERE id = ? AND sealed_with IS NULL`
	args := []any{sealed, keyID, id}
	if was != "" {
		q = `UPDATE room_keys SET private_key = ?, sealed_with = ? WHERE id = ? AND sealed_with = ?`
		args = append(args, was)
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("session: seal room key %s: %w", id, err)
	}
	return nil
}

// AddRoomKey implements RoomKeyStore; with secrets keys the key is stored
// sealed.
func (s *Store) AddRoomKey(ctx context.Context, k RoomKey) error {
	var (
		stored = k.Key.Seed()
		sealed any
	)
	if s.secrets != nil {
		var keyID string
		stored, keyID = s.secrets.Seal(stored, roomKeyContext(k.ID))
		sealed = keyID
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO room_keys (id, private_key, sealed_with, created_at) VALUES (?, ?, ?, ?)`,
		k.ID, stored, sealed, k.Created.UTC())
	if err != nil {
		return fmt.Errorf("session: add room key: %w", err)
	}
	return nil
}

// DeleteRoomKeysBefore implements RoomKeyStore.
func (s *Store) DeleteRoomKeysBefore(ctx context.Context, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM room_keys WHERE created_at < ?`, t.UTC()); err != nil {
		return fmt.Errorf("session: prune room keys: %w", err)
	}
	return nil
}
