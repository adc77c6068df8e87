package redisfleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/sender/outbox"
)

// DefaultTallyExpiry is how long a campaign's counts are kept after its
// last counted key: long enough to re-run a campaign, or read its report,
// weeks later.
const DefaultTallyExpiry = 30 * 24 * time.Hour

// recordScript counts a key once.
//
//	KEYS: counted keys, counts
//	ARGV: key, outcome, expiry (ms)
//	returns 1 when it counted the key now, 0 when it was counted before
var recordScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`)

// Tally is an outbox.Tally shared by every instance that uses the same
// Redis and prefix: see the package documentation. Its methods are safe
// for concurrent use.
type Tally struct {
	rdb    redis.UniversalClient
	prefix string
	expiry time.Duration
}

// TallyOption configures a Tally.
type TallyOption func(*Tally)

// WithExpiry sets how long a campaign's counts are kept after its last
// counted key (DefaultTallyExpiry).
func WithExpiry(d time.Duration) TallyOption { return func(t *Tally) { t.expiry = d } }

// NewTally returns a Tally for the app whose keys start with prefix, on
// rdb (the app's go-redis client; the tally never closes it).
func NewTally(rdb redis.UniversalClient, prefix string, opts ...TallyOption) (*Tally, error) {
	if rdb == nil {
		return nil, errors.New("wxsub/outbox/redisfleet: NewTally: nil Redis client")
	}
	if prefix == "" {
		return nil, errors.New("wxsub/outbox/redisfleet: NewTally: empty prefix (use one per app, such as \"wxsub:{wx1234}:\")")
	}
	t := &Tally{rdb: rdb, prefix: prefix, expiry: DefaultTallyExpiry}
	for _, opt := range opts {
		if opt != nil {
			opt(t)
		}
	}
	if t.expiry < time.Millisecond {
		return nil, fmt.Errorf("wxsub/outbox/redisfleet: WithExpiry: %v, want at least a millisecond", t.expiry)
	}
	return t, nil
}

func (t *Tally) keys(campaign string) []string {
	base := t.prefix + "tally:{c:" + campaign + "}:"
	return []string{base + "keys", base + "counts"}
}

// Record implements outbox.Tally.
func (t *Tally) Record(ctx context.Context, campaign, key string, outcome outbox.Outcome) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	n, err := recordScript.Run(ctx, t.rdb, t.keys(campaign), key, string(outcome), t.expiry.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("wxsub/outbox/redisfleet: Record: %w", err)
	}
	return n == 1, nil
}

// Counts implements outbox.Tally.
func (t *Tally) Counts(ctx context.Context, campaign string) (map[outbox.Outcome]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := t.rdb.HGetAll(ctx, t.keys(campaign)[1]).Result()
	if err != nil {
		return nil, fmt.Errorf("wxsub/outbox/redisfleet: Counts: %w", err)
	}
	out := make(map[outbox.Outcome]int64, len(m))
	for o, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("wxsub/outbox/redisfleet: Counts: count of %q is %q: %w", o, v, err)
		}
		out[outbox.Outcome(o)] = n
	}
	return out, nil
}
