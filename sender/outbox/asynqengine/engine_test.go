package asynqengine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/outboxtest"
)

// testPrefix returns a Prefix unique to the test, and deletes its job
// records and its asynq queues when the test ends (after the engines'
// Close, which the suite registers later).
func testPrefix(t *testing.T) string {
	t.Helper()
	addr := redistest.Addr(t)
	prefix := strings.TrimSuffix(redistest.Prefix(t), ":")
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		redistest.DeletePrefix(ctx, c, prefix+":")
		redistest.DeletePrefix(ctx, c, "asynq:{"+prefix+":")
		c.SRem(ctx, "asynq:queues", prefix+":tx", prefix+":campaign")
	})
	return prefix
}

// newTestEngine returns an engine on its own Redis client (as another
// process would have), polling every 50 ms.
func newTestEngine(t *testing.T, prefix string, tweak ...func(*Config)) *Engine {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	cfg := Config{
		Prefix: prefix, Concurrency: 8, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e, err := New(c, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = e.Close(ctx)
		_ = c.Close()
	})
	return e
}

func TestEngine(t *testing.T) {
	outboxtest.RunEngine(t, func(t *testing.T) outbox.Engine {
		return newTestEngine(t, testPrefix(t))
	})
}

func TestEngineFleet(t *testing.T) {
	outboxtest.RunEngineFleet(t, func(t *testing.T, n int) []outbox.Engine {
		prefix := testPrefix(t)
		es := make([]outbox.Engine, n)
		for i := range es {
			es[i] = newTestEngine(t, prefix)
		}
		return es
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"})
	defer c.Close()
	for _, tc := range []struct {
		name string
		rdb  redis.UniversalClient
		cfg  Config
	}{
		{"nil client", nil, Config{Prefix: "wxsub:wx1"}},
		{"no prefix", c, Config{}},
		{"braces", c, Config{Prefix: "wxsub:{wx1}"}},
	} {
		if _, err := New(tc.rdb, tc.cfg); err == nil {
			t.Errorf("New with %s succeeded", tc.name)
		}
	}
}

func newJob(key string, at time.Time) outbox.Job {
	return outbox.Job{
		Key:     key,
		Message: sender.SubscribeMessage{ToUser: "u1", TemplateID: "t1", Data: map[string]string{"thing1": "x"}},
		At:      at, Due: at, Deadline: at.Add(time.Hour),
	}
}

// waitFinal waits until key's job has a final status.
func waitFinal(t *testing.T, e *Engine, key string) outbox.Job {
	t.Helper()
	deadline := time.Now().Add(outboxtest.Patience)
	for {
		j, err := e.Get(context.Background(), key)
		if err == nil && j.Status.Final() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %q did not end: %+v, %v", key, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTakeOverSeesSending stops an instance while its run holds a job it
// marked sending: the instance that takes the job over is handed it as
// sending (so the outbox ends it as unknown rather than sending twice),
// and the stopped run can neither save nor record a result any more.
func TestTakeOverSeesSending(t *testing.T) {
	prefix := testPrefix(t)
	a := newTestEngine(t, prefix, func(c *Config) { c.ShutdownTimeout = 200 * time.Millisecond })
	b := newTestEngine(t, prefix)
	marked := make(chan struct{})
	release := make(chan struct{})
	lateSave := make(chan error, 1)
	if err := a.Start(func(ctx context.Context, j outbox.Job) outbox.Job {
		j.Status, j.Attempts = outbox.StatusSending, j.Attempts+1
		if err := a.Save(ctx, j); err != nil {
			t.Errorf("Save: %v", err)
		}
		close(marked)
		<-release // a send that hangs past Close, ignoring ctx
		j.Attempts = 99
		lateSave <- a.Save(context.WithoutCancel(ctx), j)
		return outboxtestDeliver(j)
	}); err != nil {
		t.Fatal(err)
	}
	defer close(release)
	key := "takeover-" + prefix
	if _, _, err := a.Add(context.Background(), newJob(key, time.Now())); err != nil {
		t.Fatal(err)
	}
	<-marked
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a run that does not end: %v; want DeadlineExceeded", err)
	}
	handed := make(chan outbox.Job, 1)
	if err := b.Start(func(ctx context.Context, j outbox.Job) outbox.Job {
		handed <- j
		j.Status, j.Error = outbox.StatusUnknown, "taken over mid-send"
		return j
	}); err != nil {
		t.Fatal(err)
	}
	var j outbox.Job
	select {
	case j = <-handed:
	case <-time.After(outboxtest.Patience):
		t.Fatal("the job was not taken over")
	}
	if j.Status != outbox.StatusSending || j.Attempts != 1 {
		t.Errorf("the taking-over run was handed status %q, attempts %d; want sending, 1", j.Status, j.Attempts)
	}
	got := waitFinal(t, b, key)
	release <- struct{}{}
	if err := <-lateSave; !errors.Is(err, ErrNotHolder) {
		t.Errorf("Save by the stopped run after the take-over: %v; want ErrNotHolder", err)
	}
	time.Sleep(100 * time.Millisecond) // let the stopped run try to record its result
	if now, _ := b.Get(context.Background(), key); now.Status != got.Status || now.Attempts != 1 {
		t.Errorf("after the stopped run returned, the job reads %q, attempts %d; want %q, 1 (its result must not be recorded)",
			now.Status, now.Attempts, got.Status)
	}
}

func outboxtestDeliver(j outbox.Job) outbox.Job {
	j.Status, j.MsgID = outbox.StatusDelivered, "msg-"+j.Key
	return j
}

// TestTaskBeforeRecord runs a task whose record does not exist yet (Add
// enqueues first): it waits for the record rather than dropping the job.
func TestTaskBeforeRecord(t *testing.T) {
	prefix := testPrefix(t)
	e := newTestEngine(t, prefix)
	var runs atomic.Int32
	if err := e.Start(func(_ context.Context, j outbox.Job) outbox.Job {
		runs.Add(1)
		return outboxtestDeliver(j)
	}); err != nil {
		t.Fatal(err)
	}
	key := "early-task"
	j := newJob(key, time.Now())
	if _, err := e.enqueue(context.Background(), j, e.queueOf(j.Priority)); err != nil {
		t.Fatal(err)
	}
	info := waitTask(t, e, e.queues[0], key, asynq.TaskStateRetry)
	if !strings.Contains(info.LastErr, "due again") || info.Retried != 0 {
		t.Errorf("a task without its record: last error %q, retried %d; want a wait that is not a failure", info.LastErr, info.Retried)
	}
	got, created, err := e.Add(context.Background(), j)
	if err != nil || !created {
		t.Fatalf("Add after its task = %+v, %v, %v", got, created, err)
	}
	if j := waitFinal(t, e, key); j.Status != outbox.StatusDelivered || runs.Load() != 1 {
		t.Errorf("job reads %q after %d runs; want delivered after 1", j.Status, runs.Load())
	}
}

// TestOrphanTaskDropped: a task older than orphanGrace without a record
// (its Add failed after enqueueing and said so) ends without running.
func TestOrphanTaskDropped(t *testing.T) {
	prefix := testPrefix(t)
	e := newTestEngine(t, prefix)
	var runs atomic.Int32
	if err := e.Start(func(_ context.Context, j outbox.Job) outbox.Job {
		runs.Add(1)
		return outboxtestDeliver(j)
	}); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(taskPayload{Key: "orphan", Added: time.Now().Add(-orphanGrace - time.Minute)})
	if _, err := e.client.Enqueue(asynq.NewTask(TaskType, payload), asynq.TaskID("orphan"), asynq.Queue(e.queues[0]),
		asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitTask(t, e, e.queues[0], "orphan", asynq.TaskStateCompleted)
	if runs.Load() != 0 {
		t.Errorf("an orphan task ran its (missing) job")
	}
	if _, err := e.Get(context.Background(), "orphan"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get of the orphan's key: %v; want ErrNotFound", err)
	}
	// The key is free, and its ended task gives way to the new job's.
	if _, created, err := e.Add(context.Background(), newJob("orphan", time.Now())); err != nil || !created {
		t.Fatalf("Add of the orphan's key = %v, %v", created, err)
	}
	if j := waitFinal(t, e, "orphan"); j.Status != outbox.StatusDelivered || runs.Load() != 1 {
		t.Errorf("job reads %q after %d runs; want delivered after 1", j.Status, runs.Load())
	}
}

// TestRunAgainFromTheQueue: an operator running an ended task again (asynq
// CLI "task run", asynqmon "Run") does not send it again.
func TestRunAgainFromTheQueue(t *testing.T) {
	prefix := testPrefix(t)
	e := newTestEngine(t, prefix)
	var runs atomic.Int32
	if err := e.Start(func(_ context.Context, j outbox.Job) outbox.Job {
		runs.Add(1)
		return outboxtestDeliver(j)
	}); err != nil {
		t.Fatal(err)
	}
	j := newJob("rerun", time.Now())
	j.Priority, j.Campaign = outbox.Campaign, "spring"
	if _, _, err := e.Add(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, e, j.Key)
	_, campaign := e.Queues()
	info := waitTask(t, e, campaign, j.Key, asynq.TaskStateCompleted)
	var result outbox.Job
	if err := json.Unmarshal(info.Result, &result); err != nil || result.MsgID != "msg-rerun" || result.Status != outbox.StatusDelivered {
		t.Errorf("the completed task's result = %s (%v); want the delivered job", info.Result, err)
	}
	if err := e.insp.RunTask(campaign, j.Key); err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	waitTask(t, e, campaign, j.Key, asynq.TaskStateCompleted)
	if n := runs.Load(); n != 1 {
		t.Errorf("the job ran %d times; want once", n)
	}
}

// TestCancelAfterRetry cancels a job that ran and asked to run again: its
// task leaves asynq's retry set, and the job never runs again.
func TestCancelAfterRetry(t *testing.T) {
	prefix := testPrefix(t)
	e := newTestEngine(t, prefix)
	var runs atomic.Int32
	if err := e.Start(func(_ context.Context, j outbox.Job) outbox.Job {
		runs.Add(1)
		j.Status, j.At, j.Attempts = outbox.StatusScheduled, time.Now().Add(time.Hour), j.Attempts+1
		return j
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Add(context.Background(), newJob("retry", time.Now())); err != nil {
		t.Fatal(err)
	}
	info := waitTask(t, e, e.queues[0], "retry", asynq.TaskStateRetry)
	if info.Retried != 0 {
		t.Errorf("a run asking for a later time counted as a failure: retried %d", info.Retried)
	}
	if d := time.Until(info.NextProcessAt); d < 59*time.Minute {
		t.Errorf("the task is due again in %v; want an hour", d)
	}
	j, err := e.Cancel(context.Background(), "retry")
	if err != nil || j.Status != outbox.StatusCancelled || j.Attempts != 1 {
		t.Fatalf("Cancel = %q, attempts %d, %v; want cancelled, 1", j.Status, j.Attempts, err)
	}
	if _, err := e.insp.GetTaskInfo(e.queues[0], "retry"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("the cancelled job's task: %v; want it deleted", err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the job ran %d times; want once", n)
	}
}

// waitTask waits until the task of key in queue q is in state s.
func waitTask(t *testing.T, e *Engine, q, key string, s asynq.TaskState) *asynq.TaskInfo {
	t.Helper()
	deadline := time.Now().Add(outboxtest.Patience)
	for {
		info, err := e.insp.GetTaskInfo(q, key)
		if err == nil && info.State == s {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %q in %q did not reach %v: %+v, %v", key, q, s, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCeilSecond(t *testing.T) {
	base := time.Date(2031, 3, 14, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ in, want time.Time }{
		{base, base},
		{base.Add(time.Nanosecond), base.Add(time.Second)},
		{base.Add(999 * time.Millisecond), base.Add(time.Second)},
	} {
		if got := ceilSecond(tc.in); !got.Equal(tc.want) {
			t.Errorf("ceilSecond(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}
