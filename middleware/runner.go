package middleware

import (
	"sync"
	"sync/atomic"

	"github.com/wxsub/wxsub/codec"
)

// maxIdleRunners bounds the goroutines kept waiting for synchronous hook
// runs once a burst is over.
const maxIdleRunners = 64

// States of a call: the runner finishing first and the deadline passing
// first race for the one move out of callRunning.
const (
	callRunning uint32 = iota
	callFinished
	callExpired
)

// call is one synchronous run of the hooks, handed to a runner goroutine
// so that Serve can stop waiting for it at the deadline. Serve waits on
// done, which receives exactly one value: from the runner when it finished
// first, or from the watchdog when the deadline passed first. A call that
// finished is reused; one Serve stopped waiting for belongs to its runner
// and then to the garbage collector.
type call struct {
	p   *push
	key string

	state atomic.Uint32
	done  chan struct{} // buffered, so neither side ever blocks on it
	reply *codec.Reply
	err   error
}

func newCall() any { return &call{done: make(chan struct{}, 1)} }

// finish records that the hooks returned and wakes Serve, unless the
// deadline passed first. The runner must not touch c afterwards: Serve may
// be reusing it.
func (c *call) finish() {
	if c.state.CompareAndSwap(callRunning, callFinished) {
		c.done <- struct{}{}
	}
}

// expire records that the deadline passed and wakes Serve, unless the
// hooks finished first.
func (c *call) expire() {
	if c.state.CompareAndSwap(callRunning, callExpired) {
		c.done <- struct{}{}
	}
}

// runner is a goroutine that runs calls one after another.
type runner struct {
	wake chan *call // buffered: a call handed over before it parks waits there
}

// runners runs synchronous hooks on goroutines that outlive one push, so
// that a push costs a hand-off rather than a new goroutine (whose stack
// would have to grow again for every hook). Idle runners wait on a stack,
// each on its own channel, so waking one is a plain channel send.
type runners struct {
	e       *Endpoint
	mu      sync.Mutex
	idle    []*runner
	stopped bool
	// calls recycles the calls that finished in time.
	calls sync.Pool
}

func newRunners(e *Endpoint) *runners {
	return &runners{e: e, calls: sync.Pool{New: newCall}}
}

// get returns a call ready to be run.
func (r *runners) get() *call {
	c := r.calls.Get().(*call)
	c.state.Store(callRunning)
	return c
}

// put recycles a call that finished and that nothing refers to anymore.
func (r *runners) put(c *call) {
	c.p, c.key, c.reply, c.err = nil, "", nil, nil
	r.calls.Put(c)
}

// start hands c to an idle runner, or starts a new one.
func (r *runners) start(c *call) {
	r.mu.Lock()
	if n := len(r.idle); n > 0 {
		w := r.idle[n-1]
		r.idle[n-1] = nil
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		w.wake <- c
		return
	}
	r.mu.Unlock()
	w := &runner{wake: make(chan *call, 1)}
	go r.loop(w, c)
}

func (r *runners) loop(w *runner, c *call) {
	for c != nil {
		r.e.runCall(c)
		// Back on the stack before Serve is woken, so that the next push
		// finds this runner even if it comes before the runner waits.
		parked := r.park(w)
		c.finish()
		if !parked {
			return
		}
		c = <-w.wake
	}
}

// park puts w back on the idle stack. It reports false when w should end
// instead: too many runners idle, or stopped.
func (r *runners) park(w *runner) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || len(r.idle) >= maxIdleRunners {
		return false
	}
	r.idle = append(r.idle, w)
	return true
}

// stop ends the idle runners; busy ones end after their call.
func (r *runners) stop() {
	r.mu.Lock()
	idle := r.idle
	r.idle, r.stopped = nil, true
	r.mu.Unlock()
	for _, w := range idle {
		w.wake <- nil
	}
}
