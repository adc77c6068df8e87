package outboxtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender/outbox"
)

// RunEngine checks an outbox.Engine against the contract of the
// interface. newEngine returns a fresh engine, not started, that no other
// subtest uses; the suite starts it (with a RunFunc of its own) and closes
// it. The subtests run in parallel, so newEngine is called concurrently.
func RunEngine(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	t.Helper()
	tests := []struct {
		name string
		f    func(t *testing.T, newEngine func(t *testing.T) outbox.Engine)
	}{
		{"AddThenGet", testAddThenGet},
		{"AddIsIdempotent", testAddIsIdempotent},
		{"AddRace", testAddRace},
		{"AddInvalid", testAddInvalid},
		{"Missing", testMissing},
		{"RunsWhenDueNotBefore", testRunsWhenDue},
		{"FinalStatusesKept", testFinalStatusesKept},
		{"RunningJob", testRunningJob},
		{"SaveOutsideRun", testSaveOutsideRun},
		{"CancelScheduled", testCancelScheduled},
		{"CancelRacesStart", testCancelRacesStart},
		{"ScheduledRunsAgain", testScheduledRunsAgain},
		{"EachJobRunsOnce", testEachJobRunsOnce},
		{"CloseWaitsForRunning", testCloseWaitsForRunning},
		{"StartTwice", testStartTwice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // most of the time is spent waiting for due times
			tc.f(t, newEngine)
		})
	}
}

// idle is a RunFunc for tests whose jobs never come due.
func idle(t *testing.T) outbox.RunFunc {
	return func(_ context.Context, j outbox.Job) outbox.Job {
		t.Errorf("job %q ran; it was not due", j.Key)
		return deliver(j)
	}
}

func testAddThenGet(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	for _, p := range []outbox.Priority{outbox.Transactional, outbox.Campaign} {
		j := newJob("get", time.Now().Add(time.Hour))
		j.Priority = p
		if p == outbox.Campaign {
			j.Campaign = uniq("campaign")
		}
		got := add(t, e, j)
		if d := sameJob(j, got); d != "" || got.Status != outbox.StatusScheduled {
			t.Errorf("Add returned %+v: differs in %s, status %q; want the job, scheduled", got, d, got.Status)
		}
		got = get(t, e, j.Key)
		if d := sameJob(j, got); d != "" || got.Status != outbox.StatusScheduled {
			t.Errorf("Get returned %+v: differs in %s, status %q; want the job, scheduled", got, d, got.Status)
		}
	}
}

func testAddIsIdempotent(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	ctx := context.Background()
	first := newJob("idem", time.Now().Add(time.Hour))
	add(t, e, first)
	for _, p := range []outbox.Priority{outbox.Transactional, outbox.Campaign} {
		again := newJob("other", time.Now().Add(2*time.Hour))
		again.Key, again.Priority = first.Key, p
		got, created, err := e.Add(ctx, again)
		if err != nil || created {
			t.Fatalf("Add of a used key (priority %v) = created %v, %v; want the existing job", p, created, err)
		}
		if d := sameJob(first, got); d != "" {
			t.Errorf("Add of a used key (priority %v) returned a job that differs from the first in %s", p, d)
		}
	}
	if d := sameJob(first, get(t, e, first.Key)); d != "" {
		t.Errorf("after a second Add, Get returns a job that differs from the first in %s", d)
	}
}

func testAddRace(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	raceAdd(t, []outbox.Engine{e})
}

