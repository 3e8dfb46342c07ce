package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Room roles carried in a room token. Collab and rtc map them to what a
// connection may do: viewers only read, editors write, owners also manage.
const (
	RoomRoleOwner  = "owner"
	RoomRoleEditor = "editor"
	RoomRoleViewer = "viewer"
)

// Errors returned by RoomTokens.
var (
	ErrRoomTokenInvalid = errors.New("session: invalid room token")
	ErrRoomClaims       = errors.New("session: invalid room token claims")
)

const (
	roomAudience  = "maxbooster-room"
	roomAlg       = "EdDSA"
	maxRoomToken  = 2048
	maxRoomIDLen  = 128
	keyReloadWait = time.Second
)

var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// RoomClaims name who may join which room, as what. A verified token
// guarantees all three fields are set and well-formed.
type RoomClaims struct {
	UserID    string `json:"uid"`
	ProjectID string `json:"pid"`
	Role      string `json:"role"`
	jwt.RegisteredClaims
}

// RoomKey is one Ed25519 key of the room-token keyring.
type RoomKey struct {
	ID      string
	Key     ed25519.PrivateKey
	Created time.Time
}

// RoomKeyStore persists the keyring so that every node signs and verifies
// with the same keys. *Store implements it on the database;
// NewMemoryRoomKeyStore gives a single-process one.
type RoomKeyStore interface {
	// RoomKeys returns every key, newest first.
	RoomKeys(ctx context.Context) ([]RoomKey, error)
	// AddRoomKey stores a new key.
	AddRoomKey(ctx context.Context, k RoomKey) error
	// DeleteRoomKeysBefore removes keys created before t.
	DeleteRoomKeysBefore(ctx context.Context, t time.Time) error
}

// RoomTokenOptions configure RoomTokens. Zero values mean the defaults.
type RoomTokenOptions struct {
	TTL         time.Duration    // token lifetime; default 5m
	RotateEvery time.Duration    // a new signing key after this long; default 24h
	Issuer      string           // "iss"; default "maxbooster"
	Now         func() time.Time // default time.Now
}

// RoomTokens issues and verifies the short-lived JWTs that WebSocket
// (collab) and WebRTC (rtc) connections present. Tokens are signed with
// Ed25519 (alg EdDSA, pinned: none, HMAC and every other algorithm are
// refused), carry the signing key's id in "kid", and keys rotate: a new one
// signs after RotateEvery, the old ones keep verifying until every token
// they signed has expired. Safe for concurrent use.
type RoomTokens struct {
	store RoomKeyStore
	opts  RoomTokenOptions

	mu       sync.Mutex
	keys     []RoomKey // newest first
	loadedAt time.Time
}

