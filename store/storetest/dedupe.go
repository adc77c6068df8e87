package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// RunDedupeStore runs the conformance suite for store.DedupeStore. newStore
// is called once per subtest and must return a store that is ready to use.
func RunDedupeStore(t *testing.T, newStore func(t *testing.T) store.DedupeStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s store.DedupeStore)
	}{
		{"Lifecycle", testDedupeLifecycle},
		{"Abort", testDedupeAbort},
		{"AbortAfterDone", testDedupeAbortAfterDone},
		{"DoneWithoutBegin", testDedupeDoneWithoutBegin},
		{"LeaseExpiry", expiring(testDedupeLeaseExpiry)},
		{"DoneExpiry", expiring(testDedupeDoneExpiry)},
		{"Race", testDedupeRace},
		{"InvalidArguments", testDedupeInvalidArguments},
		{"CancelledContext", testDedupeCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	runDedupeExtend(t, newStore)
}

func begin(t testing.TB, ctx context.Context, s store.DedupeStore, key string, lease time.Duration, want store.DedupeState) {
	t.Helper()
	got, err := s.Begin(ctx, key, lease)
	noErr(t, "Begin", err)
	if got != want {
		t.Fatalf("Begin(%s) = %v, want %v", key, got, want)
	}
}

func testDedupeLifecycle(t *testing.T, s store.DedupeStore) {
	ctx, key, other := testContext(t), unique("push"), unique("other")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
	begin(t, ctx, s, other, time.Minute, store.DedupeNew)
	noErr(t, "Done", s.Done(ctx, key, time.Minute))
	begin(t, ctx, s, key, time.Minute, store.DedupeDone)
	begin(t, ctx, s, key, time.Minute, store.DedupeDone)
	begin(t, ctx, s, other, time.Minute, store.DedupeInFlight)
}

func testDedupeAbort(t *testing.T, s store.DedupeStore) {
	ctx, key := testContext(t), unique("push")
	noErr(t, "Abort(missing)", s.Abort(ctx, key))
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	noErr(t, "Abort", s.Abort(ctx, key))
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
}

func testDedupeAbortAfterDone(t *testing.T, s store.DedupeStore) {
	ctx, key := testContext(t), unique("push")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	noErr(t, "Done", s.Done(ctx, key, time.Minute))
	noErr(t, "Abort", s.Abort(ctx, key))
	begin(t, ctx, s, key, time.Minute, store.DedupeDone)
}

func testDedupeDoneWithoutBegin(t *testing.T, s store.DedupeStore) {
	ctx, key := testContext(t), unique("push")
	noErr(t, "Done", s.Done(ctx, key, time.Minute))
	begin(t, ctx, s, key, time.Minute, store.DedupeDone)
}

func testDedupeLeaseExpiry(t testing.TB, s store.DedupeStore, tm *timing) {
	ctx, key, kept := testContext(t), unique("push"), unique("kept")
	begin(t, ctx, s, key, tm.short, store.DedupeNew)
	begin(t, ctx, s, kept, tm.long, store.DedupeNew)
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
	tm.wait()
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	begin(t, ctx, s, kept, time.Minute, store.DedupeInFlight)
}

func testDedupeDoneExpiry(t testing.TB, s store.DedupeStore, tm *timing) {
	ctx, key, kept := testContext(t), unique("push"), unique("kept")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	noErr(t, "Done", s.Done(ctx, key, tm.short))
	begin(t, ctx, s, kept, time.Minute, store.DedupeNew)
	noErr(t, "Done", s.Done(ctx, kept, tm.long))
	begin(t, ctx, s, key, time.Minute, store.DedupeDone)
	tm.wait()
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	begin(t, ctx, s, kept, time.Minute, store.DedupeDone)
}

func testDedupeRace(t *testing.T, s store.DedupeStore) {
	const callers = 100
	ctx, key := testContext(t), unique("push")
	var (
		wg                  sync.WaitGroup
		mu                  sync.Mutex
		fresh, flying, fail int
		start               = make(chan struct{})
	)
	for range callers {
		wg.Go(func() {
			<-start
			st, err := s.Begin(ctx, key, time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && st == store.DedupeNew:
				fresh++
			case err == nil && st == store.DedupeInFlight:
				flying++
			default:
				fail++
			}
		})
	}
	close(start)
	wg.Wait()
	if fresh != 1 || flying != callers-1 || fail != 0 {
		t.Fatalf("%d racing Begin calls: %d new, %d in-flight, %d other; want 1, %d, 0",
			callers, fresh, flying, fail, callers-1)
	}
}

func testDedupeInvalidArguments(t *testing.T, s store.DedupeStore) {
	ctx, key := testContext(t), unique("push")
	tests := []struct {
		name string
		call func() error
	}{
		{"Begin empty key", func() error { _, err := s.Begin(ctx, "", time.Minute); return err }},
		{"Begin lease=0", func() error { _, err := s.Begin(ctx, key, 0); return err }},
		{"Begin lease<0", func() error { _, err := s.Begin(ctx, key, -time.Second); return err }},
		{"Done empty key", func() error { return s.Done(ctx, "", time.Minute) }},
		{"Done ttl=0", func() error { return s.Done(ctx, key, 0) }},
		{"Done ttl<0", func() error { return s.Done(ctx, key, -time.Second) }},
		{"Abort empty key", func() error { return s.Abort(ctx, "") }},
	}
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(), store.ErrInvalidArgument)
	}
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
}

func testDedupeCancelledContext(t *testing.T, s store.DedupeStore) {
	ctx, key := testContext(t), unique("push")
	begin(t, ctx, s, key, time.Minute, store.DedupeNew)
	dead := cancelledContext()
	tests := []struct {
		name string
		call func() error
	}{
		{"Begin", func() error { _, err := s.Begin(dead, unique("free"), time.Minute); return err }},
		{"Done", func() error { return s.Done(dead, key, time.Minute) }},
		{"Abort", func() error { return s.Abort(dead, key) }},
	}
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(), context.Canceled)
	}
	begin(t, ctx, s, key, time.Minute, store.DedupeInFlight)
}
