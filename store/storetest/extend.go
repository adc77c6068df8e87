package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// runDedupeExtend checks store.DedupeExtender for stores that implement it.
func runDedupeExtend(t *testing.T, newStore func(t *testing.T) store.DedupeStore) {
	t.Helper()
	if _, ok := newStore(t).(store.DedupeExtender); !ok {
		t.Log("the store does not implement store.DedupeExtender: Extend subtests skipped")
		return
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.DedupeExtender)
	}{
		{"ExtendStates", testExtendStates},
		{"ExtendLengthensLease", expiring(testExtendLengthensLease)},
		{"ExtendShortensLease", expiring(testExtendShortensLease)},
		{"ExtendLeavesDone", expiring(testExtendLeavesDone)},
		{"ExtendInvalidArguments", testExtendInvalidArguments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t).(store.DedupeExtender)) })
	}
}

func extend(t testing.TB, ctx context.Context, s store.DedupeExtender, key string, lease time.Duration, want store.DedupeState) {
	t.Helper()
	got, err := s.Extend(ctx, key, lease)
	noErr(t, "Extend", err)
	if got != want {
		t.Fatalf("Extend(%s) = %v, want %v", key, got, want)
	}
}

// testExtendStates: Extend reports each state and claims nothing itself.
func testExtendStates(t *testing.T, s store.DedupeExtender) {
	ctx, key := testContext(t), unique("push")
	extend(t, ctx, s, key, time.Minute, store.DedupeNew)
	begin(t, ctx, s, key, time.Minute, store.DedupeNew) // Extend did not claim it
	extend(t, ctx, s, key, time.Minute, store.DedupeInFlight)
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
	noErr(t, "Done", s.Done(ctx, key, time.Minute))
	extend(t, ctx, s, key, time.Minute, store.DedupeDone)
	begin(t, ctx, s, key, time.Minute, store.DedupeDone) // still done, not in flight
	noErr(t, "Abort", s.Abort(ctx, key))
	begin(t, ctx, s, key, time.Minute, store.DedupeDone)
}

// testExtendLengthensLease: a claim extended before its lease ran out
// outlives that lease; an expired claim cannot be extended.
func testExtendLengthensLease(t testing.TB, s store.DedupeExtender, tm *timing) {
	ctx, key, lapsed := testContext(t), unique("push"), unique("lapsed")
	begin(t, ctx, s, key, tm.short, store.DedupeNew)
	begin(t, ctx, s, lapsed, tm.short, store.DedupeNew)
	extend(t, ctx, s, key, time.Minute, store.DedupeInFlight)
	tm.wait()
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
	extend(t, ctx, s, lapsed, time.Minute, store.DedupeNew)
	begin(t, ctx, s, lapsed, time.Minute, store.DedupeNew)
}

// testExtendShortensLease: Extend sets the lease from now, as Begin does;
// it does not only lengthen it.
func testExtendShortensLease(t testing.TB, s store.DedupeExtender, tm *timing) {
	ctx, key := testContext(t), unique("push")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	extend(t, ctx, s, key, tm.short, store.DedupeInFlight)
	tm.wait()
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
}

// testExtendLeavesDone: Extend on a done key changes nothing, not even
// when the record expires.
func testExtendLeavesDone(t testing.TB, s store.DedupeExtender, tm *timing) {
	ctx, key := testContext(t), unique("push")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	noErr(t, "Done", s.Done(ctx, key, tm.short))
	extend(t, ctx, s, key, time.Minute, store.DedupeDone)
	tm.wait()
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
}

func testExtendInvalidArguments(t *testing.T, s store.DedupeExtender) {
	ctx, key := testContext(t), unique("push")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	for _, tc := range []struct {
		name  string
		key   string
		lease time.Duration
	}{
		{"Extend empty key", "", time.Minute},
		{"Extend lease=0", key, 0},
		{"Extend lease<0", key, -time.Second},
	} {
		_, err := s.Extend(ctx, tc.key, tc.lease)
		wantErrIs(t, tc.name, err, store.ErrInvalidArgument)
	}
	_, err := s.Extend(cancelledContext(), key, time.Minute)
	wantErrIs(t, "Extend cancelled", err, context.Canceled)
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
}
