package middleware

import (
	"context"
	"net/http"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/store"
)

// handle runs the stages after verification: claim the push, book its
// grants, run its hooks (now, or on the pool in async mode) and answer.
func (e *Endpoint) handle(parent context.Context, msg *codec.Message, encrypted bool) Response {
	if !e.gate.enter() {
		return e.refuse(http.StatusServiceUnavailable, ReasonClosed)
	}
	// From here on the work is counted in the gate until its hooks are
	// done; every early return leaves it.
	ctx := withTimeout(parent, e.hookTimeout)
	defer ctx.release()

	key := e.dedupeKey(msg)
	if key != "" {
		state, err := e.dedupe.Begin(ctx, key, e.dedupeLease)
		if err != nil {
			e.gate.leave()
			e.log.ErrorContext(ctx, "wxsub: dedupe store failed", "key", key, "err", err)
			return reject(http.StatusInternalServerError, ReasonStore)
		}
		switch state {
		case store.DedupeNew:
		case store.DedupeDone:
			e.gate.leave()
			return success()
		case store.DedupeInFlight:
			e.gate.leave()
			return reject(http.StatusServiceUnavailable, ReasonInFlight)
		default:
			e.gate.leave()
			e.log.ErrorContext(ctx, "wxsub: dedupe store returned an unknown state", "key", key, "state", state)
			return reject(http.StatusInternalServerError, ReasonStore)
		}
	}

	if e.grants != nil {
		if resp, ok := e.book(ctx, msg, key); !ok {
			e.abort(ctx, key)
			e.gate.leave()
			return resp
		}
	}

	if e.pool != nil {
		if !e.pool.submit(ctx, msg, key) {
			e.abort(ctx, key)
			e.gate.leave()
			return reject(http.StatusServiceUnavailable, ReasonQueueFull)
		}
		return success()
	}
	return e.runSync(ctx, msg, key, encrypted)
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
	sctx, cancel := e.storeContext(ctx)
	defer cancel()
	if err := e.dedupe.Done(sctx, key, e.dedupeTTL); err != nil {
		e.log.ErrorContext(sctx, "wxsub: dedupe store failed to mark a push done", "key", key, "err", err)
	}
}

// abort drops the claim on key so that the next delivery runs again.
func (e *Endpoint) abort(ctx *deadlineCtx, key string) {
	if key == "" {
		return
	}
	sctx, cancel := e.storeContext(ctx)
	defer cancel()
	if err := e.dedupe.Abort(sctx, key); err != nil {
		e.log.ErrorContext(sctx, "wxsub: dedupe store failed to drop a claim", "key", key, "err", err)
	}
}

// storeContext is the context for recording an outcome: the push's own
// while it lasts, else (the hooks used it up, or the request is gone) a
// fresh deadline with the same values, so that the record is not lost.
func (e *Endpoint) storeContext(ctx *deadlineCtx) (context.Context, func()) {
	if !ctx.expired() {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), e.hookTimeout)
}
