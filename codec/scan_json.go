package codec

import (
	"bytes"
	"fmt"
)

// maxJSONDepth bounds the nesting of JSON bodies. WeChat's deepest shape
// ({"SubscribeMsgSentEvent": {"List": [{...}]}}) has four levels; the bound
// leaves room for unknown fields and keeps hostile bodies from reaching a
// recursive decoder.
const maxJSONDepth = 64

// jsonBody is a JSON body checked by prepareJSON.
type jsonBody struct {
	// in is the text to decode: the body itself, or a copy of it with
	// trailing commas blanked.
	in []byte
	// items are the values of the top-level keys that hold items, in the
	// order of itemKeys; nil where absent.
	items [len(itemKeys)][]byte
}

// jsonSpecial marks the bytes prepareJSON stops at outside strings.
var jsonSpecial = func() (t [256]bool) {
	for _, c := range []byte(`"{}[],:`) {
		t[c] = true
	}
	return t
}()

// prepareJSON checks s before goccy/go-json decodes it, in one pass: it
// must be an object, nested at most maxJSONDepth deep, with balanced
// brackets and terminated strings. On the way it blanks trailing commas
// before closing brackets (in a copy: s is never written) and notes where
// the values of the item keys are, which no struct can describe.
func prepareJSON(s []byte) (jsonBody, error) {
	var body jsonBody
	i := skipJSONSpace(s, skipBOM(s))
	if i == len(s) || s[i] != '{' {
		return body, malformed("json", i, "body is not a JSON object")
	}
	start := i
	var (
		fixed []byte
		depth int
		// The top-level member being read: whether its key is still to
		// come, the index in itemKeys of its key (or -1), and where its
		// value starts.
		expectKey  bool
		item       = -1
		valueStart int
		spans      [len(itemKeys)][2]int
	)
	for ; i < len(s); i++ {
		c := s[i]
		if !jsonSpecial[c] {
			continue
		}
		switch c {
		case '"':
			end := stringEnd(s, i)
			if end < 0 {
				return body, malformed("json", i, "unterminated string")
			}
			if depth == 1 && expectKey {
				expectKey, item = false, matchKey(s[i+1:end], itemKeys[:])
			}
			i = end
			continue
		case ':':
			if depth == 1 {
				valueStart = i + 1
			}
			continue
		case '{', '[':
			depth++
			if depth > maxJSONDepth {
				return body, malformed("json", i, fmt.Sprintf("nested deeper than %d levels", maxJSONDepth))
			}
			expectKey = depth == 1
			continue
		case '}', ']':
			depth--
			if depth < 0 {
				return body, malformed("json", i, "unbalanced "+string(c))
			}
			// A comma with a value before it and only white space after
			// it is a trailing comma.
			if p := lastNonSpace(s, i); s[p] == ',' && endsValue(s[lastNonSpace(s, p)]) {
				if fixed == nil {
					fixed = bytes.Clone(s)
				}
				fixed[p] = ' '
			}
		}
		// A ',' at depth 1 or the final '}' ends a top-level member.
		if c == ',' && depth == 1 || c == '}' && depth == 0 {
			if item >= 0 {
				spans[item] = [2]int{valueStart, i}
			}
			expectKey, item = c == ',', -1
		}
	}
	if depth != 0 {
		return body, malformed("json", len(s), "unterminated object or array")
	}
	body.in = s
	if fixed != nil {
		body.in = fixed
	}
	for k, sp := range spans {
		if v := trimJSONSpace(body.in[sp[0]:sp[1]]); len(v) > 0 {
			body.items[k] = v
		}
	}
	body.in = body.in[start:]
	return body, nil
}

// lastNonSpace returns the offset of the last byte before i that is not
// white space. prepareJSON calls it only after the opening '{', so it
// always finds one.
func lastNonSpace(s []byte, i int) int {
	i--
	for i > 0 && isXMLSpace(s[i]) {
		i--
	}
	return i
}

// stringEnd returns the offset of the quote that closes the JSON string
// opening at s[open], or -1.
func stringEnd(s []byte, open int) int {
	for j := open + 1; ; j++ {
		k := bytes.IndexByte(s[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		backslashes := 0
		for b := j - 1; b > open && s[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j
		}
	}
}

// endsValue reports whether a token ending in c can end a JSON value, so
// that a comma after it is a trailing comma and not an empty element.
func endsValue(c byte) bool {
	switch c {
	case 0, '{', '[', ',', ':':
		return false
	}
	return true
}

// trimJSONSpace drops JSON white space from both ends of b.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// skipJSONSpace returns the offset of the first byte from i on that is not
// JSON white space.
func skipJSONSpace(s []byte, i int) int {
	for i < len(s) && isXMLSpace(s[i]) {
		i++
	}
	return i
}
