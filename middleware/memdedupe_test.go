package middleware

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/storetest"
)

func TestMemDedupe(t *testing.T) {
	ctx := context.Background()
	d := newMemDedupe()
	steps := []struct {
		op   string
		key  string
		want store.DedupeState
	}{
		{"begin", "a", store.DedupeNew},
		{"begin", "a", store.DedupeInFlight},
		{"begin", "b", store.DedupeNew},
		{"abort", "a", 0},
		{"begin", "a", store.DedupeNew},
		{"done", "a", 0},
		{"begin", "a", store.DedupeDone},
		{"abort", "a", 0}, // a done key stays done
		{"begin", "a", store.DedupeDone},
		{"begin", "b", store.DedupeInFlight},
	}
	for i, s := range steps {
		var got store.DedupeState
		var err error
		switch s.op {
		case "begin":
			got, err = d.Begin(ctx, s.key, time.Minute)
		case "done":
			err = d.Done(ctx, s.key, time.Minute)
		case "abort":
			err = d.Abort(ctx, s.key)
		}
		if err != nil || got != s.want {
			t.Errorf("step %d %s(%s) = %v, %v; want %v", i, s.op, s.key, got, err, s.want)
		}
	}
}

func TestMemDedupeExpiry(t *testing.T) {
	ctx := context.Background()
	d := newMemDedupe()
	mustState(t, d, "lease", 30*time.Millisecond, store.DedupeNew)
	mustOK(t, d.Done(ctx, "done", 30*time.Millisecond))
	mustState(t, d, "done", time.Minute, store.DedupeDone)
	time.Sleep(40 * time.Millisecond)
	mustState(t, d, "lease", time.Minute, store.DedupeNew) // the claim lapsed
	mustState(t, d, "done", time.Minute, store.DedupeNew)  // so did the record
}

func TestMemDedupeSweep(t *testing.T) {
	d := newMemDedupe()
	for i := range minSweep - 1 {
		mustState(t, d, "old"+strconv.Itoa(i), time.Nanosecond, store.DedupeNew)
	}
	time.Sleep(time.Millisecond)
	mustState(t, d, "new", time.Minute, store.DedupeNew) // reaches minSweep: sweeps
	if n := len(d.entries); n != 1 {
		t.Errorf("after the sweep %d entries remain, want 1", n)
	}
	if d.sweepAt != minSweep {
		t.Errorf("next sweep at %d, want %d", d.sweepAt, minSweep)
	}
}

func TestMemDedupeErrors(t *testing.T) {
	d := newMemDedupe()
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"Begin empty key", second(d.Begin(ctx, "", time.Minute)), store.ErrInvalidArgument},
		{"Begin zero lease", second(d.Begin(ctx, "k", 0)), store.ErrInvalidArgument},
		{"Done empty key", d.Done(ctx, "", time.Minute), store.ErrInvalidArgument},
		{"Done zero ttl", d.Done(ctx, "k", 0), store.ErrInvalidArgument},
		{"Abort empty key", d.Abort(ctx, ""), store.ErrInvalidArgument},
		{"Begin canceled", second(d.Begin(canceled, "k", time.Minute)), context.Canceled},
		{"Done canceled", d.Done(canceled, "k", time.Minute), context.Canceled},
		{"Abort canceled", d.Abort(canceled, "k"), context.Canceled},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func mustState(t *testing.T, d *memDedupe, key string, lease time.Duration, want store.DedupeState) {
	t.Helper()
	got, err := d.Begin(context.Background(), key, lease)
	if err != nil || got != want {
		t.Fatalf("Begin(%s) = %v, %v; want %v", key, got, err, want)
	}
}

// TestMemDedupeConformance runs the store conformance suite on the
// Endpoint's private dedupe store.
func TestMemDedupeConformance(t *testing.T) {
	storetest.RunDedupeStore(t, func(*testing.T) store.DedupeStore { return newMemDedupe() })
}
