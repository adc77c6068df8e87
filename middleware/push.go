package middleware

import (
	"context"
	"net/http"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/store"
)

// push is one push being handled: its message, room for the message's
// items and its context, allocated together. Hooks may keep any of them
// (events point at the message), so a push is never reused.
type push struct {
	ctx   deadlineCtx
	msg   codec.Message
	items [3]codec.SubscribeItem // a popup lists at most three templates
	// size is the length of the request body, which the message's strings
	// may hold on to: what the push weighs in the async queue.
	size int64
}

// newPush returns a push of a body of size bytes, whose message keeps its
// items in the push itself when they fit (see codec.Decode).
func newPush(size int) *push {
	p := &push{size: int64(size)}
	p.msg.Items = p.items[:0]
	return p
}

// handle runs the stages after verification: claim the push, book its
// grants, run its hooks (now, or on the pool in async mode) and answer.
// now is when the push was verified, from which the hooks' deadline runs.
func (e *Endpoint) handle(parent context.Context, p *push, now time.Time, encrypted bool) Response {
	if !e.gate.enter() {
		return e.refuse(http.StatusServiceUnavailable, ReasonClosed)
	}
	// From here on the work is counted in the gate until its hooks are
	// done; every early return leaves it and releases the context.
	msg, ctx := &p.msg, &p.ctx
	var c *call // the call Serve will wait on, when hooks run now
	if e.pool == nil && e.mux != nil && e.mux.Handles(msg) {
		c = e.runners.get()
	}
	ctx.start(e.watch, parent, now, e.hookTimeout, c)
	if e.leases != nil {
		ctx.begun = e.leases.Now() // a test's lease clock dates the claim
	}

	key, ok := e.keyOf(ctx, msg)
	if !ok {
		e.gate.leave()
		e.release(ctx, c)
		return reject(http.StatusInternalServerError, ReasonHookFailed)
	}
	if resp, ok := e.claim(ctx, key); !ok {
		e.gate.leave()
		e.release(ctx, c)
		return resp
	}
	if e.grants != nil {
		// Grant claims always use the default key: an override that
		// returns "" (or merges pushes) must not let a retry book a
		// grant twice.
		grantKey := key
		if e.customKey {
			grantKey = DefaultDedupeKey(msg)
		}
		if resp, ok := e.book(ctx, msg, grantKey); !ok {
			e.abort(ctx, key)
			e.gate.leave()
			e.release(ctx, c)
			return resp
		}
	}
	switch {
	case e.pool != nil:
		defer ctx.release()
		if !e.pool.submit(ctx, msg, key, p.size) {
			e.abort(ctx, key)
			e.gate.leave()
			return e.refuse(http.StatusServiceUnavailable, ReasonQueueFull)
		}
		return success()
	case c == nil:
		// No hook for this push: it is handled once it is claimed.
		e.finish(ctx, key, nil)
		e.gate.leave()
		ctx.release()
		return success()
	}
	return e.runSync(p, c, key, encrypted)
}

// claim claims the push in the dedupe store. It reports false with the
// answer to send when the push must not be handled now: handled already,
// in progress elsewhere, or the store failed. A push without a key is
// handled without a claim.
func (e *Endpoint) claim(ctx *deadlineCtx, key string) (Response, bool) {
	if key == "" {
		return Response{}, true
	}
	state, err := e.dedupe.Begin(ctx, key, e.dedupeLease)
	if err == nil && state == store.DedupeInFlight && e.pool != nil {
		if e.pool.holds(key) {
			// The push waits in this Endpoint's queue, or runs there:
			// it was accepted, and this delivery is a retry of it.
			return success(), false
		}
		// The pool may have finished the push since Begin looked: ask
		// again, rather than send WeChat back for a push handled already
		// (or, if its hooks failed, leave it unhandled until then).
		state, err = e.dedupe.Begin(ctx, key, e.dedupeLease)
	}
	if err != nil {
		e.log.ErrorContext(ctx, "wxsub: dedupe store failed", "key", key, "error", err)
		return reject(http.StatusInternalServerError, ReasonStore), false
	}
	switch state {
	case store.DedupeNew:
		return Response{}, true
	case store.DedupeDone:
		return success(), false
	case store.DedupeInFlight:
		return e.refuse(http.StatusServiceUnavailable, ReasonInFlight), false
	}
	e.log.ErrorContext(ctx, "wxsub: dedupe store returned an unknown state", "key", key, "state", state)
	return reject(http.StatusInternalServerError, ReasonStore), false
}

// release releases ctx and recycles c, a call that never ran, unless the
// deadline already passed for it.
func (e *Endpoint) release(ctx *deadlineCtx, c *call) {
	ctx.release()
	// Released, ctx is off the watchdog's list: nothing else refers to c.
	if c != nil && c.state.Load() == callRunning {
		e.runners.put(c)
	}
}

// finish records the outcome of the hooks: Done after success, so that
// retries are answered without running them again; Abort after failure, so
// that WeChat's retry runs them again.
func (e *Endpoint) finish(ctx *deadlineCtx, key string, hookErr error) {
	if key == "" {
		return
	}
	if hookErr != nil {
		e.abort(ctx, key)
		return
	}
	if e.leaseEnded(ctx, key, "done") {
		return
	}
	sctx, cancel := e.storeContext(ctx)
	defer cancel()
	if err := e.dedupe.Done(sctx, key, e.dedupeTTL); err != nil {
		e.log.ErrorContext(sctx, "wxsub: dedupe store failed to mark a push done", "key", key, "error", err)
	}
}

// abort drops the claim on key so that the next delivery runs again.
func (e *Endpoint) abort(ctx *deadlineCtx, key string) {
	if key == "" || e.leaseEnded(ctx, key, "abort") {
		return
	}
	sctx, cancel := e.storeContext(ctx)
	defer cancel()
	if err := e.dedupe.Abort(sctx, key); err != nil {
		e.log.ErrorContext(sctx, "wxsub: dedupe store failed to drop a claim", "key", key, "error", err)
	}
}

// leaseEnded reports whether the claim on key may have ended: DedupeLease
// has passed since the push began, so another delivery may hold the key
// now, and recording this delivery's outcome (op) would drop or overwrite
// its claim. The store has no owner to check, so the outcome is skipped
// and logged: the key is left to the newer delivery, or to expire.
func (e *Endpoint) leaseEnded(ctx *deadlineCtx, key, op string) bool {
	if e.leaseNow().Sub(ctx.begun) < e.dedupeLease {
		return false
	}
	e.log.WarnContext(ctx, "wxsub: claim lease expired before the push finished; its outcome is not recorded",
		"key", key, "op", op, "lease", e.dedupeLease)
	return true
}

// storeContext is the context for recording an outcome: the push's own
// while it lasts, else (the hooks used it up, or the request is gone) a
// fresh deadline with the same values, so that the record is not lost.
func (e *Endpoint) storeContext(ctx *deadlineCtx) (context.Context, func()) {
	if !ctx.ended() {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), e.hookTimeout)
}
