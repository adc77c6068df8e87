package middleware

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"

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
// the deadline of the push. A hook that ignores its context cannot hold
// the answer past the deadline: the route answers 500 and the push stays
// claimed (WeChat's retries get 503) until the hooks really return, when
// the claim is marked done or dropped.
//
// The wait is one channel receive: the runner or the watchdog, whichever
// comes first, sends to c.done (see call).
func (e *Endpoint) runSync(p *push, c *call, key string, encrypted bool) Response {
	ctx := &p.ctx
	if c.state.Load() != callRunning {
		// The deadline passed before the hooks could start (the stores
		// were slow): leave the push to WeChat's retry.
		e.abort(ctx, key)
		e.gate.leave()
		ctx.release()
		return e.timedOut(ctx, &p.msg, key, context.DeadlineExceeded)
	}
	c.p, c.key = p, key
	e.runners.start(c)
	var cause error
	if parentDone := ctx.parent.Done(); parentDone == nil {
		<-c.done
	} else {
		select {
		case <-c.done:
		case <-parentDone:
			cause = ctx.parent.Err()
		}
	}
	if cause == nil && c.state.Load() == callExpired {
		cause = context.DeadlineExceeded
	}
	// The hooks keep the context they were given; once Serve answers it
	// reports the deadline or Canceled.
	ctx.release()
	if cause != nil {
		// The call stays with its runner; it is not reused.
		return e.timedOut(ctx, &p.msg, key, cause)
	}
	reply, err := c.reply, c.err
	e.runners.put(c)
	if err != nil {
		return reject(http.StatusInternalServerError, ReasonHookFailed)
	}
	if reply == nil {
		return success()
	}
	return e.encodeReply(&p.msg, reply, encrypted)
}

// timedOut logs that Serve stopped waiting for the hooks, and answers.
func (e *Endpoint) timedOut(ctx context.Context, msg *codec.Message, key string, cause error) Response {
	e.log.ErrorContext(ctx, "wxsub: hooks failed", "msg_type", msg.MsgType, "event", msg.Event, "key", key,
		"error", fmt.Errorf("%w: %w", ErrHookTimeout, cause))
	return reject(http.StatusInternalServerError, ReasonHookTimeout)
}

// runCall runs the hooks of c on a runner and records their outcome in the
// dedupe store; the runner then signals Serve.
func (e *Endpoint) runCall(c *call) {
	defer e.gate.leave()
	ctx, msg, key := &c.p.ctx, &c.p.msg, c.key
	c.reply, c.err = e.dispatch(ctx, msg, key)
	e.finish(ctx, key, c.err)
}

// dispatch runs the hooks, turning a panic into an error and logging any
// failure.
func (e *Endpoint) dispatch(ctx context.Context, msg *codec.Message, key string) (reply *codec.Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			reply = nil
			err = fmt.Errorf("%w: %v", ErrHookPanic, p)
			e.log.ErrorContext(ctx, "wxsub: hooks failed", "msg_type", msg.MsgType, "event", msg.Event, "key", key,
				"error", err, "stack", string(debug.Stack()))
		}
	}()
	reply, err = e.mux.Dispatch(ctx, msg)
	if err != nil {
		e.log.ErrorContext(ctx, "wxsub: hooks failed", "msg_type", msg.MsgType, "event", msg.Event, "key", key, "error", err)
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
			e.log.Error("wxsub: cannot encrypt the reply", "error", err)
			return reject(http.StatusInternalServerError, ReasonReply)
		}
	}
	return Response{Status: http.StatusOK, ContentType: contentType, Body: body}
}
