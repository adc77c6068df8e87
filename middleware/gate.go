package middleware

import (
	"context"
	"sync"
	"sync/atomic"
)

// gate tracks the work in progress, so that Close can wait for it. Waiting
// needs no goroutine: the last unit of work to leave a closed gate closes
// drained, so a Close that gives up leaves nothing behind.
type gate struct {
	mu     sync.RWMutex
	closed bool         // under mu, so that no enter passes a close
	shut   atomic.Bool  // closed, for leave to read without the lock
	n      atomic.Int64 // units of work entered and not yet left

	once    sync.Once
	drained chan struct{} // closed once the gate is closed and empty
}

func newGate() *gate { return &gate{drained: make(chan struct{})} }

// enter registers one unit of work; it reports false once the gate closed.
func (g *gate) enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false
	}
	g.n.Add(1)
	return true
}

// leave ends one unit of work.
func (g *gate) leave() {
	if g.n.Add(-1) == 0 && g.shut.Load() {
		g.drain()
	}
}

func (g *gate) drain() { g.once.Do(func() { close(g.drained) }) }

// close stops new work from entering. No unit can enter afterwards, so if
// none is in progress now, none ever will be.
func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.shut.Store(true)
	g.mu.Unlock()
	if g.n.Load() == 0 {
		g.drain()
	}
}

// wait waits until the closed gate is empty, or until ctx is done.
func (g *gate) wait(ctx context.Context) error {
	select {
	case <-g.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
