// The refusals of the open step: what Serve turns away while it verifies,
// decrypts and decodes a push, before anything is claimed or booked.

package middleware

import (
	"net/http"

	"github.com/wxsub/wxsub/codec"
)

// MaxItems bounds the subscription items of one push. A popup lists at most
// three templates; a push listing more than MaxItems is refused, since each
// item costs store round trips.
const MaxItems = 256

// maxEchostr bounds the echostr a URL check is answered with.
const maxEchostr = 128

// validEchostr reports whether s may be echoed: 1 to maxEchostr characters
// of [0-9A-Za-z_-]. WeChat sends digits; anything else is not reflected.
func validEchostr(s string) bool {
	if len(s) == 0 || len(s) > maxEchostr {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// itemsWithinLimit reports whether msg lists at most MaxItems subscription
// items, logging a push that lists more. The push was verified, so the
// line is worth a warning.
func (e *Endpoint) itemsWithinLimit(msg *codec.Message) bool {
	if len(msg.Items) <= MaxItems {
		return true
	}
	e.log.Warn("wxsub: push refused: too many subscription items", "items", len(msg.Items), "max", MaxItems,
		"msg_type", msg.MsgType, "event", msg.Event)
	return false
}

// refusePlaintext answers a plaintext push in safe mode. When its query
// signature holds, the push most likely came from WeChat, whose console is
// then in compatible or plaintext mode: the operator is told how to accept
// such pushes. Other refusals stay at debug level, since anyone can
// produce them.
func (e *Endpoint) refusePlaintext(q query) Response {
	if q.signature != "" && q.timestamp != "" && q.nonce != "" &&
		codec.VerifySignature(e.token, q.timestamp, q.nonce, q.signature) {
		e.log.Warn("wxsub: signed plaintext push refused in safe mode; "+
			"if the admin console is in compatible mode and WeChat sends unencrypted pushes, set Mode: ModeCompatible",
			"status", http.StatusBadRequest)
		return reject(http.StatusBadRequest, ReasonPlaintextRefuse)
	}
	return e.refuse(http.StatusBadRequest, ReasonPlaintextRefuse)
}
