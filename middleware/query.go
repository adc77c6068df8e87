package middleware

import (
	"net/url"
	"strings"
)

// query holds the parameters WeChat puts in the callback URL.
type query struct {
	signature    string
	timestamp    string
	nonce        string
	echostr      string
	encryptType  string
	msgSignature string
}

// parseQuery reads the parameters of raw, up to any '#', without building
// a map. Values are substrings of raw unless they hold an escape. A
// parameter given twice keeps its first value, as url.Values.Get does. It
// reports false when one of the parameters it reads is malformed; other
// parameters are ignored.
func parseQuery(raw string) (query, bool) {
	// A '#' starts a fragment, which is not part of the query: net/http
	// leaves one in URL.RawQuery, fasthttp cuts it off, and the route must
	// answer the same bytes alike whatever the server.
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	var q query
	var seen uint8
	// WeChat's queries hold no escapes: one search of the whole query
	// spares a check of every name and value.
	plain := strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0
	for raw != "" {
		pair := raw
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		key, value := pair, ""
		if i := strings.IndexByte(pair, '='); i >= 0 {
			key, value = pair[:i], pair[i+1:]
		}
		if !plain && escaped(key) {
			k, err := url.QueryUnescape(key)
			if err != nil {
				continue // not a name of ours
			}
			key = k
		}
		var dst *string
		var bit uint8
		switch key {
		case "signature":
			dst, bit = &q.signature, 1
		case "timestamp":
			dst, bit = &q.timestamp, 2
		case "nonce":
			dst, bit = &q.nonce, 4
		case "echostr":
			dst, bit = &q.echostr, 8
		case "encrypt_type":
			dst, bit = &q.encryptType, 16
		case "msg_signature":
			dst, bit = &q.msgSignature, 32
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		seen |= bit
		if !plain && escaped(value) {
			v, err := url.QueryUnescape(value)
			if err != nil {
				return query{}, false
			}
			value = v
		}
		*dst = value
	}
	return q, true
}

// escaped reports whether s holds a '%' escape or a '+' for a space.
func escaped(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}
