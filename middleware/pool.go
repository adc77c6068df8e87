package middleware

import (
	"context"
	"sync"
	"time"

	"github.com/wxsub/wxsub/codec"
)

// job is one push waiting for its hooks in async mode.
type job struct {
	// ctx carries the request's values, not its cancellation: the request
	// is answered before the hooks run.
	ctx context.Context
	msg *codec.Message
	key string
}

// pool runs hooks in async mode on a fixed set of goroutines fed by a
// bounded queue.
type pool struct {
	e    *Endpoint
	jobs chan job
	quit chan struct{}
	once sync.Once
}

func startPool(e *Endpoint, workers, size int) *pool {
	p := &pool{e: e, jobs: make(chan job, size), quit: make(chan struct{})}
	for range workers {
		go p.work()
	}
	return p
}

// submit queues the push; it reports false when the queue is full. The
// caller has entered the gate; the worker leaves it.
func (p *pool) submit(ctx context.Context, msg *codec.Message, key string) bool {
	select {
	case p.jobs <- job{ctx: context.WithoutCancel(ctx), msg: msg, key: key}:
		return true
	default:
		return false
	}
}

func (p *pool) work() {
	for {
		select {
		case j := <-p.jobs:
			p.run(j)
		case <-p.quit:
			return
		}
	}
}

// run runs the hooks of one push. Their failures are logged, not retried:
// WeChat was already answered "success".
func (p *pool) run(j job) {
	e := p.e
	defer e.gate.leave()
	ctx := new(deadlineCtx)
	ctx.start(e.watch, j.ctx, time.Now(), e.hookTimeout, nil)
	defer ctx.release()
	var err error
	if e.mux != nil {
		var reply *codec.Reply
		reply, err = e.dispatch(ctx, j.msg, j.key)
		if reply != nil {
			e.log.WarnContext(ctx, "wxsub: a hook asked for a passive reply, which async mode cannot send",
				"kind", j.msg.MsgType, "event", j.msg.Event, "key", j.key)
		}
	}
	e.finish(ctx, j.key, err)
}

// stop tells the workers to end. Idle workers return at once; one still
// in a hook returns when the hook does.
func (p *pool) stop() {
	p.once.Do(func() { close(p.quit) })
}
