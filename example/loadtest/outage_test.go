package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// failFast bounds the answer to a push while Redis is down: well inside
// WeChat's 5 s, so that WeChat sees the failure and retries, and well
// before the 4 s hook deadline that would bound a store call that ignored
// the outage. (The slowest answers take about 0.1 s on an idle machine,
// 0.7 s with -race on a busy 2-core one.)
const failFast = 2500 * time.Millisecond

// TestRedisOutage kills the app's Redis in the middle of sustained pushes
// and restarts it after five seconds. While it is down every push must be
// answered 5xx, fast; the pushers then retry every failed push, as WeChat
// does, and once all are answered 200 every grant record must match what
// was pushed exactly: nothing lost, nothing applied twice.
func TestRedisOutage(t *testing.T) {
	f := gate(t)
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) { outage(t, f, fw) })
	}
}

func outage(t *testing.T, f form, fw string) {
	wechat := sendertest.NewServer()
	t.Cleanup(wechat.Close)
	redis := redistest.StartDurableServer(t)
	logs := newLogCounter()
	a, base := startApp(t, fw, appEnv(wechat, redis.Addr()), logs)
	run := fmt.Sprintf("out%d", time.Now().UnixNano())
	ps := pushers(t, wechat.AppID)
	var workers []*worker
	for i := range f.workers {
		workers = append(workers, newWorker(run, i, ps))
	}
	client := newHTTPClient(f.workers)
	t.Cleanup(client.CloseIdleConnections)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Retries outlast the dedupe lease of a push caught in flight by the
	// kill (HookTimeout + 2 s), after which its retry may run.
	hard, hardCancel := context.WithTimeout(context.Background(), f.before+f.outage+f.after+30*time.Second)
	defer hardCancel()
	tl := newTally(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tl.drive(ctx, hard, base, client, workers, true)
	}()

	time.Sleep(f.before)
	stopAt := time.Now()
	redis.Stop()
	time.Sleep(f.outage)
	restartAt := time.Now()
	redis.Start()
	time.Sleep(f.after)
	cancel()
	<-done

	var (
		during   []time.Duration
		statuses = map[int]int{}
	)
	tl.mu.Lock()
	for _, at := range tl.attempts {
		// Attempts begun while Redis was down (after a grace period for
		// those already past their last Redis call).
		if at.at.After(stopAt.Add(100*time.Millisecond)) && at.at.Add(at.took).Before(restartAt) {
			during = append(during, at.took)
			statuses[at.status]++
		}
	}
	tl.mu.Unlock()
	t.Logf("%s: %d attempts, statuses %v; %d pushes handled; during the %v outage %d attempts, statuses %v, latency p50 %v p99 %v max %v",
		fw, tl.total(), tl.statuses, tl.handled.Load(), f.outage, len(during), statuses,
		percentile(during, 50), percentile(during, 99), percentile(during, 100))
	if len(during) == 0 {
		t.Fatal("no push was attempted while Redis was down")
	}
	for s, n := range statuses {
		if s < 500 {
			t.Errorf("%d pushes were answered %d while Redis was down, want 5xx", n, s)
		}
	}
	if s := statuses[http.StatusInternalServerError] + statuses[http.StatusServiceUnavailable]; s != len(during) {
		t.Errorf("while Redis was down, %d of %d answers were not 500 or 503: %v", len(during)-s, len(during), statuses)
	}
	if p := percentile(during, 100); p > failFast {
		t.Errorf("slowest answer while Redis was down took %v, want under %v (p99 %v)", p, failFast, percentile(during, 99))
	}
	if tl.unfinished != 0 {
		t.Errorf("%d pushes were still failing %v after the restart", tl.unfinished, time.Since(restartAt).Round(time.Second))
	}
	if tl.statuses[http.StatusOK] == 0 {
		t.Fatal("no push succeeded")
	}
	reconcile(t, a.Grants, workers)
}
