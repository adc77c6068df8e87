package asynqengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/sender/outbox"
)

// TaskType is the asynq type name of the engine's tasks.
const TaskType = "wxsub:outbox:send"

// Defaults of Config.
const (
	// DefaultConcurrency is how many jobs an engine runs at once.
	DefaultConcurrency = 16
	// DefaultRetention is how long a final job stays visible to Get and
	// keeps its key from naming a new job: a week, so that a campaign
	// re-run in the days after a crash finds the jobs of the first run.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultRunTimeout bounds one run of a job (a send with its
	// settlement; waits longer than a few seconds hand the job back).
	DefaultRunTimeout = 5 * time.Minute
	// DefaultShutdownTimeout is how long Close waits for runs, once its
	// context is done, before asynq hands them back to the queue.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultPollInterval is how often an idle engine looks for due jobs:
	// a job runs up to this late. asynq's own default is 5 s for
	// scheduled tasks; a second costs an idle instance two small scripts
	// a second.
	DefaultPollInterval = time.Second
	// DefaultTransactionalWeight and DefaultCampaignWeight share the
	// workers between the two queues when both hold due jobs: nine
	// transactional jobs are started for one campaign job.
	DefaultTransactionalWeight = 9
	DefaultCampaignWeight      = 1
)

// Internal limits.
const (
	// maxRetry is the asynq retry count of every task. A job's retries
	// are the outbox's (its deadline); asynq counts only failures of the
	// engine itself (Redis unreachable, a lease lost), which must never
	// archive a job, so the count is out of reach.
	maxRetry = math.MaxInt32
	// orphanGrace is how long a task whose job has no record waits for
	// the record Add writes just after the task, before it is dropped.
	orphanGrace = 5 * time.Minute
	// earlyWait is the longest a run waits in place for a job that is
	// not due yet (another instance's clock ran ahead); a longer wait
	// hands the task back, due at the job's time.
	earlyWait = time.Second
	// writeTimeout bounds the write of a run's result, made after the
	// run's context may have ended.
	writeTimeout = 10 * time.Second
	// cancelTries bounds Cancel's read-and-write rounds when runs keep
	// writing the job between them.
	cancelTries = 10
)

// ErrNotHolder is returned by Save when the context is not the one the
// engine passed to the RunFunc, or when that run no longer holds the job
// (its lease ran out and another instance took the job over). A RunFunc
// that gets it must not send.
var ErrNotHolder = errors.New("wxsub/outbox/asynqengine: this run does not hold the job")

// Config configures an Engine.
type Config struct {
	// Prefix names the app's queues and keys, e.g. "wxsub:wx1234":
	// the asynq queues are Prefix+":tx" and Prefix+":campaign", and the
	// job records Prefix+":job:"+key. Required; it must not contain
	// braces (asynq puts the queue name in a hash tag).
	Prefix string
	// Concurrency is how many jobs the engine runs at once.
	// Default DefaultConcurrency.
	Concurrency int
	// Retention is how long a final job is kept (DefaultRetention).
	Retention time.Duration
	// RunTimeout bounds one run of a job (DefaultRunTimeout).
	RunTimeout time.Duration
	// ShutdownTimeout is how long Close waits for runs after its context
	// is done and their contexts are cancelled (DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// PollInterval is how often an idle engine looks for due jobs, and
	// how often it moves jobs that came due to the ready lists
	// (DefaultPollInterval). Tests use tens of milliseconds.
	PollInterval time.Duration
	// TransactionalWeight and CampaignWeight share the workers between
	// the queues (default 9 and 1). With StrictPriority, campaign jobs
	// start only when no transactional job is due.
	TransactionalWeight, CampaignWeight int
	StrictPriority                      bool
	// Logger receives the engine's and asynq's logs (default: none).
	Logger *slog.Logger
	// Now is the engine's clock (nil: time.Now): a job runs when Now
	// reads its At, and cancelled jobs are stamped by it. Give it the
	// clock given to the Outbox (outbox.WithClock) and the Limiter, so
	// that the times a run hands back (a retry, a wait for the rate, a
	// 45009 pause until midnight) mean the same to the engine. asynq
	// keeps real time: the engine schedules a task after the span the
	// job's At lies ahead of Now.
	Now func() time.Time
}

