package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

// Token limits.
const (
	maxTokenName       = 100
	maxTokenDays       = 365
	defaultTokenDays   = 30
	maxScopesPerToken  = 16
	maxScopeNameLength = 32
)

// CreateToken makes a personal access token for u and returns it with its
// secret, which is shown once and stored only as a hash.
func (s *Service) CreateToken(ctx context.Context, u User, name string, scopes []string, expiresInDays int, m Meta) (Token, string, error) {
	const op = "session.CreateToken"
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); !utf8.ValidString(name) || n == 0 || n > maxTokenName || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return Token{}, "", apperr.E(op, apperr.Invalid, nil).WithCode("invalid_name").
			WithMsg(fmt.Sprintf("The token name must be 1 to %d characters.", maxTokenName)).WithField("name", "invalid")
	}
	if len(scopes) == 0 || len(scopes) > maxScopesPerToken {
		return Token{}, "", apperr.E(op, apperr.Invalid, nil).WithCode("invalid_scopes").
			WithMsg("Give at least one scope: "+strings.Join(KnownScopes, ", ")+".").WithField("scopes", "invalid")
	}
	clean := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if len(sc) > maxScopeNameLength || !slices.Contains(KnownScopes, sc) {
			return Token{}, "", apperr.E(op, apperr.Invalid, nil).WithCode("invalid_scopes").
				WithMsg("Unknown scope; known scopes are: "+strings.Join(KnownScopes, ", ")+".").WithField("scopes", "invalid")
		}
		if !slices.Contains(clean, sc) {
			clean = append(clean, sc)
		}
	}
	if expiresInDays == 0 {
		expiresInDays = defaultTokenDays
	}
	if expiresInDays < 1 || expiresInDays > maxTokenDays {
		return Token{}, "", apperr.E(op, apperr.Invalid, nil).WithCode("invalid_expiry").
			WithMsg(fmt.Sprintf("expiresInDays must be from 1 to %d.", maxTokenDays)).WithField("expiresInDays", "invalid")
	}
	n, err := s.store.CountTokens(ctx, u.ID)
	if err != nil {
		return Token{}, "", apperr.E(op, apperr.Internal, err)
	}
	if n >= s.limits.TokensPerUser {
		return Token{}, "", apperr.E(op, apperr.Conflict, nil).WithCode("limit_reached").
			WithMsg(fmt.Sprintf("You have %d tokens, the most allowed; revoke one first.", n))
	}
	t0 := now()
	t := Token{ID: newID(), UserID: u.ID, Name: name, Scopes: clean, CreatedAt: t0, ExpiresAt: t0.Add(time.Duration(expiresInDays) * 24 * time.Hour)}
	secret := newSecret(prefixToken)
	if err := s.store.CreateToken(ctx, t, hashSecret(secret)); err != nil {
		return Token{}, "", apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventTokenCreate, m, t.ID+" "+strings.Join(clean, ","))
	return t, secret, nil
}

// RevokeToken deletes u's token id.
func (s *Service) RevokeToken(ctx context.Context, u User, id string, m Meta) error {
	const op = "session.RevokeToken"
	if len(id) > 64 {
		return apperr.E(op, apperr.NotFound, nil).WithCode("token_not_found").WithMsg("No such token.")
	}
	err := s.store.DeleteToken(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return apperr.E(op, apperr.NotFound, err).WithCode("token_not_found").WithMsg("No such token.")
	}
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventTokenRevoke, m, id)
	return nil
}

// RevokeSession ends one of u's sessions by its public id.
func (s *Service) RevokeSession(ctx context.Context, u User, id string, m Meta) error {
	const op = "session.RevokeSession"
	if len(id) > 64 {
		return apperr.E(op, apperr.NotFound, nil).WithCode("session_not_found").WithMsg("No such session.")
	}
	err := s.sessions.DeleteSessionByID(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return apperr.E(op, apperr.NotFound, err).WithCode("session_not_found").WithMsg("No such session.")
	}
	if err != nil {
		return apperr.E(op, apperr.Internal, err)
	}
	s.audit(ctx, u.ID, EventSessionRevoke, m, id)
	return nil
}
