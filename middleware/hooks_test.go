package middleware

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

func TestHookContextDeadline(t *testing.T) {
	var deadline time.Time
	mux := handlers.NewMux()
	mux.OnText(func(ctx context.Context, _ *handlers.TextMessage) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		deadline = d
		return nil
	})
	const timeout = 3 * time.Second
	e := newEndpoint(t, Config{Mux: mux, HookTimeout: timeout})
	before := time.Now()
	checkResponse(t, "deadline", e.Serve(context.Background(), plainPush(textXML("1", "x"))), 200, "success")
	after := time.Now()
	// HookTimeout from when Serve took the push, whenever the hook ran.
	if deadline.Before(before.Add(timeout)) || deadline.After(after.Add(timeout)) {
		t.Errorf("hook's deadline %v, want HookTimeout after Serve began: between %v and %v",
			deadline, before.Add(timeout), after.Add(timeout))
	}
}

// TestHookBlockingPastDeadline: a hook that ignores its context does not
// hold the answer; the push stays claimed until the hook returns. The
// answer must come at the deadline or after, and without the hook; how
// long after depends on the machine's load, so the bound on that side
// only tells a late timer from an answer that waited for the hook. The
// lease runs on a fake clock, so the claim outlasts the hook however slow
// the machine is.
func TestHookBlockingPastDeadline(t *testing.T) {
	release := make(chan struct{})
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error {
		if runs.Add(1) == 1 {
			<-release // ignores ctx
		}
		return nil
	})
	log, lb := newLogger()
	const timeout = 150 * time.Millisecond
	clk := newFakeLeaseClock()
	e := newEndpoint(t, Config{Mux: mux, HookTimeout: timeout, Logger: log, Dedupe: newClockDedupe(clk)})
	useLeaseClock(e, clk)
	push := plainPush(textXML("1", "x"))

	start := time.Now()
	answered := make(chan Response, 1)
	go func() { answered <- e.Serve(context.Background(), push) }()
	var got Response
	select {
	case got = <-answered:
	case <-time.After(timeout + 10*time.Second):
		close(release)
		t.Fatalf("no answer %v after the %v deadline: Serve waits for the hook", 10*time.Second, timeout)
	}
	elapsed := time.Since(start)
	checkResponse(t, "blocked", got, 500, ReasonHookTimeout)
	if elapsed < timeout {
		t.Errorf("answered after %v, before the %v deadline", elapsed, timeout)
	}
	if !strings.Contains(lb.String(), "hooks did not return in time") {
		t.Errorf("log lacks the timeout:\n%s", lb.String())
	}
	checkResponse(t, "retry while the hook still runs", e.Serve(context.Background(), push), 503, ReasonInFlight)

	close(release)
	// Once the hook returns, the push is marked done: retries succeed
	// without running it again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = e.Serve(context.Background(), push)
		if got.Status != 503 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	checkResponse(t, "after the hook returned", got, 200, "success")
	if n := runs.Load(); n != 1 {
		t.Errorf("hook ran %d times, want 1", n)
	}
}

