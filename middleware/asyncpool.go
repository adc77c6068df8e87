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

	// margin is what renew keeps on either side of a claim's possible
	// end: half of DedupeLease - HookTimeout, at most maxRenewMargin.
	margin time.Duration
}

func startPool(e *Endpoint, workers, size int, maxBytes int64) *pool {
	p := &pool{e: e, jobs: make(chan job, size), maxBytes: maxBytes, held: make(map[string]int),
		margin: min(maxRenewMargin, (e.dedupeLease-e.hookTimeout)/2)}
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
	j := job{ctx: context.WithoutCancel(ctx), msg: msg, key: key, claimed: ctx.begun, claimedBy: p.e.leaseNow(), size: size}
	// The key is held from the moment the job is queued, and not before:
	// a retry must not be told "success" for a push the queue refused.
	// The worker's release of the key takes the same lock, so it cannot
	// come first.
	p.mu.Lock()
	select {
	case p.jobs <- j:
		if key != "" {
			p.held[key]++
		}
		p.mu.Unlock()
		return true
	default:
		p.mu.Unlock()
		p.bytes.Add(-size)
		return false
	}
}

// unhold releases a job's hold on key ("" is not tracked).
func (p *pool) unhold(key string) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.held[key] - 1; n > 0 {
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
	defer p.unhold(j.key)
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

// maxRenewMargin bounds the margin renew keeps on either side of a
// claim's possible end (see pool.margin): far longer than a store takes
// to answer.
const maxRenewMargin = time.Second

// renew makes sure the job's claim lasts until its hooks must have
// returned. A job that waited in the queue so long that its lease could
// end before its hook deadline must not run on that claim: a delivery
// arriving after the lease ended (WeChat retries when a "success" is lost
// on the way) could claim the push and run its hooks a second time.
//
// While the claim is surely still the job's own, renew extends it
// (store.DedupeExtender). Past that point it cannot tell its own claim
// from a newer delivery's, so it retakes the push (see retake). renew
// returns the earliest time the lease now in force can have started, and
// false when the job must not run because the push was handled. When the
// store cannot extend claims, the hooks run on the old claim (finish then
// leaves the outcome unrecorded if the lease ran out).
func (p *pool) renew(j job) (time.Time, bool) {
	e := p.e
	now := e.leaseNow()
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
	// When the job's own claim has surely ended.
	retakeAt := j.claimedBy.Add(e.dedupeLease + p.margin)
	if now.Add(p.margin).Before(end) {
		ctx, cancel := context.WithTimeout(j.ctx, end.Add(-p.margin/2).Sub(now))
		state, err := ext.Extend(ctx, j.key, e.dedupeLease)
		cancel()
		switch {
		case err != nil:
			e.log.ErrorContext(j.ctx, "wxsub: dedupe store failed to extend a queued push's claim; retaking the push once the claim has ended",
				"key", j.key, "error", err)
		case state == store.DedupeInFlight:
			return now, true
		case state == store.DedupeDone:
			return time.Time{}, false
		default:
			// DedupeNew: the store lost the claim (a restart, an
			// eviction): no claim of this job's is left to wait for.
			retakeAt = now
		}
	}
	return p.retake(j, retakeAt)
}

// retake claims the push anew from at on, when the job's own claim has
// surely ended, and reports as renew does. It gives the push up only when
// it finds it done. A claim it finds belongs to another delivery, which may
// still fail (its hooks, its store calls, its queue) after this job's
// "success" was the answer WeChat kept, so retake looks again once that
// claim could have ended: the push is run here unless it was handled
// elsewhere. If the store fails, the hooks run unclaimed: nothing is lost.
func (p *pool) retake(j job, at time.Time) (time.Time, bool) {
	e := p.e
	for {
		if wait := at.Sub(e.leaseNow()); wait > 0 {
			e.leaseSleep(wait)
		}
		begun := e.leaseNow()
		ctx, cancel := context.WithTimeout(j.ctx, e.hookTimeout)
		state, err := e.dedupe.Begin(ctx, j.key, e.dedupeLease)
		cancel()
		switch {
		case err != nil:
			e.log.ErrorContext(j.ctx, "wxsub: dedupe store failed to claim a queued push anew; running its hooks unclaimed",
				"key", j.key, "error", err)
			return j.claimed, true
		case state == store.DedupeNew:
			e.log.WarnContext(j.ctx, "wxsub: a push waited in the async queue past its claim's lease; claimed anew",
				"key", j.key, "waited", begun.Sub(j.claimed))
			return begun, true
		case state == store.DedupeDone:
			return time.Time{}, false
		}
		e.log.WarnContext(j.ctx, "wxsub: a queued push is claimed by another delivery; looking again once that claim could have ended",
			"key", j.key, "waited", begun.Sub(j.claimed))
		at = begun.Add(e.dedupeLease + p.margin)
	}
}
