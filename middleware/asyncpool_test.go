package middleware

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// TestAsyncQueueBytes: the async queue refuses a push that would take the
// bodies held past QueueBytes, though it has room for more pushes, and
// takes pushes again once the held ones ran.
func TestAsyncQueueBytes(t *testing.T) {
	started, release := make(chan struct{}, 8), make(chan struct{})
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error {
		runs.Add(1)
		started <- struct{}{}
		<-release
		return nil
	})
	big := strings.Repeat("x", 600)
	first := plainPush(textXML("1", big))
	limit := int64(len(first.Body)) * 3 / 2 // room for one push, not two
	e := newEndpoint(t, Config{Mux: mux, Async: true, Workers: 1, QueueSize: 64,
		MaxBodyBytes: limit, QueueBytes: limit})
	checkResponse(t, "first (runs)", e.Serve(context.Background(), first), 200, "success")
	<-started
	checkResponse(t, "second (over the bytes)", e.Serve(context.Background(), plainPush(textXML("2", big))), 503, ReasonQueueFull)
	if got := e.pool.queuedBytes(); got != int64(len(first.Body)) {
		t.Errorf("held bytes %d, want %d (the refused push must give its bytes back)", got, len(first.Body))
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for e.pool.queuedBytes() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := e.pool.queuedBytes(); got != 0 {
		t.Fatalf("held bytes %d after the hook returned, want 0", got)
	}
	// WeChat's retry of the refused push now goes through.
	checkResponse(t, "second, retried", e.Serve(context.Background(), plainPush(textXML("2", big))), 200, "success")
	closeWithin(t, e, 5*time.Second)
	if n := runs.Load(); n != 2 {
		t.Errorf("hooks ran %d times, want 2", n)
	}
}

func TestAsyncQueueBytesConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"below the body limit", Config{Token: token, Async: true, MaxBodyBytes: 4096, QueueBytes: 4095}, "QueueBytes (4095) is below MaxBodyBytes"},
		{"negative", Config{Token: token, Async: true, QueueBytes: -1}, "QueueBytes is negative"},
		{"without async", Config{Token: token, QueueBytes: 1 << 20}, "need Async"},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrConfig naming %q", tc.name, err, tc.want)
		}
	}
	e := newEndpoint(t, Config{Async: true, MaxBodyBytes: 128 << 20})
	if e.pool.maxBytes != 128<<20 {
		t.Errorf("default QueueBytes with a 128 MiB body limit = %d, want the body limit", e.pool.maxBytes)
	}
}

// Claims of the tests below: a lease the queued push outwaits.
const (
	leaseHookTimeout = 50 * time.Millisecond
	leaseLease       = 300 * time.Millisecond
)

// TestAsyncRenewsAnOldClaim: a push that waited in the queue past its
// lease takes its claim again before its hooks run, so that its outcome is
// recorded: a later delivery is answered from the store.
func TestAsyncRenewsAnOldClaim(t *testing.T) {
	clk := newFakeLeaseClock()
	d := newClockCountingDedupe(clk)
	b := newBlockedPool(t, Config{Dedupe: d, HookTimeout: leaseHookTimeout, DedupeLease: leaseLease}, clk)
	late := plainPush(textXML("2", "late"))
	queued := clk.Now()
	checkResponse(t, "queued push", b.e.Serve(context.Background(), late), 200, "success")
	b.runUntilClosed(t, queued.Add(leaseLease+50*time.Millisecond))
	if n := b.late.Load(); n != 1 {
		t.Fatalf("late push's hooks ran %d times, want 1", n)
	}
	state, err := d.Dedupe.Begin(context.Background(), keyOfRequest(t, late), time.Second)
	if err != nil || state != store.DedupeDone {
		t.Errorf("late push's key is %v (%v), want done", state, err)
	}
}

