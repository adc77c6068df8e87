package middleware

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/codec"
)

// Serve answers one request of the callback route. It never panics, and it
// answers within HookTimeout plus the time the stores take to answer
// (see the status table in the package documentation).
func (e *Endpoint) Serve(ctx context.Context, req Request) Response {
	switch req.Method {
	case http.MethodGet:
		return e.serveCheck(req)
	case http.MethodPost:
		return e.servePush(ctx, req)
	}
	r := e.refuse(http.StatusMethodNotAllowed, ReasonMethod)
	r.Allow = AllowedMethods
	return r
}

// serveCheck answers the URL check WeChat makes when the route is saved in
// the admin console: it echoes echostr when the signature holds.
func (e *Endpoint) serveCheck(req Request) Response {
	q, ok := parseQuery(req.RawQuery)
	if !ok {
		return e.refuse(http.StatusBadRequest, ReasonMalformedQuery)
	}
	if q.signature == "" || q.timestamp == "" || q.nonce == "" {
		return e.refuse(http.StatusUnauthorized, ReasonMissingParams)
	}
	if !codec.VerifySignature(e.token, q.timestamp, q.nonce, q.signature) {
		return e.refuse(http.StatusForbidden, ReasonBadSignature)
	}
	if !e.fresh(q.timestamp, time.Now()) {
		return e.refuse(http.StatusForbidden, ReasonStaleTimestamp)
	}
	if q.echostr == "" {
		return e.refuse(http.StatusBadRequest, ReasonMissingEchostr)
	}
	if !validEchostr(q.echostr) {
		return e.refuse(http.StatusBadRequest, ReasonBadEchostr)
	}
	return Response{Status: http.StatusOK, ContentType: ContentTypeText, Body: []byte(q.echostr)}
}

// servePush verifies and decodes a push, then hands it to handle.
func (e *Endpoint) servePush(ctx context.Context, req Request) Response {
	q, ok := parseQuery(req.RawQuery)
	if !ok {
		return e.refuse(http.StatusBadRequest, ReasonMalformedQuery)
	}
	var encrypted bool
	switch q.encryptType {
	case "":
	case "aes":
		encrypted = true
	default:
		return e.refuse(http.StatusBadRequest, ReasonEncryptType)
	}
	switch {
	case encrypted && e.cipher == nil:
		return e.refuse(http.StatusBadRequest, ReasonNoKey)
	case !encrypted && e.mode == ModeSafe:
		return e.refusePlaintext(q)
	}
	sig := q.signature
	if encrypted {
		sig = q.msgSignature
	}
	if sig == "" || q.timestamp == "" || q.nonce == "" {
		return e.refuse(http.StatusUnauthorized, ReasonMissingParams)
	}
	if int64(len(req.Body)) > e.maxBody {
		return e.refuse(http.StatusRequestEntityTooLarge, ReasonTooLarge)
	}

	if !encrypted {
		if !codec.VerifySignature(e.token, q.timestamp, q.nonce, sig) {
			return e.refuse(http.StatusForbidden, ReasonBadSignature)
		}
		now := time.Now()
		if !e.fresh(q.timestamp, now) {
			return e.refuse(http.StatusForbidden, ReasonStaleTimestamp)
		}
		p := newPush(len(req.Body))
		if err := codec.Decode(req.Body, &p.msg); err != nil {
			return e.refuse(http.StatusBadRequest, ReasonMalformedBody)
		}
		if !e.itemsWithinLimit(&p.msg) {
			return reject(http.StatusBadRequest, ReasonTooManyItems)
		}
		return e.handle(ctx, p, now, false)
	}

	// Nothing of a stranger's body is read beyond what the signature
	// check needs. WeChat signs a safe-mode query twice: signature over
	// token, timestamp and nonce, as in plaintext mode, and msg_signature
	// over those and Encrypt (see the example push in
	// https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html).
	// When signature is there it is checked before the body is touched,
	// so a forged push costs no more than junk. It is not required:
	// msg_signature is the check WeChat documents for safe mode, and a
	// relay or a test client that sends msg_signature alone is served as
	// before. Without it, DecodeEnvelope reads the body for Encrypt in
	// one pass, in constant memory, gathering no items.
	if q.signature != "" {
		if !codec.VerifySignature(e.token, q.timestamp, q.nonce, q.signature) {
			return e.refuse(http.StatusForbidden, ReasonBadSignature)
		}
		if !e.fresh(q.timestamp, time.Now()) {
			return e.refuse(http.StatusForbidden, ReasonStaleTimestamp)
		}
	}
	// The envelope's strings point into req.Body, which stays unchanged
	// until Serve returns; they are used only until decryption.
	var env codec.Envelope
	if err := codec.DecodeEnvelope(req.Body, &env); err != nil {
		return e.refuse(http.StatusBadRequest, ReasonMalformedBody)
	}
	if env.Encrypt == "" {
		return e.refuse(http.StatusBadRequest, ReasonMissingEncrypt)
	}
	if !codec.VerifyMsgSignature(e.token, q.timestamp, q.nonce, env.Encrypt, sig) {
		return e.refuse(http.StatusForbidden, ReasonBadSignature)
	}
	now := time.Now()
	if !e.fresh(q.timestamp, now) {
		return e.refuse(http.StatusForbidden, ReasonStaleTimestamp)
	}
	p := newPush(len(req.Body))
	if err := e.cipher.DecryptMessage(env.Encrypt, &p.msg); err != nil {
		switch {
		case errors.Is(err, codec.ErrAppIDMismatch):
			return e.refuse(http.StatusBadRequest, ReasonAppID)
		case errors.Is(err, codec.ErrMalformed):
			return e.refuse(http.StatusBadRequest, ReasonMalformedBody)
		}
		return e.refuse(http.StatusBadRequest, ReasonDecrypt)
	}
	if env.ToUserName != "" && p.msg.ToUserName != "" && env.ToUserName != p.msg.ToUserName {
		return e.refuse(http.StatusBadRequest, ReasonToUserName)
	}
	if !e.itemsWithinLimit(&p.msg) {
		return reject(http.StatusBadRequest, ReasonTooManyItems)
	}
	return e.handle(ctx, p, now, true)
}

// fresh reports whether timestamp is within the replay window of now, or
// of Config.Now when one was given.
func (e *Endpoint) fresh(timestamp string, now time.Time) bool {
	if e.window < 0 {
		return true
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if e.clock != nil {
		now = e.clock()
	}
	unix := now.Unix()
	return ts >= unix-e.window && ts <= unix+e.window
}
