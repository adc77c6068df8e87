package codec

import "errors"

// jsonObject iterates over the members of a JSON object, which
// prepareJSON checked and goccy/go-json decoded, yielding each key's raw
// text (without quotes, escapes not decoded) and its value's text.
type jsonObject struct {
	s   []byte
	pos int
}

// newJSONObject starts iterating the object s, whose first byte after
// white space must be '{'.
func newJSONObject(s []byte) (jsonObject, error) {
	i := skipJSONSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return jsonObject{}, errors.New("not an object")
	}
	return jsonObject{s: s, pos: i + 1}, nil
}

// next returns the next member, or done at the closing brace.
func (o *jsonObject) next() (key, value []byte, done bool, err error) {
	s := o.s
	i := skipJSONSpace(s, o.pos)
	if i < len(s) && s[i] == ',' {
		i = skipJSONSpace(s, i+1)
	}
	if i == len(s) {
		return nil, nil, false, errors.New("unterminated object")
	}
	if s[i] == '}' {
		o.pos = i + 1
		return nil, nil, true, nil
	}
	if s[i] != '"' {
		return nil, nil, false, errors.New("object key is not a string")
	}
	end := stringEnd(s, i)
	if end < 0 {
		return nil, nil, false, errors.New("unterminated string")
	}
	key = s[i+1 : end]
	i = skipJSONSpace(s, end+1)
	if i == len(s) || s[i] != ':' {
		return nil, nil, false, errors.New("missing ':' after object key")
	}
	start := skipJSONSpace(s, i+1)
	end, err = skipJSONValue(s, start)
	if err != nil {
		return nil, nil, false, err
	}
	o.pos = end
	return key, s[start:end], false, nil
}

// jsonArray iterates over the elements of a JSON array.
type jsonArray struct {
	s   []byte
	pos int
}

// newJSONArray starts iterating the array s, which starts with '['.
func newJSONArray(s []byte) jsonArray {
	return jsonArray{s: s, pos: 1}
}

// next returns the next element, or done at the closing bracket.
func (a *jsonArray) next() (elem []byte, done bool, err error) {
	s := a.s
	i := skipJSONSpace(s, a.pos)
	if i < len(s) && s[i] == ',' {
		i = skipJSONSpace(s, i+1)
	}
	if i == len(s) {
		return nil, false, errors.New("unterminated array")
	}
	if s[i] == ']' {
		a.pos = i + 1
		return nil, true, nil
	}
	end, err := skipJSONValue(s, i)
	if err != nil {
		return nil, false, err
	}
	a.pos = end
	return s[i:end], false, nil
}

// skipJSONValue returns the offset just past the JSON value starting at
// s[i]. It counts brackets without recursion; prepareJSON has bounded
// their depth and checked their balance.
func skipJSONValue(s []byte, i int) (int, error) {
	depth := 0
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			end := stringEnd(s, i)
			if end < 0 {
				return 0, errors.New("unterminated string")
			}
			i = end
			if depth == 0 {
				return i + 1, nil
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, nil // the end of a literal at the end of its container
			}
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case ',', ' ', '\t', '\r', '\n':
			if depth == 0 {
				return i, nil
			}
		}
	}
	if depth != 0 {
		return 0, errors.New("unterminated value")
	}
	return i, nil
}
