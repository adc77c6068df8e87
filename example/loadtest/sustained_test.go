package loadtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// Heap allowances of the sustained test. The only state that legitimately
// grows during a run is the memory store's: each handled push leaves a
// dedupe key (and one per booked grant item) for DedupeTTL. With the
// default TTL (10 minutes, longer than the run) growth is allowed in
// proportion to the pushes handled between the two measurements (about
// 200 B each were measured). With a 2 s TTL ("memory-ttl") the records
// expire during the run, so the heap must level off: growth is allowed only
// for the records that can be alive at once (pushes in 2×TTL plus a second:
// the TTL, then up to one cleanup interval), not for the run's total.
// With Redis that state lives in Redis and the process heap must stay flat.
const (
	heapNoise       = 4 << 20
	bytesPerHandled = 512
	shortDedupeTTL  = 2 * time.Second
)

// TestSustainedLoad drives mixed pushes (every event and message type, XML
// and JSON, plaintext, safe and compatible, 5% duplicates) at the net/http
// and Fiber example apps, with the memory store and with Redis. Every push
// must be answered 200, every grant record must match what was pushed
// exactly, and the heap must not grow between the 10th and 30th second
// (a third of the run and its end, in the short form) beyond the state the
// store is meant to keep.
func TestSustainedLoad(t *testing.T) {
	f := gate(t)
	for _, storeName := range []string{"memory", "redis"} {
		for _, fw := range frameworks {
			t.Run(fw+"/"+storeName, func(t *testing.T) { sustain(t, f, fw, storeName) })
		}
	}
	// The memory store's state is bounded by its TTL: with a short one
	// the heap levels off. One framework suffices; the store is the same.
	t.Run("nethttp/memory-ttl", func(t *testing.T) { sustain(t, f, "nethttp", "memory-ttl") })
	// Async mode answers before hooks run; they must still run once per
	// push, with either store.
	t.Run("nethttp/memory-async", func(t *testing.T) { sustain(t, f, "nethttp", "memory-async") })
	t.Run("fiber/redis-async", func(t *testing.T) { sustain(t, f, "fiber", "redis-async") })
}

// sustain drives one target: fw serving the app with storeName, which is
// "memory" or "redis", optionally followed by "-ttl" (a 2 s dedupe TTL) or
// "-async" (Config.Async).
func sustain(t *testing.T, f form, fw, storeName string) {
	wechat := sendertest.NewServer()
	t.Cleanup(wechat.Close)
	base, variant, _ := strings.Cut(storeName, "-")
	var redisAddr string
	if base == "redis" {
		redisAddr = redistest.StartServer(t).Addr()
	}
	logs := newLogCounter()
	env := appEnv(wechat, redisAddr)
	switch variant {
	case "ttl":
		// The shortest TTL the route accepts needs the replay check off.
		env["WECHAT_REPLAY_WINDOW"] = "0"
		env["WECHAT_DEDUPE_TTL"] = shortDedupeTTL.String()
	case "async":
		env["WECHAT_ASYNC"] = "1"
	}
	a, base := startApp(t, fw, env, logs)
	run := fmt.Sprintf("sus%d", time.Now().UnixNano())
	ps := pushers(t, wechat.AppID)
	var workers []*worker
	for i := range f.workers {
		workers = append(workers, newWorker(run, i, ps))
	}
	t.Cleanup(func() { deleteUsers(a.Grants, workers) })
	client := newHTTPClient(f.workers)
	t.Cleanup(client.CloseIdleConnections)

	ctx, cancel := context.WithTimeout(context.Background(), f.sustain)
	defer cancel()
	hard, hardCancel := context.WithTimeout(context.Background(), f.sustain+15*time.Second)
	defer hardCancel()
	tl := newTally(false)

	// Measure the live heap at a third of the run and just before its end,
	// while the load is running.
	var (
		heap    [2]uint64
		handled [2]int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	wg.Go(func() {
		for i, at := range []time.Duration{f.sustain / 3, f.sustain - 250*time.Millisecond} {
			time.Sleep(time.Until(start.Add(at)))
			handled[i] = tl.handled.Load()
			heap[i] = liveHeap()
		}
	})
	tl.drive(ctx, hard, base, client, workers, false)
	elapsed := time.Since(start)
	wg.Wait()

	total := tl.total()
	t.Logf("%s/%s: %d pushes in %v (%.0f/s), statuses %v, kinds %v", fw, storeName, total,
		elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), tl.statuses, tl.kinds)
	if total == 0 {
		t.Fatal("no push was sent")
	}
	if got := tl.statuses[200]; got != total {
		t.Errorf("%d of %d pushes were not answered 200: %v; first errors: %v", total-got, total, tl.statuses, tl.errs)
	}
	if n, first := logs.Problems(); n != 0 {
		t.Errorf("the app logged %d warnings or errors, first:\n%s", n, first)
	}
	for _, k := range []string{"popup", "change", "sent", "text", "image", "page", "enter", "unknown", "dup"} {
		if tl.kinds[k] == 0 {
			t.Errorf("the mix sent no %s push", k)
		}
	}
	grants := reconcile(t, a.Grants, workers)
	t.Logf("grants reconciled: %d one-time grants held by %d users", grants, len(workers)*usersPerWorker)
	checkHookRuns(t, logs, workers)

	growth := int64(heap[1]) - int64(heap[0])
	between := handled[1] - handled[0]
	allowed := int64(heapNoise)
	switch storeName {
	case "memory", "memory-async":
		allowed += between * bytesPerHandled
	case "memory-ttl":
		interval := f.sustain - 250*time.Millisecond - f.sustain/3
		alive := float64(between) / interval.Seconds() * (2*shortDedupeTTL + time.Second).Seconds()
		allowed += int64(min(alive, float64(between))) * bytesPerHandled
	}
	perPush := 0.0
	if between > 0 {
		perPush = float64(growth) / float64(between)
	}
	t.Logf("live heap %.1f MiB at %v, %.1f MiB at %v: %+.1f MiB over %d handled pushes (%.0f B/push; allowed %.1f MiB)",
		mib(heap[0]), f.sustain/3, mib(heap[1]), f.sustain-250*time.Millisecond, float64(growth)/(1<<20), between, perPush, float64(allowed)/(1<<20))
	if growth > allowed {
		t.Errorf("live heap grew %d bytes between the measurements, more than the %d allowed", growth, allowed)
	}
}

// checkHookRuns checks that the app's hooks ran exactly once for every
// push answered 200 (duplicates not at all), by the lines they log: one
// per subscription item, or per message. In async mode the last hooks may
// still be running when the load stops, so it waits for them a little.
func checkHookRuns(t *testing.T, logs *logCounter, workers []*worker) {
	t.Helper()
	want := map[string]int64{}
	for _, w := range workers {
		for msg, n := range w.hookLines {
			want[msg] += n
		}
	}
	differ := func() []string {
		var d []string
		for msg, n := range want {
			if got := int64(logs.Count(msg)); got != n {
				d = append(d, fmt.Sprintf("%q logged %d times, want %d", msg, got, n))
			}
		}
		return d
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(differ()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d := differ(); len(d) > 0 {
		t.Errorf("hooks did not run exactly once per handled push: %s", strings.Join(d, "; "))
		return
	}
	t.Logf("hooks ran once per handled push: %v", want)
}

// liveHeap returns the bytes of live heap objects after two full
// collections: the first runs the finalizers of objects dropped by earlier
// tests (go-cache stops its janitor in one), the second frees them.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
