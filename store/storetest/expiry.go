package storetest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// timing holds the TTLs of one round of an expiry test. A record written
// with short must be gone once settle has passed; one written with long
// must not be.
type timing struct {
	short, settle, long time.Duration

	mu      sync.Mutex
	settled time.Time // when wait began; zero before
}

// wait waits until short-TTL records written before must have expired.
// The checks before it expect them still there; those after it, gone.
func (tm *timing) wait() {
	tm.mu.Lock()
	tm.settled = time.Now()
	tm.mu.Unlock()
	time.Sleep(tm.settle)
}

// conclusive reports whether a check that failed at failed, in a round
// begun at start, shows a fault in the store rather than a slow machine:
// before wait, no short-TTL record can have expired yet; after it, no
// long-TTL one.
func (tm *timing) conclusive(start, failed time.Time) bool {
	tm.mu.Lock()
	settled := tm.settled
	tm.mu.Unlock()
	if settled.IsZero() || failed.Before(settled) {
		return failed.Sub(start) < tm.short
	}
	return failed.Sub(start) < tm.long
}

// maxExpiryRounds bounds the rounds of an expiry test; each has timings
// four times as long as the one before.
const maxExpiryRounds = 3

// expiring turns an expiry test into a subtest body. The test writes
// records with a short TTL and checks them at once, then waits and checks
// they are gone. On a loaded machine "at once" may come after the short
// TTL ran out, which proves nothing either way. So a round that failed
// too late to tell (see timing.conclusive) is run again with every timing
// four times as long. A failure in time, or in the last round, is
// reported as usual.
func expiring[S any](run func(t testing.TB, s S, tm *timing)) func(t *testing.T, s S) {
	return func(t *testing.T, s S) {
		t.Helper()
		for round := range maxExpiryRounds {
			scale := time.Duration(1) << (2 * round)
			tm := &timing{short: shortTTL * scale, settle: settle * scale, long: longTTL * scale}
			if round == maxExpiryRounds-1 {
				run(t, s, tm)
				return
			}
			r := &roundT{TB: t}
			start := time.Now()
			done := make(chan struct{})
			go func() {
				defer close(done)
				run(r, s, tm)
			}()
			<-done
			failed, at, msgs := r.result()
			if !failed {
				return
			}
			if tm.conclusive(start, at) {
				t.Fatal(msgs)
			}
			t.Logf("a round with a %v TTL failed %v after it began, too late to tell (%s); again with longer TTLs",
				tm.short, at.Sub(start).Round(time.Millisecond), msgs)
		}
	}
}

// roundT is the testing.TB of a round that may be run again: it records a
// failure instead of reporting it, and ends the round's goroutine at a
// fatal one. Everything else goes to the real test.
type roundT struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	at     time.Time
	msgs   []string
}

func (r *roundT) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.failed {
		r.failed, r.at = true, time.Now()
	}
	r.msgs = append(r.msgs, msg)
}

func (r *roundT) result() (bool, time.Time, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed, r.at, strings.Join(r.msgs, "; ")
}

func (r *roundT) Fail()                        { r.fail("failed") }
func (r *roundT) FailNow()                     { r.fail("failed"); runtime.Goexit() }
func (r *roundT) Failed() bool                 { f, _, _ := r.result(); return f }
func (r *roundT) Error(args ...any)            { r.fail(fmt.Sprint(args...)) }
func (r *roundT) Errorf(f string, args ...any) { r.fail(fmt.Sprintf(f, args...)) }
func (r *roundT) Fatal(args ...any)            { r.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (r *roundT) Fatalf(f string, args ...any) { r.fail(fmt.Sprintf(f, args...)); runtime.Goexit() }
