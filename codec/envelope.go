package codec

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Envelope is the outer body of an encrypted push: the ciphertext, and the
// mini-program it is addressed to. In compatible mode the body carries the
// plaintext fields too; the Envelope leaves them out.
type Envelope struct {
	ToUserName string
	Encrypt    string
}

// DecodeEnvelope reads the envelope of an encrypted push, XML or JSON as
// DetectFormat tells, into env, which it resets first.
//
// It reads what checking msg_signature needs and no more, because the
// envelope is read before anything proves that the body comes from WeChat:
// the root's ToUserName and Encrypt, found in one pass over the body in
// constant memory (strings with entities or escapes excepted, which are
// decoded into a copy of their own size). Every other member is skipped
// unread: the plaintext fields of a compatible-mode body, and any
// subscription items, are neither decoded nor gathered. The skipped parts
// must still be well-formed XML, or JSON nested at most 64 deep, so every
// body Decode accepts is accepted, with the same ToUserName and Encrypt;
// a body Decode refuses only for the content of a skipped member (a
// malformed item, say) is accepted here, since nothing of it is used.
// Errors wrap ErrMalformed.
//
// Unlike Decode it copies nothing of a plain envelope: env's strings share
// memory with body, and are valid only while body is not modified. Clone
// them (strings.Clone) to keep them longer.
func DecodeEnvelope(body []byte, env *Envelope) error {
	*env = Envelope{}
	f, err := DetectFormat(body)
	if err != nil {
		return err
	}
	var e Envelope
	if f == XML {
		err = decodeXMLEnvelope(unsafeString(body), &e)
	} else {
		err = decodeJSONEnvelope(body, &e)
	}
	if err != nil {
		return err
	}
	*env = e
	return nil
}

// decodeXMLEnvelope reads ToUserName and Encrypt from the children of the
// root of s, as decodeXML reads them, and skips every other element.
func decodeXMLEnvelope(s string, env *Envelope) error {
	d := newXMLScanner(s)
	empty, err := d.openRoot()
	if err != nil {
		return err
	}
	for !empty {
		name, emptyChild, done, err := d.child("xml")
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch name {
		case "ToUserName":
			env.ToUserName, err = d.value(name, emptyChild)
		case "Encrypt":
			env.Encrypt, err = d.value(name, emptyChild)
		default:
			if !emptyChild {
				err = d.skip(name)
			}
		}
		if err != nil {
			return err
		}
	}
	return d.finish()
}

// envelopeKeys are the JSON members an envelope reads.
var envelopeKeys = []string{"ToUserName", "Encrypt"}

// decodeJSONEnvelope reads ToUserName and Encrypt from the top-level
// object s, keys matched as goccy/go-json matches struct fields (exactly,
// else ignoring case; the last match wins), and skips every other value
// without decoding it.
func decodeJSONEnvelope(s []byte, env *Envelope) error {
	i := skipJSONSpace(s, skipBOM(s))
	if i == len(s) || s[i] != '{' {
		return malformed("json", i, "body is not a JSON object")
	}
	i = skipJSONSpace(s, i+1)
	for {
		if i == len(s) {
			return malformed("json", i, "unterminated object")
		}
		if s[i] == '}' {
			i++
			break
		}
		if s[i] != '"' {
			return malformed("json", i, "object key is not a string")
		}
		end := stringEnd(s, i)
		if end < 0 {
			return malformed("json", i, "unterminated string")
		}
		key := s[i+1 : end]
		i = skipJSONSpace(s, end+1)
		if i == len(s) || s[i] != ':' {
			return malformed("json", i, "missing ':' after object key")
		}
		start := skipJSONSpace(s, i+1)
		end, err := skipEnvelopeValue(s, start)
		if err != nil {
			return err
		}
		if k := matchKey(key, envelopeKeys); k >= 0 {
			v, err := envelopeString(s[start:end], start)
			if err != nil {
				return err
			}
			if k == 0 {
				env.ToUserName = v
			} else {
				env.Encrypt = v
			}
		}
		i = skipJSONSpace(s, end)
		switch {
		case i < len(s) && s[i] == ',':
			// A trailing comma before the closing brace is accepted,
			// as Decode accepts it.
			i = skipJSONSpace(s, i+1)
		case i < len(s) && s[i] == '}':
		default:
			return malformed("json", i, "missing ',' or '}' after object member")
		}
	}
	if i = skipJSONSpace(s, i); i != len(s) {
		return malformed("json", i, "content after the top-level object")
	}
	return nil
}

// envelopeString decodes v, the value of an envelope member at offset
// off: a string, or null for "". A plain string is returned without
// copying.
func envelopeString(v []byte, off int) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	if v[0] != '"' {
		return "", malformed("json", off, fmt.Sprintf("%.10q is not a string", v))
	}
	raw := v[1 : len(v)-1]
	for _, c := range raw {
		if c < 0x20 {
			return "", malformed("json", off, "control character in a string")
		}
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return unsafeString(raw), nil
	}
	return jsonString(raw)
}

// skipEnvelopeValue returns the offset just past the JSON value at s[i],
// which it checks no further than an envelope needs: strings terminated,
// brackets matched and nested at most maxJSONDepth deep, and every other
// token made of the bytes of a literal or a number. It does not recurse,
// and it uses no memory beyond a fixed stack.
func skipEnvelopeValue(s []byte, i int) (int, error) {
	if i == len(s) {
		return 0, malformed("json", i, "missing value")
	}
	switch s[i] {
	case '"':
		end := stringEnd(s, i)
		if end < 0 {
			return 0, malformed("json", i, "unterminated string")
		}
		return end + 1, nil
	case '{', '[':
	default:
		j := i
		for j < len(s) && literalByte[s[j]] {
			j++
		}
		if j == i {
			return 0, malformed("json", i, fmt.Sprintf("unexpected %q", s[i]))
		}
		return j, nil
	}
	var stack [maxJSONDepth]byte // the closing bracket of each open one
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"':
			end := stringEnd(s, i)
			if end < 0 {
				return 0, malformed("json", i, "unterminated string")
			}
			i = end
		case '{', '[':
			if depth == len(stack) {
				return 0, malformed("json", i, fmt.Sprintf("nested deeper than %d levels", maxJSONDepth))
			}
			stack[depth] = c + 2 // '{'+2 is '}', '['+2 is ']'
			depth++
		case '}', ']':
			depth--
			if stack[depth] != c {
				return 0, malformed("json", i, "unbalanced "+string(c))
			}
			if depth == 0 {
				return i + 1, nil
			}
		case ',', ':', ' ', '\t', '\r', '\n':
		default:
			if !literalByte[c] {
				return 0, malformed("json", i, fmt.Sprintf("unexpected %q", c))
			}
		}
		i++
	}
	return 0, malformed("json", i, "unterminated value")
}

// literalByte marks the bytes of JSON's literals (true, false, null) and
// numbers.
var literalByte = func() (t [256]bool) {
	for _, c := range []byte("truefalsn0123456789+-.eE") {
		t[c] = true
	}
	return t
}()
