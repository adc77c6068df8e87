package redis

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

func TestDecodeRecord(t *testing.T) {
	now := time.Unix(1714037059, 0)
	tests := []struct {
		n, lt   string
		pttl    int64
		want    store.Grant
		wantErr bool
	}{
		{"3", "0", -1, store.Grant{OpenID: "u", TemplateID: "t", Remaining: 3}, false},
		{"0", "1", -1, store.Grant{OpenID: "u", TemplateID: "t", LongTerm: true}, false},
		{"9223372036854775807", "0", 1500, store.Grant{OpenID: "u", TemplateID: "t", Remaining: 1<<63 - 1,
			ExpiresAt: now.Add(1500 * time.Millisecond)}, false},
		{"1", "0", 0, store.Grant{OpenID: "u", TemplateID: "t", Remaining: 1, ExpiresAt: now}, false},
		{"-1", "0", -1, store.Grant{}, true},
		{"", "0", -1, store.Grant{}, true},
		{"1.5", "0", -1, store.Grant{}, true},
		{"1", "", -1, store.Grant{}, true},
		{"1", "true", -1, store.Grant{}, true},
		{"1", "0", -2, store.Grant{}, true},
		{"1", "0", math.MaxInt64, store.Grant{OpenID: "u", TemplateID: "t", Remaining: 1,
			ExpiresAt: now.Add(time.Duration(maxTTLms) * time.Millisecond)}, false},
	}
	for _, tc := range tests {
		got, err := decodeRecord("u", "t", tc.n, tc.lt, tc.pttl, now)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("decodeRecord(%q, %q, %d) = %+v, %v; want %+v, error %v",
				tc.n, tc.lt, tc.pttl, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, errCorrupt) {
			t.Errorf("decodeRecord(%q, %q, %d) error %v does not wrap errCorrupt", tc.n, tc.lt, tc.pttl, err)
		}
	}
}

func TestDecodeList(t *testing.T) {
	now := time.Unix(1714037059, 0)
	got, err := decodeList("u", []any{"a", "2", "0", int64(-1), "b", "0", "1", int64(1000)}, now)
	want := []store.Grant{
		{OpenID: "u", TemplateID: "a", Remaining: 2},
		{OpenID: "u", TemplateID: "b", LongTerm: true, ExpiresAt: now.Add(time.Second)},
	}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("decodeList = %+v, %v; want %+v", got, err, want)
	}
	if got, err := decodeList("u", []any{}, now); err != nil || got != nil {
		t.Fatalf("decodeList(empty) = %+v, %v; want nil, nil", got, err)
	}
	for _, bad := range []any{
		nil, "x", int64(0),
		[]any{"a", "2", "0"},
		[]any{"a", "2", "0", "-1"},
		[]any{int64(1), "2", "0", int64(-1)},
		[]any{"a", "x", "0", int64(-1)},
	} {
		if _, err := decodeList("u", bad, now); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeList(%#v): err = %v, want errCorrupt", bad, err)
		}
	}
}

func TestTokenEncoding(t *testing.T) {
	tests := []struct {
		in      string
		want    store.Token
		wantErr bool
	}{
		{"4102444800000:ACCESS_TOKEN", store.Token{AccessToken: "ACCESS_TOKEN", ExpiresAt: time.UnixMilli(4102444800000)}, false},
		{"1:a:b", store.Token{AccessToken: "a:b", ExpiresAt: time.UnixMilli(1)}, false},
		{"-5:x", store.Token{AccessToken: "x", ExpiresAt: time.UnixMilli(-5)}, false},
		{"", store.Token{}, true},
		{"123", store.Token{}, true},
		{"123:", store.Token{}, true},
		{":tok", store.Token{}, true},
		{"12x:tok", store.Token{}, true},
		{"99999999999999999999:tok", store.Token{}, true},
	}
	for _, tc := range tests {
		got, err := decodeToken(tc.in)
		if (err != nil) != tc.wantErr || got.AccessToken != tc.want.AccessToken || !got.ExpiresAt.Equal(tc.want.ExpiresAt) {
			t.Errorf("decodeToken(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	tok := store.Token{AccessToken: "abc:def", ExpiresAt: time.UnixMilli(1714037059123)}
	if got, err := decodeToken(encodeToken(tok)); err != nil || got.AccessToken != tok.AccessToken || !got.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("decodeToken(encodeToken(%+v)) = %+v, %v", tok, got, err)
	}
}

func TestMillis(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int64
	}{
		{0, 0},
		{time.Nanosecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{150 * time.Millisecond, 150},
		{time.Hour, 3600000},
		{math.MaxInt64, math.MaxInt64/int64(time.Millisecond) + 1},
	}
	for _, tc := range tests {
		if got := millis(tc.in); got != tc.want {
			t.Errorf("millis(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestHashTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"oUser", "oUser"},
		{"a}:x", "a%7D:x"},
		{"{a", "%7Ba"},
		{"50%", "50%25"},
		{"%7D", "%257D"},
	}
	for _, tc := range tests {
		if got := hashTag(tc.in); got != tc.want {
			t.Errorf("hashTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDecodeToken checks that any stored token value decodes without
// panicking, and that every token encodes and decodes to itself.
func FuzzDecodeToken(f *testing.F) {
	f.Add("4102444800000:ACCESS_TOKEN")
	f.Add("")
	f.Add(":")
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := decodeToken(v)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("decodeToken(%q) error %v does not wrap errCorrupt", v, err)
			}
			return
		}
		if tok.AccessToken == "" {
			t.Fatalf("decodeToken(%q) returned an empty token without an error", v)
		}
		again, err := decodeToken(encodeToken(tok))
		if err != nil || again.AccessToken != tok.AccessToken || !again.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Fatalf("round trip of %+v = %+v, %v", tok, again, err)
		}
	})
}

// FuzzDecodeRecord checks that any stored record fields decode without
// panicking into either an error or a grant with a valid count.
func FuzzDecodeRecord(f *testing.F) {
	f.Add("3", "0", int64(-1))
	f.Add("0", "1", int64(1500))
	f.Add("x", "2", int64(-2))
	now := time.Unix(1714037059, 0)
	f.Fuzz(func(t *testing.T, n, lt string, pttl int64) {
		g, err := decodeRecord("u", "t", n, lt, pttl, now)
		if err != nil {
			if !errors.Is(err, errCorrupt) || g != (store.Grant{}) {
				t.Fatalf("decodeRecord(%q, %q, %d) = %+v, %v", n, lt, pttl, g, err)
			}
			return
		}
		if g.Remaining < 0 || (pttl == -1) != g.ExpiresAt.IsZero() || g.ExpiresAt.Before(now) && !g.ExpiresAt.IsZero() {
			t.Fatalf("decodeRecord(%q, %q, %d) = %+v", n, lt, pttl, g)
		}
	})
}
