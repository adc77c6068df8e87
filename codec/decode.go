package codec

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every decoding error: the body is not XML or
// JSON of the shape WeChat pushes. The wrapping error gives the reason and,
// for XML, the byte offset.
var ErrMalformed = errors.New("codec: malformed body")

func malformed(format string, offset int, reason string) error {
	return fmt.Errorf("%w: %s at byte %d: %s", ErrMalformed, format, offset, reason)
}

// utf8BOM is the byte order mark some tools put before a body.
const utf8BOM = "\xef\xbb\xbf"

// DetectFormat tells XML from JSON by the body itself, from its first byte
// after white space (and a UTF-8 byte order mark): '<' is XML and '{' is
// JSON. The Content-Type header is not consulted: WeChat's does not always
// match the configured format.
func DetectFormat(body []byte) (Format, error) {
	for i := skipBOM(body); i < len(body); i++ {
		switch body[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '<':
			return XML, nil
		case '{':
			return JSON, nil
		}
		return 0, malformed("body", i, fmt.Sprintf("starts with %q, neither XML nor a JSON object", body[i]))
	}
	return 0, fmt.Errorf("%w: empty body", ErrMalformed)
}

// skipBOM returns 3 when b starts with a UTF-8 byte order mark, else 0.
func skipBOM[T string | []byte](b T) int {
	if len(b) >= 3 && string(b[:3]) == utf8BOM {
		return 3
	}
	return 0
}

// Decode decodes a push body, XML or JSON as DetectFormat tells, into m,
// which it resets first. An envelope (safe mode) decodes the same way, with
// its ciphertext in m.Encrypt. On error m is left zero.
//
// If m.Items is empty but has capacity, the items are stored in its backing
// array when they fit, so that a caller can provide their memory along
// with m's; otherwise they get a slice of their own. A push without items
// leaves m.Items nil either way.
func Decode(body []byte, m *Message) error {
	f, err := DetectFormat(body)
	if err != nil {
		*m = Message{}
		return err
	}
	if f == XML {
		return DecodeXML(body, m)
	}
	return DecodeJSON(body, m)
}

// decodeString decodes s like Decode decodes body, with s itself as m.Raw.
func decodeString(s string, m *Message) error {
	f, err := DetectFormat(readOnlyBytes(s))
	if err != nil {
		*m = Message{}
		return err
	}
	*m = Message{Raw: s, Format: f, Items: spareItems(m)}
	if f == XML {
		err = decodeXML(s, m)
	} else {
		err = decodeJSON(readOnlyBytes(s), m)
	}
	if err != nil {
		*m = Message{}
	}
	return err
}

// spareItems returns m.Items if the caller left it empty, so that the
// items to come can use its backing array (see Decode), else nil.
func spareItems(m *Message) []SubscribeItem {
	if len(m.Items) == 0 {
		return m.Items
	}
	return nil
}

// setItems stores items in m.Items: in the backing array spareItems kept
// when they fit, else in a new slice of their exact length. No items leave
// m.Items nil.
func setItems(m *Message, items []SubscribeItem) {
	switch {
	case len(items) == 0:
		m.Items = nil
	case len(items) <= cap(m.Items):
		m.Items = append(m.Items[:0], items...)
	default:
		m.Items = append(make([]SubscribeItem, 0, len(items)), items...)
	}
}
