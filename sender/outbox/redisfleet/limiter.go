package redisfleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/sender/outbox"
)

// takeScript reads the pause and counts one send against the day's
// budget. redis_rate has no budget per calendar day and no pause, so these
// two are this package's own, kept small: a GET, and an INCR given back
// when over.
//
//	KEYS: pause, day count
//	ARGV: now (Unix ms), budget (-1 for none), TTL of a new day count (ms)
//	returns {1, ms to wait}: paused
//	        {2, 0}: the budget is spent (nothing counted)
//	        {0, 0}: counted (or no budget)
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local p = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if p > now then
  return {1, p - now}
end
local budget = tonumber(ARGV[2])
if budget >= 0 then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
  end
  if n > budget then
    redis.call('DECR', KEYS[2])
    return {2, 0}
  end
end
return {0, 0}
`)

// pauseScript moves the pause later, never earlier.
//
//	KEYS: pause
//	ARGV: until (Unix ms), TTL (ms)
var pauseScript = redis.NewScript(`
local p = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > p then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`)

// Limiter is an outbox.Limiter shared by every instance that uses the same
// Redis and prefix: see the package documentation. Its methods are safe
// for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	gcra   *redis_rate.Limiter
	rate   redis_rate.Limit
	limits outbox.Limits
	now    func() time.Time

	pauseKey, dayPrefix, rateKey string
}

// LimiterOption configures a Limiter.
type LimiterOption func(*Limiter)

// WithClock sets the clock of the pause and the quota day (default
// time.Now); tests pass their own to cross a pause or a midnight. The
// rate follows the Redis server's clock whatever this says.
func WithClock(now func() time.Time) LimiterOption {
	return func(l *Limiter) { l.now = now }
}

// NewLimiter returns a Limiter allowing limits (zero fields take the
// defaults of outbox.Limits) to the app whose keys start with prefix, on
// rdb (the app's go-redis client; the limiter never closes it). Every
// instance of the app must use the same prefix and the same limits.
func NewLimiter(rdb redis.UniversalClient, prefix string, limits outbox.Limits, opts ...LimiterOption) (*Limiter, error) {
	if rdb == nil {
		return nil, errors.New("wxsub/outbox/redisfleet: NewLimiter: nil Redis client")
	}
	if prefix == "" {
		return nil, errors.New("wxsub/outbox/redisfleet: NewLimiter: empty prefix (use one per app, such as \"wxsub:{wx1234}:\")")
	}
	limits = limits.Normalize()
	l := &Limiter{
		rdb:       rdb,
		gcra:      redis_rate.NewLimiter(rdb),
		rate:      redis_rate.Limit{Rate: limits.PerSecond, Burst: limits.Burst, Period: time.Second},
		limits:    limits,
		now:       time.Now,
		pauseKey:  prefix + "{limit}:pause",
		dayPrefix: prefix + "{limit}:day:",
		rateKey:   prefix + "{limit}:rate",
	}
	for _, opt := range opts {
		if opt != nil {
			opt(l)
		}
	}
	if l.now == nil {
		return nil, errors.New("wxsub/outbox/redisfleet: WithClock: nil clock")
	}
	return l, nil
}

// Limits returns the limits in force, defaults applied.
func (l *Limiter) Limits() outbox.Limits { return l.limits }

// Take implements outbox.Limiter.
func (l *Limiter) Take(ctx context.Context, p outbox.Priority) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := l.now()
	reset := outbox.NextQuotaReset(now)
	dayKey := l.dayPrefix + outbox.QuotaDay(now)
	budget := l.limits.Budget(p)
	// The day's count outlives its day by a day, for a late give-back
	// and for a look at yesterday.
	keep := reset.Sub(now) + 24*time.Hour
	res, err := takeScript.Run(ctx, l.rdb, []string{l.pauseKey, dayKey}, now.UnixMilli(), budget, keep.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("wxsub/outbox/redisfleet: Take: %w", err)
	}
	if len(res) != 2 {
		return 0, fmt.Errorf("wxsub/outbox/redisfleet: Take: unexpected answer %v", res)
	}
	switch res[0] {
	case 1:
		return time.Duration(res[1]) * time.Millisecond, nil
	case 2:
		return reset.Sub(now), nil
	}
	r, err := l.gcra.Allow(ctx, l.rateKey, l.rate)
	if err != nil {
		return 0, errors.Join(fmt.Errorf("wxsub/outbox/redisfleet: Take: the rate: %w", err), l.giveBack(ctx, dayKey, budget))
	}
	if r.Allowed > 0 {
		return 0, nil
	}
	// At least a millisecond: 0 means "send now".
	wait := max(r.RetryAfter, time.Millisecond)
	return wait, l.giveBack(ctx, dayKey, budget)
}

// giveBack returns a send's count to the day after the rate refused it.
func (l *Limiter) giveBack(ctx context.Context, dayKey string, budget int64) error {
	if budget < 0 {
		return nil
	}
	if err := l.rdb.Decr(context.WithoutCancel(ctx), dayKey).Err(); err != nil {
		return fmt.Errorf("wxsub/outbox/redisfleet: Take: giving back the day's count of a refused send (the budget is one short today): %w", err)
	}
	return nil
}

// Pause implements outbox.Limiter: it stops every instance's sends until
// until (a later pause stands).
func (l *Limiter) Pause(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := until.Sub(l.now())
	if d <= 0 {
		return nil
	}
	// Kept a minute past its end, so that instances whose clocks run a
	// little behind still see it.
	if err := pauseScript.Run(ctx, l.rdb, []string{l.pauseKey}, until.UnixMilli(), (d + time.Minute).Milliseconds()).Err(); err != nil {
		return fmt.Errorf("wxsub/outbox/redisfleet: Pause: %w", err)
	}
	return nil
}
