package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// stalledDedupe is an in-memory dedupe store whose third Begin stalls
// before it reaches the store, as a process descheduled on a loaded
// machine does, for longer than the first round's short TTL.
type stalledDedupe struct {
	store.DedupeStore
	calls atomic.Int32
}

func (s *stalledDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	if s.calls.Add(1) == 3 {
		time.Sleep(shortTTL + 50*time.Millisecond)
	}
	return s.DedupeStore.Begin(ctx, key, lease)
}

// TestExpiringRetriesOnlyTooLateRounds: a round whose check came after
// the short TTL ran out is run again with longer timings, and passes.
// (A fault found in time fails at once: TestSuiteCatchesBugs.)
func TestExpiringRetriesOnlyTooLateRounds(t *testing.T) {
	s := &stalledDedupe{DedupeStore: memory.NewDedupe()}
	expiring(testDedupeLeaseExpiry)(t, s)
	if n := s.calls.Load(); n <= 5 {
		t.Fatalf("%d Begin calls: the stalled round was not run again", n)
	}
}
