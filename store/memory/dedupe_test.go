package memory

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

func TestDedupeSteps(t *testing.T) {
	ctx := t.Context()
	d := NewDedupe()
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
		{"done", "c", 0}, // Done without Begin
		{"begin", "c", store.DedupeDone},
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
	if n := d.Len(); n != 3 {
		t.Errorf("Len() = %d, want 3", n)
	}
}

// TestDedupeSweep fills one shard with expired claims up to its sweep
// size and checks that the next claim frees them.
func TestDedupeSweep(t *testing.T) {
	ctx := t.Context()
	d := NewDedupe()
	var keys []string
	for i := 0; len(keys) < minSweep; i++ {
		k := "old" + strconv.Itoa(i)
		if _, s := d.locate(k); s == &d.shards[0] {
			keys = append(keys, k)
		}
	}
	for _, k := range keys[:minSweep-1] {
		mustBegin(t, d, k, time.Nanosecond, store.DedupeNew)
	}
	mustBegin(t, d, keys[minSweep-1], time.Minute, store.DedupeNew) // still below the sweep size
	time.Sleep(time.Millisecond)
	var fresh string
	for i := 0; fresh == ""; i++ {
		if _, s := d.locate("new" + strconv.Itoa(i)); s == &d.shards[0] {
			fresh = "new" + strconv.Itoa(i)
		}
	}
	mustBegin(t, d, fresh, time.Minute, store.DedupeNew) // reaches the sweep size: sweeps
	if n := len(d.shards[0].entries); n != 2 {
		t.Errorf("after the sweep the shard holds %d entries, want 2", n)
	}
	if got := d.shards[0].sweepAt; got != minSweep {
		t.Errorf("next sweep at %d, want %d", got, minSweep)
	}
	mustBegin(t, d, keys[minSweep-1], time.Minute, store.DedupeInFlight) // the live claim survived
	if _, err := d.Begin(ctx, keys[0], time.Minute); err != nil {
		t.Fatal(err)
	}
}

// TestDedupeLongTTL checks that a TTL too long to add to the clock means
// "for as long as we can count", not "already expired".
func TestDedupeLongTTL(t *testing.T) {
	ctx := t.Context()
	d := NewDedupe()
	for _, ttl := range []time.Duration{maxExpiry, maxExpiry + 1, math.MaxInt64} {
		key := "k" + strconv.FormatInt(int64(ttl), 10)
		mustBegin(t, d, key, ttl, store.DedupeNew)
		mustBegin(t, d, key, ttl, store.DedupeInFlight)
		if err := d.Done(ctx, key, ttl); err != nil {
			t.Fatal(err)
		}
		mustBegin(t, d, key, ttl, store.DedupeDone)
	}
	tests := []struct {
		now, ttl time.Duration
		expires  time.Duration
		done     bool
	}{
		{0, time.Second, time.Second, false},
		{time.Hour, time.Minute, time.Hour + time.Minute, true},
		{time.Hour, math.MaxInt64, maxExpiry, true},
		{maxExpiry - 1, 2, maxExpiry, false},
	}
	for _, tc := range tests {
		e := makeEntry(tc.now, tc.ttl, tc.done)
		if e.expires() != tc.expires || e.done() != tc.done {
			t.Errorf("makeEntry(%d, %d, %v) = %d, %v", tc.now, tc.ttl, tc.done, e.expires(), e.done())
		}
	}
}

func TestDedupeErrors(t *testing.T) {
	d := NewDedupe()
	ctx := t.Context()
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
	if n := d.Len(); n != 0 {
		t.Errorf("failed calls left %d records", n)
	}
}

// TestDedupeAllocs pins the cost of a push to the store: no allocation.
func TestDedupeAllocs(t *testing.T) {
	ctx := t.Context()
	d := NewDedupe()
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = "e:gh_97417a04a28d:o9AgO5Kd5ggOC:" + strconv.Itoa(i) + ":subscribe_msg_popup_event"
	}
	// Grow the maps first: growth allocates, a steady state does not.
	for _, k := range keys {
		mustBegin(t, d, k, time.Minute, store.DedupeNew)
		if err := d.Abort(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(len(keys)-1, func() {
		k := keys[i]
		i++
		if s, err := d.Begin(ctx, k, time.Minute); err != nil || s != store.DedupeNew {
			t.Fatalf("Begin = %v, %v", s, err)
		}
		if err := d.Abort(ctx, k); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Begin and Abort allocate %v times, want 0", allocs)
	}
}

func second[T any](_ T, err error) error { return err }

func mustBegin(t *testing.T, d *Dedupe, key string, lease time.Duration, want store.DedupeState) {
	t.Helper()
	got, err := d.Begin(context.Background(), key, lease)
	if err != nil || got != want {
		t.Fatalf("Begin(%s) = %v, %v; want %v", key, got, err, want)
	}
}
