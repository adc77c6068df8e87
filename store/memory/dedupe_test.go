package memory

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
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

// TestDedupeRebuildDropsExpired fills one shard with expired claims until
// its table is full and checks that the next claim rebuilds it without
// them, at its smallest size, keeping the live claim.
func TestDedupeRebuildDropsExpired(t *testing.T) {
	d := NewDedupe()
	full := 3 * minSlots / 4
	var keys []string
	for i := 0; len(keys) < full; i++ {
		k := "old" + strconv.Itoa(i)
		if _, s := d.locate(k); s == &d.shards[0] {
			keys = append(keys, k)
		}
	}
	for _, k := range keys[:full-1] {
		mustBegin(t, d, k, time.Nanosecond, store.DedupeNew)
	}
	mustBegin(t, d, keys[full-1], time.Minute, store.DedupeNew) // fills the table
	tab := &d.shards[0].tab
	if len(tab.slots) != minSlots || tab.n != full {
		t.Fatalf("table of %d slots holds %d records, want %d and %d", len(tab.slots), tab.n, minSlots, full)
	}
	time.Sleep(time.Millisecond)
	var fresh string
	for i := 0; fresh == ""; i++ {
		if _, s := d.locate("new" + strconv.Itoa(i)); s == &d.shards[0] {
			fresh = "new" + strconv.Itoa(i)
		}
	}
	mustBegin(t, d, fresh, time.Minute, store.DedupeNew) // would overfill: rebuilds
	if len(tab.slots) != minSlots || tab.n != 2 {
		t.Errorf("after the rebuild: %d slots, %d records; want %d and 2", len(tab.slots), tab.n, minSlots)
	}
	mustBegin(t, d, keys[full-1], time.Minute, store.DedupeInFlight) // the live claim survived
	mustBegin(t, d, keys[0], time.Minute, store.DedupeNew)           // the expired one is gone
}

// TestDedupeRebuildGrows checks that a table of live records doubles
// rather than rebuilding at the same size again and again.
func TestDedupeRebuildGrows(t *testing.T) {
	var tab dedupeTable
	const n = 10 * minSlots
	for i := range n {
		tab.set([2]uint64{uint64(i), uint64(i) * 0x9e3779b97f4a7c15}, makeEntry(0, time.Hour, false), 0)
		if 4*tab.n > 3*len(tab.slots) {
			t.Fatalf("%d records in %d slots: fuller than 3/4", tab.n, len(tab.slots))
		}
	}
	if tab.n != n || len(tab.slots) > 4*n {
		t.Errorf("%d records in %d slots, want %d in at most %d", tab.n, len(tab.slots), n, 4*n)
	}
}

// TestDedupeTableCollisions drives the table with hashes chosen to share
// home slots and to wrap around its end, against a Go map, through sets,
// removes and rebuilds. A remove that shifted records wrongly would leave
// one that get no longer finds.
func TestDedupeTableCollisions(t *testing.T) {
	var tab dedupeTable
	want := map[[2]uint64]dedupeEntry{}
	rng := rand.New(rand.NewPCG(1, 2))
	live := makeEntry(0, time.Hour, false)
	for step := range 20_000 {
		// Few distinct homes, many near the table's end: long runs that
		// wrap. The first hash tells keys of one home apart.
		h := [2]uint64{uint64(rng.IntN(200)), uint64(minSlots - 1 - rng.IntN(12))}
		if rng.IntN(3) == 0 {
			tab.remove(h)
			delete(want, h)
		} else {
			e := live + dedupeEntry(2*step)
			tab.set(h, e, 0)
			want[h] = e
		}
		if step%499 == 0 || step > 19_900 {
			for k, e := range want {
				if got := tab.get(k); got != e {
					t.Fatalf("step %d: get(%v) = %d, want %d", step, k, got, e)
				}
			}
		}
	}
	if tab.n != len(want) {
		t.Errorf("table holds %d records, want %d", tab.n, len(want))
	}
	for k := range want {
		tab.remove(k)
	}
	for i, s := range tab.slots {
		if s != (dedupeSlot{}) {
			t.Fatalf("slot %d still holds %v after every key was removed", i, s)
		}
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
	// Fill the tables first: a rebuild allocates, a steady state does not.
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
