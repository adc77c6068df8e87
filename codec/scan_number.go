package codec

import (
	"errors"
	"strconv"
)

// parseInt parses a decimal integer with an optional sign, tolerating white
// space around it. Empty text is 0, as encoding/xml reads an empty element.
func parseInt(t string) (int64, error) {
	t = trimXMLSpace(t)
	if t == "" {
		return 0, nil
	}
	neg := false
	switch t[0] {
	case '-':
		neg, t = true, t[1:]
	case '+':
		t = t[1:]
	}
	if t == "" {
		return 0, errors.New("sign without digits")
	}
	var n uint64
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, errors.New("not an integer: " + quoteShort(t))
		}
		if n > (1<<63)/10 {
			return 0, errors.New("integer out of range: " + quoteShort(t))
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63 {
			return 0, errors.New("integer out of range: " + quoteShort(t))
		}
	}
	if neg {
		return -int64(n), nil
	}
	if n > 1<<63-1 {
		return 0, errors.New("integer out of range: " + quoteShort(t))
	}
	return int64(n), nil
}

// parseID checks a message id: decimal digits, kept as text so that no
// 64-bit id passes through a float. White space around it is dropped.
func parseID(t string) (string, error) {
	t = trimXMLSpace(t)
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < '0' || c > '9' {
			return "", errors.New("message id is not decimal digits: " + quoteShort(t))
		}
	}
	return t, nil
}

// trimXMLSpace drops XML white space from both ends of t.
func trimXMLSpace(t string) string {
	for t != "" && isXMLSpace(t[0]) {
		t = t[1:]
	}
	for t != "" && isXMLSpace(t[len(t)-1]) {
		t = t[:len(t)-1]
	}
	return t
}

// quoteShort quotes t for an error message, cut to a readable length.
func quoteShort(t string) string {
	const max = 40
	if len(t) > max {
		t = t[:max] + "..."
	}
	return strconv.Quote(t)
}
