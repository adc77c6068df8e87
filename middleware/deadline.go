package middleware

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineCtx is the context a push is handled with: its parent's values
// and cancellation plus a deadline, like context.WithDeadline. Unlike it,
// deadlineCtx arms no timer until someone asks for Done, which many hooks
// and stores never do; Err reads the clock instead. Serve's own wait for
// the hooks uses a reused timer (see call), so a push whose hooks never
// call Done costs no timer of its own.
type deadlineCtx struct {
	parent   context.Context
	deadline time.Time
	// start and timeout restate the deadline on the monotonic clock, which
	// Err reads at half the cost of time.Now.
	start   time.Time
	timeout time.Duration

	mu       sync.Mutex
	armed    atomic.Bool
	released atomic.Bool
	real     context.Context // context.WithDeadline(parent, deadline), once armed
	cancel   context.CancelFunc
}

func withTimeout(parent context.Context, timeout time.Duration) *deadlineCtx {
	start := time.Now()
	deadline := start.Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(deadline) {
		deadline = d
		timeout = d.Sub(start)
	}
	return &deadlineCtx{parent: parent, deadline: deadline, start: start, timeout: timeout}
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// arm builds the real context the first time Done is needed.
func (c *deadlineCtx) arm() context.Context {
	if c.armed.Load() {
		return c.real
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed.Load() {
		c.real, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.released.Load() {
			c.cancel()
		}
		c.armed.Store(true)
	}
	return c.real
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.arm().Done() }

func (c *deadlineCtx) Err() error {
	if c.armed.Load() {
		return c.real.Err()
	}
	if c.released.Load() {
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if time.Since(c.start) >= c.timeout {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *deadlineCtx) Value(key any) any {
	if c.armed.Load() {
		return c.real.Value(key)
	}
	return c.parent.Value(key)
}

// expired reports whether the deadline has passed or the parent is done,
// without arming a timer.
func (c *deadlineCtx) expired() bool { return c.Err() != nil }

// release ends the context, stopping its timer if one was armed: it
// reports Canceled from then on, like a cancelled context.WithDeadline.
func (c *deadlineCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released.Store(true)
	if c.armed.Load() {
		c.cancel()
	}
}
