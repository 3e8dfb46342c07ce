package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSessions keeps sessions in Redis: one string key per session
// (JSON, expiring at the earlier of idle and absolute expiry) and one set
// per user naming its sessions.
type RedisSessions struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Sessions = (*RedisSessions)(nil)

// NewRedisSessions returns a Redis session store whose keys start with
// prefix (e.g. "mb:").
func NewRedisSessions(rdb redis.UniversalClient, prefix string) *RedisSessions {
	return &RedisSessions{rdb: rdb, prefix: prefix}
}

func (r *RedisSessions) key(hash string) string    { return r.prefix + "sess:" + hash }
func (r *RedisSessions) userKey(uid string) string { return r.prefix + "usess:" + uid }

func ttl(s Session, idle time.Duration, at time.Time) time.Duration {
	d := s.ExpiresAt.Sub(at)
	if idle > 0 {
		d = min(d, idle)
	}
	return d
}

// CreateSession implements Sessions. The idle timeout is unknown here,
// so the key lives until the absolute expiry until the first touch.
func (r *RedisSessions) CreateSession(ctx context.Context, s Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: redis: %w", err)
	}
	d := ttl(s, 0, time.Now())
	if d <= 0 {
		return nil
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key(s.TokenHash), b, d)
		p.SAdd(ctx, r.userKey(s.UserID), s.TokenHash)
		// The set lives as long as its longest-lived session: NX gives a new
		// set a TTL, GT only ever extends it (Redis >= 7).
		p.ExpireNX(ctx, r.userKey(s.UserID), d)
		p.ExpireGT(ctx, r.userKey(s.UserID), d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session: redis create: %w", err)
	}
	return nil
}

func (r *RedisSessions) get(ctx context.Context, hash string) (Session, error) {
	b, err := r.rdb.Get(ctx, r.key(hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: redis get: %w", err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return Session{}, fmt.Errorf("session: redis decode: %w", err)
	}
	if !time.Now().Before(s.ExpiresAt) {
		return Session{}, ErrNotFound
	}
	return s, nil
}

// SessionByHash implements Sessions.
func (r *RedisSessions) SessionByHash(ctx context.Context, tokenHash string) (Session, error) {
	return r.get(ctx, tokenHash)
}

// TouchSession implements Sessions: it stores lastSeen and moves the
// key's expiry to the earlier of lastSeen+idle and the absolute expiry.
func (r *RedisSessions) TouchSession(ctx context.Context, tokenHash string, lastSeen time.Time, idle time.Duration) error {
	s, err := r.get(ctx, tokenHash)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.LastSeenAt = lastSeen.UTC()
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: redis: %w", err)
	}
	d := ttl(s, idle, lastSeen)
	if d <= 0 {
		return r.DeleteSession(ctx, tokenHash)
	}
	// XX: never resurrect a session deleted meanwhile.
	if err := r.rdb.SetArgs(ctx, r.key(tokenHash), b, redis.SetArgs{Mode: "XX", TTL: d}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("session: redis touch: %w", err)
	}
	return nil
}

// DeleteSession implements Sessions.
func (r *RedisSessions) DeleteSession(ctx context.Context, tokenHash string) error {
	s, err := r.get(ctx, tokenHash)
	if errors.Is(err, ErrNotFound) {
		return r.rdb.Del(ctx, r.key(tokenHash)).Err()
	}
	if err != nil {
		return err
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.key(tokenHash))
		p.SRem(ctx, r.userKey(s.UserID), tokenHash)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session: redis delete: %w", err)
	}
	return nil
}

// userSessions loads userID's live sessions and prunes dead set members.
func (r *RedisSessions) userSessions(ctx context.Context, userID string) ([]Session, error) {
	hashes, err := r.rdb.SMembers(ctx, r.userKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("session: redis list: %w", err)
	}
	if len(hashes) == 0 {
		return nil, nil
	}
	keys := make([]string, len(hashes))
	for i, h := range hashes {
		keys[i] = r.key(h)
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("session: redis list: %w", err)
	}
	var (
		out  []Session
		dead []any
	)
	at := time.Now()
	for i, v := range vals {
		str, ok := v.(string)
		var s Session
		if !ok || json.Unmarshal([]byte(str), &s) != nil || !at.Before(s.ExpiresAt) || s.UserID != userID {
			dead = append(dead, hashes[i])
			continue
		}
		out = append(out, s)
	}
	if len(dead) > 0 {
		r.rdb.SRem(ctx, r.userKey(userID), dead...)
	}
	slices.SortFunc(out, func(a, b Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ListSessions implements Sessions.
func (r *RedisSessions) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	return r.userSessions(ctx, userID)
}

// DeleteSessionByID implements Sessions.
func (r *RedisSessions) DeleteSessionByID(ctx context.Context, userID, id string) error {
	list, err := r.userSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID == id {
			return r.DeleteSession(ctx, s.TokenHash)
		}
	}
	return ErrNotFound
}

// DeleteUserSessions implements Sessions.
func (r *RedisSessions) DeleteUserSessions(ctx context.Context, userID, exceptHash string) (int, error) {
	hashes, err := r.rdb.SMembers(ctx, r.userKey(userID)).Result()
	if err != nil {
		return 0, fmt.Errorf("session: redis list: %w", err)
	}
	n := 0
	for _, h := range hashes {
		if h == exceptHash {
			continue
		}
		deleted, err := r.rdb.Del(ctx, r.key(h)).Result()
		if err != nil {
			return n, fmt.Errorf("session: redis delete: %w", err)
		}
		n += int(deleted)
		r.rdb.SRem(ctx, r.userKey(userID), h)
	}
	return n, nil
}