// Engine is an outbox.Engine on asynq and Redis. Create it with New; its
// methods are safe for concurrent use.
type Engine struct {
	rdb    redis.UniversalClient
	cfg    Config
	queues [2]string // by priority: transactional, campaign
	log    *slog.Logger
	client *asynq.Client
	insp   *asynq.Inspector
	srv    *asynq.Server
	host   string

	// runCtx is the base of every run's context; Close cancels it when
	// its own context ends first.
	runCtx     context.Context
	cancelRuns context.CancelFunc

	mu       sync.Mutex
	run      outbox.RunFunc
	started  bool
	closed   bool
	inflight int
	idle     chan struct{} // closed when inflight drops to 0
}

// New returns an Engine on rdb (the app's go-redis client, shared: the
// engine never closes it). Start it with Start, or hand it to outbox.New,
// which does.
//
// To build the client from asynq's options, use
// opt.MakeRedisClient().(redis.UniversalClient) with an
// asynq.RedisClientOpt.
func New(rdb redis.UniversalClient, cfg Config) (*Engine, error) {
	if rdb == nil {
		return nil, errors.New("wxsub/outbox/asynqengine: New: nil Redis client")
	}
	if strings.TrimSpace(cfg.Prefix) == "" || strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("wxsub/outbox/asynqengine: New: Prefix %q: want a non-empty name without braces", cfg.Prefix)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.RunTimeout <= 0 {
		cfg.RunTimeout = DefaultRunTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.TransactionalWeight <= 0 {
		cfg.TransactionalWeight = DefaultTransactionalWeight
	}
	if cfg.CampaignWeight <= 0 {
		cfg.CampaignWeight = DefaultCampaignWeight
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	e := &Engine{
		rdb:    rdb,
		cfg:    cfg,
		queues: [2]string{cfg.Prefix + ":tx", cfg.Prefix + ":campaign"},
		log:    log,
		client: asynq.NewClientFromRedisClient(rdb),
		insp:   asynq.NewInspectorFromRedisClient(rdb),
		host:   fmt.Sprintf("%s:%d", host, os.Getpid()),
	}
	e.runCtx, e.cancelRuns = context.WithCancel(context.Background())
	e.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		BaseContext:              func() context.Context { return e.runCtx },
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		RetryDelayFunc:           e.retryDelay,
		IsFailure:                isFailure,
		Queues:                   map[string]int{e.queues[0]: cfg.TransactionalWeight, e.queues[1]: cfg.CampaignWeight},
		StrictPriority:           cfg.StrictPriority,
		Logger:                   slogLogger{log},
		LogLevel:                 asynq.DebugLevel, // the slog handler filters
		ShutdownTimeout:          cfg.ShutdownTimeout,
	})
	return e, nil
}

// Queues returns the names of the engine's asynq queues, for asynqmon and
// the asynq CLI.
func (e *Engine) Queues() (transactional, campaign string) { return e.queues[0], e.queues[1] }

func (e *Engine) queueOf(p outbox.Priority) string {
	if p == outbox.Campaign {
		return e.queues[1]
	}
	return e.queues[0]
}

func (e *Engine) recordKey(key string) string { return e.cfg.Prefix + ":job:" + key }

// taskPayload is the payload of a job's asynq task: the job's record is
// the truth; the payload names the job for people reading the queue.
type taskPayload struct {
	Key      string    `json:"key"`
	Priority string    `json:"priority"`
	Campaign string    `json:"campaign,omitempty"`
	Template string    `json:"template_id,omitempty"`
	Added    time.Time `json:"added"`
}

// record is a job record as read from Redis.
type record struct {
	q, status, run, job, v string
}

// parseRecord reads the fields q, status, run, job (and v, when asked for)
// from an HMGET answer; ok is false when the record does not exist.
func parseRecord(vals []any) (r record, ok bool) {
	str := func(i int) string {
		if i < len(vals) {
			if s, isStr := vals[i].(string); isStr {
				return s
			}
		}
		return ""
	}
	r = record{q: str(0), status: str(1), run: str(2), job: str(3), v: str(4)}
	return r, r.q != "" && r.job != ""
}