// raceAdd adds one key from 50 goroutines, spread over engines and over
// both priorities, and checks that exactly one Add created a job and that
// every Add returned that job.
func raceAdd(t *testing.T, engines []outbox.Engine) {
	const n = 50
	key := uniq("race")
	at := time.Now().Add(time.Hour)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		created []int
		got     = make([]outbox.Job, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := newJob("race", at)
			j.Key = key
			j.Message.Data["n"] = strconv.Itoa(i)
			if i%2 == 1 {
				j.Priority = outbox.Campaign
			}
			<-start
			have, c, err := engines[i%len(engines)].Add(context.Background(), j)
			if err != nil {
				t.Errorf("Add %d: %v", i, err)
				return
			}
			got[i] = have
			if c {
				mu.Lock()
				created = append(created, i)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(created) != 1 {
		t.Fatalf("%d racing Adds of one key created %d jobs (by %v); want 1", n, len(created), created)
	}
	want := strconv.Itoa(created[0])
	for i, j := range got {
		if j.Message.Data["n"] != want {
			t.Errorf("Add %d returned the job of Add %s; want that of Add %s, which created it", i, j.Message.Data["n"], want)
		}
	}
	for _, e := range engines {
		if j := get(t, e, key); j.Message.Data["n"] != want {
			t.Errorf("Get returns the job of Add %s; want that of Add %s, which created it", j.Message.Data["n"], want)
		}
	}
}

func testAddInvalid(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	j := newJob("invalid", time.Now().Add(time.Hour))
	j.Key = ""
	if _, _, err := e.Add(context.Background(), j); !errors.Is(err, outbox.ErrInvalidJob) {
		t.Errorf("Add with an empty key: %v; want ErrInvalidJob", err)
	}
}

func testMissing(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	key := uniq("missing")
	if _, err := e.Get(context.Background(), key); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get of an unknown key: %v; want ErrNotFound", err)
	}
	if _, err := e.Cancel(context.Background(), key); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Cancel of an unknown key: %v; want ErrNotFound", err)
	}
}

func testRunsWhenDue(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	log := newRunLog()
	startEngine(t, e, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) }))
	var jobs []outbox.Job
	now := time.Now()
	for i, d := range []time.Duration{0, 300 * time.Millisecond, 1200 * time.Millisecond, 1700 * time.Millisecond} {
		j := newJob("due", now.Add(d))
		if i%2 == 1 {
			j.Priority, j.Campaign = outbox.Campaign, uniq("campaign")
		}
		add(t, e, j)
		jobs = append(jobs, j)
	}
	for _, j := range jobs {
		got := waitStatus(t, e, j.Key, final)
		if got.Status != outbox.StatusDelivered || got.MsgID != "msg-"+j.Key {
			t.Errorf("job %q ended %q with msgid %q; want delivered with msgid %q", j.Key, got.Status, got.MsgID, "msg-"+j.Key)
		}
		starts := log.starts(j.Key)
		if len(starts) != 1 {
			t.Errorf("job %q ran %d times; want once", j.Key, len(starts))
			continue
		}
		if early := j.At.Sub(starts[0]); early > earlyTolerance {
			t.Errorf("job %q started %v before its At", j.Key, early)
		}
	}
}

func testFinalStatusesKept(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	outcomes := map[string]func(outbox.Job) outbox.Job{}
	var mu sync.Mutex
	startEngine(t, e, func(_ context.Context, j outbox.Job) outbox.Job {
		mu.Lock()
		f := outcomes[j.Key]
		mu.Unlock()
		return f(j)
	})
	failed := newJob("failed", time.Now())
	unknown := newJob("unknown", time.Now())
	mu.Lock()
	outcomes[failed.Key] = func(j outbox.Job) outbox.Job {
		j.Status, j.ErrCode, j.Error, j.Attempts = outbox.StatusFailed, 40003, "invalid openid", 1
		return j
	}
	outcomes[unknown.Key] = func(j outbox.Job) outbox.Job {
		j.Status, j.Error, j.Attempts = outbox.StatusUnknown, "delivery unknown", 1
		return j
	}
	mu.Unlock()
	add(t, e, failed)
	add(t, e, unknown)
	got := waitStatus(t, e, failed.Key, final)
	if got.Status != outbox.StatusFailed || got.ErrCode != 40003 || got.Error != "invalid openid" || got.Attempts != 1 {
		t.Errorf("failed job reads %q, errcode %d, error %q, attempts %d; want failed, 40003, \"invalid openid\", 1",
			got.Status, got.ErrCode, got.Error, got.Attempts)
	}
	if got := waitStatus(t, e, unknown.Key, final); got.Status != outbox.StatusUnknown {
		t.Errorf("unknown job reads %q; want unknown", got.Status)
	}
}

