package outboxtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/outboxtest"
)

// The suites run from an ordinary test of the implementation's package,
// here the memory versions. An engine on a shared backend also runs
// RunEngineFleet with a constructor of instances sharing it.
func Example() {
	_ = func(t *testing.T) { // func TestMyEngine(t *testing.T) in a _test.go file
		outboxtest.RunEngine(t, func(t *testing.T) outbox.Engine {
			return outbox.NewMemoryEngine(outbox.MemoryOptions{}) // fresh, not started
		})
		outboxtest.RunLimiter(t, func(t *testing.T, l outbox.Limits, now func() time.Time) outbox.Limiter {
			return outbox.NewMemoryLimiter(l, now) // the pause and the quota day on the suite's clock
		})
		outboxtest.RunTally(t, func(t *testing.T) outbox.Tally { return outbox.NewMemoryTally() })
	}
}

// A Clock runs with real time, moved by the test: limiters given its Now
// see a pause end or a quota day turn without waiting for it.
func ExampleClock() {
	var c outboxtest.Clock
	cst := time.FixedZone("CST", 8*60*60)
	c.Set(time.Date(2031, 3, 14, 23, 59, 0, 0, cst))
	fmt.Println(outbox.QuotaDay(c.Now()))
	c.Advance(2 * time.Minute)
	fmt.Println(outbox.QuotaDay(c.Now()))
	// Output:
	// 2031-03-14
	// 2031-03-15
}