// TestAsyncOldClaimYieldsToNewDelivery: while a push waits in the queue
// past its lease, WeChat delivers it again (its "success" was lost on the
// way) and the new delivery claims it and is queued too. Whichever job
// runs the push, the other finds it done: the hooks run once, not twice.
func TestAsyncOldClaimYieldsToNewDelivery(t *testing.T) {
	clk := newFakeLeaseClock()
	b := newBlockedPool(t, Config{Dedupe: newClockDedupe(clk), HookTimeout: leaseHookTimeout, DedupeLease: leaseLease}, clk)
	late := plainPush(textXML("2", "late"))
	checkResponse(t, "queued push", b.e.Serve(context.Background(), late), 200, "success")
	clk.Advance(leaseLease + 50*time.Millisecond)
	checkResponse(t, "redelivery after the lease", b.e.Serve(context.Background(), late), 200, "success")
	b.runUntilClosed(t, clk.Now())
	if n := b.late.Load(); n != 1 {
		t.Fatalf("late push's hooks ran %d times, want 1", n)
	}
}

// TestCloseGivingUpLeavesNoGoroutine: a Close that times out while a hook
// still runs starts nothing that outlives it, and a later Close returns
// once the hook does.
func TestCloseGivingUpLeavesNoGoroutine(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error {
		started <- struct{}{}
		<-release
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, Async: true, Workers: 1})
	checkResponse(t, "push", e.Serve(context.Background(), plainPush(textXML("1", "a"))), 200, "success")
	<-started
	before := runtime.NumGoroutine()
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
		err := e.Close(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with a hook running = %v, want DeadlineExceeded", err)
		}
	}
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Errorf("goroutines grew from %d to %d over 100 timed-out Closes", before, after)
	}
	close(release)
	closeWithin(t, e, 5*time.Second)
}

// keyOfRequest is the default dedupe key of a plaintext push.
func keyOfRequest(t *testing.T, req Request) string {
	t.Helper()
	var msg codec.Message
	mustOK(t, codec.Decode(req.Body, &msg))
	return DefaultDedupeKey(&msg)
}

// countingDedupe is a dedupe store (with Extend) that counts its calls,
// and whose Begin can be slowed down, as a network store's request leg
// is, so that a claim's lease starts later than the push began. It wraps
// the in-memory store, or a clockDedupe whose time a test moves.
type countingDedupe struct {
	Dedupe store.DedupeExtender
	// clk, when set, is the clock beginDelay passes on instead of the
	// real one.
	clk                            *fakeLeaseClock
	beginDelay                     atomic.Int64
	begins, extends, aborts, dones atomic.Int32
}

func newCountingDedupe() *countingDedupe { return &countingDedupe{Dedupe: memory.NewDedupe()} }

// newClockCountingDedupe counts the calls to a clockDedupe on clk.
func newClockCountingDedupe(clk *fakeLeaseClock) *countingDedupe {
	return &countingDedupe{Dedupe: newClockDedupe(clk), clk: clk}
}

func (d *countingDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	d.begins.Add(1)
	if delay := time.Duration(d.beginDelay.Load()); d.clk != nil {
		d.clk.Advance(delay)
	} else {
		time.Sleep(delay)
	}
	return d.Dedupe.Begin(ctx, key, lease)
}

func (d *countingDedupe) Extend(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	d.extends.Add(1)
	return d.Dedupe.Extend(ctx, key, lease)
}

func (d *countingDedupe) Abort(ctx context.Context, key string) error {
	d.aborts.Add(1)
	return d.Dedupe.Abort(ctx, key)
}

func (d *countingDedupe) Done(ctx context.Context, key string, ttl time.Duration) error {
	d.dones.Add(1)
	return d.Dedupe.Done(ctx, key, ttl)
}

// blockedPool is an async endpoint with one worker held by a first hook
// until released, so that the next push waits in the queue. With a
// fakeLeaseClock, the Endpoint measures its leases on it.
type blockedPool struct {
	e       *Endpoint
	clk     *fakeLeaseClock // nil for the real clock
	release chan struct{}
	late    atomic.Int32 // runs of the "late" push's hooks
}

func newBlockedPool(t *testing.T, cfg Config, clk *fakeLeaseClock) *blockedPool {
	b := &blockedPool{clk: clk, release: make(chan struct{})}
	started := make(chan struct{}, 1)
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		if m.Content == "block" {
			started <- struct{}{}
			<-b.release
			return nil
		}
		b.late.Add(1)
		return nil
	})
	cfg.Mux, cfg.Async, cfg.Workers = mux, true, 1
	b.e = newEndpoint(t, cfg)
	useLeaseClock(b.e, clk)
	checkResponse(t, "blocking push", b.e.Serve(context.Background(), plainPush(textXML("1", "block"))), 200, "success")
	<-started
	return b
}

