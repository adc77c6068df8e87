package redis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxsub/wxsub/store"
)

// errCorrupt reports a stored value this package did not write.
var errCorrupt = errors.New("wxsub/store/redis: corrupt value")

// decodeRecord turns a record's stored fields into a Grant. pttl is the
// key's PTTL in ms (-1: no expiry) measured at now.
func decodeRecord(openID, templateID, n, lt string, pttl int64, now time.Time) (store.Grant, error) {
	count, err := strconv.ParseInt(n, 10, 64)
	if err != nil || count < 0 {
		return store.Grant{}, fmt.Errorf("%w: grant count %q", errCorrupt, n)
	}
	g := store.Grant{OpenID: openID, TemplateID: templateID, Remaining: count}
	switch lt {
	case "1":
		g.LongTerm = true
	case "0":
	default:
		return store.Grant{}, fmt.Errorf("%w: long-term flag %q", errCorrupt, lt)
	}
	switch {
	case pttl == -1:
	case pttl >= 0:
		// A TTL beyond time.Duration's range (292 years) is reported as
		// the longest one that fits.
		g.ExpiresAt = now.Add(time.Duration(min(pttl, maxTTLms)) * time.Millisecond)
	default:
		return store.Grant{}, fmt.Errorf("%w: PTTL %d", errCorrupt, pttl)
	}
	return g, nil
}

// maxTTLms is the largest PTTL that fits a time.Duration.
const maxTTLms = int64(1<<63-1) / int64(time.Millisecond)

// decodeList turns listLua's flat reply into Grants.
func decodeList(openID string, reply any, now time.Time) ([]store.Grant, error) {
	items, ok := reply.([]any)
	if !ok || len(items)%4 != 0 {
		return nil, fmt.Errorf("%w: list reply of type %T", errCorrupt, reply)
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]store.Grant, 0, len(items)/4)
	for i := 0; i < len(items); i += 4 {
		tmpl, ok1 := items[i].(string)
		n, ok2 := items[i+1].(string)
		lt, ok3 := items[i+2].(string)
		pttl, ok4 := items[i+3].(int64)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("%w: list entry %v", errCorrupt, items[i:i+4])
		}
		g, err := decodeRecord(openID, tmpl, n, lt, pttl, now)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// encodeToken stores a token as "<ExpiresAt in unix ms>:<access token>".
func encodeToken(t store.Token) string {
	return strconv.FormatInt(t.ExpiresAt.UnixMilli(), 10) + ":" + t.AccessToken
}

// decodeToken reverses encodeToken.
func decodeToken(v string) (store.Token, error) {
	ms, tok, ok := strings.Cut(v, ":")
	if !ok || tok == "" {
		return store.Token{}, fmt.Errorf("%w: token value without expiry", errCorrupt)
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return store.Token{}, fmt.Errorf("%w: token expiry %q", errCorrupt, ms)
	}
	return store.Token{AccessToken: tok, ExpiresAt: time.UnixMilli(n)}, nil
}
