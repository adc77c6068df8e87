package middleware

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/codec"
)

// Errors logged when hooks fail. A hook's own error is logged as returned.
var (
	// ErrHookPanic wraps the value a hook panicked with.
	ErrHookPanic = errors.New("wxsub/middleware: hook panicked")
	// ErrHookTimeout means the hooks did not return by HookTimeout.
	ErrHookTimeout = errors.New("wxsub/middleware: hooks did not return in time")
)

// runSync runs the hooks on a runner goroutine and waits for them until
// the deadline of ctx. A hook that ignores its context cannot hold the
// answer past the deadline: the route answers 500 and the push stays
// claimed (WeChat's retries get 503) until the hooks really return, when
// the claim is marked done or dropped.
func (e *Endpoint) runSync(ctx *deadlineCtx, msg *codec.Message, key string, encrypted bool) Response {
	if e.mux == nil || !e.mux.Handles(msg) {
		e.finish(ctx, key, nil)
		e.gate.leave()
		return success()
	}
	c := e.runners.calls.Get().(*call)
	c.ctx, c.msg, c.key = ctx, msg, key
	c.timer.Reset(ctx.timeout - time.Since(ctx.start))
	e.runners.start(c)
	var cause error
	select {
	case <-c.done:
	case <-c.timer.C:
		cause = context.DeadlineExceeded
	case <-ctx.parent.Done():
		cause = ctx.parent.Err()
	}
	c.timer.Stop()
	if cause != nil {
		// The call stays with its runner; it is not reused.
		e.log.ErrorContext(ctx, "wxsub: hooks failed", "kind", msg.MsgType, "event", msg.Event, "key", key,
			"err", fmt.Errorf("%w: %w", ErrHookTimeout, cause))
		return reject(http.StatusInternalServerError, ReasonHookTimeout)
	}
	reply, err := c.reply, c.err
	*c = call{done: c.done, timer: c.timer}
	e.runners.calls.Put(c)
	if err != nil {
		return reject(http.StatusInternalServerError, ReasonHookFailed)
	}
	if reply == nil {
		return success()
	}
	return e.encodeReply(msg, reply, encrypted)
}

// runCall runs the hooks of c, records the outcome and signals Serve.
func (e *Endpoint) runCall(c *call) {
	defer e.gate.leave()
	c.reply, c.err = e.dispatch(c.ctx, c.msg, c.key)
	e.finish(c.ctx, c.key, c.err)
	c.done <- struct{}{}
}

// dispatch runs the hooks, turning a panic into an error and logging any
// failure.
func (e *Endpoint) dispatch(ctx context.Context, msg *codec.Message, key string) (reply *codec.Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			reply = nil
			err = fmt.Errorf("%w: %v", ErrHookPanic, p)
			e.log.ErrorContext(ctx, "wxsub: hooks failed", "kind", msg.MsgType, "event", msg.Event, "key", key,
				"err", err, "stack", string(debug.Stack()))
		}
	}()
	reply, err = e.mux.Dispatch(ctx, msg)
	if err != nil {
		e.log.ErrorContext(ctx, "wxsub: hooks failed", "kind", msg.MsgType, "event", msg.Event, "key", key, "err", err)
	}
	return reply, err
}

// encodeReply encodes a passive reply in the push's format, encrypted when
// the push was.
func (e *Endpoint) encodeReply(msg *codec.Message, reply *codec.Reply, encrypted bool) Response {
	r := *reply
	now := e.now().Unix()
	if r.CreateTime == 0 {
		r.CreateTime = now
	}
	format := msg.Format
	if format != codec.JSON {
		format = codec.XML
	}
	contentType := ContentTypeXML
	if format == codec.JSON {
		contentType = ContentTypeJSON
	}
	body := codec.EncodeReply(format, r)
	if encrypted {
		var err error
		nonce := strconv.FormatUint(uint64(rand.Uint32()), 10)
		body, err = e.cipher.EncryptReply(format, e.token, body, now, nonce)
		if err != nil {
			e.log.Error("wxsub: cannot encrypt the reply", "err", err)
			return reject(http.StatusInternalServerError, ReasonReply)
		}
	}
	return Response{Status: http.StatusOK, ContentType: contentType, Body: body}
}
