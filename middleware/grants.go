package middleware

import (
	"context"
	"net/http"
	"strconv"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/store"
)

// grantAction is the change one subscription item makes to the grant store.
type grantAction uint8

const (
	grantNone grantAction = iota
	grantAddOneTime
	grantSetLongTerm
	grantRevoke
)

// action decides what one item of a popup or change event does.
func action(event string, it codec.SubscribeItem, longTerm bool) grantAction {
	accepted := it.Status == codec.StatusAccept || it.Status == codec.StatusAcceptWithAudio
	switch event {
	case codec.EventSubscribePopup:
		switch {
		case accepted && longTerm:
			return grantSetLongTerm
		case accepted:
			return grantAddOneTime
		case it.Status == codec.StatusReject && longTerm:
			// A reject of a one-time template leaves earlier grants
			// alone: each one-time grant stands on its own.
			return grantRevoke
		}
	case codec.EventSubscribeChange:
		switch {
		case it.Status == codec.StatusReject:
			return grantRevoke
		case accepted && longTerm:
			return grantSetLongTerm
		}
	}
	return grantNone
}

// book applies the grant changes of a subscription event. Each item is
// claimed under its own dedupe key, marked done once the store call
// succeeded, so that a retry after a failed hook does not apply it twice.
// It reports false with the response to send when the push must be
// retried.
func (e *Endpoint) book(ctx *deadlineCtx, msg *codec.Message, key string) (Response, bool) {
	if msg.MsgType != codec.MsgTypeEvent || msg.FromUserName == "" {
		return Response{}, true
	}
	if msg.Event != codec.EventSubscribePopup && msg.Event != codec.EventSubscribeChange {
		return Response{}, true
	}
	for _, it := range msg.Items {
		if it.TemplateID == "" {
			continue
		}
		longTerm, ok := e.isLongTerm(ctx, it.TemplateID)
		if !ok {
			return reject(http.StatusInternalServerError, ReasonHookFailed), false
		}
		act := action(msg.Event, it, longTerm)
		if act == grantNone {
			continue
		}
		var itemKey string
		if key != "" {
			itemKey = grantKey(key, it.TemplateID)
			state, err := e.dedupe.Begin(ctx, itemKey, e.dedupeLease)
			if err != nil {
				e.log.ErrorContext(ctx, "wxsub: dedupe store failed", "key", itemKey, "err", err)
				return reject(http.StatusInternalServerError, ReasonStore), false
			}
			switch state {
			case store.DedupeNew:
			case store.DedupeDone:
				continue
			case store.DedupeInFlight:
				return reject(http.StatusServiceUnavailable, ReasonInFlight), false
			default:
				e.log.ErrorContext(ctx, "wxsub: dedupe store returned an unknown state", "key", itemKey, "state", state)
				return reject(http.StatusInternalServerError, ReasonStore), false
			}
		}
		if err := e.apply(ctx, act, msg.FromUserName, it.TemplateID); err != nil {
			e.abort(ctx, itemKey)
			e.log.ErrorContext(ctx, "wxsub: grant store failed", "openid", msg.FromUserName,
				"template", it.TemplateID, "err", err)
			return reject(http.StatusInternalServerError, ReasonStore), false
		}
		if itemKey == "" {
			continue
		}
		if err := e.dedupe.Done(ctx, itemKey, e.dedupeTTL); err != nil {
			// The grant is applied; failing the push now would make
			// the retry apply it again once the claim expires. The
			// push's own key, marked after the hooks, still guards it.
			e.log.ErrorContext(ctx, "wxsub: dedupe store failed to mark a grant done", "key", itemKey, "err", err)
		}
	}
	return Response{}, true
}

// grantKey is the dedupe key of one grant item of the push keyed pushKey.
// The length prefix keeps the template id from running into the push's key.
func grantKey(pushKey, templateID string) string {
	return "grant:" + strconv.Itoa(len(pushKey)) + ":" + pushKey + ":" + templateID
}

func (e *Endpoint) apply(ctx context.Context, act grantAction, openID, templateID string) error {
	switch act {
	case grantAddOneTime:
		_, err := e.grants.AddOneTime(ctx, openID, templateID, 1, e.grantTTL)
		return err
	case grantSetLongTerm:
		return e.grants.SetLongTerm(ctx, openID, templateID, e.grantTTL)
	case grantRevoke:
		return e.grants.Revoke(ctx, openID, templateID)
	}
	return nil
}
