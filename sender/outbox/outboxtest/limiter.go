package outboxtest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender/outbox"
)

// NewLimiter makes a Limiter for the suites: allowing l, on the clock now
// (the suite's Clock.Now). The pause and the quota day must follow now;
// the rate may follow either now or the real time (a limiter on Redis
// keeps the rate by the server's clock), because the suites move now only
// in tests that do not depend on the rate.
type NewLimiter func(t *testing.T, l outbox.Limits, now func() time.Time) outbox.Limiter

// noon returns noon, China Standard Time, on a day well ahead, so that a
// quota day does not end during a test.
func noon() time.Time {
	return time.Date(2031, time.March, 14, 12, 0, 0, 0, time.FixedZone("CST", 8*60*60))
}

// dayTolerance bounds the difference between a wait the suite expects
// (until a pause ends, until the quota day ends) and the one returned: the
// real time passing meanwhile.
const dayTolerance = 5 * time.Second

// RunLimiter checks an outbox.Limiter against the contract of the
// interface: the rate with its burst, the daily budget and the campaign
// share of it, the quota day of China Standard Time, and the pause. Each
// subtest calls newLimiter for a fresh limiter.
func RunLimiter(t *testing.T, newLimiter NewLimiter) {
	t.Helper()
	tests := []struct {
		name string
		f    func(t *testing.T, newLimiter NewLimiter)
	}{
		{"Burst", testLimiterBurst},
		{"RateRefills", testLimiterRateRefills},
		{"DailyBudgetAndCampaignShare", testLimiterBudget},
		{"QuotaDayRollsOver", testLimiterRollover},
		{"RefusedTakeKeepsBudget", testLimiterRefusedKeepsBudget},
		{"Pause", testLimiterPause},
		{"PauseOnlyExtends", testLimiterPauseExtends},
		{"ConcurrentBudgetExact", testLimiterConcurrentBudget},
		{"CancelledContext", testLimiterCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newLimiter) })
	}
}

// take calls Take and fails the test on an error.
func take(t *testing.T, l outbox.Limiter, p outbox.Priority) time.Duration {
	t.Helper()
	w, err := l.Take(context.Background(), p)
	if err != nil {
		t.Fatalf("Take(%v): %v", p, err)
	}
	return w
}

// takeN takes n sends of p and fails the test unless all may go at once.
func takeN(t *testing.T, l outbox.Limiter, p outbox.Priority, n int) {
	t.Helper()
	for i := range n {
		if w := take(t, l, p); w != 0 {
			t.Fatalf("Take %d of %d (%v): wait %v; want 0", i+1, n, p, w)
		}
	}
}

// wantWait fails the test unless w is within dayTolerance of want.
func wantWait(t *testing.T, what string, w, want time.Duration) {
	t.Helper()
	if w < want-dayTolerance || w > want+dayTolerance {
		t.Errorf("%s: wait %v; want about %v", what, w, want)
	}
}

func testLimiterBurst(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	l := newLimiter(t, outbox.Limits{PerSecond: 1, Burst: 3, Daily: -1}, c.Now)
	takeN(t, l, outbox.Transactional, 3)
	if w := take(t, l, outbox.Campaign); w <= 0 || w > time.Second+100*time.Millisecond {
		t.Errorf("Take after the burst: wait %v; want (0, 1s]", w)
	}
}

func testLimiterRateRefills(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	l := newLimiter(t, outbox.Limits{PerSecond: 5, Burst: 1, Daily: -1}, c.Now)
	takeN(t, l, outbox.Transactional, 1)
	w := take(t, l, outbox.Transactional)
	if w <= 0 || w > 200*time.Millisecond+50*time.Millisecond {
		t.Fatalf("second Take at 5/s with burst 1: wait %v; want (0, 200ms]", w)
	}
	time.Sleep(w + 20*time.Millisecond)
	if w := take(t, l, outbox.Transactional); w != 0 {
		t.Errorf("Take after the wait it was given: wait %v; want 0", w)
	}
}

func testLimiterBudget(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	c.Set(noon())
	l := newLimiter(t, outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: 10, CampaignShare: 50}, c.Now)
	untilReset := func() time.Duration { now := c.Now(); return outbox.NextQuotaReset(now).Sub(now) }
	takeN(t, l, outbox.Campaign, 5)
	wantWait(t, "Take of a campaign send past its share", take(t, l, outbox.Campaign), untilReset())
	takeN(t, l, outbox.Transactional, 5)
	wantWait(t, "Take of a transactional send past the budget", take(t, l, outbox.Transactional), untilReset())
	wantWait(t, "Take of a campaign send past the budget", take(t, l, outbox.Campaign), untilReset())

	// Transactional sends fill the day's count that campaigns stop at.
	c.Set(noon().Add(24 * time.Hour))
	takeN(t, l, outbox.Transactional, 5)
	wantWait(t, "Take of a campaign send after transactional sends used the share",
		take(t, l, outbox.Campaign), untilReset())
	takeN(t, l, outbox.Transactional, 5)
}

func testLimiterRollover(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	c.Set(noon())
	l := newLimiter(t, outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: 2, CampaignShare: 100}, c.Now)
	takeN(t, l, outbox.Transactional, 2)
	wantWait(t, "Take past the budget", take(t, l, outbox.Transactional), 12*time.Hour)
	c.Set(outbox.NextQuotaReset(c.Now()).Add(time.Second))
	takeN(t, l, outbox.Campaign, 2)
	wantWait(t, "Take past the next day's budget", take(t, l, outbox.Campaign), 24*time.Hour-time.Second)
}

