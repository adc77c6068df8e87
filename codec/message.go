// Package codec holds the pure parts of WeChat's push protocol: signatures,
// the safe-mode cipher, decoding pushes from XML or JSON into a Message, and
// encoding replies. It does no I/O and imports no web framework.
package codec

// Format is the wire format of a push body.
type Format uint8

const (
	// XML is WeChat's flat XML with CDATA sections.
	XML Format = iota + 1
	// JSON is the JSON push format.
	JSON
)

// String returns "xml" or "json".
func (f Format) String() string {
	switch f {
	case XML:
		return "xml"
	case JSON:
		return "json"
	}
	return "unknown"
}

// Message types and event names WeChat pushes to a mini-program.
const (
	MsgTypeEvent           = "event"
	MsgTypeText            = "text"
	MsgTypeImage           = "image"
	MsgTypeMiniProgramPage = "miniprogrampage"

	EventSubscribePopup  = "subscribe_msg_popup_event"
	EventSubscribeChange = "subscribe_msg_change_event"
	EventSubscribeSent   = "subscribe_msg_sent_event"
	EventEnterSession    = "user_enter_tempsession"
)

// Subscription statuses found in SubscribeStatusString.
const (
	StatusAccept          = "accept"
	StatusAcceptWithAudio = "acceptWithAudio"
	StatusReject          = "reject"
	StatusBan             = "ban"
	StatusFilter          = "filter"
)

// Message is one push from WeChat, decoded from XML or JSON. Fields absent
// from the push are left zero. String fields may share memory with Raw.
type Message struct {
	ToUserName   string
	FromUserName string
	// CreateTime is in unix seconds (WeChat sends a number or a string).
	CreateTime int64
	MsgType    string
	Event      string
	// MsgID is the 64-bit message id as decimal text ("" when absent).
	MsgID string

	// Customer-service message fields.
	Content      string
	PicURL       string
	MediaID      string
	Title        string
	AppID        string
	PagePath     string
	ThumbURL     string
	ThumbMediaID string
	SessionFrom  string

	// Items are the per-template entries of subscribe_msg_popup_event,
	// subscribe_msg_change_event and subscribe_msg_sent_event, gathered
	// from whichever shape the push used.
	Items []SubscribeItem

	// Encrypt is the ciphertext of a safe- or compatible-mode body.
	Encrypt string

	// Format is the format the message was decoded from.
	Format Format
	// Raw is the body the message was decoded from (for safe mode, the
	// decrypted plaintext). Fields(m) reads every field from it.
	Raw string
}

// SubscribeItem is one template's entry in a subscription event.
type SubscribeItem struct {
	TemplateID string
	// Status is SubscribeStatusString: accept, reject, acceptWithAudio, ...
	Status string
	// PopupScene is 0 when the popup was shown in a page (popup events).
	PopupScene int64
	// MsgID is the id returned by the send (sent events), as text.
	MsgID string
	// ErrorCode is 0 when the message was delivered (sent events).
	ErrorCode int64
	// ErrorStatus is WeChat's text for ErrorCode (sent events).
	ErrorStatus string
}
