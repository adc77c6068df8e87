package middleware

import (
	"context"
	"sync"
	"time"

	"github.com/wxsub/wxsub/store"
)

// fakeLeaseClock is a leaseClock that stands still until a test moves it,
// so that a lease decision (run on the old claim, extend it, or wait and
// claim anew) comes out the same however slow the machine is. Sleep moves
// it to the end of the sleep at once and records the sleep; onSleep, when
// set, runs first, so that a test can hold a sleeper back while it sets
// the scene.
type fakeLeaseClock struct {
	mu      sync.Mutex
	now     time.Time
	slept   []time.Duration
	onSleep func(n int, d time.Duration) // n counts the sleeps from 1
}

func newFakeLeaseClock() *fakeLeaseClock { return &fakeLeaseClock{now: time.Unix(now, 0)} }

func (c *fakeLeaseClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock forward to t; it never goes back.
func (c *fakeLeaseClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

func (c *fakeLeaseClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeLeaseClock) Sleep(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.slept = append(c.slept, d)
	n, hook := len(c.slept), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n, d)
	}
	c.Set(end)
}

// setOnSleep sets the hook every later Sleep runs first.
func (c *fakeLeaseClock) setOnSleep(f func(n int, d time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onSleep = f
}

// sleeps returns the sleeps so far.
func (c *fakeLeaseClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// useLeaseClock makes e measure its leases on c.
func useLeaseClock(e *Endpoint, c *fakeLeaseClock) {
	if c != nil {
		e.leases = c
	}
}

// clockDedupe is a dedupe store (with Extend) whose claims and records
// expire on a fakeLeaseClock, with the semantics of the in-memory store:
// the store's time and the Endpoint's lease arithmetic move together. It
// answers at once and ignores its context: the deadlines the Endpoint
// gives store calls run on the real clock, and one that passes only
// because the machine is slow must not change what a test sees.
type clockDedupe struct {
	clk  *fakeLeaseClock
	mu   sync.Mutex
	recs map[string]clockRecord
}

type clockRecord struct {
	until time.Time
	done  bool
}

func newClockDedupe(clk *fakeLeaseClock) *clockDedupe {
	return &clockDedupe{clk: clk, recs: make(map[string]clockRecord)}
}

// state is key's state at now. The caller holds d.mu.
func (d *clockDedupe) state(key string, now time.Time) store.DedupeState {
	r, ok := d.recs[key]
	switch {
	case !ok || !now.Before(r.until):
		return store.DedupeNew
	case r.done:
		return store.DedupeDone
	}
	return store.DedupeInFlight
}

// claimIf claims key for lease from now if it is in state when, and
// returns the state it found.
func (d *clockDedupe) claimIf(key string, lease time.Duration, when store.DedupeState) (store.DedupeState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clk.Now()
	st := d.state(key, now)
	if st == when {
		d.recs[key] = clockRecord{until: now.Add(lease)}
	}
	return st, nil
}

func (d *clockDedupe) Begin(_ context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return d.claimIf(key, lease, store.DedupeNew)
}

func (d *clockDedupe) Extend(_ context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return d.claimIf(key, lease, store.DedupeInFlight)
}

func (d *clockDedupe) Done(_ context.Context, key string, ttl time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recs[key] = clockRecord{until: d.clk.Now().Add(ttl), done: true}
	return nil
}

func (d *clockDedupe) Abort(_ context.Context, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.recs[key]; ok && !r.done {
		delete(d.recs, key)
	}
	return nil
}
