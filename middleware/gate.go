package middleware

import (
	"context"
	"sync"
)

// gate tracks the work in progress, so that Close can wait for it.
type gate struct {
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// enter registers one unit of work; it reports false once the gate closed.
func (g *gate) enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *gate) leave() { g.wg.Done() }

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *gate) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
