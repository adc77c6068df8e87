package outbox

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryEngine is an Engine in process memory: the default, for one
// process, tests and demos. It keeps nothing across a crash or a restart:
// jobs scheduled in it are lost with the process (Close, unlike a crash,
// hands them back so that the Outbox refunds their grants). A fleet of
// instances needs a shared engine, such as package
// sender/outbox/asynqengine's.
type MemoryEngine struct {
	workers   int
	retention time.Duration
	now       func() time.Time

	mu      sync.Mutex
	jobs    map[string]*memJob
	due     [2]jobHeap // by Priority
	ended   []*memJob  // final jobs, oldest first, for retention
	run     RunFunc
	started bool
	closed  bool
	wake    chan struct{}
	slots   chan struct{}
	late    []Job // jobs that asked to run again after Close began
	quit    chan struct{}
	stop    context.CancelFunc
	ctx     context.Context
	wg      sync.WaitGroup
}

type memJob struct {
	job     Job
	running bool
	index   int // in its heap, or -1
}

// MemoryOptions configure a MemoryEngine.
type MemoryOptions struct {
	// Workers is how many jobs run at once. Default 16.
	Workers int
	// Retention is how long a final job stays visible to Get. Default
	// 24 hours.
	Retention time.Duration
	// Now is the clock jobs fall due by, and of Updated stamps and
	// retention (nil: time.Now). Waits are timed in real time from it, so
	// a test clock should move with the real one (a fixed offset).
	Now func() time.Time
}

// NewMemoryEngine returns a MemoryEngine.
func NewMemoryEngine(o MemoryOptions) *MemoryEngine {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Retention <= 0 {
		o.Retention = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	return &MemoryEngine{
		workers: o.Workers, retention: o.Retention, now: o.Now,
		jobs: map[string]*memJob{}, wake: make(chan struct{}, 1),
		slots: make(chan struct{}, o.Workers), quit: make(chan struct{}), ctx: ctx, stop: stop,
	}
}

// Add implements Engine.
func (e *MemoryEngine) Add(ctx context.Context, j Job) (Job, bool, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, false, err
	}
	if j.Key == "" {
		return Job{}, false, fmt.Errorf("%w: empty key", ErrInvalidJob)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Job{}, false, ErrClosed
	}
	if m := e.jobs[j.Key]; m != nil {
		return e.view(m), false, nil
	}
	j.Status = StatusScheduled
	m := &memJob{job: j, index: -1}
	e.jobs[j.Key] = m
	heap.Push(&e.due[prio(j.Priority)], m)
	e.poke()
	return j, true, nil
}

func prio(p Priority) int {
	if p == Campaign {
		return 1
	}
	return 0
}

// view returns the job as Get shows it. The caller holds e.mu.
func (e *MemoryEngine) view(m *memJob) Job {
	j := m.job
	if m.running && !j.Status.Final() {
		j.Status = StatusSending
	}
	return j
}

// Get implements Engine.
func (e *MemoryEngine) Get(ctx context.Context, key string) (Job, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.jobs[key]
	if m == nil {
		return Job{}, ErrNotFound
	}
	return e.view(m), nil
}

// Cancel implements Engine.
func (e *MemoryEngine) Cancel(ctx context.Context, key string) (Job, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.jobs[key]
	switch {
	case m == nil:
		return Job{}, ErrNotFound
	case m.job.Status == StatusCancelled:
		return m.job, nil
	case m.running || m.job.Status.Final():
		return e.view(m), ErrNotCancellable
	}
	heap.Remove(&e.due[prio(m.job.Priority)], m.index)
	e.end(m, StatusCancelled)
	return m.job, nil
}

// end makes m final with status s. The caller holds e.mu.
func (e *MemoryEngine) end(m *memJob, s Status) {
	m.job.Status = s
	m.job.Updated = e.now()
	e.ended = append(e.ended, m)
}

// Save implements Engine.
func (e *MemoryEngine) Save(ctx context.Context, j Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.jobs[j.Key]
	if m == nil || !m.running {
		return fmt.Errorf("%w: Save of %q, which is not running", ErrNotFound, j.Key)
	}
	m.job = j
	return nil
}

