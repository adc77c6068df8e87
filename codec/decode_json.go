package codec

import (
	"bytes"
	"fmt"

	"github.com/goccy/go-json"
)

// DecodeJSON decodes a push in JSON into m, which it resets first.
//
// It takes every shape WeChat uses for subscription items: an array under
// the event key ("SubscribeMsgPopupEvent": [...]), an object holding List
// under it ({"List": {...}} or {"List": [...]}), and a top-level "List"
// holding one object or an array. Items are gathered in the order popup,
// change, sent, List; an item whose fields are all zero (null, {}) carries
// nothing and is left out.
//
// CreateTime, PopupScene and ErrorCode may be numbers or strings holding
// one (empty or padded with white space is tolerated). The message id may
// be spelled MsgID or MsgId (MsgID wins when both are present) and be a
// string or a bare number, kept as its exact decimal text, never passed
// through a float. Keys match as encoding/json matches struct fields:
// exactly, else ignoring case.
//
// Nesting deeper than 64 levels is rejected before decoding. A trailing
// comma before a closing brace or bracket, as in WeChat's own documentation
// sample, is accepted; any other syntax error returns an error wrapping
// ErrMalformed, and m is left zero. m's strings share memory with m.Raw,
// a single copy of body, except strings with escapes; m.Items may use
// memory the caller provided (see Decode).
func DecodeJSON(body []byte, m *Message) error {
	*m = Message{Raw: string(body), Format: JSON, Items: spareItems(m)}
	if err := decodeJSON(readOnlyBytes(m.Raw), m); err != nil {
		*m = Message{}
		return err
	}
	return nil
}

func decodeJSON(s []byte, m *Message) error {
	start := skipJSONSpace(s, skipBOM(s))
	if start == len(s) || s[start] != '{' {
		return malformed("json", start, "body is not a JSON object")
	}
	// Most pushes decode in one call of goccy/go-json, without allocating:
	// the popup event's items into a fixed array, and the other item keys,
	// which are rarer, as raw values for appendJSONItems. A body with
	// enough brackets to nest deeper than maxJSONDepth, one this shape does
	// not fit, and one whose objects are not all accounted for (the fixed
	// array could have dropped some) take the general path, which checks
	// before it decodes.
	in := s[start:]
	braces := bytes.Count(in, []byte{'{'})
	if braces+bytes.Count(in, []byte{'['}) <= maxJSONDepth {
		var w jsonFast
		if json.UnmarshalOf(in, &w, json.DecodeNoCopyString()) == nil && w.complete(in, braces) {
			return w.fill(m)
		}
	}
	return decodeJSONGeneral(s, m)
}

// decodeJSONGeneral decodes any shape DecodeJSON takes.
func decodeJSONGeneral(s []byte, m *Message) error {
	body, err := prepareJSON(s)
	if err != nil {
		return err
	}
	// goccy/go-json decodes the flat fields, and checks the whole body.
	// Its strings refer to body.in, which is m.Raw or a copy of it.
	var w jsonMessage[json.Number]
	if err := json.UnmarshalOf(body.in, &w, json.DecodeNoCopyString()); err != nil {
		// json.Number takes a number or a string holding one; an empty
		// or padded string takes the slower, more tolerant flexNumber.
		var flex jsonMessage[flexNumber]
		if err := json.UnmarshalOf(body.in, &flex, json.DecodeNoCopyString()); err != nil {
			return jsonError(err)
		}
		w = flex.convert()
	}
	if err := setFlat(m, &w); err != nil {
		return err
	}

	// The items take several shapes, which no struct describes:
	// prepareJSON found their values, and goccy/go-json decodes each item.
	// Items gather on the stack and are copied out once, in one
	// allocation of the exact size.
	var local [itemsOnStack]SubscribeItem
	items := local[:0]
	for i, span := range body.items {
		if span != nil {
			if items, err = appendItemsOf(m, items, span, i); err != nil {
				return err
			}
		}
	}
	setItems(m, items)
	return nil
}

// setFlat sets m's fields but the items from w.
func setFlat(m *Message, w *jsonMessage[json.Number]) error {
	var err error
	if m.CreateTime, err = parseInt(string(w.CreateTime)); err != nil {
		return fmt.Errorf("%w: json: CreateTime: %v", ErrMalformed, err)
	}
	if m.MsgID, err = jsonID(w.MsgID, w.MsgId); err != nil {
		return err
	}
	m.ToUserName = w.ToUserName
	m.FromUserName = w.FromUserName
	m.MsgType = w.MsgType
	m.Event = w.Event
	m.Content = w.Content
	m.PicURL = w.PicURL
	m.MediaID = w.MediaID
	m.Title = w.Title
	m.AppID = w.AppID
	m.PagePath = w.PagePath
	m.ThumbURL = w.ThumbURL
	m.ThumbMediaID = w.ThumbMediaID
	m.SessionFrom = w.SessionFrom
	m.Encrypt = w.Encrypt
	return nil
}

func jsonError(err error) error {
	return fmt.Errorf("%w: json: %w", ErrMalformed, err)
}

// jsonID returns the message id from either spelling, preferring MsgID.
func jsonID(upper, lower json.Number) (string, error) {
	t := upper
	if t == "" {
		t = lower
	}
	id, err := parseID(string(t))
	if err != nil {
		return "", fmt.Errorf("%w: json: %v", ErrMalformed, err)
	}
	return id, nil
}
