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
	// The push's dedupe claim was taken between claimed (before the
	// store was asked) and claimedBy (after it answered), so its lease
	// ends between claimed + DedupeLease and claimedBy + DedupeLease.
	claimed, claimedBy time.Time
	// size is what the job holds against Config.QueueBytes.
	size int64
}

// pool runs hooks in async mode on a fixed set of goroutines fed by a
// bounded queue. Two bounds hold: at most cap(jobs) pushes wait, and the
// pushes queued or running hold at most maxBytes of request bodies, so that
// a burst of large pushes cannot take the process's memory.
//
// Workers end when the Endpoint's gate is closed and drained: every queued
// job holds a unit of the gate, so the queue is empty by then, and a Close
// that gives up waiting leaves the workers to finish the queue.
type pool struct {
	e        *Endpoint
	jobs     chan job
	maxBytes int64
	bytes    atomic.Int64 // held by queued and running jobs

	// held counts the queued and running jobs by dedupe key, so that a
	// retry of a push this pool holds is answered "success", not 503.
	mu   sync.Mutex
	held map[string]int
}

func startPool(e *Endpoint, workers, size int, maxBytes int64) *pool {
	p := &pool{e: e, jobs: make(chan job, size), maxBytes: maxBytes, held: make(map[string]int)}
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
	p.hold(key, 1)
	select {
	case p.jobs <- job{ctx: context.WithoutCancel(ctx), msg: msg, key: key, claimed: ctx.begun, claimedBy: time.Now(), size: size}:
		return true
	default:
		p.hold(key, -1)
		p.bytes.Add(-size)
		return false
	}
}

// hold adds d to the jobs held for key ("" is not tracked).
func (p *pool) hold(key string, d int) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.held[key] + d; n > 0 {
		p.held[key] = n
	} else {
		delete(p.held, key)
	}
}

// holds reports whether a job for key is queued or running.
func (p *pool) holds(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[key] > 0
}

// queuedBytes returns the bytes held by queued and running jobs.
func (p *pool) queuedBytes() int64 { return p.bytes.Load() }

func (p *pool) work() {
	for {
		select {
		case j := <-p.jobs:
			p.run(j)
		case <-p.e.gate.drained:
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
	defer p.hold(j.key, -1)
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

// renewMargin is how long before a claim's earliest possible end renew
// stops trusting the claim to be its own, and how long after its latest
// possible end renew waits before claiming the push anew: far longer than
// a store takes to answer.
const renewMargin = time.Second

// renew makes sure the job's claim lasts until its hooks must have
// returned. A job that waited in the queue so long that its lease could
// end before its hook deadline must not run on that claim: a delivery
// arriving after the lease ended (WeChat retries when a "success" is lost
// on the way) could claim the push and run its hooks a second time.
//
// While the claim is surely still the job's own, renew extends it
// (store.DedupeExtender). Past that point it cannot tell its own claim
// from a newer delivery's, so it waits until its own has surely ended and
// claims the push anew; a claim found then belongs to another delivery,
// which runs the hooks instead of this job. renew returns the earliest
// time the lease now in force can have started, and false when the job
// must not run. When the store cannot extend claims or fails, the hooks
// run on the old claim (nothing may be lost; finish then leaves the
// outcome unrecorded if the lease ran out).
func (p *pool) renew(j job) (time.Time, bool) {
	e := p.e
	now := time.Now()
	end := j.claimed.Add(e.dedupeLease) // the earliest the claim can end
	if j.key == "" || now.Add(e.hookTimeout).Before(end) {
		return j.claimed, true
	}
	ext, ok := e.dedupe.(store.DedupeExtender)
	if !ok {
		e.log.WarnContext(j.ctx, "wxsub: a push waited in the async queue until its claim could run out, and the dedupe store cannot extend claims",
			"key", j.key, "waited", now.Sub(j.claimed))
		return j.claimed, true
	}
	if now.Add(renewMargin).Before(end) {
		ctx, cancel := context.WithDeadline(j.ctx, end.Add(-renewMargin/2))
		state, err := ext.Extend(ctx, j.key, e.dedupeLease)
		cancel()
		switch {
		case err != nil:
			e.log.ErrorContext(j.ctx, "wxsub: dedupe store failed to extend a queued push's claim; running its hooks on the old claim",
				"key", j.key, "err", err)
			return j.claimed, true
		case state == store.DedupeInFlight:
			return now, true
		case state == store.DedupeDone:
			e.log.WarnContext(j.ctx, "wxsub: a queued push was handled by another delivery meanwhile; leaving it", "key", j.key)
			return time.Time{}, false
		}
		// DedupeNew: the store lost the claim (a restart, an eviction).
		// Claim the push anew at once: a claim Begin finds now is
		// another delivery's.
	} else if wait := time.Until(j.claimedBy.Add(e.dedupeLease + renewMargin)); wait > 0 {
		time.Sleep(wait)
	}
	begun := time.Now()
	ctx, cancel := context.WithTimeout(j.ctx, e.hookTimeout)
	defer cancel()
	state, err := e.dedupe.Begin(ctx, j.key, e.dedupeLease)
	switch {
	case err != nil:
		e.log.ErrorContext(j.ctx, "wxsub: dedupe store failed to claim a queued push anew; running its hooks unclaimed",
			"key", j.key, "err", err)
		return j.claimed, true
	case state == store.DedupeNew:
		e.log.WarnContext(j.ctx, "wxsub: a push waited in the async queue past its claim's lease; claimed anew",
			"key", j.key, "waited", begun.Sub(j.claimed))
		return begun, true
	}
	e.log.WarnContext(j.ctx, "wxsub: a push waited in the async queue past its claim's lease and another delivery took it; leaving it to that one",
		"key", j.key, "waited", begun.Sub(j.claimed), "state", state)
	return time.Time{}, false
}