// Start implements Engine.
func (e *MemoryEngine) Start(run RunFunc) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case e.started:
		return fmt.Errorf("wxsub/outbox: MemoryEngine started twice")
	}
	e.started, e.run = true, run
	e.wg.Add(1)
	go e.dispatch()
	return nil
}

// poke wakes the dispatcher. The caller holds e.mu.
func (e *MemoryEngine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// dispatch starts due jobs, transactional ones first, as worker slots
// free up, and forgets final jobs past their retention.
func (e *MemoryEngine) dispatch() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// Take a slot first, so that a job is taken off the queue only
		// when it can start.
		select {
		case e.slots <- struct{}{}:
		case <-e.quit:
			return
		}
		m, wait := e.next()
		if m == nil {
			<-e.slots
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-e.wake:
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			case <-e.quit:
				return
			}
			continue
		}
		e.wg.Add(1)
		go e.work(m)
	}
}

// next pops a due job and marks it running, or returns how long to wait.
func (e *MemoryEngine) next() (*memJob, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forget()
	now := e.now()
	wait := time.Hour
	for i := range e.due {
		h := &e.due[i]
		if h.Len() == 0 {
			continue
		}
		m := (*h)[0]
		if d := m.job.At.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		heap.Pop(h)
		m.running = true
		return m, 0
	}
	return nil, wait
}

// forget drops final jobs older than the retention. The caller holds e.mu.
func (e *MemoryEngine) forget() {
	cut := e.now().Add(-e.retention)
	n := 0
	for n < len(e.ended) && e.ended[n].job.Updated.Before(cut) {
		if e.jobs[e.ended[n].job.Key] == e.ended[n] {
			delete(e.jobs, e.ended[n].job.Key)
		}
		n++
	}
	if n > 0 {
		e.ended = append(e.ended[:0], e.ended[n:]...)
	}
}

// work runs one job and files its result.
func (e *MemoryEngine) work(m *memJob) {
	defer e.wg.Done()
	defer func() { <-e.slots }()
	e.mu.Lock()
	j := m.job
	e.mu.Unlock()
	out := e.run(e.ctx, j)
	e.mu.Lock()
	defer e.mu.Unlock()
	m.running = false
	m.job = out
	if out.Status.Final() {
		m.job.Updated = e.now()
		e.ended = append(e.ended, m)
		return
	}
	if e.closed {
		// Nothing will run it again: hand it to Close, as the jobs
		// still scheduled are handed.
		e.end(m, StatusCancelled)
		e.late = append(e.late, m.job)
		return
	}
	m.job.Status = StatusScheduled
	heap.Push(&e.due[prio(out.Priority)], m)
	e.poke()
}

// Close implements Engine: it stops starting jobs, waits for the running
// ones (until ctx is done), and cancels and returns the jobs still
// scheduled.
func (e *MemoryEngine) Close(ctx context.Context) ([]Job, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, nil
	}
	e.closed = true
	var dropped []Job
	for i := range e.due {
		for e.due[i].Len() > 0 {
			m := heap.Pop(&e.due[i]).(*memJob)
			e.end(m, StatusCancelled)
			dropped = append(dropped, m.job)
		}
	}
	e.mu.Unlock()
	close(e.quit)
	done := make(chan struct{})
	go func() {
		// Running jobs finish with the engine's context still live, so
		// that their sends and settlements are not cut short.
		e.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// Cut the running sends short; they settle and return promptly.
		e.stop()
		<-done
		err = fmt.Errorf("wxsub/outbox: MemoryEngine.Close: running jobs were cut short: %w", ctx.Err())
	}
	e.stop()
	e.mu.Lock()
	dropped = append(dropped, e.late...)
	e.late = nil
	e.mu.Unlock()
	return dropped, err
}

// jobHeap orders jobs by At.
type jobHeap []*memJob

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].job.At.Before(h[j].job.At) }
func (h jobHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *jobHeap) Push(x any) {
	m := x.(*memJob)
	m.index = len(*h)
	*h = append(*h, m)
}
func (h *jobHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	m.index = -1
	return m
}
