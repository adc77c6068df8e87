package sender

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a call is repeated after WeChat answers -1 (busy),
// after an HTTP 5xx on a call that is safe to repeat, and after a network
// error that happened before the request was written. The delay before
// attempt n+1 is BaseDelay·2ⁿ⁻¹, capped at MaxDelay, less a random jitter of
// up to half, so that a fleet does not retry in step.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 1 means no retry. At most 10.
	MaxAttempts int
	// BaseDelay is the delay before the second attempt.
	BaseDelay time.Duration
	// MaxDelay caps every delay.
	MaxDelay time.Duration
}

// maxAttemptsLimit bounds RetryPolicy.MaxAttempts.
const maxAttemptsLimit = 10

// delay returns the pause before attempt+1: BaseDelay doubled per attempt,
// capped at MaxDelay, minus a random jitter of up to half.
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if d <= 1 {
		return d
	}
	return d - rand.N(d/2)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
