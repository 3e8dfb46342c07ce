// Package redislease is an rtc.Leases on Redis, for several nodes serving
// rtc: one key per project's room, Prefix + projectID, holding the URL of
// the node that holds the room. It is taken with SET NX and a TTL,
// extended while the node has peers in the room, and deleted when the
// room empties; a node that dies loses its leases when they expire.
// Every check-and-change is one Lua script, so a node never extends or
// deletes a lease that another node took meanwhile.
package redislease

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/rtc"
)

// Options tune New. Zero values mean the defaults shown.
type Options struct {
	// NodeURL is the base URL other nodes reach this node at (its rtc
	// signalling is NodeURL + "/rtc/{projectId}"); required, and
	// different on every node.
	NodeURL string
	Prefix  string        // key prefix; "mb:rtc:room:"
	TTL     time.Duration // a lease not renewed expires after this; 10 s
}

// Leases is an rtc.Leases on Redis. It is safe for concurrent use and
// holds no goroutines (the rtc.Server renews).
type Leases struct {
	rdb  redis.UniversalClient
	opts Options
}

var _ rtc.Leases = (*Leases)(nil)

// ErrNodeURL is returned by New for a missing or malformed NodeURL.
var ErrNodeURL = errors.New("redislease: NodeURL must be an absolute http:// or https:// URL")

// New returns Leases on rdb for the node at opts.NodeURL. rdb stays the
// caller's.
func New(rdb redis.UniversalClient, opts Options) (*Leases, error) {
	u, err := url.Parse(opts.NodeURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %q", ErrNodeURL, opts.NodeURL)
	}
	if opts.Prefix == "" {
		opts.Prefix = "mb:rtc:room:"
	}
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Second
	}
	return &Leases{rdb: rdb, opts: opts}, nil
}

// acquire takes the lease when it is free and extends it when it is
// ours; it returns the holder.
var acquire = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v
`)

// renew extends the lease if it is ours.
var renew = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// release deletes the lease if it is ours.
var release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Acquire implements rtc.Leases.
func (l *Leases) Acquire(ctx context.Context, projectID string) (string, error) {
	owner, err := acquire.Run(ctx, l.rdb, []string{l.opts.Prefix + projectID}, l.opts.NodeURL, l.opts.TTL.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("redislease: acquire %s: %w", projectID, err)
	}
	if owner == l.opts.NodeURL {
		return "", nil
	}
	return owner, nil
}

// Renew implements rtc.Leases.
func (l *Leases) Renew(ctx context.Context, projectID string) (bool, error) {
	n, err := renew.Run(ctx, l.rdb, []string{l.opts.Prefix + projectID}, l.opts.NodeURL, l.opts.TTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redislease: renew %s: %w", projectID, err)
	}
	return n == 1, nil
}

// Release implements rtc.Leases.
func (l *Leases) Release(ctx context.Context, projectID string) error {
	if err := release.Run(ctx, l.rdb, []string{l.opts.Prefix + projectID}, l.opts.NodeURL).Err(); err != nil {
		return fmt.Errorf("redislease: release %s: %w", projectID, err)
	}
	return nil
}

// TTL implements rtc.Leases.
func (l *Leases) TTL() time.Duration { return l.opts.TTL }

// Holder returns the URL of the node holding projectID's room, or "" when
// none does (operators, tests).
func (l *Leases) Holder(ctx context.Context, projectID string) (string, error) {
	v, err := l.rdb.Get(ctx, l.opts.Prefix+projectID).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("redislease: holder %s: %w", projectID, err)
	}
	return v, nil
}
