package handlers

import (
	"time"

	"github.com/wxsub/wxsub/codec"
)

// Header holds the fields every push carries, and the decoded push itself.
type Header struct {
	// ToUserName is the mini-program's original id (gh_...).
	ToUserName string
	// FromUserName is the openid of the user the push is about.
	FromUserName string
	// CreateTime is when WeChat created the push, in unix seconds.
	CreateTime int64
	// MsgType is "event" for events, else the message type.
	MsgType string
	// Event is the event name ("" for messages).
	Event string
	// Message is the decoded push the event was built from. Pass it to
	// codec.Fields to read fields this package has no name for.
	Message *codec.Message
}

// Time returns CreateTime as a time.Time.
func (h *Header) Time() time.Time { return time.Unix(h.CreateTime, 0) }

func header(m *codec.Message) Header {
	return Header{
		ToUserName:   m.ToUserName,
		FromUserName: m.FromUserName,
		CreateTime:   m.CreateTime,
		MsgType:      m.MsgType,
		Event:        m.Event,
		Message:      m,
	}
}

// PopupItem is one template's outcome in a subscribe_msg_popup_event.
type PopupItem struct {
	TemplateID string
	// Status is accept, reject, acceptWithAudio, ban or filter.
	Status string
	// PopupScene is 0 when the popup was shown in a page.
	PopupScene int64
}

// Accepted reports whether the user accepted the template (with or
// without a voice reminder).
func (it PopupItem) Accepted() bool {
	return it.Status == codec.StatusAccept || it.Status == codec.StatusAcceptWithAudio
}

// SubscribePopupEvent is pushed after the user answered the subscription
// popup that wx.requestSubscribeMessage showed.
type SubscribePopupEvent struct {
	Header
	Items []PopupItem

	// inline holds the items of an ordinary push (at most three templates
	// per request) so that building the event costs one allocation.
	inline [3]PopupItem
}

// ChangeItem is one template's new setting in a subscribe_msg_change_event.
type ChangeItem struct {
	TemplateID string
	// Status is the new setting; WeChat pushes only reject today.
	Status string
}

// Rejected reports whether the user turned the template off.
func (it ChangeItem) Rejected() bool { return it.Status == codec.StatusReject }

// SubscribeChangeEvent is pushed when the user changes a subscription in
// the mini-program's settings.
type SubscribeChangeEvent struct {
	Header
	Items []ChangeItem

	inline [3]ChangeItem
}

// SentItem is the final result of one subscription message send.
type SentItem struct {
	TemplateID string
	// MsgID is the id the send call returned, as decimal text.
	MsgID string
	// ErrorCode is 0 when the message was delivered.
	ErrorCode int64
	// ErrorStatus is WeChat's text for ErrorCode.
	ErrorStatus string
}

// Delivered reports whether WeChat delivered the message.
func (it SentItem) Delivered() bool { return it.ErrorCode == 0 }

// SubscribeSentEvent is pushed with the final result of messages sent with
// the subscribe send API. WeChat reports only asynchronous system failures
// here; an error returned by the send call itself is not pushed.
type SubscribeSentEvent struct {
	Header
	Items []SentItem

	inline [3]SentItem
}

// TextMessage is a text the user sent in the customer-service session.
type TextMessage struct {
	Session
	// MsgID is the 64-bit message id as decimal text.
	MsgID   string
	Content string
}

// ImageMessage is an image the user sent in the customer-service session.
type ImageMessage struct {
	Session
	MsgID   string
	PicURL  string
	MediaID string
}

// MiniProgramPageMessage is a mini-program card the user sent in the
// customer-service session.
type MiniProgramPageMessage struct {
	Session
	MsgID        string
	Title        string
	AppID        string
	PagePath     string
	ThumbURL     string
	ThumbMediaID string
}

// EnterSessionEvent is pushed when the user opens the customer-service
// session.
type EnterSessionEvent struct {
	Session
	// SessionFrom is the session-from value of the button that opened it.
	SessionFrom string
}

// UnknownMessage is any push this package has no type for.
type UnknownMessage struct {
	Header
	// Fields holds every top-level field of the push by name, as text
	// (see codec.Fields; of an element repeated at the top level, the last
	// wins). Message.Raw holds the whole body.
	Fields map[string]string
}
