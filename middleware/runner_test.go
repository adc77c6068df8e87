package middleware

import (
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/handlers"
)

// TestRunnersReuse checks that sequential calls share one runner, which
// waits on the idle stack between them, and that stop ends it.
func TestRunnersReuse(t *testing.T) {
	e := newEndpoint(t, Config{Mux: handlers.NewMux()})
	r := e.runners
	for i := range 3 {
		c := r.get()
		c.p = newPush(0)
		if !e.gate.enter() { // runCall leaves it
			t.Fatal("gate closed")
		}
		r.start(c)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d did not finish", i)
		}
		if st := c.state.Load(); st != callFinished {
			t.Fatalf("call %d: state %d, want finished", i, st)
		}
		r.mu.Lock()
		idle := len(r.idle)
		r.mu.Unlock()
		if idle != 1 {
			t.Fatalf("after call %d: %d idle runners, want 1", i, idle)
		}
		r.put(c)
	}
	r.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.idle) != 0 || !r.stopped {
		t.Errorf("after stop: %d idle, stopped %v", len(r.idle), r.stopped)
	}
}

// TestRunnersIdleLimit checks that a burst leaves at most maxIdleRunners
// goroutines waiting, and that a runner finishing after stop ends.
func TestRunnersIdleLimit(t *testing.T) {
	e := newEndpoint(t, Config{})
	r := e.runners
	const burst = maxIdleRunners + 8
	var wg sync.WaitGroup
	for range burst {
		w := &runner{wake: make(chan *call, 1)}
		wg.Go(func() {
			if r.park(w) {
				<-w.wake
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		idle := len(r.idle)
		r.mu.Unlock()
		if idle == maxIdleRunners {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle runners, want %d", idle, maxIdleRunners)
		}
		time.Sleep(time.Millisecond)
	}
	r.stop()
	wg.Wait() // every parked runner was told to end
	if r.park(&runner{wake: make(chan *call, 1)}) {
		t.Error("a runner parked after stop")
	}
}