// runUntilClosed releases the worker at the given time and waits for the
// queue to drain. With a fakeLeaseClock it sets the clock to that time
// rather than waiting for it, so the worker picks the queued push up at
// exactly that time, however long the machine takes to get to it.
func (b *blockedPool) runUntilClosed(t *testing.T, at time.Time) {
	t.Helper()
	if b.clk != nil {
		b.clk.Set(at)
	} else {
		time.Sleep(time.Until(at))
	}
	close(b.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mustOK(t, b.e.Close(ctx))
}

// TestAsyncExtendsAClaimStillItsOwn: a push picked up when its claim
// could end before its hook deadline, but surely before the claim has
// ended, extends the claim in one store call: no Abort (which would leave
// a moment with no claim), no second Begin, and its outcome is recorded.
func TestAsyncExtendsAClaimStillItsOwn(t *testing.T) {
	const (
		hookTimeout = 1500 * time.Millisecond
		lease       = 2 * time.Second // renewal by Extend between +0.5 s and +1 s
	)
	clk := newFakeLeaseClock()
	d := newClockCountingDedupe(clk)
	b := newBlockedPool(t, Config{Dedupe: d, HookTimeout: hookTimeout, DedupeLease: lease}, clk)
	late := plainPush(textXML("2", "late"))
	t0 := clk.Now()
	checkResponse(t, "queued push", b.e.Serve(context.Background(), late), 200, "success")
	b.runUntilClosed(t, t0.Add(700*time.Millisecond))
	if n := b.late.Load(); n != 1 {
		t.Fatalf("queued push's hooks ran %d times, want 1", n)
	}
	if x, a, bg := d.extends.Load(), d.aborts.Load(), d.begins.Load(); x != 1 || a != 0 || bg != 2 {
		t.Errorf("store calls: %d Extend, %d Abort, %d Begin; want 1, 0 and 2 (one per push)", x, a, bg)
	}
	state, err := d.Dedupe.Begin(context.Background(), keyOfRequest(t, late), time.Second)
	if err != nil || state != store.DedupeDone {
		t.Errorf("queued push's key is %v (%v), want done", state, err)
	}
}

// TestAsyncSlowClaimIsNotTakenForAnother: the store took the push's claim
// late (a slow Begin), so the claim outlives push-begun + DedupeLease. A
// job picked up in between must not take its own claim for another
// delivery's and drop the push, which was answered "success": it waits
// until its claim has surely ended, claims the push anew and runs it.
func TestAsyncSlowClaimIsNotTakenForAnother(t *testing.T) {
	const (
		hookTimeout = 300 * time.Millisecond
		lease       = 600 * time.Millisecond
		beginDelay  = 150 * time.Millisecond
	)
	clk := newFakeLeaseClock()
	d := newClockCountingDedupe(clk)
	b := newBlockedPool(t, Config{Dedupe: d, HookTimeout: hookTimeout, DedupeLease: lease}, clk)
	t0 := clk.Now()
	d.beginDelay.Store(int64(beginDelay))
	checkResponse(t, "queued push", b.e.Serve(context.Background(), plainPush(textXML("2", "late"))), 200, "success")
	d.beginDelay.Store(0)
	// Picked up past begun + lease, while the store's lease still runs.
	b.runUntilClosed(t, t0.Add(lease+50*time.Millisecond))
	if n := b.late.Load(); n != 1 {
		t.Errorf("queued push's hooks ran %d times, want 1 (answered \"success\", no other delivery)", n)
	}
}

// TestAsyncLostClaimIsClaimedAnew: the store lost the claim of a queued
// push (a restart, an eviction); Extend finds none, and the job claims the
// push anew at once and runs it.
func TestAsyncLostClaimIsClaimedAnew(t *testing.T) {
	const (
		hookTimeout = 1500 * time.Millisecond
		lease       = 2 * time.Second
	)
	clk := newFakeLeaseClock()
	d := newClockCountingDedupe(clk)
	b := newBlockedPool(t, Config{Dedupe: d, HookTimeout: hookTimeout, DedupeLease: lease}, clk)
	late := plainPush(textXML("2", "late"))
	t0 := clk.Now()
	checkResponse(t, "queued push", b.e.Serve(context.Background(), late), 200, "success")
	mustOK(t, d.Dedupe.Abort(context.Background(), keyOfRequest(t, late))) // the store forgets it
	b.runUntilClosed(t, t0.Add(700*time.Millisecond))
	if n := b.late.Load(); n != 1 {
		t.Fatalf("queued push's hooks ran %d times, want 1", n)
	}
	if s := clk.sleeps(); len(s) != 0 {
		t.Errorf("the job waited %v before claiming the push anew, want no wait", s)
	}
	if x, bg := d.extends.Load(), d.begins.Load(); x != 1 || bg != 3 {
		t.Errorf("store calls: %d Extend, %d Begin; want 1 and 3 (one per push, one anew)", x, bg)
	}
}

// TestAsyncNeedsLeaseLongerThanHooks: in async mode a claim that cannot
// outlast the hooks is refused at New, rather than renewed for every push.
func TestAsyncNeedsLeaseLongerThanHooks(t *testing.T) {
	_, err := New(Config{Token: token, Async: true, HookTimeout: 2 * time.Second, DedupeLease: time.Second})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "DedupeLease (1s) must be longer than HookTimeout (2s)") {
		t.Errorf("New = %v, want ErrConfig about DedupeLease", err)
	}
	// Sync mode keeps accepting it: its claims are not queued.
	if _, err := New(Config{Token: token, HookTimeout: 2 * time.Second, DedupeLease: time.Second}); err != nil {
		t.Errorf("sync New = %v", err)
	}
}

