package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/asynqengine"
	"github.com/wxsub/wxsub/sender/outbox/redisfleet"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// workerEnv, when set in the environment of this test binary, makes it an
// outbox worker instead of running tests: TestMain hands it to runWorker.
// The fleet proofs re-execute the test binary with it, so that each
// instance is an operating-system process of its own that a test can
// SIGKILL, with nothing to build beforehand.
const workerEnv = "WXSUB_LOADTEST_OUTBOX_WORKER"

// workerConfig is what a worker process is told, as JSON in workerEnv.
type workerConfig struct {
	// Name names the instance in the test's reports.
	Name string `json:"name"`
	// Redis is the address of the fleet's Redis; Prefix the app's keys.
	Redis  string `json:"redis"`
	Prefix string `json:"prefix"`
	// WeChat is the fake WeChat's base URL; AppID and Secret its app.
	WeChat string `json:"wechat"`
	AppID  string `json:"appid"`
	Secret string `json:"secret"`
	// Limits is the fleet's limit; every instance is given the same.
	Limits outbox.Limits `json:"limits"`
	// Concurrency is how many jobs the instance sends at once.
	Concurrency int `json:"concurrency"`
	// PollInterval is the engine's (asynqengine.Config.PollInterval).
	PollInterval time.Duration `json:"poll_interval"`
	// ClockOffset moves the clock of the outbox, the engine and the
	// limiter: now is time.Now().Add(ClockOffset).
	ClockOffset time.Duration `json:"clock_offset"`
}

