package codec

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/goccy/go-json"
)

// itemKeys are the top-level keys that hold items, in the order their
// items are appended: the three event keys, then List.
var itemKeys = [...]string{"SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent", "List"}

// appendItemsOf appends the items of v, the value of itemKeys[key] in the
// push m (whose other fields are set). A top-level List holds items in the
// subscription events, and is read strictly there and in a push that names
// no other kind. Another kind of push may use List for something else
// (a push of a kind this package does not know must reach the handlers'
// fallback hook with its raw fields, never fail to decode): there a List
// that is not items adds none, and stays in Raw for Fields.
func appendItemsOf(m *Message, items []SubscribeItem, v []byte, key int) ([]SubscribeItem, error) {
	eventKey := key < len(itemKeys)-1
	more, err := appendJSONItems(items, v, eventKey)
	if err != nil && !eventKey && !listHoldsItems(m) {
		return items, nil
	}
	return more, err
}

// listHoldsItems reports whether a top-level List in m must hold
// subscription items: m is a subscription event, an event without a name,
// or names no kind at all.
func listHoldsItems(m *Message) bool {
	switch m.Event {
	case EventSubscribePopup, EventSubscribeChange, EventSubscribeSent:
		return true
	case "":
		return m.MsgType == "" || m.MsgType == MsgTypeEvent
	}
	return false
}

// matchKey returns the index of the name that the raw key matches, as
// encoding/json matches struct fields (exactly, else ignoring case), or -1.
func matchKey(raw []byte, names []string) int {
	if bytes.IndexByte(raw, '\\') >= 0 || !isASCII(raw) {
		return matchKeySlow(raw, names)
	}
	fold := -1
	for i, name := range names {
		if string(raw) == name {
			return i
		}
		if fold < 0 && equalFoldASCII(raw, name) {
			fold = i
		}
	}
	return fold
}

// matchKeySlow is matchKey for keys with escapes or non-ASCII bytes,
// which may fold to ASCII names (as the Kelvin sign folds to k).
func matchKeySlow(raw []byte, names []string) int {
	key, err := jsonString(raw)
	if err != nil {
		return -1
	}
	fold := -1
	for i, name := range names {
		if key == name {
			return i
		}
		if fold < 0 && strings.EqualFold(key, name) {
			fold = i
		}
	}
	return fold
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether ASCII b equals ASCII name ignoring case.
func equalFoldASCII(b []byte, name string) bool {
	if len(b) != len(name) {
		return false
	}
	for i, c := range b {
		n := name[i]
		if c == n {
			continue
		}
		if c|0x20 != n|0x20 || c|0x20 < 'a' || c|0x20 > 'z' {
			return false
		}
	}
	return true
}

// appendJSONItems appends the items in v, the value of an item key: null,
// one item as an object, or an array of items. Under an event key, an
// object is not an item but holds the items in its List member.
func appendJSONItems(items []SubscribeItem, v []byte, eventKey bool) ([]SubscribeItem, error) {
	switch v[0] {
	case 'n':
		return items, nil
	case '[':
		arr := newJSONArray(v)
		for {
			elem, done, err := arr.next()
			if err != nil {
				return items, jsonError(err)
			}
			if done {
				return items, nil
			}
			if items, err = appendJSONItem(items, elem); err != nil {
				return items, err
			}
		}
	case '{':
		if !eventKey {
			return appendJSONItem(items, v)
		}
		obj, err := newJSONObject(v)
		if err != nil {
			return items, jsonError(err)
		}
		var list []byte
		for {
			key, value, done, err := obj.next()
			if err != nil {
				return items, jsonError(err)
			}
			if done {
				break
			}
			if matchKey(key, itemKeys[len(itemKeys)-1:]) == 0 {
				list = value
			}
		}
		if list == nil {
			return items, nil
		}
		return appendJSONItems(items, list, false)
	}
	return items, fmt.Errorf("%w: json: items are %.10q, neither an object nor an array", ErrMalformed, v)
}

// appendJSONItem decodes the item object v and appends it.
func appendJSONItem(items []SubscribeItem, v []byte) ([]SubscribeItem, error) {
	if v[0] == 'n' { // null, as goccy/go-json checked
		return items, nil
	}
	if v[0] != '{' {
		return items, fmt.Errorf("%w: json: item is %.10q, not an object", ErrMalformed, v)
	}
	var j jsonItem[json.Number]
	if err := json.UnmarshalOf(v, &j, json.DecodeNoCopyString()); err != nil {
		var flex jsonItem[flexNumber]
		if err := json.UnmarshalOf(v, &flex, json.DecodeNoCopyString()); err != nil {
			return items, jsonError(err)
		}
		j = jsonItem[json.Number]{
			TemplateID: flex.TemplateID, Status: flex.Status, PopupScene: json.Number(flex.PopupScene),
			MsgID: json.Number(flex.MsgID), MsgId: json.Number(flex.MsgId),
			ErrorCode: json.Number(flex.ErrorCode), ErrorStatus: flex.ErrorStatus,
		}
	}
	return appendItem(items, &j)
}

// appendItem checks j's numbers and appends it as a SubscribeItem. An item
// whose fields are all zero (such as null or {}) carries nothing and is
// left out.
func appendItem(items []SubscribeItem, j *jsonItem[json.Number]) ([]SubscribeItem, error) {
	it := SubscribeItem{TemplateID: j.TemplateID, Status: j.Status, ErrorStatus: j.ErrorStatus}
	var err error
	if it.PopupScene, err = parseInt(string(j.PopupScene)); err != nil {
		return items, fmt.Errorf("%w: json: PopupScene: %v", ErrMalformed, err)
	}
	if it.ErrorCode, err = parseInt(string(j.ErrorCode)); err != nil {
		return items, fmt.Errorf("%w: json: ErrorCode: %v", ErrMalformed, err)
	}
	if it.MsgID, err = jsonID(j.MsgID, j.MsgId); err != nil {
		return items, err
	}
	if it == (SubscribeItem{}) {
		return items, nil
	}
	return append(items, it), nil
}
