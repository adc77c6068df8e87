package codec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
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
// constant memory; a last ToUserName or Encrypt with entities or escapes
// is decoded into a copy of its own size. Every other member is skipped
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
	rootEmpty, err := d.openRoot()
	if err != nil {
		return err
	}
	// Where the last ToUserName and Encrypt start (0: none), and whether
	// they are self-closing. They are read once the whole body has been
	// checked, so that only the last of repeated elements is decoded (a
	// text with entities is decoded into a copy).
	var (
		at    [len(envelopeKeys)]int
		empty [len(envelopeKeys)]bool
	)
	for !rootEmpty {
		name, emptyChild, done, err := d.child("xml")
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch name {
		case envelopeKeys[0]:
			at[0], empty[0] = d.pos, emptyChild
		case envelopeKeys[1]:
			at[1], empty[1] = d.pos, emptyChild
		}
		if !emptyChild {
			if err := d.skip(name); err != nil {
				return err
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	for k, pos := range at {
		if pos == 0 {
			continue
		}
		field := d
		field.pos = pos
		v, err := field.value(envelopeKeys[k], empty[k])
		if err != nil {
			return err
		}
		if k == 0 {
			env.ToUserName = v
		} else {
			env.Encrypt = v
		}
	}
	return nil
}

// envelopeKeys are the members an envelope reads.
var envelopeKeys = [...]string{"ToUserName", "Encrypt"}

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
	// The values of the last ToUserName and Encrypt members (nil: none).
	// Each matching value is checked as it comes; only the last ones are
	// decoded, once the whole body has been checked, so that repeated
	// members with escapes cost no more than one copy.
	var values [len(envelopeKeys)][]byte
	var offsets [len(envelopeKeys)]int
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
		if k := envelopeKey(key); k >= 0 {
			if err := checkEnvelopeString(s[start:end], start); err != nil {
				return err
			}
			values[k], offsets[k] = s[start:end], start
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
	for k, v := range values {
		if v == nil || string(v) == "null" {
			continue
		}
		raw := v[1 : len(v)-1]
		str := unsafeString(raw) // a plain string is not copied
		if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
			var err error
			if str, err = jsonString(raw); err != nil {
				return malformed("json", offsets[k], "bad string: "+err.Error())
			}
		}
		if k == 0 {
			env.ToUserName = str
		} else {
			env.Encrypt = str
		}
	}
	return nil
}

// checkEnvelopeString checks v, the value of an envelope member at offset
// off: a string without control characters, or null.
func checkEnvelopeString(v []byte, off int) error {
	if string(v) == "null" {
		return nil
	}
	if v[0] != '"' {
		return malformed("json", off, fmt.Sprintf("%.10q is not a string", v))
	}
	for _, c := range v[1 : len(v)-1] {
		if c < 0x20 {
			return malformed("json", off, "control character in a string")
		}
	}
	return nil
}

// envelopeKey returns the index in envelopeKeys of the name the raw key
// (between its quotes) matches, as matchKey does, or -1. Unlike matchKey
// it never allocates: a key with escapes is decoded into a small array, and
// one too long to decode to either name does not match.
func envelopeKey(raw []byte) int {
	if bytes.IndexByte(raw, '\\') < 0 && isASCII(raw) {
		return matchKey(raw, envelopeKeys[:])
	}
	// A rune of a name (or one that folds to it, such as the Kelvin sign
	// for k) takes at most 6 bytes of JSON (\uXXXX) and 3 of UTF-8.
	var buf [6 * 10]byte
	if len(raw) > len(buf) {
		return -1
	}
	key := buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			key = append(key, c)
			i++
			continue
		}
		if i+1 == len(raw) {
			return -1
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			key = append(key, e)
			i += 2
		case 'b', 'f', 'n', 'r', 't':
			key = append(key, ' ') // a control character matches no name
			i += 2
		case 'u':
			if i+6 > len(raw) {
				return -1
			}
			r, ok := hex4(raw[i+2 : i+6])
			if !ok || utf16.IsSurrogate(r) {
				return -1 // a surrogate is no rune of a name
			}
			key = utf8.AppendRune(key, r)
			i += 6
		default:
			return -1
		}
	}
	fold := -1
	for k, name := range envelopeKeys {
		if string(key) == name {
			return k
		}
		if fold < 0 && strings.EqualFold(string(key), name) {
			fold = k
		}
	}
	return fold
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

// hex4 parses the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