// view returns the job as Get shows it: StatusSending while a run holds
// an open job.
func (r record) view() (outbox.Job, error) {
	var j outbox.Job
	if err := json.Unmarshal([]byte(r.job), &j); err != nil {
		return outbox.Job{}, fmt.Errorf("wxsub/outbox/asynqengine: decoding a job record: %w", err)
	}
	j.Status = outbox.Status(r.status)
	if r.run != "" && !j.Status.Final() {
		j.Status = outbox.StatusSending
	}
	return j, nil
}

// Add implements outbox.Engine. It enqueues the job's task (task id = the
// key) and then writes the job's record unless the key has one; the
// record decides which job the key names (see the package documentation).
func (e *Engine) Add(ctx context.Context, j outbox.Job) (outbox.Job, bool, error) {
	if j.Key == "" {
		return outbox.Job{}, false, fmt.Errorf("%w: empty key", outbox.ErrInvalidJob)
	}
	if err := ctx.Err(); err != nil {
		return outbox.Job{}, false, err
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return outbox.Job{}, false, outbox.ErrClosed
	}
	j.Status = outbox.StatusScheduled
	body, err := json.Marshal(j)
	if err != nil {
		return outbox.Job{}, false, fmt.Errorf("wxsub/outbox/asynqengine: encoding job %q: %w", j.Key, err)
	}
	q := e.queueOf(j.Priority)
	enqueued, err := e.enqueue(ctx, j, q)
	if err != nil {
		return outbox.Job{}, false, fmt.Errorf("wxsub/outbox/asynqengine: enqueueing job %q: %w", j.Key, err)
	}
	res, err := claimScript.Run(ctx, e.rdb, []string{e.recordKey(j.Key)}, q, body, j.At.UnixMilli()).Result()
	if err != nil {
		// A task enqueued now finds no record when it runs and is
		// dropped after orphanGrace; Get reports no job meanwhile.
		return outbox.Job{}, false, fmt.Errorf("wxsub/outbox/asynqengine: recording job %q: %w", j.Key, err)
	}
	if n, isInt := res.(int64); isInt && n == 1 {
		if !enqueued {
			// The key's task was there before its record: an Add that
			// failed after enqueueing, or a task kept past its record.
			if err := e.reviveTask(ctx, j, q); err != nil {
				return outbox.Job{}, false, err
			}
		}
		return j, true, nil
	}
	vals, _ := res.([]any)
	rec, ok := parseRecord(vals)
	if !ok {
		return outbox.Job{}, false, fmt.Errorf("wxsub/outbox/asynqengine: job %q: unreadable record %v", j.Key, res)
	}
	if enqueued && (rec.q != q || outbox.Status(rec.status).Final()) {
		// The key names a job in the other queue, or an ended one whose
		// task is gone: the task just enqueued is not needed. If it
		// runs before it is deleted, its run finds that and ends.
		e.dropTask(q, j.Key)
	}
	have, err := rec.view()
	return have, false, err
}

// enqueue enqueues j's task in queue q, due at j.At rounded up to the
// second (asynq keeps due times in whole seconds and would otherwise start
// a job up to a second early). It reports false when the task id was taken.
func (e *Engine) enqueue(ctx context.Context, j outbox.Job, q string) (bool, error) {
	payload, err := json.Marshal(taskPayload{
		Key: j.Key, Priority: j.Priority.String(), Campaign: j.Campaign,
		Template: j.Message.TemplateID, Added: time.Now(),
	})
	if err != nil {
		return false, err
	}
	opts := []asynq.Option{
		asynq.TaskID(j.Key), asynq.Queue(q), asynq.MaxRetry(maxRetry),
		asynq.Timeout(e.cfg.RunTimeout), asynq.Retention(e.cfg.Retention),
	}
	if d := e.until(j.At); d > earlyWait {
		opts = append(opts, asynq.ProcessAt(ceilSecond(time.Now().Add(d))))
	}
	// A job due within earlyWait is pending at once: its run waits for
	// At in place (see Engine.process), rather than for asynq's next
	// whole second and poll.
	_, err = e.client.EnqueueContext(ctx, asynq.NewTask(TaskType, payload), opts...)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return false, nil
	}
	return false, err
}

