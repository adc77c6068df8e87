package outboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/store"
)

// Patience is the longest the suites wait for something that should
// happen (a due job run, a Close): generous, for loaded CI machines. A
// passing suite waits far less.
const Patience = 30 * time.Second

// earlyTolerance is how much earlier than its At a run may be seen to
// start, for the skew between the suite's clock reads.
const earlyTolerance = 10 * time.Millisecond

// Clock is a clock for Limiter tests: it runs with real time, moved by an
// offset that the test sets. Its Now is what the suites pass to Limiter
// constructors.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the real time moved by the clock's offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Set moves the clock so that it reads t now.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = time.Until(t)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// uniq returns a name unique to this run of the suite.
func uniq(name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

// newJob returns a job under a fresh key, due at at.
func newJob(name string, at time.Time) outbox.Job {
	key := uniq(name)
	return outbox.Job{
		Key: key,
		Message: sender.SubscribeMessage{
			ToUser: "user-" + key, TemplateID: "tmpl-1", Page: "pages/order?id=" + key,
			Data: map[string]string{"thing1": "shipped", "number2": "42"},
		},
		Receipt:  store.Receipt{OpenID: "user-" + key, TemplateID: "tmpl-1", Kind: store.OneTime, Generation: "g1", Op: "outbox:" + key},
		At:       at,
		Due:      at,
		Deadline: at.Add(time.Hour),
		Priority: outbox.Transactional,
		Status:   outbox.StatusScheduled,
		Updated:  time.Now(),
	}
}

// deliver is the RunFunc answer of a successful send.
func deliver(j outbox.Job) outbox.Job {
	j.Status = outbox.StatusDelivered
	j.MsgID = "msg-" + j.Key
	j.Settlement = store.Kept
	j.Updated = time.Now()
	return j
}

// runLog records the runs of an engine's RunFunc: how often each key ran,
// when, and whether one key ever ran in two places at once.
type runLog struct {
	mu      sync.Mutex
	count   map[string]int
	started map[string][]time.Time
	active  map[string]int
	overlap []string
	changed chan struct{} // signalled on every change
}

func newRunLog() *runLog {
	return &runLog{
		count: map[string]int{}, started: map[string][]time.Time{}, active: map[string]int{},
		changed: make(chan struct{}, 1),
	}
}

func (l *runLog) begin(key string) {
	now := time.Now()
	l.mu.Lock()
	l.count[key]++
	l.started[key] = append(l.started[key], now)
	l.active[key]++
	if l.active[key] > 1 {
		l.overlap = append(l.overlap, key)
	}
	l.mu.Unlock()
	l.poke()
}

func (l *runLog) end(key string) {
	l.mu.Lock()
	l.active[key]--
	l.mu.Unlock()
	l.poke()
}

func (l *runLog) poke() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *runLog) runs(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[key]
}

func (l *runLog) starts(key string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.started[key]...)
}

// wrap returns a RunFunc that logs each run of f.
func (l *runLog) wrap(f outbox.RunFunc) outbox.RunFunc {
	return func(ctx context.Context, j outbox.Job) outbox.Job {
		l.begin(j.Key)
		defer l.end(j.Key)
		return f(ctx, j)
	}
}

// waitFor polls cond until it holds, failing the test after Patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", Patience, what)
		}
		<-tick.C
	}
}

// recv waits for a value on ch, failing the test after Patience.
func recv[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Patience):
		t.Fatalf("gave up after %v waiting for %s", Patience, what)
	}
	var zero T
	return zero
}

// startEngine starts e with run and closes it when the test ends.
func startEngine(t *testing.T, e outbox.Engine, run outbox.RunFunc) {
	t.Helper()
	if err := e.Start(run); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { closeEngine(t, e) })
}

// closeEngine closes e (again, harmlessly, if the test closed it).
func closeEngine(t *testing.T, e outbox.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	if _, err := e.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// add adds j and checks that it was created.
func add(t *testing.T, e outbox.Engine, j outbox.Job) outbox.Job {
	t.Helper()
	got, created, err := e.Add(context.Background(), j)
	if err != nil || !created {
		t.Fatalf("Add(%q) = created %v, %v; want a new job", j.Key, created, err)
	}
	return got
}

// get returns the job with key, failing the test on an error.
func get(t *testing.T, e outbox.Engine, key string) outbox.Job {
	t.Helper()
	j, err := e.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return j
}

// waitStatus waits until Get reports key with a status for which ok holds.
func waitStatus(t *testing.T, e outbox.Engine, key string, ok func(outbox.Status) bool) outbox.Job {
	t.Helper()
	var j outbox.Job
	waitFor(t, "job "+key+" to reach the expected status", func() bool {
		var err error
		j, err = e.Get(context.Background(), key)
		return err == nil && ok(j.Status)
	})
	return j
}

func final(s outbox.Status) bool { return s.Final() }

// sameJob reports the first difference between the stored fields of a
// job as added and as returned by the engine, or "".
func sameJob(want, got outbox.Job) string {
	switch {
	case got.Key != want.Key:
		return "Key " + strconv.Quote(got.Key)
	case got.Message.ToUser != want.Message.ToUser || got.Message.TemplateID != want.Message.TemplateID ||
		got.Message.Page != want.Message.Page || len(got.Message.Data) != len(want.Message.Data):
		return "Message"
	case got.Receipt != want.Receipt:
		return "Receipt"
	case !got.At.Equal(want.At):
		return "At " + got.At.String()
	case !got.Due.Equal(want.Due):
		return "Due"
	case !got.Deadline.Equal(want.Deadline):
		return "Deadline"
	case got.Priority != want.Priority:
		return "Priority"
	case got.Campaign != want.Campaign:
		return "Campaign"
	}
	for k, v := range want.Message.Data {
		if got.Message.Data[k] != v {
			return "Message.Data[" + k + "]"
		}
	}
	return ""
}