func testLimiterRefusedKeepsBudget(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	c.Set(noon())
	l := newLimiter(t, outbox.Limits{PerSecond: 2, Burst: 1, Daily: 2, CampaignShare: 100}, c.Now)
	takeN(t, l, outbox.Transactional, 1)
	w := take(t, l, outbox.Transactional)
	if w <= 0 || w > time.Second {
		t.Fatalf("Take beyond the rate: wait %v; want (0, 500ms]", w)
	}
	time.Sleep(w + 20*time.Millisecond)
	if w := take(t, l, outbox.Transactional); w != 0 {
		t.Fatalf("Take after the rate's wait: wait %v; want 0 (a Take refused for the rate must not count against the budget)", w)
	}
	if w := take(t, l, outbox.Transactional); w < time.Hour {
		t.Errorf("Take past the budget of 2: wait %v; want until the quota day ends", w)
	}
}

func testLimiterPause(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	c.Set(noon())
	l := newLimiter(t, outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: -1}, c.Now)
	takeN(t, l, outbox.Transactional, 1)
	if err := l.Pause(context.Background(), c.Now().Add(-time.Minute)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	takeN(t, l, outbox.Transactional, 1) // a pause that ended changes nothing
	if err := l.Pause(context.Background(), c.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	wantWait(t, "Take of a transactional send while paused", take(t, l, outbox.Transactional), time.Hour)
	wantWait(t, "Take of a campaign send while paused", take(t, l, outbox.Campaign), time.Hour)
	c.Advance(time.Hour + time.Second)
	takeN(t, l, outbox.Transactional, 1)
	takeN(t, l, outbox.Campaign, 1)
}

func testLimiterPauseExtends(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	c.Set(noon())
	l := newLimiter(t, outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: -1}, c.Now)
	ctx := context.Background()
	if err := l.Pause(ctx, c.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := l.Pause(ctx, c.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	wantWait(t, "Take after a shorter second pause", take(t, l, outbox.Transactional), 2*time.Hour)
}

func testLimiterConcurrentBudget(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	c.Set(noon())
	l := newLimiter(t, outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: 10}, c.Now)
	if got := concurrentTakes(t, []outbox.Limiter{l}, 40); got != 10 {
		t.Errorf("40 concurrent Takes under a daily budget of 10: %d went; want 10", got)
	}
}

// concurrentTakes takes n sends at once, spread over ls, and returns how
// many may go.
func concurrentTakes(t *testing.T, ls []outbox.Limiter, n int) int {
	t.Helper()
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w, err := ls[i%len(ls)].Take(context.Background(), outbox.Transactional)
			if err != nil {
				t.Errorf("Take: %v", err)
			}
			if err == nil && w == 0 {
				ok.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(ok.Load())
}

func testLimiterCancelled(t *testing.T, newLimiter NewLimiter) {
	var c Clock
	l := newLimiter(t, outbox.Limits{}, c.Now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Take(ctx, outbox.Transactional); err == nil {
		t.Errorf("Take with a cancelled context succeeded")
	}
	if err := l.Pause(ctx, c.Now().Add(time.Hour)); err == nil {
		t.Errorf("Pause with a cancelled context succeeded")
	}
	if w := take(t, l, outbox.Transactional); w != 0 {
		t.Errorf("Take with the default Limits: wait %v; want 0", w)
	}
}

// RunLimiterFleet checks that limiters sharing one backend share one
// allowance: newLimiter, called twice in one test, must return limiters
// on the same backend (and no other test's).
func RunLimiterFleet(t *testing.T, newLimiter NewLimiter) {
	t.Helper()
	t.Run("PauseSeenByAll", func(t *testing.T) {
		var c Clock
		c.Set(noon())
		l := outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: -1}
		a, b := newLimiter(t, l, c.Now), newLimiter(t, l, c.Now)
		if err := a.Pause(context.Background(), c.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		wantWait(t, "Take on another instance while paused", take(t, b, outbox.Transactional), time.Hour)
	})
	t.Run("BudgetShared", func(t *testing.T) {
		var c Clock
		c.Set(noon())
		l := outbox.Limits{PerSecond: 10000, Burst: 10000, Daily: 10}
		ls := []outbox.Limiter{newLimiter(t, l, c.Now), newLimiter(t, l, c.Now)}
		if got := concurrentTakes(t, ls, 40); got != 10 {
			t.Errorf("40 concurrent Takes on 2 instances under a daily budget of 10: %d went; want 10", got)
		}
	})
	t.Run("RateShared", func(t *testing.T) {
		var c Clock
		l := outbox.Limits{PerSecond: 1, Burst: 4, Daily: -1}
		ls := []outbox.Limiter{newLimiter(t, l, c.Now), newLimiter(t, l, c.Now)}
		start := time.Now()
		got := concurrentTakes(t, ls, 20)
		// One more send per second that the Takes lasted.
		most := 4 + int(time.Since(start)/time.Second) + 1
		if got < 4 || got > most {
			t.Errorf("20 concurrent Takes on 2 instances at 1/s with burst 4: %d went; want 4 (at most %d)", got, most)
		}
	})
}
