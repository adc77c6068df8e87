package middleware

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineCtx is the context a push is handled with: its parent's values
// and cancellation plus a deadline, like context.WithDeadline. Unlike it,
// deadlineCtx arms no timer of its own until someone asks for Done, which
// many hooks and stores never do, and Err reads no clock: the Endpoint's
// watchdog marks the context expired at its deadline, one timer for every
// push in progress. A parent whose own deadline comes first ends the
// context through the parent instead, and the watchdog leaves it alone.
type deadlineCtx struct {
	parent   context.Context
	deadline time.Time
	// begun is when the push began, before its dedupe claim was taken:
	// the claim's lease ends no earlier than begun + DedupeLease.
	begun time.Time

	expired  atomic.Bool // set by the watchdog at the deadline
	released atomic.Bool
	armed    atomic.Bool
	mu       sync.Mutex
	real     context.Context // context.WithDeadline(parent, deadline), once armed
	cancel   context.CancelFunc

	// The fields below belong to the watchdog and change under its lock.
	w          *watchdog // nil when the parent's deadline comes first
	due        time.Duration
	prev, next *deadlineCtx
	listed     bool
	// waiter is the call Serve waits on, told when the deadline passes.
	waiter *call
}

// start sets c up for a push that began at now, with the hooks' timeout,
// and puts it under w's watch. waiter, if not nil, is told when the
// deadline passes first.
func (c *deadlineCtx) start(w *watchdog, parent context.Context, now time.Time, timeout time.Duration, waiter *call) {
	c.parent = parent
	c.begun = now
	c.deadline = now.Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(c.deadline) {
		// The parent ends first, and ends c with it.
		c.deadline = d
		return
	}
	w.watch(c, now, timeout, waiter)
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
		if c.released.Load() && !c.expired.Load() {
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
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	if c.released.Load() {
		return context.Canceled
	}
	return c.parent.Err()
}

func (c *deadlineCtx) Value(key any) any {
	if c.armed.Load() {
		return c.real.Value(key)
	}
	return c.parent.Value(key)
}

// ended reports whether the deadline has passed, the parent is done or
// the context was released, without arming a timer.
func (c *deadlineCtx) ended() bool { return c.Err() != nil }

// release ends the context, stopping its timer if one was armed: it
// reports Canceled from then on, like a cancelled context.WithDeadline,
// unless its deadline had passed already. Releasing twice is harmless.
func (c *deadlineCtx) release() {
	if c.w != nil {
		// Leave the watch first: once expired is set, it was set before
		// the release, and DeadlineExceeded stands.
		c.w.unwatch(c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released.Store(true)
	if c.armed.Load() {
		c.cancel()
	}
}
