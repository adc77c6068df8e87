package outboxtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wxsub/wxsub/sender/outbox"
)

// RunTally checks an outbox.Tally against the contract of the interface.
// Each subtest calls newTally for a fresh tally (or one that no other test
// writes under the same campaign ids: the suite uses fresh ones).
func RunTally(t *testing.T, newTally func(t *testing.T) outbox.Tally) {
	t.Helper()
	t.Run("OncePerKey", func(t *testing.T) { testTallyOnce(t, newTally(t)) })
	t.Run("CampaignsApart", func(t *testing.T) { testTallyApart(t, newTally(t)) })
	t.Run("Concurrent", func(t *testing.T) { testTallyConcurrent(t, []outbox.Tally{newTally(t)}) })
	t.Run("Empty", func(t *testing.T) {
		got, err := newTally(t).Counts(context.Background(), uniq("none"))
		if err != nil || len(got) != 0 {
			t.Errorf("Counts of an unknown campaign = %v, %v; want none", got, err)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tl := newTally(t)
		if _, err := tl.Record(ctx, uniq("c"), "k", outbox.OutcomeDelivered); err == nil {
			t.Errorf("Record with a cancelled context succeeded")
		}
		if _, err := tl.Counts(ctx, uniq("c")); err == nil {
			t.Errorf("Counts with a cancelled context succeeded")
		}
	})
}

// RunTallyFleet checks that tallies sharing one backend count each key
// once between them: newTally, called twice in one test, must return
// tallies on the same backend.
func RunTallyFleet(t *testing.T, newTally func(t *testing.T) outbox.Tally) {
	t.Helper()
	t.Run("Concurrent", func(t *testing.T) {
		testTallyConcurrent(t, []outbox.Tally{newTally(t), newTally(t)})
	})
}

func record(t *testing.T, tl outbox.Tally, campaign, key string, o outbox.Outcome, want bool) {
	t.Helper()
	got, err := tl.Record(context.Background(), campaign, key, o)
	if err != nil || got != want {
		t.Errorf("Record(%q, %q, %q) = %v, %v; want %v", campaign, key, o, got, err, want)
	}
}

func wantCounts(t *testing.T, tl outbox.Tally, campaign string, want map[outbox.Outcome]int64) {
	t.Helper()
	got, err := tl.Counts(context.Background(), campaign)
	if err != nil {
		t.Fatalf("Counts(%q): %v", campaign, err)
	}
	for _, o := range outbox.Outcomes() {
		if got[o] != want[o] {
			t.Errorf("Counts(%q)[%q] = %d; want %d (all: %v)", campaign, o, got[o], want[o], got)
		}
	}
}

func testTallyOnce(t *testing.T, tl outbox.Tally) {
	c := uniq("campaign")
	record(t, tl, c, "k1", outbox.OutcomeDelivered, true)
	record(t, tl, c, "k1", outbox.OutcomeDelivered, false)
	record(t, tl, c, "k1", outbox.OutcomeFailed, false)
	record(t, tl, c, "k2", outbox.OutcomeNoGrant, true)
	record(t, tl, c, "k3", outbox.OutcomeDelivered, true)
	wantCounts(t, tl, c, map[outbox.Outcome]int64{outbox.OutcomeDelivered: 2, outbox.OutcomeNoGrant: 1})
}

func testTallyApart(t *testing.T, tl outbox.Tally) {
	c1, c2 := uniq("campaign"), uniq("campaign")
	record(t, tl, c1, "k", outbox.OutcomeDelivered, true)
	record(t, tl, c2, "k", outbox.OutcomeRefused, true)
	wantCounts(t, tl, c1, map[outbox.Outcome]int64{outbox.OutcomeDelivered: 1})
	wantCounts(t, tl, c2, map[outbox.Outcome]int64{outbox.OutcomeRefused: 1})
}

// testTallyConcurrent records 50 keys from 200 goroutines spread over
// tallies, each key under several outcomes, and checks that each key was
// counted once, under the outcome of the Record that counted it.
func testTallyConcurrent(t *testing.T, tls []outbox.Tally) {
	const keys, goroutines = 50, 200
	c := uniq("campaign")
	outcomes := outbox.Outcomes()
	var (
		mu    sync.Mutex
		won   = map[string][]outbox.Outcome{}
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range keys {
				if (k+g)%4 != 0 {
					continue
				}
				key := fmt.Sprintf("key-%d", k)
				o := outcomes[(g+k)%len(outcomes)]
				ok, err := tls[g%len(tls)].Record(context.Background(), c, key, o)
				if err != nil {
					t.Errorf("Record: %v", err)
					return
				}
				if ok {
					mu.Lock()
					won[key] = append(won[key], o)
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	want := map[outbox.Outcome]int64{}
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		if len(won[key]) != 1 {
			t.Errorf("key %q was counted %d times; want once", key, len(won[key]))
			continue
		}
		want[won[key][0]]++
	}
	for _, tl := range tls {
		wantCounts(t, tl, c, want)
	}
}
