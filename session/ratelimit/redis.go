package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is the Limiter and Backoff shared by every node through Redis. The
// limiter is github.com/go-redis/redis_rate (GCRA in a Lua script, using the
// Redis server's clock); the backoff is a small Lua script of its own.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	rate   *redis_rate.Limiter
}

var (
	_ Limiter = (*Redis)(nil)
	_ Backoff = (*Redis)(nil)
)

// NewRedis returns a Redis limiter whose keys start with prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, rate: redis_rate.NewLimiter(rdb)}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if !l.valid() {
		return Result{}, ErrBadLimit
	}
	res, err := r.rate.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Period})
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	out := Result{Allowed: res.Allowed > 0, Remaining: res.Remaining}
	if !out.Allowed {
		out.RetryAfter = max(res.RetryAfter, time.Millisecond)
	}
	return out, nil
}

// failScript counts a failure and sets the time before which no attempt
// may be made. KEYS[1] hash; ARGV: free, base ms, max ms, forget ms.
var failScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free, base, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
if n > free then
  wait = base
  for i = free + 2, n do
    if wait >= max then break end
    wait = wait * 2
  end
  if wait > max then wait = max end
end
redis.call('HSET', KEYS[1], 'until', now + wait)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return wait
`)

// waitScript returns the milliseconds key must still wait.
var waitScript = redis.NewScript(`
local u = redis.call('HGET', KEYS[1], 'until')
if not u then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(u) - now
if w < 0 then return 0 end
return w
`)

// Wait implements Backoff.
func (r *Redis) Wait(ctx context.Context, key string, _ Penalty) (time.Duration, error) {
	ms, err := waitScript.Run(ctx, r.rdb, []string{r.prefix + "fail:" + key}).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Fail implements Backoff.
func (r *Redis) Fail(ctx context.Context, key string, p Penalty) (time.Duration, error) {
	ms, err := failScript.Run(ctx, r.rdb, []string{r.prefix + "fail:" + key},
		p.Free, p.Base.Milliseconds(), p.Max.Milliseconds(), max(p.Forget.Milliseconds(), 1)).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Reset implements Backoff.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.rdb.Del(ctx, r.prefix+"fail:"+key).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}
