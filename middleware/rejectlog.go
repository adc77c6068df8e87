package middleware

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rejectWarnEvery is how often, at most, a rejection reason is logged at
// warning level. The other rejections with that reason are logged at debug
// level and counted in the next warning's "suppressed".
const rejectWarnEvery = time.Minute

// rejectLog decides the level of each rejected request's log line: the
// first rejection with a reason, and then the first after each
// rejectWarnEvery, is logged at warning level with a hint of what to check;
// the others at debug level. A wrong Token, EncodingAESKey or AppID thus
// shows up at the default level on the first push, while a flood of
// forged requests adds at most one warning a minute per reason.
type rejectLog struct {
	reasons map[string]*reasonLog // one per reason refuse is called with; read-only after New
	other   reasonLog             // any reason missing from the map
}

// reasonLog is the warning state of one reason. A mutex, not atomics, so
// that every rejection is counted in exactly one warning's "suppressed".
type reasonLog struct {
	mu         sync.Mutex
	next       time.Time // no warning is due before it
	suppressed int64     // rejections logged at debug level since the last warning
}

func newRejectLog() *rejectLog {
	l := &rejectLog{reasons: make(map[string]*reasonLog)}
	for _, r := range []string{
		ReasonMethod, ReasonMalformedQuery, ReasonMissingParams, ReasonMissingEchostr, ReasonBadEchostr,
		ReasonBadSignature, ReasonStaleTimestamp, ReasonTooLarge, ReasonEncryptType, ReasonNoKey,
		ReasonPlaintextRefuse, ReasonMalformedBody, ReasonMissingEncrypt, ReasonDecrypt, ReasonAppID,
		ReasonToUserName, ReasonClosed, ReasonInFlight, ReasonQueueFull,
	} {
		l.reasons[r] = new(reasonLog)
	}
	return l
}

// warn reports whether a rejection with reason at now is due a warning,
// and if so how many rejections with that reason went without one since
// the last. Otherwise it counts the rejection as suppressed.
func (l *rejectLog) warn(reason string, now time.Time) (suppressed int64, ok bool) {
	r := l.reasons[reason]
	if r == nil {
		r = &l.other
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.next) {
		r.suppressed++
		return 0, false
	}
	r.next = now.Add(rejectWarnEvery)
	suppressed, r.suppressed = r.suppressed, 0
	return suppressed, true
}

// refuse logs a rejected request and builds its response. Every rejection
// gets one line, "wxsub: request rejected" with its status and reason: at
// warning level, with a hint ("check") and the count of rejections with the
// same reason logged at debug level since the last warning ("suppressed"),
// when rejectLog says one is due; at debug level otherwise. Rejections are
// what anyone can produce at will, so the warnings are rate-limited.
func (e *Endpoint) refuse(status int, reason string) Response {
	if suppressed, ok := e.rejects.warn(reason, e.now()); ok {
		e.log.Warn("wxsub: request rejected", "status", status, "reason", reason,
			"check", rejectHint(reason), "suppressed", suppressed)
	} else if e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.Debug("wxsub: request rejected", "status", status, "reason", reason)
	}
	return reject(status, reason)
}

// rejectHint says what an operator should check after a rejection with
// reason: the setting that most often causes it on a route WeChat does
// reach, or that the request did not come from WeChat.
func rejectHint(reason string) string {
	switch reason {
	case ReasonBadSignature:
		return "Config.Token must equal the Token in the mini-program admin console's message push settings; " +
			"otherwise the request was not signed by WeChat"
	case ReasonDecrypt:
		return "Config.EncodingAESKey must equal the EncodingAESKey in the admin console's message push settings " +
			"(it changes when regenerated there)"
	case ReasonAppID:
		return "Config.AppID must be the appid of the mini-program whose console sends the pushes; " +
			"the push was encrypted for another appid"
	case ReasonStaleTimestamp:
		return "this machine's clock: the request's timestamp is outside Config.ReplayWindow; " +
			"otherwise an old request was replayed"
	case ReasonNoKey:
		return "the console sends encrypted pushes (safe or compatible mode): set Config.EncodingAESKey and Config.AppID"
	case ReasonPlaintextRefuse:
		return "a plaintext request that Config.Token does not sign did not come from WeChat " +
			"(a signed plaintext push is logged with its own warning)"
	case ReasonMissingParams:
		return "a request without signature, timestamp or nonce did not come from WeChat, " +
			"or a proxy in front of the route dropped the query string"
	case ReasonMalformedQuery, ReasonEncryptType, ReasonMissingEncrypt, ReasonToUserName:
		return "the request did not come from WeChat, or a proxy in front of the route rewrote it"
	case ReasonMalformedBody:
		return "the body is neither XML nor JSON WeChat would send, or a proxy rewrote it"
	case ReasonTooLarge:
		return "the body is over Config.MaxBodyBytes; WeChat's pushes are far smaller"
	case ReasonMethod:
		return "WeChat sends only GET (the URL check) and POST (pushes)"
	case ReasonMissingEchostr, ReasonBadEchostr:
		return "a signed GET is WeChat's URL check, which carries a numeric echostr"
	case ReasonClosed:
		return "the Endpoint was closed (shutting down); WeChat retries the push"
	case ReasonInFlight:
		return "WeChat retried a push that is still being handled, which it does after 5 s: " +
			"hooks or stores are that slow; WeChat retries again later"
	case ReasonQueueFull:
		return "the async queue is full (Config.QueueSize, Config.QueueBytes): hooks run slower than pushes arrive; " +
			"WeChat retries the push later"
	}
	if reason == "" {
		return "no reason given"
	}
	return "see the status table in the middleware package documentation"
}