// workerEvent is one line a worker writes on its standard output.
type workerEvent struct {
	// Event is "ready" (the outbox runs), "end" (a job this instance ran
	// reached a final status) or "closed" (Close returned).
	Event string `json:"ev"`
	PID   int    `json:"pid,omitempty"`
	// Key, Status, ErrCode, Attempts and MsgID describe an ended job.
	Key      string `json:"key,omitempty"`
	Status   string `json:"status,omitempty"`
	ErrCode  int    `json:"errcode,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	MsgID    string `json:"msgid,omitempty"`
	// At is when the line was written, by the real clock, in Unix ns.
	At int64 `json:"at,omitempty"`
	// Error is Close's error, if any.
	Error string `json:"error,omitempty"`
}

// fleetClock returns the clock of a fleet whose time runs offset ahead of
// the machine's.
func fleetClock(offset time.Duration) func() time.Time {
	if offset == 0 {
		return time.Now
	}
	return func() time.Time { return time.Now().Add(offset) }
}

// runWorker runs one instance of the fleet from the configuration in
// workerEnv until SIGTERM or SIGINT (then it closes the outbox, writes
// "closed" and exits 0) or SIGKILL. It returns the exit code.
func runWorker() int {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(os.Getenv(workerEnv)), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "outbox worker: reading %s: %v\n", workerEnv, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// One write per line, unbuffered: a line written before a SIGKILL is
	// in the pipe and reaches the test.
	var outMu sync.Mutex
	emit := func(ev workerEvent) {
		ev.At = time.Now().UnixNano()
		b, _ := json.Marshal(ev)
		outMu.Lock()
		defer outMu.Unlock()
		if _, err := os.Stdout.Write(append(b, '\n')); err != nil {
			log.Error("outbox worker: writing an event", "error", err)
		}
	}

	now := fleetClock(cfg.ClockOffset)
	rdb := goredis.NewClient(&goredis.Options{Addr: cfg.Redis, PoolSize: 4 * max(cfg.Concurrency, 16)})
	defer rdb.Close()
	grants, err := wxredis.New(rdb, wxredis.WithPrefix(cfg.Prefix+":grants:"))
	if err != nil {
		log.Error("outbox worker: grant store", "error", err)
		return 1
	}
	client, err := sender.New(cfg.AppID, cfg.Secret, sender.WithBaseURL(cfg.WeChat), sender.WithGrantStore(grants),
		sender.WithRetry(sender.RetryPolicy{MaxAttempts: 1}), sender.WithLogger(log))
	if err != nil {
		log.Error("outbox worker: sender", "error", err)
		return 1
	}
	engine, err := asynqengine.New(rdb, asynqengine.Config{
		Prefix: cfg.Prefix, Concurrency: cfg.Concurrency, PollInterval: cfg.PollInterval,
		ShutdownTimeout: 5 * time.Second, Logger: log, Now: now,
	})
	if err != nil {
		log.Error("outbox worker: engine", "error", err)
		return 1
	}
	limiter, err := redisfleet.NewLimiter(rdb, cfg.Prefix+":fleet:", cfg.Limits, redisfleet.WithClock(now))
	if err != nil {
		log.Error("outbox worker: limiter", "error", err)
		return 1
	}
	tally, err := redisfleet.NewTally(rdb, cfg.Prefix+":fleet:")
	if err != nil {
		log.Error("outbox worker: tally", "error", err)
		return 1
	}
	box, err := outbox.New(client, outbox.WithEngine(engine), outbox.WithLimiter(limiter), outbox.WithTally(tally),
		outbox.WithClock(now), outbox.WithLogger(log), outbox.WithRetry(200*time.Millisecond, 2*time.Second),
		outbox.OnEnd(func(_ context.Context, j outbox.Job) {
			emit(workerEvent{Event: "end", Key: j.Key, Status: string(j.Status), ErrCode: j.ErrCode, Attempts: j.Attempts, MsgID: j.MsgID})
		}))
	if err != nil {
		log.Error("outbox worker: outbox", "error", err)
		return 1
	}
	emit(workerEvent{Event: "ready", PID: os.Getpid()})
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev := workerEvent{Event: "closed"}
	if err := box.Close(cctx); err != nil {
		ev.Error = err.Error()
	}
	emit(ev)
	return 0
}

// jobEnd is a job a worker reported final.
type jobEnd struct {
	workerEvent
	// Worker names the instance.
	Worker string
}

// proc is a worker process started by a test.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	pid    int
	stderr string // its log file

	ready  chan struct{}
	exited chan struct{} // closed when its output ended and it was waited for
	mu     sync.Mutex
	ends   []jobEnd
	closed *workerEvent
	bad    []string // lines that were not events
	waited error    // cmd.Wait's error
}

// startWorker starts a worker process with cfg and waits until its outbox
// runs, or fails the test. The test stops it, if it still runs, when it
// ends.
func startWorker(t *testing.T, cfg workerConfig) *proc {
	t.Helper()
	w, err := launchWorker(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// launchWorker is startWorker for any goroutine: it returns what went
// wrong instead of failing the test.
func launchWorker(t *testing.T, cfg workerConfig) (*proc, error) {
	body, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	w := &proc{t: t, name: cfg.Name, ready: make(chan struct{}), exited: make(chan struct{})}
	w.cmd = exec.Command(os.Args[0], "-test.run=^$")
	w.cmd.Env = append(os.Environ(), workerEnv+"="+string(body))
	w.stderr = fmt.Sprintf("%s/%s.log", t.TempDir(), cfg.Name)
	logFile, err := os.Create(w.stderr)
	if err != nil {
		return nil, err
	}
	w.cmd.Stderr = logFile
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting worker %s: %w", cfg.Name, err)
	}
	w.pid = w.cmd.Process.Pid
	go w.read(out, logFile)
	t.Cleanup(func() { w.Stop() })
	select {
	case <-w.ready:
		return w, nil
	case <-w.exited:
		return nil, fmt.Errorf("worker %s exited before it was ready: %v\n%s", cfg.Name, w.waited, w.log(2000))
	case <-time.After(2 * time.Minute):
		return nil, fmt.Errorf("worker %s was not ready after 2 minutes\n%s", cfg.Name, w.log(2000))
	}
}

// read parses the worker's events until its output ends, then waits for
// the process.
func (w *proc) read(out io.Reader, logFile *os.File) {
	defer close(w.exited)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev workerEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Event == "" {
			w.mu.Lock()
			w.bad = append(w.bad, sc.Text())
			w.mu.Unlock()
			continue
		}
		w.mu.Lock()
		switch ev.Event {
		case "ready":
			close(w.ready)
		case "end":
			w.ends = append(w.ends, jobEnd{workerEvent: ev, Worker: w.name})
		case "closed":
			w.closed = &ev
		}
		w.mu.Unlock()
	}
	err := w.cmd.Wait()
	_ = logFile.Close()
	w.mu.Lock()
	w.waited = err
	w.mu.Unlock()
}

// Ends returns the jobs the worker reported final so far.
func (w *proc) Ends() []jobEnd {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]jobEnd(nil), w.ends...)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (w *proc) Kill() {
	w.t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		w.t.Fatalf("killing worker %s: %v", w.name, err)
	}
	select {
	case <-w.exited:
	case <-time.After(time.Minute):
		w.t.Fatalf("worker %s did not die within a minute of SIGKILL", w.name)
	}
}

// Stop closes the worker with SIGTERM and checks that it closed cleanly:
// exit status 0, Close without error, no data race reported. A worker
// that exited already is only checked.
func (w *proc) Stop() {
	w.t.Helper()
	select {
	case <-w.exited:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(2 * time.Minute):
		_ = w.cmd.Process.Kill()
		<-w.exited
		w.t.Errorf("worker %s did not close within 2 minutes of SIGTERM\n%s", w.name, w.log(2000))
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.waited != nil:
		w.t.Errorf("worker %s exited with %v\n%s", w.name, w.waited, w.log(4000))
	case w.closed == nil:
		w.t.Errorf("worker %s exited without closing its outbox", w.name)
	case w.closed.Error != "":
		w.t.Errorf("worker %s: Close: %s", w.name, w.closed.Error)
	}
	if len(w.bad) > 0 {
		w.t.Errorf("worker %s wrote %d lines that are not events, the first: %q", w.name, len(w.bad), w.bad[0])
	}
	if log := w.log(1 << 20); strings.Contains(log, "DATA RACE") {
		w.t.Errorf("worker %s reported a data race:\n%s", w.name, log)
	}
}

// log returns up to n bytes of the worker's log, from its end.
func (w *proc) log(n int) string {
	b, err := os.ReadFile(w.stderr)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// logCount returns how many lines of the worker's log contain s.
func (w *proc) logCount(s string) int {
	b, err := os.ReadFile(w.stderr)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), s)
}