func testRunningJob(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	started := make(chan outbox.Job, 1)
	saved := make(chan error, 1)
	release := make(chan struct{})
	startEngine(t, e, func(ctx context.Context, j outbox.Job) outbox.Job {
		started <- j
		j.Status, j.Attempts = outbox.StatusSending, j.Attempts+1
		saved <- e.Save(ctx, j)
		<-release
		return deliver(j)
	})
	j := add(t, e, newJob("running", time.Now()))
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	if in := recv(t, "the job to start", started); in.Status != outbox.StatusScheduled || in.Attempts != 0 {
		t.Errorf("the RunFunc was handed status %q, attempts %d; want scheduled, 0", in.Status, in.Attempts)
	}
	if err := recv(t, "Save", saved); err != nil {
		t.Fatalf("Save in the run: %v", err)
	}
	got := get(t, e, j.Key)
	if got.Status != outbox.StatusSending || got.Attempts != 1 {
		t.Errorf("Get of a running job after Save: status %q, attempts %d; want sending, 1", got.Status, got.Attempts)
	}
	got, err := e.Cancel(context.Background(), j.Key)
	if !errors.Is(err, outbox.ErrNotCancellable) {
		t.Errorf("Cancel of a running job: %v; want ErrNotCancellable", err)
	} else if got.Key != j.Key || got.Status != outbox.StatusSending {
		t.Errorf("Cancel of a running job returned key %q, status %q; want the job, sending", got.Key, got.Status)
	}
	close(release)
	got = waitStatus(t, e, j.Key, final)
	if got.Status != outbox.StatusDelivered || got.Attempts != 1 {
		t.Errorf("after the run: status %q, attempts %d; want delivered, 1", got.Status, got.Attempts)
	}
	if _, err := e.Cancel(context.Background(), j.Key); !errors.Is(err, outbox.ErrNotCancellable) {
		t.Errorf("Cancel of a delivered job: %v; want ErrNotCancellable", err)
	}
	if again, created, err := e.Add(context.Background(), newJob("again", time.Now())); err != nil || !created || again.Key == j.Key {
		t.Errorf("Add of another key after a run: created %v, %v", created, err)
	}
}

func testSaveOutsideRun(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	j := add(t, e, newJob("save", time.Now().Add(time.Hour)))
	j.Status = outbox.StatusSending
	if err := e.Save(context.Background(), j); err == nil {
		t.Errorf("Save of a job that is not running succeeded")
	}
	if got := get(t, e, j.Key); got.Status != outbox.StatusScheduled {
		t.Errorf("after a refused Save, Get reads status %q; want scheduled", got.Status)
	}
}

