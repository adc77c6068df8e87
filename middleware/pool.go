package middleware

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/store"
)

// job is one push waiting for its hooks in async mode.
type job struct {
	// ctx carries the request's values, not its cancellation: the request
	// is answered before the hooks run.
	ctx context.Context
	msg *codec.Message
	key string
	// claimed is when the push's dedupe claim was taken (its lease runs
	// from then), and size the bytes it holds against Config.QueueBytes.
	claimed time.Time
	size    int64
}

// pool runs hooks in async mode on a fixed set of goroutines fed by a
// bounded queue. Two bounds hold: at most cap(jobs) pushes wait, and the
// pushes queued or running hold at most maxBytes of request bodies, so that
// a burst of large pushes cannot take the process's memory.
type pool struct {
	e        *Endpoint
	jobs     chan job
	maxBytes int64
	bytes    atomic.Int64 // held by queued and running jobs
	quit     chan struct{}
	once     sync.Once
}

func startPool(e *Endpoint, workers, size int, maxBytes int64) *pool {
	p := &pool{e: e, jobs: make(chan job, size), maxBytes: maxBytes, quit: make(chan struct{})}
	for range workers {
		go p.work()
	}
	return p
}

// submit queues the push, which holds size bytes; it reports false when
// the queue is full, in pushes or in bytes. The caller has entered the
// gate; the worker leaves it.
func (p *pool) submit(ctx *deadlineCtx, msg *codec.Message, key string, size int64) bool {
	if p.bytes.Add(size) > p.maxBytes {
		p.bytes.Add(-size)
		return false
	}
	select {
	case p.jobs <- job{ctx: context.WithoutCancel(ctx), msg: msg, key: key, claimed: ctx.begun, size: size}:
		return true
	default:
		p.bytes.Add(-size)
		return false
	}
}

// queuedBytes returns the bytes held by queued and running jobs.
func (p *pool) queuedBytes() int64 { return p.bytes.Load() }

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
	defer p.bytes.Add(-j.size)
	claimed, ok := p.renew(j)
	if !ok {
		return
	}
	ctx := new(deadlineCtx)
	ctx.start(e.watch, j.ctx, time.Now(), e.hookTimeout, nil)
	// The claim's lease runs from when it was taken, not from now: finish
	// must not record an outcome over a claim that may have ended.
	ctx.begun = claimed
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

// renew makes sure the job's claim lasts until its hooks must have
// returned. A job that waited in the queue so long that its lease would
// end before its hook deadline takes the claim again: were it to run on
// the old claim, a delivery arriving after the lease ended (WeChat retries
// when a "success" is lost on the way) could claim the push and run its
// hooks a second time. renew returns when the claim now in force was
// taken, and false when another delivery holds the push, which then runs
// its hooks instead of this job.
func (p *pool) renew(j job) (time.Time, bool) {
	e := p.e
	now := time.Now()
	if j.key == "" || now.Add(e.hookTimeout).Before(j.claimed.Add(e.dedupeLease)) {
		return j.claimed, true
	}
	ctx, cancel := context.WithTimeout(j.ctx, e.hookTimeout)
	defer cancel()
	if now.Before(j.claimed.Add(e.dedupeLease)) {
		// The claim is still this job's own: drop it, to take it anew.
		// Another delivery may claim the push in between; then Begin
		// below reports it in flight and this job leaves it to that one.
		if err := e.dedupe.Abort(ctx, j.key); err != nil {
			e.log.ErrorContext(ctx, "wxsub: dedupe store failed to renew a queued push's claim; running its hooks anyway",
				"key", j.key, "err", err)
			return j.claimed, true
		}
	}
	state, err := e.dedupe.Begin(ctx, j.key, e.dedupeLease)
	switch {
	case err != nil:
		// Nothing may be lost: run the hooks on the old claim, whose
		// outcome finish then leaves unrecorded if its lease is over.
		e.log.ErrorContext(ctx, "wxsub: dedupe store failed to renew a queued push's claim; running its hooks anyway",
			"key", j.key, "err", err)
		return j.claimed, true
	case state == store.DedupeNew:
		e.log.WarnContext(ctx, "wxsub: a push waited in the async queue past its claim's lease; claim renewed",
			"key", j.key, "waited", now.Sub(j.claimed))
		return now, true
	}
	e.log.WarnContext(ctx, "wxsub: a push waited in the async queue past its claim's lease and another delivery took it; leaving it to that one",
		"key", j.key, "waited", now.Sub(j.claimed), "state", state)
	return time.Time{}, false
}

// stop tells the workers to end. Idle workers return at once; one still
// in a hook returns when the hook does.
func (p *pool) stop() {
	p.once.Do(func() { close(p.quit) })
}
