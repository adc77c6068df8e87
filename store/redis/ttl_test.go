package redis_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// TestGetTokenNotPastExpiresAt: GetToken must return ErrNotFound once the
// token expired. The key's expiry is rounded up to the millisecond, and
// Redis keeps a key through its last millisecond, so for about a
// millisecond (longer with network delay) the key outlives ExpiresAt;
// GetToken once handed such a token back. Found by review.
func TestGetTokenNotPastExpiresAt(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for trial := range 10 {
		// ExpiresAt 0.999 ms past a whole millisecond.
		exp := time.Now().Add(4 * time.Millisecond).Truncate(time.Millisecond).Add(999 * time.Microsecond)
		if err := s.SetToken(ctx, "app", store.Token{AccessToken: "tok", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		// Spin to just after the stored (truncated) expiry.
		target := exp.Truncate(time.Millisecond).Add(20 * time.Microsecond)
		for time.Now().Before(target) {
		}
		before := time.Now()
		tok, err := s.GetToken(ctx, "app")
		if err == nil && !before.Before(tok.ExpiresAt) {
			t.Fatalf("trial %d: GetToken at %s returned a token that expired at %s, want ErrNotFound",
				trial, before.Format("15:04:05.000000"), tok.ExpiresAt.Format("15:04:05.000000"))
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
}

// TestLongestTTL: a TTL rounded up to whole milliseconds and converted back
// once overflowed for TTLs in the last millisecond of Duration's range
// (math.MaxInt64 is a common "as long as possible"): Done wrote its key
// with no expiry at all, and AcquireLease sent a negative PX that Redis
// refused. Found by review; the conformance suite checks the lease too.
func TestLongestTTL(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const huge = time.Duration(math.MaxInt64)

	t.Run("Done", func(t *testing.T) {
		if err := s.Done(ctx, "push", huge); err != nil {
			t.Fatal(err)
		}
		pttl, err := c.Do(ctx, "PTTL", prefix+"dedupe:push").Int64()
		if err != nil {
			t.Fatal(err)
		}
		if pttl < 0 {
			t.Errorf("after Done(ttl=MaxInt64) the dedupe key has PTTL %d (no expiry), want a positive TTL", pttl)
		}
	})
	t.Run("AcquireLease", func(t *testing.T) {
		if _, err := s.AcquireLease(ctx, "app", huge); err != nil {
			t.Errorf("AcquireLease(ttl=MaxInt64) = %v, want a lease", err)
		}
	})
}
