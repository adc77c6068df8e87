package middleware

import (
	"sync"
	"time"
)

// maxWalk bounds how far watch walks back to keep the list in deadline
// order. Pushes are watched in about the order they began, so the walk is
// almost always empty; a push that waited longer than maxWalk others
// between reading the clock and being watched is put where the walk
// stopped, and is ended late by at most that wait.
const maxWalk = 8

// watchdog ends the contexts of the pushes in progress at their deadlines,
// with one timer for all of them rather than one per push. Every push has
// the same timeout, so deadlines come in the order pushes begin: the
// contexts form a list in that order, and the timer is due at the first
// one. A push that ends early leaves the list and leaves the timer alone;
// when the timer fires it ends what has expired and sets itself for the
// new first deadline. Under steady traffic it fires about once per
// timeout, however many pushes pass. An empty list leaves no timer set,
// so a watchdog needs no stopping.
type watchdog struct {
	epoch time.Time
	timer *time.Timer

	mu         sync.Mutex
	head, tail *deadlineCtx
	// pending is when the timer is set to fire (since epoch), 0 if not set.
	pending time.Duration
}

func newWatchdog() *watchdog {
	w := &watchdog{epoch: time.Now()}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}

// watch puts c on the list with the deadline now+timeout.
func (w *watchdog) watch(c *deadlineCtx, now time.Time, timeout time.Duration, waiter *call) {
	at := now.Sub(w.epoch)
	c.w, c.due, c.waiter = w, at+timeout, waiter
	w.mu.Lock()
	defer w.mu.Unlock()
	after := w.tail
	for i := 0; i < maxWalk && after != nil && after.due > c.due; i++ {
		after = after.prev
	}
	c.prev = after
	if after == nil {
		c.next, w.head = w.head, c
	} else {
		c.next, after.next = after.next, c
	}
	if c.next == nil {
		w.tail = c
	} else {
		c.next.prev = c
	}
	c.listed = true
	if w.pending == 0 || c.due < w.pending {
		w.pending = c.due
		w.timer.Reset(c.due - at)
	}
}

// unwatch takes c off the list, if it is still there. The watchdog then
// no longer refers to c or its waiter.
func (w *watchdog) unwatch(c *deadlineCtx) {
	w.mu.Lock()
	if c.listed {
		w.remove(c)
	}
	c.waiter = nil
	w.mu.Unlock()
}

// remove unlinks c. The caller holds w.mu.
func (w *watchdog) remove(c *deadlineCtx) {
	if c.prev == nil {
		w.head = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		w.tail = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
}

// fire ends every context whose deadline has passed, tells their waiters,
// and sets the timer for the next deadline.
func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = 0
	now := time.Since(w.epoch)
	for c := w.head; c != nil && c.due <= now; c = w.head {
		w.remove(c)
		c.expired.Store(true)
		if c.waiter != nil {
			c.waiter.expire()
			c.waiter = nil
		}
	}
	if w.head != nil {
		w.pending = w.head.due
		w.timer.Reset(w.head.due - now)
	}
}
