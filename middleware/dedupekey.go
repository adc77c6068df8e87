package middleware

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"

	"github.com/wxsub/wxsub/codec"
)

// DefaultDedupeKey is the key a push is deduplicated by unless
// Config.DedupeKey says otherwise.
//
// A message that carries a MsgID is keyed by it: "m:", the length of
// ToUserName, ":", ToUserName, ":", MsgID. An event is keyed by what
// WeChat documents (FromUserName, CreateTime, Event) plus every
// subscription item's TemplateID, Status, MsgID and ErrorCode, taken in
// a fixed order whatever their order in the push, so that WeChat's
// retries of one push (the same content, its items in any order) share a
// key, while two pushes of one user in one second that differ in any of
// these (popups for other templates or with other answers, two failed
// sends) do not: "e:" followed by the hex of a SHA-256 digest of those
// fields, each length-prefixed, with ToUserName, so that no two distinct
// tuples collide and several mini-programs can share one store.
//
// An event carries no id of its own, so two pushes with the same content
// cannot be told from a retry: two identical popups of one user in one
// second (the same templates, the same answers) share a key, and the
// second is answered "success" without running hooks or booking grants.
// A Config.DedupeKey cannot tell them apart either, since nothing in the
// push does.
//
// It returns "" (no deduplication) for a push with neither a MsgID nor a
// FromUserName.
func DefaultDedupeKey(msg *codec.Message) string {
	if msg.MsgID != "" {
		var num [20]byte
		n := strconv.AppendInt(num[:0], int64(len(msg.ToUserName)), 10)
		b := make([]byte, 0, len("m:")+len(n)+1+len(msg.ToUserName)+1+len(msg.MsgID))
		b = append(b, "m:"...)
		b = append(b, n...)
		b = append(b, ':')
		b = append(b, msg.ToUserName...)
		b = append(b, ':')
		b = append(b, msg.MsgID...)
		return string(b)
	}
	if msg.FromUserName == "" {
		return ""
	}
	var buf [512]byte
	t := buf[:0]
	t = appendField(t, msg.ToUserName)
	t = appendField(t, msg.FromUserName)
	t = binary.AppendVarint(t, msg.CreateTime)
	t = appendField(t, msg.Event)
	t = binary.AppendUvarint(t, uint64(len(msg.Items)))
	// The items go in sorted order, so that their order in the push does
	// not change the key. A popup lists at most three: their indices sort
	// on the stack.
	var local [4]int
	order := local[:0]
	if len(msg.Items) > len(local) {
		order = make([]int, 0, len(msg.Items))
	}
	for i := range msg.Items {
		order = append(order, i)
	}
	slices.SortFunc(order, func(a, b int) int { return compareItems(&msg.Items[a], &msg.Items[b]) })
	for _, i := range order {
		it := &msg.Items[i]
		t = appendField(t, it.TemplateID)
		t = appendField(t, it.Status)
		t = appendField(t, it.MsgID)
		t = binary.AppendVarint(t, it.ErrorCode)
	}
	sum := sha256.Sum256(t)
	var key [2 + 2*16]byte
	key[0], key[1] = 'e', ':'
	hex.Encode(key[2:], sum[:16])
	return string(key[:])
}

// appendField appends s to t behind its length, so that field boundaries
// are part of the encoding.
func appendField(t []byte, s string) []byte {
	t = binary.AppendUvarint(t, uint64(len(s)))
	return append(t, s...)
}

// compareItems orders items by the fields the key digests.
func compareItems(a, b *codec.SubscribeItem) int {
	return cmp.Or(
		cmp.Compare(a.TemplateID, b.TemplateID),
		cmp.Compare(a.Status, b.Status),
		cmp.Compare(a.MsgID, b.MsgID),
		cmp.Compare(a.ErrorCode, b.ErrorCode),
	)
}

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