// reviveTask makes sure that the task found under a new job's key will
// run it: a task that has ended is replaced.
func (e *Engine) reviveTask(ctx context.Context, j outbox.Job, q string) error {
	info, err := e.insp.GetTaskInfo(q, j.Key)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		// Deleted since: enqueue it again below.
	case err != nil:
		return fmt.Errorf("wxsub/outbox/asynqengine: job %q: reading its task: %w", j.Key, err)
	case info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived:
		if err := e.insp.DeleteTask(q, j.Key); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("wxsub/outbox/asynqengine: job %q: replacing its ended task: %w", j.Key, err)
		}
	default:
		return nil // it will run and find the record
	}
	if _, err := e.enqueue(ctx, j, q); err != nil {
		return fmt.Errorf("wxsub/outbox/asynqengine: job %q: enqueueing its task again: %w", j.Key, err)
	}
	return nil
}

// dropTask deletes the task of key in queue q, if it is not running. It
// is a clean-up: a task left behind finds its job ended or elsewhere and
// does nothing.
func (e *Engine) dropTask(q, key string) {
	if err := e.insp.DeleteTask(q, key); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		e.log.LogAttrs(context.Background(), slog.LevelDebug, "wxsub/outbox/asynqengine: task left to end by itself",
			slog.String("key", key), slog.String("queue", q), slog.Any("error", err))
	}
}

// Get implements outbox.Engine, from the job's record.
func (e *Engine) Get(ctx context.Context, key string) (outbox.Job, error) {
	vals, err := e.rdb.HMGet(ctx, e.recordKey(key), "q", "status", "run", "job").Result()
	if err != nil {
		return outbox.Job{}, fmt.Errorf("wxsub/outbox/asynqengine: reading job %q: %w", key, err)
	}
	rec, ok := parseRecord(vals)
	if !ok {
		return outbox.Job{}, outbox.ErrNotFound
	}
	return rec.view()
}

// Cancel implements outbox.Engine. The job's record is made final by a
// script that refuses while a run holds the job (the run takes it with a
// script on the same record), so a cancelled job never starts; its task is
// then deleted, or, when it is about to run, finds the job cancelled and
// ends.
func (e *Engine) Cancel(ctx context.Context, key string) (outbox.Job, error) {
	rk := e.recordKey(key)
	for range cancelTries {
		vals, err := e.rdb.HMGet(ctx, rk, "q", "status", "run", "job", "v").Result()
		if err != nil {
			return outbox.Job{}, fmt.Errorf("wxsub/outbox/asynqengine: reading job %q: %w", key, err)
		}
		rec, ok := parseRecord(vals)
		if !ok {
			return outbox.Job{}, outbox.ErrNotFound
		}
		j, err := rec.view()
		switch {
		case err != nil:
			return outbox.Job{}, err
		case j.Status == outbox.StatusCancelled:
			return j, nil
		case j.Status.Final() || j.Status == outbox.StatusSending:
			return j, outbox.ErrNotCancellable
		}
		j.Status, j.Updated = outbox.StatusCancelled, e.cfg.Now()
		body, err := json.Marshal(j)
		if err != nil {
			return outbox.Job{}, fmt.Errorf("wxsub/outbox/asynqengine: encoding job %q: %w", key, err)
		}
		res, err := cancelScript.Run(ctx, e.rdb, []string{rk}, rec.v, body, e.cfg.Retention.Milliseconds()).Text()
		if err != nil {
			return outbox.Job{}, fmt.Errorf("wxsub/outbox/asynqengine: cancelling job %q: %w", key, err)
		}
		switch res {
		case "ok":
			e.dropTask(rec.q, key)
			return j, nil
		case "missing":
			return outbox.Job{}, outbox.ErrNotFound
		}
		// "final", "running" or "changed": read it again.
	}
	return outbox.Job{}, fmt.Errorf("wxsub/outbox/asynqengine: cancelling job %q: it kept changing", key)
}

// runKey is the context key of the id of the run a RunFunc is called in.
type runKey struct{}

