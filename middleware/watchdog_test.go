package middleware

import (
	"context"
	"testing"
	"time"
)

// order lists the dues of w's contexts, head first, checking the links
// both ways.
func order(t *testing.T, w *watchdog) []time.Duration {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var dues []time.Duration
	var prev *deadlineCtx
	for c := w.head; c != nil; prev, c = c, c.next {
		if c.prev != prev || !c.listed {
			t.Fatalf("broken link at due %v", c.due)
		}
		dues = append(dues, c.due)
	}
	if w.tail != prev {
		t.Fatal("tail is not the last context")
	}
	return dues
}

func TestWatchdogOrder(t *testing.T) {
	w := newWatchdog()
	base := w.epoch.Add(time.Hour)
	// Start offsets in milliseconds, in the order the pushes are watched.
	starts := []int{10, 20, 15, 30, 5, 30, 25}
	ctxs := make([]*deadlineCtx, len(starts))
	for i, ms := range starts {
		ctxs[i] = new(deadlineCtx)
		ctxs[i].start(w, context.Background(), base.Add(time.Duration(ms)*time.Millisecond), time.Hour, nil)
	}
	want := []int{5, 10, 15, 20, 25, 30, 30}
	got := order(t, w)
	if len(got) != len(want) {
		t.Fatalf("%d contexts listed, want %d", len(got), len(want))
	}
	for i, ms := range want {
		if due := 2*time.Hour + time.Duration(ms)*time.Millisecond; got[i] != due {
			t.Errorf("position %d: due %v, want %v", i, got[i], due)
		}
	}
	if w.pending != ctxs[4].due {
		t.Errorf("timer set for %v, want the first deadline %v", w.pending, ctxs[4].due)
	}
	// Leaving from the head, the middle and the tail keeps the links.
	for _, i := range []int{4, 2, 5} {
		ctxs[i].release()
	}
	want = []int{10, 20, 25, 30}
	got = order(t, w)
	for i, ms := range want {
		if due := 2*time.Hour + time.Duration(ms)*time.Millisecond; i >= len(got) || got[i] != due {
			t.Fatalf("after release: %v, want dues at %v ms", got, want)
		}
	}
	for _, c := range ctxs {
		c.release()
	}
	if got := order(t, w); len(got) != 0 {
		t.Errorf("%d contexts left after releasing all", len(got))
	}
}

// TestWatchdogExpiry checks that contexts end in deadline order, that
// their waiters are told exactly once, and that the timer follows the
// first deadline left after the earlier ones were released.
//
// The first push must finish before its deadline, which a loaded machine
// may not manage in a few milliseconds: a round in which the deadline
// passed first proves nothing, and is run again with deadlines ten times
// as far off.
func TestWatchdogExpiry(t *testing.T) {
	for _, unit := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second} {
		if watchdogExpiry(t, unit) {
			return
		}
		t.Logf("the first deadline (%v) passed before the first push could finish; again with longer deadlines", unit)
	}
	t.Fatal("the first push never finished before its deadline")
}

// watchdogExpiry is one round of TestWatchdogExpiry, with deadlines of
// 1, 3 and 6 units. It reports false if the round proved nothing.
func watchdogExpiry(t *testing.T, unit time.Duration) bool {
	w := newWatchdog()
	now := time.Now()
	timeouts := []time.Duration{unit, 3 * unit, 6 * unit}
	ctxs := make([]*deadlineCtx, len(timeouts))
	calls := make([]*call, len(timeouts))
	for i, d := range timeouts {
		calls[i] = newCall().(*call)
		ctxs[i] = new(deadlineCtx)
		ctxs[i].start(w, context.Background(), now, d, calls[i])
	}
	// The first push finishes in time: its waiter hears from the runner,
	// and the deadline changes nothing.
	calls[0].finish()
	ctxs[0].release()
	if calls[0].state.Load() != callFinished {
		for _, c := range ctxs {
			c.release()
		}
		return false
	}
	select {
	case <-calls[1].done:
	case <-time.After(5*time.Second + timeouts[1]):
		t.Fatal("the second waiter was not told of its deadline")
	}
	if calls[1].state.Load() != callExpired || !ctxs[1].expired.Load() {
		t.Errorf("second push: state %d, expired %v", calls[1].state.Load(), ctxs[1].expired.Load())
	}
	if ctxs[2].expired.Load() && time.Since(now) < timeouts[2] {
		t.Error("the third context ended before its deadline")
	}
	<-calls[2].done
	if time.Since(now) < timeouts[2] {
		t.Error("the third waiter was told before its deadline")
	}
	if calls[0].state.Load() != callFinished || len(calls[0].done) != 1 {
		t.Errorf("first push: state %d, %d signals; want finished, 1", calls[0].state.Load(), len(calls[0].done))
	}
	// A late finish after the deadline sends nothing more.
	calls[1].finish()
	if len(calls[1].done) != 0 || calls[1].state.Load() != callExpired {
		t.Error("finish after expiry signalled again")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.head != nil || w.pending != 0 {
		t.Errorf("watchdog not idle after every deadline: head %v, pending %v", w.head != nil, w.pending)
	}
	return true
}
