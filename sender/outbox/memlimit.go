package outbox

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MemoryLimiter is a Limiter for one process, on golang.org/x/time/rate's
// token bucket. A fleet of instances needs a shared one (package
// sender/outbox/redisfleet): N instances with a MemoryLimiter each send N
// times its rate.
type MemoryLimiter struct {
	limits Limits
	now    func() time.Time

	mu     sync.Mutex
	bucket *rate.Limiter
	day    string
	used   int64
	until  time.Time
}

// NewMemoryLimiter returns a MemoryLimiter allowing l (zero fields take
// the defaults of Limits). now is the clock (nil: time.Now); tests pass
// their own to cross a quota day or a pause.
func NewMemoryLimiter(l Limits, now func() time.Time) *MemoryLimiter {
	l = l.Normalize()
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{limits: l, now: now, bucket: rate.NewLimiter(rate.Limit(l.PerSecond), l.Burst)}
}

// Take implements Limiter.
func (m *MemoryLimiter) Take(ctx context.Context, p Priority) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Before(m.until) {
		return m.until.Sub(now), nil
	}
	if day := QuotaDay(now); day != m.day {
		m.day, m.used = day, 0
	}
	if b := m.limits.Budget(p); b >= 0 && m.used >= b {
		return NextQuotaReset(now).Sub(now), nil
	}
	r := m.bucket.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, nil
	}
	m.used++
	return 0, nil
}

// Pause implements Limiter.
func (m *MemoryLimiter) Pause(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.until) {
		m.until = until
	}
	return nil
}

// MemoryTally is a Tally for one process.
type MemoryTally struct {
	mu        sync.Mutex
	campaigns map[string]*tallyCounts
}

type tallyCounts struct {
	keys   map[string]struct{}
	counts map[Outcome]int64
}

// NewMemoryTally returns an empty MemoryTally.
func NewMemoryTally() *MemoryTally { return &MemoryTally{campaigns: map[string]*tallyCounts{}} }

// Record implements Tally.
func (m *MemoryTally) Record(ctx context.Context, campaign, key string, outcome Outcome) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.campaigns[campaign]
	if c == nil {
		c = &tallyCounts{keys: map[string]struct{}{}, counts: map[Outcome]int64{}}
		m.campaigns[campaign] = c
	}
	if _, ok := c.keys[key]; ok {
		return false, nil
	}
	c.keys[key] = struct{}{}
	c.counts[outcome]++
	return true, nil
}

// Counts implements Tally.
func (m *MemoryTally) Counts(ctx context.Context, campaign string) (map[Outcome]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[Outcome]int64{}
	if c := m.campaigns[campaign]; c != nil {
		for k, v := range c.counts {
			out[k] = v
		}
	}
	return out, nil
}