// TestAsyncRetryOfHeldPushSucceeds: a retry of a push this Endpoint's
// queue holds is answered "success" (the push was accepted; WeChat need
// not retry again), while a push in flight elsewhere is still answered
// 503; the hooks run once.
func TestAsyncRetryOfHeldPushSucceeds(t *testing.T) {
	d := newCountingDedupe()
	b := newBlockedPool(t, Config{Dedupe: d}, nil)
	late := plainPush(textXML("2", "late"))
	checkResponse(t, "queued push", b.e.Serve(context.Background(), late), 200, "success")
	checkResponse(t, "retry while queued", b.e.Serve(context.Background(), late), 200, "success")
	// Another instance holds this one: this Endpoint must not vouch for it.
	other := plainPush(textXML("3", "elsewhere"))
	_, err := d.Dedupe.Begin(context.Background(), keyOfRequest(t, other), time.Minute)
	mustOK(t, err)
	checkResponse(t, "push in flight elsewhere", b.e.Serve(context.Background(), other), 503, ReasonInFlight)
	b.runUntilClosed(t, time.Now())
	if n := b.late.Load(); n != 1 {
		t.Errorf("queued push's hooks ran %d times, want 1", n)
	}
	if n := len(b.e.pool.held); n != 0 {
		t.Errorf("pool still holds %d keys after draining", n)
	}
}

// stallingDedupe is an in-memory dedupe store whose Begin, once armed,
// waits after finding a key in flight until release returns, as a slow
// store's reply does while the state it reports changes.
type stallingDedupe struct {
	*memory.Dedupe
	stall atomic.Pointer[func()]
}

func (d *stallingDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	st, err := d.Dedupe.Begin(ctx, key, lease)
	if st == store.DedupeInFlight {
		if f := d.stall.Swap(nil); f != nil {
			(*f)()
		}
	}
	return st, err
}

// TestAsyncRetryRacingTheWorker: a retry's Begin finds the push in flight,
// and before the route looks at its queue the worker finishes the push. The
// retry is answered "success" (the push was handled), not 503.
func TestAsyncRetryRacingTheWorker(t *testing.T) {
	d := &stallingDedupe{Dedupe: memory.NewDedupe()}
	b := newBlockedPool(t, Config{Dedupe: d}, nil)
	late := plainPush(textXML("2", "late"))
	key := keyOfRequest(t, late)
	checkResponse(t, "queued push", b.e.Serve(context.Background(), late), 200, "success")
	f := func() {
		close(b.release) // the worker runs the queued push now
		for deadline := time.Now().Add(5 * time.Second); b.e.pool.holds(key) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	d.stall.Store(&f)
	checkResponse(t, "retry racing the worker", b.e.Serve(context.Background(), late), 200, "success")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mustOK(t, b.e.Close(ctx))
	if n := b.late.Load(); n != 1 {
		t.Errorf("hooks ran %d times, want 1", n)
	}
}