func TestHookHonouringDeadlineIsRetried(t *testing.T) {
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnText(func(ctx context.Context, _ *handlers.TextMessage) error {
		if runs.Add(1) == 1 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	// The lease runs on a fake clock: the claim is dropped when the hook
	// returns, however late that is.
	clk := newFakeLeaseClock()
	e := newEndpoint(t, Config{Mux: mux, HookTimeout: 50 * time.Millisecond, Dedupe: newClockDedupe(clk)})
	useLeaseClock(e, clk)
	push := plainPush(textXML("1", "x"))
	got := e.Serve(context.Background(), push)
	if got.Status != 500 {
		t.Fatalf("status %d %q, want 500", got.Status, got.Body)
	}
	// The hook returned its error (the race between the timeout and the
	// hook decides which reason is sent); either way the claim is dropped
	// once the hook returns.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = e.Serve(context.Background(), push)
		if got.Status != 503 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	checkResponse(t, "retry", got, 200, "success")
	if n := runs.Load(); n != 2 {
		t.Errorf("hook ran %d times, want 2", n)
	}
}

func TestRequestContextCanceled(t *testing.T) {
	mux := handlers.NewMux()
	mux.OnText(func(ctx context.Context, _ *handlers.TextMessage) error { return nil })
	e := newEndpoint(t, Config{Mux: mux})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := e.Serve(ctx, plainPush(textXML("1", "x")))
	checkResponse(t, "canceled", got, 500, ReasonStore)
}

func TestAsync(t *testing.T) {
	ran := make(chan string, 4)
	mux := handlers.NewMux()
	mux.OnText(func(ctx context.Context, m *handlers.TextMessage) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("async hook has no deadline")
		}
		ran <- m.Content
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, Async: true})
	reqCtx, cancel := context.WithCancel(context.Background())
	checkResponse(t, "async", e.Serve(reqCtx, plainPush(textXML("1", "hello"))), 200, "success")
	cancel() // the request is over; the hook still runs with a live context
	select {
	case got := <-ran:
		if got != "hello" {
			t.Errorf("hook got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("async hook did not run")
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkResponse(t, "retry after Close", e.Serve(context.Background(), plainPush(textXML("1", "hello"))), 503, ReasonClosed)
}

func TestAsyncQueueFull(t *testing.T) {
	started, release := make(chan struct{}, 8), make(chan struct{})
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error {
		runs.Add(1)
		started <- struct{}{}
		<-release
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, Async: true, Workers: 1, QueueSize: 1})
	checkResponse(t, "first (runs)", e.Serve(context.Background(), plainPush(textXML("1", "a"))), 200, "success")
	<-started
	checkResponse(t, "second (queued)", e.Serve(context.Background(), plainPush(textXML("2", "b"))), 200, "success")
	checkResponse(t, "third (full)", e.Serve(context.Background(), plainPush(textXML("3", "c"))), 503, ReasonQueueFull)
	close(release)
	closeWithin(t, e, 5*time.Second)
	if n := runs.Load(); n != 2 {
		t.Errorf("hooks ran %d times, want 2", n)
	}
}

func TestAsyncFailureIsLoggedAndReleased(t *testing.T) {
	var runs atomic.Int32
	done := make(chan struct{}, 4)
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		defer func() { done <- struct{}{} }()
		m.TransferToCustomerService()
		if runs.Add(1) == 1 {
			return errors.New("async failure")
		}
		return nil
	})
	log, lb := newLogger()
	e := newEndpoint(t, Config{Mux: mux, Async: true, Logger: log})
	push := plainPush(textXML("1", "a"))
	checkResponse(t, "first", e.Serve(context.Background(), push), 200, "success")
	<-done
	// The failed push is released once the worker has recorded the
	// failure (until then a retry is told 503): a stray retry runs it
	// again.
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 && time.Now().Before(deadline) {
		got := e.Serve(context.Background(), push)
		if got.Status != 503 {
			checkResponse(t, "retry", got, 200, "success")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("hook ran %d times, want 2", n)
	}
	if out := lb.String(); !contains(out, "async failure", "async mode cannot send") {
		t.Errorf("log:\n%s", out)
	}
}

func TestCloseWaitsForHooks(t *testing.T) {
	release := make(chan struct{})
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error { <-release; return nil })
	e, err := New(Config{Token: token, Now: clock(now), Mux: mux, HookTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, "blocked", e.Serve(context.Background(), plainPush(textXML("1", "x"))), 500, ReasonHookTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a hook still running = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("Close after the hook returned = %v", err)
	}
}

// slowDedupe is a dedupe store whose Begin, while slow is set, answers
// only once the push's deadline has passed, ignoring its context, as a
// store slow on the network would. It waits for the watchdog to end the
// push's context rather than for a fixed time: under load the watchdog
// may run later than any delay chosen here.
type slowDedupe struct {
	store.DedupeStore
	slow atomic.Bool
}

func (s *slowDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	state, err := s.DedupeStore.Begin(ctx, key, lease)
	if s.slow.Load() {
		waitExpired(ctx.(*deadlineCtx))
	}
	return state, err
}

// waitExpired waits (10 s at most) until the watchdog has ended c at its
// deadline and told its waiter, which it does under its lock.
func waitExpired(c *deadlineCtx) {
	for deadline := time.Now().Add(10 * time.Second); !c.expired.Load() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
}

// TestDeadlineBeforeHooks: when the stores use up the deadline before the
// hooks could start, the hooks do not run with a dead context; the push is
// answered 500 and released, so WeChat's retry runs it.
func TestDeadlineBeforeHooks(t *testing.T) {
	var c counter
	mux := handlers.NewMux()
	mux.OnText(c.hook)
	slow := &slowDedupe{DedupeStore: memory.NewDedupe()}
	const timeout = 30 * time.Millisecond
	slow.slow.Store(true)
	log, lb := newLogger()
	e := newEndpoint(t, Config{Mux: mux, HookTimeout: timeout, Dedupe: slow, Logger: log})
	push := plainPush(textXML("1", "x"))
	checkResponse(t, "slow store", e.Serve(context.Background(), push), 500, ReasonHookTimeout)
	if n := c.runs.Load(); n != 0 {
		t.Errorf("hook ran %d times after its deadline", n)
	}
	if !strings.Contains(lb.String(), "hooks did not return in time") {
		t.Errorf("log lacks the timeout:\n%s", lb.String())
	}
	slow.slow.Store(false)
	checkResponse(t, "retry", e.Serve(context.Background(), push), 200, "success")
	if n := c.runs.Load(); n != 1 {
		t.Errorf("hook ran %d times, want 1", n)
	}
}
