package middleware

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/wxsub/wxsub/codec"
)

// keyOf returns the dedupe key of msg. A panic in Config.DedupeKey is
// logged and reported as false, so that the push fails (500, retried)
// instead of the process.
func (e *Endpoint) keyOf(ctx context.Context, msg *codec.Message) (key string, ok bool) {
	if !e.customKey {
		return DefaultDedupeKey(msg), true
	}
	defer func() {
		if p := recover(); p != nil {
			key, ok = "", false
			e.log.ErrorContext(ctx, "wxsub: Config.DedupeKey panicked", "msg_type", msg.MsgType, "event", msg.Event,
				"error", fmt.Errorf("%w: %v", ErrHookPanic, p), "stack", string(debug.Stack()))
		}
	}()
	return e.dedupeKey(msg), true
}

// isLongTerm reports whether templateID is long-term by Config.LongTerm.
// A panic in it is logged and reported as ok false, failing the push.
func (e *Endpoint) isLongTerm(ctx context.Context, templateID string) (longTerm, ok bool) {
	if e.longTerm == nil {
		return false, true
	}
	defer func() {
		if p := recover(); p != nil {
			longTerm, ok = false, false
			e.log.ErrorContext(ctx, "wxsub: Config.LongTerm panicked", "template_id", templateID,
				"error", fmt.Errorf("%w: %v", ErrHookPanic, p), "stack", string(debug.Stack()))
		}
	}()
	return e.longTerm(templateID), true
}