func testCancelScheduled(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	log := newRunLog()
	startEngine(t, e, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) }))
	ctx := context.Background()
	j := add(t, e, newJob("cancel", time.Now().Add(1500*time.Millisecond)))
	// A sentinel due after it: once it has run, the cancelled job was due
	// a while before.
	sentinel := add(t, e, newJob("sentinel", j.At.Add(1500*time.Millisecond)))
	got, err := e.Cancel(ctx, j.Key)
	if err != nil || got.Status != outbox.StatusCancelled || sameJob(j, got) != "" {
		t.Fatalf("Cancel of a scheduled job = status %q, %v; want the job, cancelled", got.Status, err)
	}
	if got := get(t, e, j.Key); got.Status != outbox.StatusCancelled {
		t.Errorf("Get of a cancelled job: status %q; want cancelled", got.Status)
	}
	if got, err := e.Cancel(ctx, j.Key); err != nil || got.Status != outbox.StatusCancelled {
		t.Errorf("Cancel of a cancelled job = status %q, %v; want cancelled, nil", got.Status, err)
	}
	again := newJob("again", time.Now())
	again.Key = j.Key
	if got, created, err := e.Add(ctx, again); err != nil || created || got.Status != outbox.StatusCancelled {
		t.Errorf("Add of a cancelled job's key = status %q, created %v, %v; want the cancelled job", got.Status, created, err)
	}
	waitStatus(t, e, sentinel.Key, final)
	if n := log.runs(j.Key); n != 0 {
		t.Errorf("the cancelled job ran %d times", n)
	}
	if got := get(t, e, j.Key); got.Status != outbox.StatusCancelled {
		t.Errorf("after its due time, the cancelled job reads %q; want cancelled", got.Status)
	}
}

func testCancelRacesStart(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	log := newRunLog()
	startEngine(t, e, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) }))
	raceCancel(t, []outbox.Engine{e}, log)
}

// raceCancel cancels jobs around the moment they start, from the engines
// in turn, and checks that each job either ran or was cancelled.
func raceCancel(t *testing.T, engines []outbox.Engine, log *runLog) {
	const n = 20
	at := time.Now().Add(time.Second)
	keys := make([]string, n)
	for i := range keys {
		j := newJob("racecancel", at)
		add(t, engines[i%len(engines)], j)
		keys[i] = j.Key
	}
	cancelErr := make([]error, n)
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the cancels over 1.6 s from just before the due
			// time: engines start due jobs within a poll interval, and
			// those keeping due times in whole seconds up to a second
			// later.
			time.Sleep(time.Until(at) - 100*time.Millisecond + time.Duration(i)*80*time.Millisecond)
			got, err := engines[(i+1)%len(engines)].Cancel(context.Background(), key)
			switch {
			case err == nil && got.Status != outbox.StatusCancelled:
				t.Errorf("Cancel(%q) returned status %q with a nil error", key, got.Status)
			case err != nil && !errors.Is(err, outbox.ErrNotCancellable):
				t.Errorf("Cancel(%q): %v", key, err)
			}
			cancelErr[i] = err
		}()
	}
	wg.Wait()
	var ran, cancelled int
	for i, key := range keys {
		got := waitStatus(t, engines[0], key, final)
		runs := log.runs(key)
		switch {
		case cancelErr[i] == nil:
			cancelled++
			if runs != 0 || got.Status != outbox.StatusCancelled {
				t.Errorf("job %q: cancelled, yet it ran %d times and reads %q", key, runs, got.Status)
			}
		default:
			ran++
			if runs != 1 || got.Status != outbox.StatusDelivered {
				t.Errorf("job %q: not cancellable, and it ran %d times and reads %q; want once, delivered", key, runs, got.Status)
			}
		}
	}
	t.Logf("%d jobs: %d cancelled, %d ran", n, cancelled, ran)
}

