package memory

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// TestCleanupRemovesExpired checks that the janitor frees expired grants,
// tokens and leases, not just hides them. Dedupe records are dropped when
// their table fills up instead (see TestDedupeRebuildDropsExpired).
//
// The records must be seen in the caches before they expire; a machine
// too slow to look within the TTL proves nothing, so that round is run
// again with a TTL ten times as long.
func TestCleanupRemovesExpired(t *testing.T) {
	for _, ttl := range []time.Duration{50 * time.Millisecond, 500 * time.Millisecond, 5 * time.Second} {
		if cleanupRemovesExpired(t, ttl) {
			return
		}
		t.Logf("records with a %v TTL expired before the test could see them; again with a longer TTL", ttl)
	}
	t.Fatal("the records always expired before the test could see them")
}

// cleanupRemovesExpired is one round of TestCleanupRemovesExpired. It
// reports false if the round proved nothing.
func cleanupRemovesExpired(t *testing.T, ttl time.Duration) bool {
	ctx := t.Context()
	s := New(WithCleanupInterval(20 * time.Millisecond))
	written := time.Now()
	if _, err := s.AddOneTime(ctx, "u", "t", 1, ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.SetToken(ctx, "app", store.Token{AccessToken: "x", ExpiresAt: time.Now().Add(ttl)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "app", ttl); err != nil {
		t.Fatal(err)
	}
	caches := map[string]interface{ ItemCount() int }{
		"grants": s.grants, "tokens": s.tokens, "leases": s.leases,
	}
	for name, c := range caches {
		if n := c.ItemCount(); n != 1 {
			if time.Since(written) >= ttl {
				return false
			}
			t.Fatalf("%s holds %d entries before expiry, want 1", name, n)
		}
	}
	deadline := time.Now().Add(ttl + 10*time.Second)
	for name, c := range caches {
		for c.ItemCount() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds %d entries long after they expired", name, c.ItemCount())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return true
}

// TestCacheTTL pins the mapping from our "0 means never" to go-cache's
// "0 means the default".
func TestCacheTTL(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, -1},
		{-time.Second, -1},
		{time.Nanosecond, time.Nanosecond},
		{time.Hour, time.Hour},
		{maxCacheTTL, maxCacheTTL},
		{maxCacheTTL + 1, -1},
		{math.MaxInt64, -1},
	}
	for _, tc := range tests {
		if got := cacheTTL(tc.in); got != tc.want {
			t.Errorf("cacheTTL(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestReceiptOpsPruned checks that a user's expired ConsumeOnce operations
// are swept as new ones come, so that an active user's map stays bounded by
// the operations still live, and that the janitor drops the user's entry
// once every operation expired.
func TestReceiptOpsPruned(t *testing.T) {
	ctx := t.Context()
	s := New(WithCleanupInterval(20 * time.Millisecond))
	if err := s.SetLongTerm(ctx, "u", "t", 0); err != nil {
		t.Fatal(err)
	}
	const opTTL = 30 * time.Millisecond
	ops := func() int {
		s.mu.RLock()
		defer s.mu.RUnlock()
		v, ok := s.receipts.Get("u")
		if !ok {
			return 0
		}
		return len(v.(*userOps).ops)
	}
	largest := 0
	for round := range 5 {
		for i := range 100 {
			if _, _, err := s.ConsumeOnce(ctx, strconv.Itoa(round*100+i), opTTL, "u", "t"); err != nil {
				t.Fatal(err)
			}
			largest = max(largest, ops())
		}
		time.Sleep(2 * opTTL) // every operation of this round expires
	}
	// Each round adds 100 live operations to whatever expired ones the
	// last sweep left: never more than twice that.
	if largest > 2*100 {
		t.Fatalf("a user with at most 100 live operations held %d", largest)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.receipts.ItemCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("receipts still holds %d users long after their operations expired", s.receipts.ItemCount())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
