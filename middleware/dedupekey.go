package middleware

import (
	"strconv"
	"strings"

	"github.com/wxsub/wxsub/codec"
)

// DefaultDedupeKey is the key a push is deduplicated by unless
// Config.DedupeKey says otherwise: the MsgID for messages that carry one,
// else FromUserName, CreateTime and Event, as WeChat documents. Both are
// prefixed with ToUserName so that several mini-programs can share one
// store. It returns "" (no deduplication) for a push with neither a MsgID
// nor a FromUserName.
func DefaultDedupeKey(msg *codec.Message) string {
	var b strings.Builder
	if msg.MsgID != "" {
		b.Grow(len("m:") + len(msg.ToUserName) + 1 + len(msg.MsgID))
		b.WriteString("m:")
		b.WriteString(msg.ToUserName)
		b.WriteByte(':')
		b.WriteString(msg.MsgID)
		return b.String()
	}
	if msg.FromUserName == "" {
		return ""
	}
	var num [20]byte
	ct := strconv.AppendInt(num[:0], msg.CreateTime, 10)
	b.Grow(len("e:") + len(msg.ToUserName) + len(msg.FromUserName) + len(ct) + len(msg.Event) + 3)
	b.WriteString("e:")
	b.WriteString(msg.ToUserName)
	b.WriteByte(':')
	b.WriteString(msg.FromUserName)
	b.WriteByte(':')
	b.Write(ct)
	b.WriteByte(':')
	b.WriteString(msg.Event)
	return b.String()
}