func testScheduledRunsAgain(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	log := newRunLog()
	returned := make(chan outbox.Job, 1)
	var second outbox.Job
	var mu sync.Mutex
	startEngine(t, e, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job {
		if j.Attempts == 0 {
			j.Status, j.Attempts, j.ErrCode, j.Error = outbox.StatusScheduled, 1, -1, "busy"
			j.At = time.Now().Add(1200 * time.Millisecond)
			returned <- j
			return j
		}
		mu.Lock()
		second = j
		mu.Unlock()
		return deliver(j)
	}))
	j := add(t, e, newJob("again", time.Now()))
	first := recv(t, "the first run", returned)
	waitFor(t, "the job to be scheduled again", func() bool {
		got, err := e.Get(context.Background(), j.Key)
		return err == nil && got.Status == outbox.StatusScheduled && got.Attempts == 1
	})
	if got := get(t, e, j.Key); !got.At.Equal(first.At) || got.ErrCode != -1 || got.Error != "busy" {
		t.Errorf("between runs, Get reads At %v, errcode %d, error %q; want At %v, -1, \"busy\"", got.At, got.ErrCode, got.Error, first.At)
	}
	got := waitStatus(t, e, j.Key, final)
	if got.Status != outbox.StatusDelivered || log.runs(j.Key) != 2 {
		t.Fatalf("job ended %q after %d runs; want delivered after 2", got.Status, log.runs(j.Key))
	}
	starts := log.starts(j.Key)
	if early := first.At.Sub(starts[1]); early > earlyTolerance {
		t.Errorf("the second run started %v before the At the first returned", early)
	}
	mu.Lock()
	defer mu.Unlock()
	if second.Attempts != 1 || second.Error != "busy" || second.Status != outbox.StatusScheduled {
		t.Errorf("the second run was handed attempts %d, error %q, status %q; want the job as the first returned it",
			second.Attempts, second.Error, second.Status)
	}
}

func testEachJobRunsOnce(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	log := newRunLog()
	startEngine(t, e, log.wrap(func(_ context.Context, j outbox.Job) outbox.Job { return deliver(j) }))
	runEachOnce(t, []outbox.Engine{e}, log, 500)
}

// runEachOnce adds n jobs due at once through the engines in turn and
// checks that each runs exactly once, never in two places at a time.
func runEachOnce(t *testing.T, engines []outbox.Engine, log *runLog, n int) {
	keys := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	now := time.Now()
	for i := range keys {
		j := newJob("once", now)
		if i%3 == 2 {
			j.Priority = outbox.Campaign
		}
		keys[i] = j.Key
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, created, err := engines[i%len(engines)].Add(context.Background(), j); err != nil || !created {
				t.Errorf("Add(%q) = created %v, %v", j.Key, created, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	waitFor(t, fmt.Sprintf("%d jobs to run", n), func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.count) >= n
	})
	for i, key := range keys {
		got := waitStatus(t, engines[i%len(engines)], key, final)
		if got.Status != outbox.StatusDelivered {
			t.Errorf("job %q reads %q; want delivered", key, got.Status)
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, key := range keys {
		if c := log.count[key]; c != 1 {
			t.Errorf("job %q ran %d times; want once", key, c)
		}
	}
	if len(log.overlap) > 0 {
		t.Errorf("jobs ran in two places at once: %v", log.overlap)
	}
}

func testCloseWaitsForRunning(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	startEngine(t, e, func(_ context.Context, j outbox.Job) outbox.Job {
		started <- struct{}{}
		<-release
		return deliver(j)
	})
	j := add(t, e, newJob("close", time.Now()))
	recv(t, "the job to start", started)
	type result struct {
		dropped []outbox.Job
		err     error
	}
	closed := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		defer cancel()
		d, err := e.Close(ctx)
		closed <- result{d, err}
	}()
	select {
	case r := <-closed:
		close(release)
		t.Fatalf("Close returned (%v) while a job was running", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	r := recv(t, "Close", closed)
	if r.err != nil {
		t.Errorf("Close: %v", r.err)
	}
	for _, d := range r.dropped {
		if d.Key == j.Key {
			t.Errorf("Close dropped the job that was running and ended")
		}
	}
	if got := get(t, e, j.Key); got.Status != outbox.StatusDelivered {
		t.Errorf("after Close, the job that was running reads %q; want delivered", got.Status)
	}
	if _, _, err := e.Add(context.Background(), newJob("late", time.Now())); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Add after Close: %v; want ErrClosed", err)
	}
}

func testStartTwice(t *testing.T, newEngine func(t *testing.T) outbox.Engine) {
	e := newEngine(t)
	startEngine(t, e, idle(t))
	if err := e.Start(idle(t)); err == nil {
		t.Errorf("a second Start succeeded")
	}
}
