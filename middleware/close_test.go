package middleware

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/handlers"
)

// TestTimedOutCloseLeavesQueuedPushesToRun: a Close that gives up while a
// hook runs does not stop the pool. The pushes still queued (each answered
// "success") run once the hook returns, their gate units and bytes are
// given back, and a second Close returns.
func TestTimedOutCloseLeavesQueuedPushesToRun(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		if m.Content == "block" {
			started <- struct{}{}
			<-release
			return nil
		}
		runs.Add(1)
		return nil
	})
	// Built with New, not newEndpoint: its cleanup Close would wait 10 s.
	e, err := New(Config{Token: token, Now: clock(now), Mux: mux, Async: true, Workers: 1, QueueSize: 64})
	mustOK(t, err)
	checkResponse(t, "blocking push", e.Serve(context.Background(), plainPush(textXML("1", "block"))), 200, "success")
	<-started
	const queued = 20
	for i := range queued {
		checkResponse(t, "queued push", e.Serve(context.Background(), plainPush(textXML(strconv.Itoa(100+i), "q"))), 200, "success")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	err = e.Close(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first Close = %v, want DeadlineExceeded", err)
	}
	close(release)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Errorf("second Close after the hook returned = %v, want nil", err)
	}
	if n := runs.Load(); n != queued {
		t.Errorf("hooks of %d of the %d queued pushes (each answered \"success\") ran", n, queued)
	}
	if b := e.pool.queuedBytes(); b != 0 {
		t.Errorf("pool still holds %d bytes for pushes that will never run", b)
	}
}

// TestGateDrainsOnce: with enter, leave and close racing, drained closes
// exactly once, only once every unit entered has left, and a unit refused
// by a closed gate is not counted.
func TestGateDrainsOnce(t *testing.T) {
	for range 200 {
		g := newGate()
		const n = 8
		entered := make(chan bool, n)
		leave := make(chan struct{})
		for range n {
			go func() {
				ok := g.enter()
				entered <- ok
				if ok {
					<-leave
					g.leave()
				}
			}()
		}
		go g.close()
		admitted := 0
		for range n {
			if <-entered {
				admitted++
			}
		}
		// Every goroutine has entered or been refused; admitted units are
		// still inside, so drained must be open unless none was admitted.
		g.close() // idempotent, and makes sure the gate is closed now
		select {
		case <-g.drained:
			if admitted != 0 {
				t.Fatalf("drained with %d units inside", admitted)
			}
		default:
			if admitted == 0 {
				t.Fatalf("closed empty gate not drained")
			}
		}
		close(leave)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := g.wait(ctx); err != nil {
			t.Fatalf("wait after every unit left: %v", err)
		}
		cancel()
		if g.enter() {
			t.Fatal("a closed gate let a unit in")
		}
	}
}
