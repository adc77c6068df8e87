package middleware

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
)

// gatedDedupe is a dedupe store (with Extend) whose Begin, once armed for a
// key, waits after it claimed that key (answer New) until proceed is
// closed: a slow reply from a network store, not a failure.
type gatedDedupe struct {
	store.DedupeExtender
	key      atomic.Pointer[string]
	claimed  chan struct{}
	proceed  chan struct{}
	gateUsed atomic.Bool
}

func (d *gatedDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	st, err := d.DedupeExtender.Begin(ctx, key, lease)
	if k := d.key.Load(); k != nil && *k == key && st == store.DedupeNew && d.gateUsed.CompareAndSwap(false, true) {
		close(d.claimed)
		<-d.proceed
	}
	return st, err
}

// TestAsyncGivesUpOnlyWhenDone: instance 1 answered push "late" success
// and queued it; its queue is slow, so the claim lapses. WeChat delivers
// the push again (the "success" was lost on the way) to instance 2, whose
// store call claims it but whose queue turns out full. While instance 2
// holds that claim, a further retry reaches instance 1 and is answered
// success (instance 1 holds the push). Instance 1's job, retaking the push,
// finds instance 2's claim: it must not trust that delivery, which then
// fails (503, claim dropped), but look again once the claim could have
// ended, and run the push. Found by review: the job used to give up.
//
// Both instances and their store measure leases on one fake clock, and
// instance 1's job is held in its second wait until instance 2 has
// failed, so the steps happen in this order however slow the machine is.
func TestAsyncGivesUpOnlyWhenDone(t *testing.T) {
	const (
		hookTimeout = 50 * time.Millisecond
		lease       = 600 * time.Millisecond
	)
	clk := newFakeLeaseClock()
	shared := newClockDedupe(clk)
	var lateRuns atomic.Int32
	release1, release2 := make(chan struct{}), make(chan struct{})
	lookingAgain, goOn := make(chan struct{}), make(chan struct{})
	started := make(chan struct{}, 2)
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		switch m.Content {
		case "block1":
			started <- struct{}{}
			<-release1
		case "block2":
			started <- struct{}{}
			<-release2
		case "late":
			lateRuns.Add(1)
		}
		return nil
	})
	e1 := newEndpoint(t, Config{Mux: mux, Async: true, Workers: 1, QueueSize: 4,
		Dedupe: shared, HookTimeout: hookTimeout, DedupeLease: lease})
	useLeaseClock(e1, clk)
	gd := &gatedDedupe{DedupeExtender: shared, claimed: make(chan struct{}), proceed: make(chan struct{})}
	e2 := newEndpoint(t, Config{Mux: mux, Async: true, Workers: 1, QueueSize: 1,
		Dedupe: gd, HookTimeout: hookTimeout, DedupeLease: lease})
	useLeaseClock(e2, clk)
	t.Cleanup(func() { // on failure, before the Endpoints' Close
		for _, ch := range []chan struct{}{release1, release2, gd.proceed, goOn} {
			closeIfOpen(ch)
		}
	})

	// Instance 2: worker busy, queue full.
	checkResponse(t, "e2 block", e2.Serve(context.Background(), plainPush(textXML("10", "block2"))), 200, "success")
	<-started
	checkResponse(t, "e2 filler", e2.Serve(context.Background(), plainPush(textXML("11", "fill"))), 200, "success")

	// Instance 1: worker busy, "late" queued and answered success.
	checkResponse(t, "e1 block", e1.Serve(context.Background(), plainPush(textXML("1", "block1"))), 200, "success")
	<-started
	late := plainPush(textXML("2", "late"))
	key := keyOfRequest(t, late)
	queued := clk.Now()
	checkResponse(t, "late, first delivery", e1.Serve(context.Background(), late), 200, "success")
	clk.Set(queued.Add(lease + 50*time.Millisecond)) // its claim lapses in the queue

	// The redelivery to instance 2 claims the push; its reply is slow.
	gd.key.Store(&key)
	respC := make(chan Response, 1)
	go func() { respC <- e2.Serve(context.Background(), late) }()
	<-gd.claimed

	// A further retry reaches instance 1 meanwhile: its pool holds the key.
	checkResponse(t, "late, retry to instance 1", e1.Serve(context.Background(), late), 200, "success")

	// Instance 1's worker reaches the job too late to extend: it waits
	// until its claim has surely ended (queued + lease + margin), retakes
	// the push, finds instance 2's claim and waits again. Hold it in that
	// second wait until instance 2 has failed.
	clk.setOnSleep(func(n int, _ time.Duration) {
		if n == 2 {
			close(lookingAgain)
			<-goOn
		}
	})
	close(release1)
	select {
	case <-lookingAgain:
	case <-time.After(10 * time.Second):
		t.Fatalf("instance 1's job did not wait to look again after finding instance 2's claim (waits: %v, hooks ran %d times)",
			clk.sleeps(), lateRuns.Load())
	}
	if n := lateRuns.Load(); n != 0 {
		t.Fatalf("hooks ran %d times while instance 2 held the push, want 0", n)
	}

	// Instance 2 fails; then instance 1's job looks again.
	close(gd.proceed)
	checkResponse(t, "late, redelivery to instance 2", <-respC, 503, ReasonQueueFull)
	close(goOn)
	close(release2)
	for _, e := range []*Endpoint{e1, e2} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mustOK(t, e.Close(ctx))
		cancel()
	}
	if n := lateRuns.Load(); n != 1 {
		t.Errorf("push answered \"success\" by instance 1: hooks ran %d times, want 1", n)
	}
	st, err := shared.Begin(context.Background(), key, time.Second)
	if err != nil || st != store.DedupeDone {
		t.Errorf("the push's key is %v (%v), want done", st, err)
	}
}

