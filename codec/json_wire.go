package codec

import (
	"bytes"
	"fmt"

	"github.com/goccy/go-json"
)

// jsonMessage is the JSON form of a push but its items. Numbers are N:
// json.Number, which goccy/go-json fills from a number or from a string
// holding one, without passing it through a float and without copying;
// or flexNumber, which takes any string too.
type jsonMessage[N ~string] struct {
	ToUserName   string `json:"ToUserName"`
	FromUserName string `json:"FromUserName"`
	CreateTime   N      `json:"CreateTime"`
	MsgType      string `json:"MsgType"`
	Event        string `json:"Event"`
	MsgID        N      `json:"MsgID"`
	MsgId        N      `json:"MsgId"` // WeChat's other spelling
	Content      string `json:"Content"`
	PicURL       string `json:"PicUrl"`
	MediaID      string `json:"MediaId"`
	Title        string `json:"Title"`
	AppID        string `json:"AppId"`
	PagePath     string `json:"PagePath"`
	ThumbURL     string `json:"ThumbUrl"`
	ThumbMediaID string `json:"ThumbMediaId"`
	SessionFrom  string `json:"SessionFrom"`
	Encrypt      string `json:"Encrypt"`
}

// fastItems is how many popup items jsonFast holds. A popup lists at most
// three templates, but a body with three takes the general path (see
// complete), so that the fast path serves the usual one or two.
const fastItems = 3

// jsonFast is a push whose popup items, if any, are in an array of fewer
// than fastItems items. The other item keys are kept raw.
type jsonFast struct {
	jsonMessage[json.Number]
	Popup  [fastItems]jsonItem[json.Number] `json:"SubscribeMsgPopupEvent"`
	Change json.RawMessage                  `json:"SubscribeMsgChangeEvent"`
	Sent   json.RawMessage                  `json:"SubscribeMsgSentEvent"`
	List   json.RawMessage                  `json:"List"`
}

// complete reports whether w holds what the general path would make of
// body, which has the given number of '{'.
//
//   - The popup array had fewer than fastItems elements. A fixed array
//     drops what does not fit without looking at it, so an array that
//     fills it may have had more elements, which the general path would
//     check (an element that is not an object is an error). An array that
//     does not fill it had no more: every element before the last slot
//     was a non-empty item (else it fails the brace count below), null
//     (the null check) or not an object (decoding fails).
//   - No item was dropped: each '{' outside the raw values is the top-level
//     object's or that of a popup item read into the array (a '{'
//     elsewhere, even in a string, only sends the body to the general
//     path).
//   - No null left items in place: decoding null into the array or into
//     one of its elements changes nothing, so a repeated popup key whose
//     last value is null or [null] would keep the first value's items,
//     where the general path, like encoding/json, takes the last value.
//     A body with popup items and "null" anywhere (even in a string) takes
//     the general path.
func (w *jsonFast) complete(body []byte, braces int) bool {
	read := 0
	for i := range w.Popup {
		if w.Popup[i] != (jsonItem[json.Number]{}) {
			read++
		}
	}
	if read == fastItems || read > 0 && containsNull(body) {
		return false
	}
	raw := bytes.Count(w.Change, []byte{'{'}) + bytes.Count(w.Sent, []byte{'{'}) + bytes.Count(w.List, []byte{'{'})
	return 1+read+raw == braces
}

// containsNull reports whether body holds the text null. It looks for
// 'l', which push bodies hold seldom, rather than for the frequent 'n'.
func containsNull(body []byte) bool {
	for i := 2; i+1 < len(body); i++ {
		j := bytes.IndexByte(body[i:len(body)-1], 'l')
		if j < 0 {
			return false
		}
		i += j
		if body[i+1] == 'l' && body[i-1] == 'u' && body[i-2] == 'n' {
			return true
		}
	}
	return false
}

// fill sets m from w.
func (w *jsonFast) fill(m *Message) error {
	if err := setFlat(m, &w.jsonMessage); err != nil {
		return err
	}
	var local [itemsOnStack]SubscribeItem
	items := local[:0]
	var err error
	for i := range w.Popup {
		if items, err = appendItem(items, &w.Popup[i]); err != nil {
			return err
		}
	}
	// The raw values are those of itemKeys[1:].
	for i, raw := range [...]json.RawMessage{w.Change, w.Sent, w.List} {
		if raw != nil {
			if items, err = appendItemsOf(m, items, raw, i+1); err != nil {
				return err
			}
		}
	}
	setItems(m, items)
	return nil
}

// jsonItem is the JSON form of one subscription item, with numbers as in
// jsonMessage.
type jsonItem[N ~string] struct {
	TemplateID  string `json:"TemplateId"`
	Status      string `json:"SubscribeStatusString"`
	PopupScene  N      `json:"PopupScene"`
	MsgID       N      `json:"MsgID"`
	MsgId       N      `json:"MsgId"` // WeChat's other spelling
	ErrorCode   N      `json:"ErrorCode"`
	ErrorStatus string `json:"ErrorStatus"`
}

// convert returns m with its numbers as json.Number.
func (m *jsonMessage[N]) convert() jsonMessage[json.Number] {
	return jsonMessage[json.Number]{
		ToUserName: m.ToUserName, FromUserName: m.FromUserName, CreateTime: json.Number(m.CreateTime),
		MsgType: m.MsgType, Event: m.Event, MsgID: json.Number(m.MsgID), MsgId: json.Number(m.MsgId),
		Content: m.Content, PicURL: m.PicURL, MediaID: m.MediaID, Title: m.Title, AppID: m.AppID,
		PagePath: m.PagePath, ThumbURL: m.ThumbURL, ThumbMediaID: m.ThumbMediaID,
		SessionFrom: m.SessionFrom, Encrypt: m.Encrypt,
	}
}

// flexNumber is a number, a string (which parseInt and parseID check
// later, allowing it empty or padded with white space) or null.
type flexNumber string

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexNumber) UnmarshalJSON(b []byte) error {
	switch c := firstByte(b); {
	case c == 'n':
		*n = ""
	case c == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = flexNumber(s)
	case c == '-' || '0' <= c && c <= '9':
		*n = flexNumber(bytes.TrimSpace(b))
	default:
		return fmt.Errorf("%.10q is not a number", b)
	}
	return nil
}

// firstByte returns the first byte of b after JSON white space, or 0.
func firstByte(b []byte) byte {
	if i := skipJSONSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}