// NewRoomTokens returns RoomTokens backed by store.
func NewRoomTokens(store RoomKeyStore, opts RoomTokenOptions) *RoomTokens {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.RotateEvery <= 0 {
		opts.RotateEvery = 24 * time.Hour
	}
	if opts.Issuer == "" {
		opts.Issuer = "maxbooster"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &RoomTokens{store: store, opts: opts}
}

// TTL returns the lifetime of issued tokens.
func (rt *RoomTokens) TTL() time.Duration { return rt.opts.TTL }

func validRoomClaims(userID, projectID, role string) error {
	if !roomIDPattern.MatchString(userID) || !roomIDPattern.MatchString(projectID) {
		return ErrRoomClaims
	}
	switch role {
	case RoomRoleOwner, RoomRoleEditor, RoomRoleViewer:
		return nil
	}
	return ErrRoomClaims
}

// Issue signs a token for userID in projectID with role. The caller has
// already decided that the user may have that role in that project.
func (rt *RoomTokens) Issue(ctx context.Context, userID, projectID, role string) (token string, expires time.Time, err error) {
	if err := validRoomClaims(userID, projectID, role); err != nil {
		return "", time.Time{}, err
	}
	key, err := rt.signingKey(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := rt.opts.Now().Truncate(time.Second)
	expires = now.Add(rt.opts.TTL)
	claims := RoomClaims{
		UserID: userID, ProjectID: projectID, Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    rt.opts.Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{roomAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        newID(),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.ID
	token, err = t.SignedString(key.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("session: sign room token: %w", err)
	}
	return token, expires, nil
}

// Verify checks token's signature, algorithm, key id, issuer, audience and
// lifetime and returns its claims. Every failure wraps ErrRoomTokenInvalid.
func (rt *RoomTokens) Verify(ctx context.Context, token string) (*RoomClaims, error) {
	if len(token) > maxRoomToken {
		return nil, fmt.Errorf("%w: too long", ErrRoomTokenInvalid)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{roomAlg}),
		jwt.WithIssuer(rt.opts.Issuer),
		jwt.WithAudience(roomAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(rt.opts.Now),
	)
	var claims RoomClaims
	_, err := p.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
			return nil, fmt.Errorf("unexpected method %v", t.Header["alg"])
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" || len(kid) > 64 {
			return nil, errors.New("missing kid")
		}
		k, err := rt.verifyKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRoomTokenInvalid, err)
	}
	if err := validRoomClaims(claims.UserID, claims.ProjectID, claims.Role); err != nil || claims.Subject != claims.UserID {
		return nil, fmt.Errorf("%w: bad claims", ErrRoomTokenInvalid)
	}
	return &claims, nil
}

// signingKey returns the newest key, adding one when the newest is older
// than RotateEvery and pruning keys no token can still be signed by.
func (rt *RoomTokens) signingKey(ctx context.Context) (RoomKey, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	now := rt.opts.Now()
	if len(rt.keys) == 0 || now.Sub(rt.loadedAt) > time.Minute {
		if err := rt.loadLocked(ctx, now); err != nil {
			return RoomKey{}, err
		}
	}
	if len(rt.keys) > 0 && now.Sub(rt.keys[0].Created) < rt.opts.RotateEvery {
		return rt.keys[0], nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return RoomKey{}, fmt.Errorf("session: room key: %w", err)
	}
	k := RoomKey{ID: newID()[:16], Key: priv, Created: now.UTC().Truncate(time.Second)}
	if err := rt.store.AddRoomKey(ctx, k); err != nil {
		return RoomKey{}, fmt.Errorf("session: add room key: %w", err)
	}
	// A key stops signing after RotateEvery; tokens it signed live TTL more.
	if err := rt.store.DeleteRoomKeysBefore(ctx, now.Add(-2*rt.opts.RotateEvery-rt.opts.TTL)); err != nil {
		return RoomKey{}, fmt.Errorf("session: prune room keys: %w", err)
	}
	if err := rt.loadLocked(ctx, now); err != nil {
		return RoomKey{}, err
	}
	return k, nil
}

func (rt *RoomTokens) loadLocked(ctx context.Context, now time.Time) error {
	keys, err := rt.store.RoomKeys(ctx)
	if err != nil {
		return fmt.Errorf("session: load room keys: %w", err)
	}
	slices.SortFunc(keys, func(a, b RoomKey) int { return b.Created.Compare(a.Created) })
	rt.keys, rt.loadedAt = keys, now
	return nil
}

func (rt *RoomTokens) verifyKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	find := func() ed25519.PublicKey {
		for _, k := range rt.keys {
			if k.ID == kid {
				return k.Key.Public().(ed25519.PublicKey)
			}
		}
		return nil
	}
	if k := find(); k != nil {
		return k, nil
	}
	// Another node may have rotated: reload, but at most once a second so
	// made-up key ids cannot hammer the store.
	now := rt.opts.Now()
	if now.Sub(rt.loadedAt) >= keyReloadWait {
		if err := rt.loadLocked(ctx, now); err != nil {
			return nil, err
		}
		if k := find(); k != nil {
			return k, nil
		}
	}
	return nil, errors.New("unknown kid")
}

// MemoryRoomKeyStore is a RoomKeyStore for one process (and tests).
type MemoryRoomKeyStore struct {
	mu   sync.Mutex
	keys []RoomKey
}

var _ RoomKeyStore = (*MemoryRoomKeyStore)(nil)

// NewMemoryRoomKeyStore returns an empty in-memory keyring.
func NewMemoryRoomKeyStore() *MemoryRoomKeyStore { return &MemoryRoomKeyStore{} }

// RoomKeys implements RoomKeyStore.
func (m *MemoryRoomKeyStore) RoomKeys(context.Context) ([]RoomKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys), nil
}

// AddRoomKey implements RoomKeyStore.
func (m *MemoryRoomKeyStore) AddRoomKey(_ context.Context, k RoomKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k)
	return nil
}

// DeleteRoomKeysBefore implements RoomKeyStore.
func (m *MemoryRoomKeyStore) DeleteRoomKeysBefore(_ context.Context, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = slices.DeleteFunc(m.keys, func(k RoomKey) bool { return k.Created.Before(t) })
	return nil
}
