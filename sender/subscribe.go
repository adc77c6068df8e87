package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/wxsub/wxsub/internal/jsonstr"
	"github.com/wxsub/wxsub/store"
)

const pathSubscribeSend = "/cgi-bin/message/subscribe/send"

// errSendAbandoned is the outcome settle sees when a panic unwinds through
// a send.
var errSendAbandoned = errors.New("wxsub/sender: send abandoned by a panic")

// Values of SubscribeMessage.MiniProgramState: which build of the
// mini-program the message card opens. Empty means formal.
const (
	StateDeveloper = "developer"
	StateTrial     = "trial"
	StateFormal    = "formal"
)

// Values of SubscribeMessage.Lang: the language of the card's "open the
// mini-program" link. Empty means zh_CN.
const (
	LangZhCN = "zh_CN"
	LangEnUS = "en_US"
	LangZhHK = "zh_HK"
	LangZhTW = "zh_TW"
)

// SubscribeMessage is one subscription message to one user.
type SubscribeMessage struct {
	// ToUser is the recipient's openid. Required.
	ToUser string
	// TemplateID is the private template id (priTmplId). Required.
	TemplateID string
	// Page is the mini-program page the card opens, with an optional
	// query ("index?foo=bar"). Empty means the card opens nothing.
	Page string
	// Data maps each template keyword ("thing1") to its value. Values are
	// checked against their keyword type before sending (see ValidateData).
	Data map[string]string
	// MiniProgramState is StateDeveloper, StateTrial, StateFormal or empty.
	MiniProgramState string
	// Lang is LangZhCN, LangEnUS, LangZhHK, LangZhTW or empty.
	Lang string
}

type sendAnswer struct {
	apiStatus
	MsgID idString `json:"msgid"`
}

// SendSubscribe sends a subscription message and returns WeChat's msgid,
// which the later subscribe_msg_sent_event push carries.
//
// The message is checked first (ErrInvalidMessage, or a *DataError wrapping
// ErrInvalidData), before any network call. With a GrantStore, a grant is
// consumed before sending (ErrNoGrant, and no call, when there is none) and
// settled by the outcome: kept on success, revoked on 43101
// (ErrUserRefused), given back on any other failure. A send is repeated only
// when it cannot have been delivered; when it may have been, the error wraps
// ErrDeliveryUnknown. See the package documentation.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
func (c *Client) SendSubscribe(ctx context.Context, m SubscribeMessage) (msgID string, err error) {
	data, err := c.checkSubscribe(&m)
	if err != nil {
		return "", err
	}
	if c.grants == nil {
		return c.post(ctx, &m, data)
	}
	receipt, err := c.consume(ctx, m.ToUser, m.TemplateID)
	if err != nil {
		return "", err
	}
	returned := false
	defer func() {
		if !returned {
			// A panic (from a TokenSource, a RoundTripper, a store) is
			// unwinding through the send. Its outcome is unknown, so the
			// grant is refunded, as after any other ambiguous failure,
			// instead of being lost.
			c.settle(ctx, receipt, errSendAbandoned)
		}
	}()
	msgID, err = c.post(ctx, &m, data)
	returned = true
	c.settle(ctx, receipt, err)
	return msgID, err
}

// SendReserved sends m on a grant reserved earlier with Reserve: it checks
// m as SendSubscribe does, consumes no grant and settles nothing. The
// caller settles r by the outcome, with Settle(ctx, r, SettlementFor(err)),
// or keeps it reserved to send again after a failure that may be retried.
// r must be a receipt for m's user and template (ErrInvalidMessage).
func (c *Client) SendReserved(ctx context.Context, m SubscribeMessage, r store.Receipt) (msgID string, err error) {
	data, err := c.checkSubscribe(&m)
	if err != nil {
		return "", err
	}
	if r.OpenID != m.ToUser || r.TemplateID != m.TemplateID {
		return "", fmt.Errorf("%w: the receipt is for %s/%s, not the message's %s/%s",
			ErrInvalidMessage, r.OpenID, r.TemplateID, m.ToUser, m.TemplateID)
	}
	return c.post(ctx, &m, data)
}

// ValidateSubscribe checks m as SendSubscribe does before any call: the
// required fields, the enumerations and the data by keyword type. It
// returns nil, or an error wrapping ErrInvalidMessage or ErrInvalidData.
func (c *Client) ValidateSubscribe(m SubscribeMessage) error {
	_, err := c.checkSubscribe(&m)
	return err
}

// post makes the send call for a checked message.
func (c *Client) post(ctx context.Context, m *SubscribeMessage, data map[string]string) (string, error) {
	rb := getReqBuf()
	defer rb.release()
	rb.b = appendSubscribe(rb.b, m, data)
	var out sendAnswer
	err := c.call(ctx, &apiRequest{
		method: http.MethodPost, path: pathSubscribeSend, body: rb, contentType: "application/json", auth: true,
	}, &out)
	if err != nil {
		return "", err
	}
	return string(out.MsgID), nil
}

// checkSubscribe validates m and returns its data, truncated when the
// Client truncates.
func (c *Client) checkSubscribe(m *SubscribeMessage) (map[string]string, error) {
	switch {
	case m.ToUser == "":
		return nil, fmt.Errorf("%w: ToUser is empty", ErrInvalidMessage)
	case m.TemplateID == "":
		return nil, fmt.Errorf("%w: TemplateID is empty", ErrInvalidMessage)
	}
	if err := checkStateLang(m.MiniProgramState, m.Lang); err != nil {
		return nil, err
	}
	return checkData(m.Data, c.truncate)
}

func checkStateLang(state, lang string) error {
	switch state {
	case "", StateDeveloper, StateTrial, StateFormal:
	default:
		return fmt.Errorf("%w: MiniProgramState %q is not developer, trial or formal", ErrInvalidMessage, state)
	}
	switch lang {
	case "", LangZhCN, LangEnUS, LangZhHK, LangZhTW:
	default:
		return fmt.Errorf("%w: Lang %q is not zh_CN, en_US, zh_HK or zh_TW", ErrInvalidMessage, lang)
	}
	return nil
}

// appendSubscribe encodes the send request body. Keys are sorted so the
// body is deterministic.
func appendSubscribe(b []byte, m *SubscribeMessage, data map[string]string) []byte {
	b = append(b, `{"touser":`...)
	b = jsonstr.Append(b, m.ToUser)
	b = append(b, `,"template_id":`...)
	b = jsonstr.Append(b, m.TemplateID)
	if m.Page != "" {
		b = append(b, `,"page":`...)
		b = jsonstr.Append(b, m.Page)
	}
	if m.MiniProgramState != "" {
		b = append(b, `,"miniprogram_state":`...)
		b = jsonstr.Append(b, m.MiniProgramState)
	}
	if m.Lang != "" {
		b = append(b, `,"lang":`...)
		b = jsonstr.Append(b, m.Lang)
	}
	b = append(b, `,"data":`...)
	b = appendData(b, data)
	return append(b, '}')
}

// appendData encodes keyword → value as {"k":{"value":"v"},…}, keys sorted.
func appendData(b []byte, data map[string]string) []byte {
	var small [16]string
	keys := small[:0]
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, k)
		b = append(b, `:{"value":`...)
		b = jsonstr.Append(b, data[k])
		b = append(b, '}')
	}
	return append(b, '}')
}
