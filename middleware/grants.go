package middleware

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/store"
)

// action decides what one item of a popup or change event does to the
// grant store (0: nothing).
func action(event string, it codec.SubscribeItem, longTerm bool) store.GrantChange {
	accepted := it.Status == codec.StatusAccept || it.Status == codec.StatusAcceptWithAudio
	switch event {
	case codec.EventSubscribePopup:
		switch {
		case accepted && longTerm:
			return store.SetLongTermGrant
		case accepted:
			return store.AddOneTimeGrant
		case it.Status == codec.StatusReject && longTerm:
			// A reject of a one-time template leaves earlier grants
			// alone: each one-time grant stands on its own.
			return store.RevokeGrant
		}
	case codec.EventSubscribeChange:
		switch {
		case it.Status == codec.StatusReject:
			return store.RevokeGrant
		case accepted && longTerm:
			return store.SetLongTermGrant
		}
	}
	return 0
}

// book applies the grant changes of a subscription event, each item once
// under its own key, so that a retry after a failed hook (or a failed store
// call) does not apply it twice. A store.OnceGrantStore makes each change
// and records its key in one step. Other stores get a dedupe claim around
// a plain call, which is exact unless a store reply is lost between the
// change and its mark. It reports false with the response to send when the
// push must be retried.
func (e *Endpoint) book(ctx *deadlineCtx, msg *codec.Message, key string) (Response, bool) {
	if msg.MsgType != codec.MsgTypeEvent || msg.FromUserName == "" {
		return Response{}, true
	}
	if msg.Event != codec.EventSubscribePopup && msg.Event != codec.EventSubscribeChange {
		return Response{}, true
	}
	if len(msg.Items) == 0 {
		// Nothing to book: say so, since the likeliest cause is items in a
		// shape the decoder does not know, whose grants would go unbooked
		// without a trace.
		e.log.WarnContext(ctx, "wxsub: subscription event without items: no grant booked",
			"event", msg.Event, "openid", msg.FromUserName, "key", key)
	}
	for _, it := range msg.Items {
		if it.TemplateID == "" {
			e.log.WarnContext(ctx, "wxsub: subscription item without TemplateId: not booked",
				"event", msg.Event, "openid", msg.FromUserName, "status", it.Status, "key", key)
			continue
		}
		longTerm, ok := e.isLongTerm(ctx, it.TemplateID)
		if !ok {
			return reject(http.StatusInternalServerError, ReasonHookFailed), false
		}
		act := action(msg.Event, it, longTerm)
		if act == 0 {
			continue
		}
		var itemKey string
		if key != "" {
			itemKey = grantKey(key, it.TemplateID)
		}
		if e.onceGrants != nil && itemKey != "" {
			if _, err := e.onceGrants.ApplyOnce(ctx, itemKey, e.dedupeTTL, msg.FromUserName, it.TemplateID, act, e.grantTTL); err != nil {
				e.log.ErrorContext(ctx, "wxsub: grant store failed", "openid", msg.FromUserName,
					"template_id", it.TemplateID, "error", err)
				return reject(http.StatusInternalServerError, ReasonStore), false
			}
			continue
		}
		if itemKey != "" {
			state, err := e.dedupe.Begin(ctx, itemKey, e.dedupeLease)
			if err != nil {
				e.log.ErrorContext(ctx, "wxsub: dedupe store failed", "key", itemKey, "error", err)
				return reject(http.StatusInternalServerError, ReasonStore), false
			}
			switch state {
			case store.DedupeNew:
			case store.DedupeDone:
				continue
			case store.DedupeInFlight:
				return e.refuse(http.StatusServiceUnavailable, ReasonInFlight), false
			default:
				e.log.ErrorContext(ctx, "wxsub: dedupe store returned an unknown state", "key", itemKey, "state", state)
				return reject(http.StatusInternalServerError, ReasonStore), false
			}
		}
		if err := e.apply(ctx, act, msg.FromUserName, it.TemplateID); err != nil {
			e.abort(ctx, itemKey)
			e.log.ErrorContext(ctx, "wxsub: grant store failed", "openid", msg.FromUserName,
				"template_id", it.TemplateID, "error", err)
			return reject(http.StatusInternalServerError, ReasonStore), false
		}
		if itemKey == "" {
			continue
		}
		if err := e.dedupe.Done(ctx, itemKey, e.dedupeTTL); err != nil {
			// The grant is applied; failing the push now would make
			// the retry apply it again once the claim expires. The
			// push's own key, marked after the hooks, still guards it.
			e.log.ErrorContext(ctx, "wxsub: dedupe store failed to mark a grant done", "key", itemKey, "error", err)
		}
	}
	return Response{}, true
}

// grantKey is the dedupe key of one grant item of the push keyed pushKey.
// The length prefix keeps the template id from running into the push's key.
func grantKey(pushKey, templateID string) string {
	return "grant:" + strconv.Itoa(len(pushKey)) + ":" + pushKey + ":" + templateID
}

func (e *Endpoint) apply(ctx context.Context, act store.GrantChange, openID, templateID string) error {
	switch act {
	case store.AddOneTimeGrant:
		_, err := e.grants.AddOneTime(ctx, openID, templateID, 1, e.grantTTL)
		return err
	case store.SetLongTermGrant:
		return e.grants.SetLongTerm(ctx, openID, templateID, e.grantTTL)
	case store.RevokeGrant:
		return e.grants.Revoke(ctx, openID, templateID)
	}
	return nil
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
