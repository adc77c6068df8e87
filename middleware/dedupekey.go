package middleware

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"

	"github.com/wxsub/wxsub/codec"
)

// DefaultDedupeKey is the key a push is deduplicated by unless
// Config.DedupeKey says otherwise.
//
// A message that carries a MsgID is keyed by it: "m:", the length of
// ToUserName, ":", ToUserName, ":", MsgID. An event is keyed by what
// WeChat documents (FromUserName, CreateTime, Event) plus every
// subscription item's TemplateID, Status, MsgID and ErrorCode, so that
// WeChat's retries of one push (the same content) share a key while two
// pushes of one user in one second (two popups, two failed sends) do not:
// "e:" followed by the hex of a SHA-256 digest of those fields, each
// length-prefixed, with ToUserName, so that no two distinct tuples collide
// and several mini-programs can share one store.
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
	for i := range msg.Items {
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
