package outboxtest_test

import (
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/outboxtest"
)

// The memory versions run the suites for one process; the Fleet variants
// need a shared backend and are run by package redisfleet and asynqengine.

func TestMemoryEngine(t *testing.T) {
	t.Parallel()
	outboxtest.RunEngine(t, func(t *testing.T) outbox.Engine {
		return outbox.NewMemoryEngine(outbox.MemoryOptions{})
	})
}

func TestMemoryLimiter(t *testing.T) {
	t.Parallel()
	outboxtest.RunLimiter(t, func(t *testing.T, l outbox.Limits, now func() time.Time) outbox.Limiter {
		return outbox.NewMemoryLimiter(l, now)
	})
}

func TestMemoryTally(t *testing.T) {
	t.Parallel()
	outboxtest.RunTally(t, func(t *testing.T) outbox.Tally { return outbox.NewMemoryTally() })
}
