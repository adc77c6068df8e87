package middleware

import (
	"net/http"

	"github.com/wxsub/wxsub/codec"
)

// Request is what an adapter hands to Serve: the parts of an HTTP request
// the protocol reads.
type Request struct {
	// Method is the HTTP method, e.g. "GET" or "POST".
	Method string
	// RawQuery is the URL query without the '?', still escaped.
	RawQuery string
	// Body is the request body. An adapter reads at most
	// MaxBodyBytes()+1 bytes, so that Serve can tell an oversized body.
	// Serve does not keep Body, or anything pointing into it, after it
	// returns: the adapter may reuse the buffer.
	Body []byte
}

// Response is what Serve answers: an adapter writes Status, a Content-Type
// header and Body. Body may be shared between responses and must not be
// modified.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Allow, when not empty, is the value of an Allow header: the methods
	// the route answers, which a 405 lists (RFC 9110, section 15.5.6).
	Allow string
}

// AllowedMethods is the Allow header of a 405: the methods the route
// answers.
const AllowedMethods = "GET, POST"

// Content types of responses.
const (
	ContentTypeText = "text/plain; charset=utf-8"
	ContentTypeXML  = "application/xml; charset=utf-8"
	ContentTypeJSON = "application/json; charset=utf-8"
)

// Reasons sent in the body of a rejected request. They never echo the
// request.
const (
	ReasonMethod          = "method not allowed"
	ReasonMalformedQuery  = "malformed query"
	ReasonMissingParams   = "missing signature parameters"
	ReasonMissingEchostr  = "missing echostr"
	ReasonBadEchostr      = "malformed echostr"
	ReasonBadSignature    = "bad signature"
	ReasonStaleTimestamp  = "stale timestamp"
	ReasonTooLarge        = "body too large"
	ReasonEncryptType     = "unsupported encrypt_type"
	ReasonNoKey           = "encrypted push but no EncodingAESKey is configured"
	ReasonPlaintextRefuse = "plaintext push refused in safe mode"
	ReasonMalformedBody   = "malformed body"
	ReasonTooManyItems    = "too many subscription items"
	ReasonMissingEncrypt  = "missing Encrypt"
	ReasonDecrypt         = "cannot decrypt"
	ReasonAppID           = "appid mismatch"
	ReasonToUserName      = "ToUserName mismatch"
	ReasonHookFailed      = "hook failed"
	ReasonHookTimeout     = "hook timed out"
	ReasonStore           = "store error"
	ReasonInFlight        = "push in progress, retry later"
	ReasonQueueFull       = "queue full, retry later"
	ReasonClosed          = "endpoint closed, retry later"
	ReasonReply           = "cannot encode reply"
	// ReasonUnreadableBody is what an adapter answers (400) when reading
	// the body fails before Serve can be called.
	ReasonUnreadableBody = "cannot read body"
)

// Success is the body of an accepted push.
const Success = codec.Success

var successBody = []byte(Success)

func success() Response {
	return Response{Status: http.StatusOK, ContentType: ContentTypeText, Body: successBody}
}

// reject builds an error response; reason is one of the Reason constants
// (a constant, so the conversion is the only cost on an error path).
func reject(status int, reason string) Response {
	return Response{Status: status, ContentType: ContentTypeText, Body: []byte(reason)}
}
