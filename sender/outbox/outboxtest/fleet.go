package outboxtest

import (
	"context"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender/outbox"
)

// RunEngineFleet checks what engines sharing one backend promise, as the
// instances of a fleet do. newFleet returns n fresh engines, not started,
// sharing a backend that no other subtest uses. The subtests run in
// parallel, so newFleet is called concurrently.
func RunEngineFleet(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine) {
	t.Helper()
	tests := []struct {
		name string
		f    func(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine)
	}{
		{"AddRace", testFleetAddRace},
		{"SeenByAll", testFleetSeenByAll},
		{"CancelRacesStart", testFleetCancelRacesStart},
		{"EachJobRunsOnce", testFleetEachJobRunsOnce},
		{"ClosedInstanceJobsRunElsewhere", testFleetClosedInstance},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, newFleet)
		})
	}
}

// startFleet starts every engine with run.
func startFleet(t *testing.T, es []outbox.Engine, run outbox.RunFunc) {
	t.Helper()
	for _, e := range es {
		startEngine(t, e, run)
	}
}

func testFleetAddRace(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine) {
	es := newFleet(t, 2)
	startFleet(t, es, idle(t))
	raceAdd(t, es)
}

func testFleetSeenByAll(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine) {
	es := newFleet(t, 2)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	startFleet(t, es, func(_ context.Context, j outbox.Job) outbox.Job {
		if j.Campaign == "block" {
			started <- struct{}{}
			<-release
		}
		return deliver(j)
	})
	a, b := es[0], es[1]
	ctx := context.Background()

	// Added on one, cancelled on the other.
	j := add(t, a, newJob("fleet-cancel", time.Now().Add(time.Hour)))
	if got, err := b.Cancel(ctx, j.Key); err != nil || got.Status != outbox.StatusCancelled {
		t.Fatalf("Cancel on the other instance = %q, %v; want cancelled", got.Status, err)
	}
	if got := get(t, a, j.Key); got.Status != outbox.StatusCancelled {
		t.Errorf("Get on the adding instance reads %q; want cancelled", got.Status)
	}

	// Running on one of them: both see it sending, neither cancels it.
	r := newJob("fleet-running", time.Now())
	r.Campaign = "block"
	add(t, b, r)
	recv(t, "the job to start", started)
	for i, e := range es {
		if got := get(t, e, r.Key); got.Status != outbox.StatusSending {
			t.Errorf("instance %d: Get of a running job reads %q; want sending", i, got.Status)
		}
		if _, err := e.Cancel(ctx, r.Key); err == nil {
			t.Errorf("instance %d cancelled a running job", i)
		}
	}
	close(release)
	for i, e := range es {
		if got := waitStatus(t, e, r.Key, final); got.Status != outbox.StatusDelivered {
			t.Errorf("instance %d: the job reads %q; want delivered", i, got.Status)
		}
	}
}

func testFleetCancelRacesStart(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine) {
	es := newFleet(t, 2)
	log := newRunLog()
	startFleet(t, es, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) }))
	raceCancel(t, es, log)
}

func testFleetEachJobRunsOnce(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine) {
	es := newFleet(t, 2)
	log := newRunLog()
	startFleet(t, es, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) }))
	runEachOnce(t, es, log, 500)
}

func testFleetClosedInstance(t *testing.T, newFleet func(t *testing.T, n int) []outbox.Engine) {
	es := newFleet(t, 2)
	log := newRunLog()
	run := log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) })
	a, b := es[0], es[1]
	if err := a.Start(run); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var keys []string
	at := time.Now().Add(time.Second)
	for range 20 {
		j := add(t, a, newJob("handover", at))
		keys = append(keys, j.Key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	dropped, err := a.Close(ctx)
	if err != nil || len(dropped) != 0 {
		t.Fatalf("Close of a durable engine = %d dropped, %v; want none", len(dropped), err)
	}
	startEngine(t, b, run)
	for _, key := range keys {
		if got := waitStatus(t, b, key, final); got.Status != outbox.StatusDelivered {
			t.Errorf("job %q reads %q; want delivered", key, got.Status)
		}
		if n := log.runs(key); n != 1 {
			t.Errorf("job %q ran %d times; want once", key, n)
		}
	}
}
