package codec

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/goccy/go-json"
)

// Fields returns every top-level field of m.Raw by name, for hooks that
// handle message types this package has no field for. Text and CDATA
// (XML) and strings (JSON) are decoded; an element with child elements
// gives its inner XML, and a JSON number, object, array or literal its
// JSON text. When a name occurs more than once, the last occurrence wins.
// m.Format selects the decoder; when it is zero, the format is detected.
func Fields(m *Message) (map[string]string, error) {
	f := m.Format
	if f == 0 {
		var err error
		if f, err = DetectFormat(readOnlyBytes(m.Raw)); err != nil {
			return nil, err
		}
	}
	switch f {
	case XML:
		return xmlFields(m.Raw)
	case JSON:
		return jsonFields(m.Raw)
	}
	return nil, fmt.Errorf("%w: unknown format %d", ErrMalformed, f)
}

func xmlFields(s string) (map[string]string, error) {
	d := newXMLScanner(s)
	empty, err := d.openRoot()
	if err != nil {
		return nil, err
	}
	fields := make(map[string]string)
	for !empty {
		name, emptyChild, done, err := d.child("xml")
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		if emptyChild {
			fields[name] = ""
			continue
		}
		start := d.pos
		t, nested, err := d.text(name)
		if err != nil {
			return nil, err
		}
		if nested {
			t = s[start:d.endTag]
		}
		fields[name] = t
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return fields, nil
}

func jsonFields(s string) (map[string]string, error) {
	body, err := prepareJSON(readOnlyBytes(s))
	if err != nil {
		return nil, err
	}
	in := body.in
	if !json.Valid(in) {
		// Decode to report where the syntax error is.
		var v any
		return nil, jsonError(json.Unmarshal(in, &v))
	}
	obj, err := newJSONObject(in)
	if err != nil {
		return nil, jsonError(err)
	}
	fields := make(map[string]string)
	for {
		key, value, done, err := obj.next()
		if err != nil {
			return nil, jsonError(err)
		}
		if done {
			return fields, nil
		}
		k, err := jsonString(key)
		if err != nil {
			return nil, err
		}
		v := string(value)
		if value[0] == '"' {
			if v, err = jsonString(value[1 : len(value)-1]); err != nil {
				return nil, err
			}
		}
		fields[k] = v
	}
}

// jsonString decodes the raw content of a JSON string (between quotes), as
// goccy/go-json decodes strings: escapes decoded, invalid UTF-8 replaced.
func jsonString(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), nil
	}
	var str string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &str); err != nil {
		return "", jsonError(err)
	}
	return str, nil
}
