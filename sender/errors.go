package sender

import (
	"errors"
	"strconv"
	"strings"

	"github.com/wxsub/wxsub/store"
)

// Sentinel errors. Test for them with errors.Is: an *APIError matches the
// sentinel of its errcode, so callers can branch without knowing the codes.
var (
	// ErrNoGrant means a GrantStore is configured and the user holds no
	// grant for the template, so nothing was sent. It is store.ErrNoGrant.
	ErrNoGrant = store.ErrNoGrant

	// ErrUserRefused means WeChat answered 43101: the user refused or
	// cancelled the subscription. The grant has been revoked.
	ErrUserRefused = errors.New("wxsub/sender: user refused the subscription (43101)")

	// ErrInvalidData means the template data broke a rule of its keyword
	// type, found locally (a *DataError) or by WeChat (errcode 47003).
	ErrInvalidData = errors.New("wxsub/sender: invalid template data")

	// ErrInvalidMessage means a required field of a message is empty or a
	// field holds a value outside its enumeration; nothing was sent.
	ErrInvalidMessage = errors.New("wxsub/sender: invalid message")

	// ErrTokenInvalid means WeChat rejected the access token (40001, 40014,
	// 42001) even after one refresh.
	ErrTokenInvalid = errors.New("wxsub/sender: access token invalid or expired")

	// ErrRateLimited means a quota or frequency limit was hit (45009,
	// 45011, 45015, 45047).
	ErrRateLimited = errors.New("wxsub/sender: rate limited")

	// ErrBusy means WeChat answered -1 (system busy) on every attempt.
	ErrBusy = errors.New("wxsub/sender: WeChat busy (-1)")

	// ErrDeliveryUnknown means the request was written to WeChat but no
	// answer came back (timeout, dropped connection, 5xx), so WeChat may
	// or may not have delivered the message. Such a send is never retried.
	ErrDeliveryUnknown = errors.New("wxsub/sender: delivery unknown")
)

// WeChat errcodes that callers and the client branch on.
const (
	CodeBusy               = -1
	CodeOK                 = 0
	CodeInvalidCredential  = 40001
	CodeInvalidOpenID      = 40003
	CodeInvalidAccessToken = 40014
	CodeInvalidTemplate    = 40037
	CodeInvalidPage        = 41030
	CodeTokenExpired       = 42001
	CodeUserRefused        = 43101
	CodeQuota              = 45009
	CodeFrequency          = 45011
	CodeOutOfWindow        = 45015
	CodeTooManyReplies     = 45047
	CodeInvalidData        = 47003
)

// APIError is an error answer from WeChat: a non-zero errcode.
type APIError struct {
	// Code is WeChat's errcode.
	Code int
	// Msg is WeChat's errmsg, which often names the bad field.
	Msg string
	// API is the path of the endpoint that answered, such as
	// "/cgi-bin/message/subscribe/send".
	API string
}

// Error returns the API, the errcode and the errmsg.
func (e *APIError) Error() string {
	return "wxsub/sender: " + e.API + ": errcode " + strconv.Itoa(e.Code) + ": " + e.Msg
}

// Is maps the errcode to its sentinel, so errors.Is(err, ErrUserRefused)
// holds for a 43101 answer.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUserRefused:
		return e.Code == CodeUserRefused
	case ErrInvalidData:
		return e.Code == CodeInvalidData
	case ErrTokenInvalid:
		return isTokenCode(e.Code)
	case ErrRateLimited:
		switch e.Code {
		case CodeQuota, CodeFrequency, CodeOutOfWindow, CodeTooManyReplies:
			return true
		}
	case ErrBusy:
		return e.Code == CodeBusy
	}
	return false
}

// DataKeyword returns the template keyword a 47003 errmsg names (from
// "data.thing1.value" it returns "thing1"), or "" when it names none.
func (e *APIError) DataKeyword() string {
	_, rest, ok := strings.Cut(e.Msg, "data.")
	if !ok {
		return ""
	}
	kw, _, ok := strings.Cut(rest, ".value")
	if !ok || kw == "" || strings.ContainsAny(kw, " .\"'") {
		return ""
	}
	return kw
}

func isTokenCode(code int) bool {
	return code == CodeInvalidCredential || code == CodeInvalidAccessToken || code == CodeTokenExpired
}

// HTTPError is an answer with an HTTP status other than 200.
type HTTPError struct {
	// API is the path of the endpoint that answered.
	API string
	// StatusCode is the HTTP status code.
	StatusCode int
}

// Error returns the API and the status.
func (e *HTTPError) Error() string {
	return "wxsub/sender: " + e.API + ": HTTP status " + strconv.Itoa(e.StatusCode)
}

// DataError names the template keyword whose value broke a rule. It wraps
// ErrInvalidData.
type DataError struct {
	// Keyword is the data key, such as "thing1".
	Keyword string
	// Rule says what the value must be, such as "at most 20 characters".
	Rule string
	// Value is the rejected value.
	Value string
}

// Error returns the keyword and the rule it broke.
func (e *DataError) Error() string {
	return "wxsub/sender: invalid template data: " + e.Keyword + ": " + e.Rule
}

// Unwrap returns ErrInvalidData.
func (e *DataError) Unwrap() error { return ErrInvalidData }
