package codec

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// appendText appends XML character data t to b with its entity and
// character references decoded and its line ends normalized. It knows the
// five predefined entities and numeric references; anything else is an
// error, as in encoding/xml's strict mode.
func appendText(b []byte, t string) ([]byte, error) {
	for {
		i := strings.IndexByte(t, '&')
		if i < 0 {
			return appendNormalized(b, t), nil
		}
		b = appendNormalized(b, t[:i])
		t = t[i+1:]
		semi := strings.IndexByte(t, ';')
		if semi < 0 {
			return b, errors.New("entity without ';'")
		}
		ref := t[:semi]
		t = t[semi+1:]
		switch ref {
		case "lt":
			b = append(b, '<')
		case "gt":
			b = append(b, '>')
		case "amp":
			b = append(b, '&')
		case "quot":
			b = append(b, '"')
		case "apos":
			b = append(b, '\'')
		default:
			r, ok := charRef(ref)
			if !ok {
				return b, errors.New("unknown entity " + quoteShort("&"+ref+";"))
			}
			b = utf8.AppendRune(b, r)
		}
	}
}

// checkText reports the first bad entity or character reference in XML
// character data t, which appendText would reject, without decoding t.
func checkText(t string) error {
	for {
		i := strings.IndexByte(t, '&')
		if i < 0 {
			return nil
		}
		t = t[i+1:]
		semi := strings.IndexByte(t, ';')
		if semi < 0 {
			return errors.New("entity without ';'")
		}
		switch ref := t[:semi]; ref {
		case "lt", "gt", "amp", "quot", "apos":
		default:
			if _, ok := charRef(ref); !ok {
				return errors.New("unknown entity " + quoteShort("&"+ref+";"))
			}
		}
		t = t[semi+1:]
	}
}

// charRef decodes the body of a numeric character reference, "#65" or
// "#x41", to a character XML allows.
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, false
	}
	var r rune
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var v rune
		switch {
		case '0' <= c && c <= '9':
			v = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*base + v
		if r > utf8.MaxRune {
			return 0, false
		}
	}
	return r, isXMLChar(r)
}

// isXMLChar reports whether r is in XML's Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		0x20 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= 0xFFFD ||
		0x10000 <= r && r <= utf8.MaxRune
}

// appendNormalized appends t to b with "\r\n" and lone "\r" turned into
// "\n", as XML requires of every parser.
func appendNormalized(b []byte, t string) []byte {
	for {
		i := strings.IndexByte(t, '\r')
		if i < 0 {
			return append(b, t...)
		}
		b = append(b, t[:i]...)
		b = append(b, '\n')
		t = t[i+1:]
		if t != "" && t[0] == '\n' {
			t = t[1:]
		}
	}
}