// Save implements outbox.Engine. ctx must be the context the engine passed
// to the RunFunc (or one derived from it): it names the run, and the write
// is made only while that run holds the job (ErrNotHolder otherwise).
func (e *Engine) Save(ctx context.Context, j outbox.Job) error {
	run, _ := ctx.Value(runKey{}).(string)
	if run == "" {
		return fmt.Errorf("%w: Save of %q outside a run (pass the RunFunc's context)", ErrNotHolder, j.Key)
	}
	return e.write(ctx, run, j, false, 0)
}

// write records j for run; release lets the job go, and ttl > 0 starts
// its retention.
func (e *Engine) write(ctx context.Context, run string, j outbox.Job, release bool, ttl time.Duration) error {
	body, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("wxsub/outbox/asynqengine: encoding job %q: %w", j.Key, err)
	}
	rel := "0"
	if release {
		rel = "1"
	}
	res, err := writeScript.Run(ctx, e.rdb, []string{e.recordKey(j.Key)},
		run, string(j.Status), body, j.At.UnixMilli(), rel, ttl.Milliseconds()).Text()
	switch {
	case err != nil:
		return fmt.Errorf("wxsub/outbox/asynqengine: writing job %q: %w", j.Key, err)
	case res == "missing":
		return fmt.Errorf("wxsub/outbox/asynqengine: writing job %q: %w", j.Key, outbox.ErrNotFound)
	case res == "lost":
		return fmt.Errorf("%w: job %q was taken over", ErrNotHolder, j.Key)
	}
	return nil
}

// Start implements outbox.Engine: it starts the asynq server that runs the
// engine's queues with run.
func (e *Engine) Start(run outbox.RunFunc) error {
	if run == nil {
		return errors.New("wxsub/outbox/asynqengine: Start: nil RunFunc")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return outbox.ErrClosed
	case e.started:
		return errors.New("wxsub/outbox/asynqengine: Start called twice")
	}
	e.run = run
	if err := e.srv.Start(asynq.HandlerFunc(e.process)); err != nil {
		return fmt.Errorf("wxsub/outbox/asynqengine: starting the asynq server: %w", err)
	}
	e.started = true
	return nil
}

// Close implements outbox.Engine. It stops taking jobs, waits for the
// running ones until ctx is done, then cancels their contexts and shuts
// the asynq server down, which waits up to ShutdownTimeout more and hands
// the runs still going back to the queue. The engine is durable: the jobs
// still scheduled stay in Redis for the other instances, or for the next
// start, and Close returns none.
func (e *Engine) Close(ctx context.Context) ([]outbox.Job, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, nil
	}
	e.closed = true
	started := e.started
	e.mu.Unlock()
	defer e.cancelRuns()
	if !started {
		return nil, nil
	}
	e.srv.Stop()
	var err error
	if !e.waitIdle(ctx) {
		err = fmt.Errorf("wxsub/outbox/asynqengine: Close: running jobs were cut short: %w", ctx.Err())
		e.cancelRuns()
	}
	e.srv.Shutdown()
	return nil, err
}

// enter counts a run in, unless the engine is closing.
func (e *Engine) enter() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	if e.inflight == 0 {
		e.idle = make(chan struct{})
	}
	e.inflight++
	return true
}

func (e *Engine) leave() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight--
	if e.inflight == 0 {
		close(e.idle)
	}
}

// waitIdle waits until no run is going, or ctx is done (false).
func (e *Engine) waitIdle(ctx context.Context) bool {
	e.mu.Lock()
	if e.inflight == 0 {
		e.mu.Unlock()
		return true
	}
	idle := e.idle
	e.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}

// until returns how long before t, by the engine's clock.
func (e *Engine) until(t time.Time) time.Duration { return t.Sub(e.cfg.Now()) }

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	s := t.Truncate(time.Second)
	if s.Equal(t) {
		return s
	}
	return s.Add(time.Second)
}

// newRunID returns a fresh run id naming this process, for the logs of a
// take-over.
func (e *Engine) newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return e.host + ":" + hex.EncodeToString(b[:])
}

// unixMilli parses a Unix millisecond time from a script's answer.
func unixMilli(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
