package middleware

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want query
		ok   bool
	}{
		{"", query{}, true},
		{"signature=abc&timestamp=1&nonce=2&echostr=3&encrypt_type=aes&msg_signature=def&openid=o",
			query{"abc", "1", "2", "3", "aes", "def"}, true},
		{"echostr=a%2Bb%20c+d", query{echostr: "a+b c d"}, true},
		{"sig%6eature=x&%74imestamp=7", query{signature: "x", timestamp: "7"}, true},
		{"nonce=1&nonce=2", query{nonce: "1"}, true},
		{"nonce&timestamp=", query{}, true},
		{"&&nonce=5&&", query{nonce: "5"}, true},
		{"nonce=a=b", query{nonce: "a=b"}, true},
		{"nonce=%zz", query{}, false},
		{"other=%zz&nonce=1", query{nonce: "1"}, true},
		{"%zz=1&nonce=1", query{nonce: "1"}, true},
		{"timestamp=1;nonce=2", query{timestamp: "1;nonce=2"}, true},
		{"echostr=%E4%BD%A0", query{echostr: "你"}, true},
		{"timestamp=1&nonce=2#frag&signature=x", query{timestamp: "1", nonce: "2"}, true},
		{"nonce=%23#%zz", query{nonce: "#"}, true},
	}
	for _, tt := range tests {
		got, ok := parseQuery(tt.raw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseQuery(%q) = %+v, %v; want %+v, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseQueryAllocs(t *testing.T) {
	raw := "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&timestamp=1714036504&nonce=1514711492&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	if n := testing.AllocsPerRun(100, func() { _, _ = parseQuery(raw) }); n != 0 {
		t.Errorf("parseQuery allocates %v times, want 0", n)
	}
}

// FuzzParseQuery checks parseQuery against net/url: wherever
// url.ParseQuery accepts a query, both read the same values. The query
// ends at a '#' (see parseQuery), which url.ParseQuery, given a query
// already split from its URL, does not know: it is given what comes
// before.
func FuzzParseQuery(f *testing.F) {
	f.Add("signature=f464b24fc39322e44b38aa78f5edd27bd1441696&timestamp=1714036504&nonce=1514711492&echostr=4375120948345356249")
	f.Add("timestamp=1&nonce=2&encrypt_type=aes&msg_signature=abc&openid=o%2Bx")
	f.Add("sig%6eature=x&nonce=a+b&nonce=c")
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := parseQuery(raw)
		beforeFragment, _, _ := strings.Cut(raw, "#")
		vals, err := url.ParseQuery(beforeFragment)
		if err != nil {
			return
		}
		if !ok {
			t.Fatalf("parseQuery(%q) failed where url.ParseQuery succeeds", raw)
		}
		want := query{
			signature: vals.Get("signature"), timestamp: vals.Get("timestamp"), nonce: vals.Get("nonce"),
			echostr: vals.Get("echostr"), encryptType: vals.Get("encrypt_type"), msgSignature: vals.Get("msg_signature"),
		}
		if got != want {
			t.Fatalf("parseQuery(%q) = %+v, url.ParseQuery reads %+v", raw, got, want)
		}
	})
}

// BenchmarkParseQuery reads the query of a plaintext push, against
// net/url's parser reading the same parameters.
func BenchmarkParseQuery(b *testing.B) {
	raw := "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&timestamp=1714036504&nonce=1514711492&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if q, ok := parseQuery(raw); !ok || q.nonce != "1514711492" {
				b.Fatal(q, ok)
			}
		}
	})
	b.Run("net_url", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := url.ParseQuery(raw)
			if err != nil || v.Get("nonce") != "1514711492" || v.Get("signature") == "" || v.Get("timestamp") == "" {
				b.Fatal(v, err)
			}
		}
	})
}