// closeIfOpen closes ch unless it is closed already. Only the test's
// goroutine closes the channels it is used on.
func closeIfOpen(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// TestSyncInFlightAsksOnce: the sync route never vouches for a push it does
// not run: a push in flight elsewhere is answered 503 after
// one Begin, with no second look at the store.
func TestSyncInFlightAsksOnce(t *testing.T) {
	d := newCountingDedupe()
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error { return nil })
	e := newEndpoint(t, Config{Mux: mux, Dedupe: d})
	req := plainPush(textXML("7", "x"))
	_, err := d.Dedupe.Begin(context.Background(), keyOfRequest(t, req), time.Minute)
	mustOK(t, err)
	checkResponse(t, "in flight elsewhere", e.Serve(context.Background(), req), 503, ReasonInFlight)
	if n := d.begins.Load(); n != 1 {
		t.Errorf("sync route called Begin %d times, want 1", n)
	}
}

// TestAsyncShortLeaseStillExtends: the margin renew keeps scales with
// DedupeLease - HookTimeout, so a push a little late on a short lease is
// extended at once, not parked until its claim ends plus a fixed second.
// The lease clock is fake: the worker picks the push up at +120 ms
// exactly, whenever the machine gets to it.
func TestAsyncShortLeaseStillExtends(t *testing.T) {
	const (
		hookTimeout = 100 * time.Millisecond
		lease       = 200 * time.Millisecond // margin 50 ms: extend between +100 and +150 ms
	)
	clk := newFakeLeaseClock()
	d := newClockCountingDedupe(clk)
	b := newBlockedPool(t, Config{Dedupe: d, HookTimeout: hookTimeout, DedupeLease: lease}, clk)
	queued := clk.Now()
	checkResponse(t, "late", b.e.Serve(context.Background(), plainPush(textXML("2", "late"))), 200, "success")
	b.runUntilClosed(t, queued.Add(120*time.Millisecond))
	if s := clk.sleeps(); len(s) != 0 {
		t.Errorf("late push waited %v before it ran, want no wait", s)
	}
	if n := b.late.Load(); n != 1 {
		t.Errorf("hooks ran %d times, want 1", n)
	}
	if n := d.extends.Load(); n != 1 {
		t.Errorf("%d Extend calls, want 1", n)
	}
}
