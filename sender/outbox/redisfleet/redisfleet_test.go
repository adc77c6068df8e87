package redisfleet

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/outboxtest"
)

// backends gives every test one prefix on the shared Redis, so that the
// instances a Fleet suite makes in one test share it, and deletes its keys
// (redis_rate's included) when the test ends.
var backends sync.Map // *testing.T -> *backend

type backend struct {
	c      *redis.Client
	prefix string
}

func backendFor(t *testing.T) *backend {
	t.Helper()
	if b, ok := backends.Load(t); ok {
		return b.(*backend)
	}
	c, prefix := redistest.Client(t)
	b := &backend{c: c, prefix: prefix}
	backends.Store(t, b)
	t.Cleanup(func() {
		backends.Delete(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		redistest.DeletePrefix(ctx, c, "rate:"+prefix)
	})
	return b
}

func newLimiter(t *testing.T, l outbox.Limits, now func() time.Time) outbox.Limiter {
	b := backendFor(t)
	lim, err := NewLimiter(b.c, b.prefix, l, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return lim
}

func newTally(t *testing.T) outbox.Tally {
	b := backendFor(t)
	tl, err := NewTally(b.c, b.prefix)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestLimiter(t *testing.T)      { outboxtest.RunLimiter(t, newLimiter) }
func TestLimiterFleet(t *testing.T) { outboxtest.RunLimiterFleet(t, newLimiter) }
func TestTally(t *testing.T)        { outboxtest.RunTally(t, newTally) }
func TestTallyFleet(t *testing.T)   { outboxtest.RunTallyFleet(t, newTally) }

func TestNewRejectsBadArguments(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"})
	defer c.Close()
	if _, err := NewLimiter(nil, "p:", outbox.Limits{}); err == nil {
		t.Error("NewLimiter with a nil client succeeded")
	}
	if _, err := NewLimiter(c, "", outbox.Limits{}); err == nil {
		t.Error("NewLimiter with an empty prefix succeeded")
	}
	if _, err := NewLimiter(c, "p:", outbox.Limits{}, WithClock(nil)); err == nil {
		t.Error("NewLimiter with a nil clock succeeded")
	}
	if _, err := NewTally(nil, "p:"); err == nil {
		t.Error("NewTally with a nil client succeeded")
	}
	if _, err := NewTally(c, ""); err == nil {
		t.Error("NewTally with an empty prefix succeeded")
	}
	if _, err := NewTally(c, "p:", WithExpiry(0)); err == nil {
		t.Error("NewTally with no expiry succeeded")
	}
	l, err := NewLimiter(c, "p:", outbox.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Limits(); got != (outbox.Limits{}).Normalize() {
		t.Errorf("Limits() = %+v; want the defaults", got)
	}
}

// TestKeys checks where the limiter and the tally write, and that the
// day's count, the pause and the tally's hashes expire.
func TestKeys(t *testing.T) {
	b := backendFor(t)
	ctx := context.Background()
	lim, err := NewLimiter(b.c, b.prefix, outbox.Limits{Daily: 100})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := NewTally(b.c, b.prefix, WithExpiry(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if w, err := lim.Take(ctx, outbox.Campaign); err != nil || w != 0 {
		t.Fatalf("Take = %v, %v", w, err)
	}
	if err := lim.Pause(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Record(ctx, "spring", "k1", outbox.OutcomeDelivered); err != nil {
		t.Fatal(err)
	}
	day := b.prefix + "{limit}:day:" + outbox.QuotaDay(time.Now())
	want := map[string][2]time.Duration{ // key -> TTL bounds
		b.prefix + "{limit}:pause":           {time.Hour, time.Hour + time.Minute},
		day:                                  {24 * time.Hour, 48 * time.Hour},
		"rate:" + b.prefix + "{limit}:rate":  {0, time.Second},
		b.prefix + "tally:{c:spring}:keys":   {time.Hour - time.Minute, time.Hour},
		b.prefix + "tally:{c:spring}:counts": {time.Hour - time.Minute, time.Hour},
	}
	for key, bounds := range want {
		ttl, err := b.c.PTTL(ctx, key).Result()
		if err != nil || ttl < bounds[0]-time.Second || ttl > bounds[1] {
			t.Errorf("PTTL %q = %v, %v; want within %v", key, ttl, err, bounds)
		}
	}
	if n, _ := b.c.Get(ctx, day).Int(); n != 1 {
		t.Errorf("the day's count is %d after one Take; want 1", n)
	}
	// Each script's keys share a hash tag.
	for _, pair := range [][2]string{
		{b.prefix + "{limit}:pause", day},
		{b.prefix + "tally:{c:spring}:keys", b.prefix + "tally:{c:spring}:counts"},
		{"x:{wx1}:{limit}:pause", "x:{wx1}:{limit}:day:2031-03-14"},
	} {
		if hashTag(pair[0]) != hashTag(pair[1]) || hashTag(pair[0]) == "" {
			t.Errorf("keys %q and %q have hash tags %q and %q", pair[0], pair[1], hashTag(pair[0]), hashTag(pair[1]))
		}
	}
}

// hashTag returns the part of key that Redis Cluster hashes when there is
// a non-empty {...} in it, or "".
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}

// TestRateRefusalGivesBackTheCount checks the count directly: a Take the
// rate refuses leaves the day's count as it was.
func TestRateRefusalGivesBackTheCount(t *testing.T) {
	b := backendFor(t)
	ctx := context.Background()
	lim, err := NewLimiter(b.c, b.prefix, outbox.Limits{PerSecond: 1, Burst: 1, Daily: 100})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := lim.Take(ctx, outbox.Transactional); w != 0 {
		t.Fatalf("first Take waits %v", w)
	}
	for range 5 {
		if w, err := lim.Take(ctx, outbox.Transactional); err != nil || w == 0 {
			t.Fatalf("Take beyond the rate = %v, %v; want a wait", w, err)
		}
	}
	day := b.prefix + "{limit}:day:" + outbox.QuotaDay(time.Now())
	if n, _ := b.c.Get(ctx, day).Int(); n != 1 {
		t.Errorf("the day's count is %d after one send and five refusals; want 1", n)
	}
}
