package middleware

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxsub/wxsub/codec"
)

// maxIdleRunners bounds the goroutines kept waiting for synchronous hook
// runs once a burst is over.
const maxIdleRunners = 64

// call is one synchronous run of the hooks, handed to a runner goroutine
// so that Serve can stop waiting for it at the deadline.
type call struct {
	ctx *deadlineCtx
	msg *codec.Message
	key string

	done  chan struct{} // buffered: the runner never blocks on it
	timer *time.Timer   // Serve's wait for done, reused with the call
	reply *codec.Reply
	err   error
}

func newCall() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &call{done: make(chan struct{}, 1), timer: t}
}

// runners runs synchronous hooks on goroutines that outlive one push, so
// that a push costs a hand-off rather than a new goroutine (whose stack
// would have to grow again for every hook).
type runners struct {
	e    *Endpoint
	q    chan *call // unbuffered: a send succeeds only to an idle runner
	quit chan struct{}
	once sync.Once
	idle atomic.Int32
	// calls recycles the calls that were waited for; a call abandoned at
	// the deadline is left to the garbage collector.
	calls sync.Pool
}

func newRunners(e *Endpoint) *runners {
	return &runners{e: e, q: make(chan *call), quit: make(chan struct{}), calls: sync.Pool{New: newCall}}
}

// start hands c to an idle runner, or starts a new one.
func (r *runners) start(c *call) {
	select {
	case r.q <- c:
	default:
		go r.loop(c)
	}
}

func (r *runners) loop(c *call) {
	for {
		r.e.runCall(c)
		if r.idle.Add(1) > maxIdleRunners {
			r.idle.Add(-1)
			return
		}
		select {
		case c = <-r.q:
			r.idle.Add(-1)
		case <-r.quit:
			r.idle.Add(-1)
			return
		}
	}
}

// stop ends the idle runners; busy ones end after their call.
func (r *runners) stop() { r.once.Do(func() { close(r.quit) }) }
