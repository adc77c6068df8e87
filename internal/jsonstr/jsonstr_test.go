package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendCodecCases(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"\u2028x\u2029", `"\u2028x\u2029"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"你好", `"你好"`},
		{"<&>", `"<&>"`},
	}
	for _, tt := range tests {
		if got := string(Append(nil, tt.in)); got != tt.want {
			t.Errorf("Append(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendSenderCases(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"a\nb\rc\td", `"a\nb\rc\td"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"中文¥", `"中文¥"`},
		{"<&>", `"<&>"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
	} {
		if got := string(Append(nil, tc.in)); got != tc.want {
			t.Errorf("Append(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzAppend checks the encoder against encoding/json: the output is
// valid JSON that decodes to the input (with invalid UTF-8 replaced).
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00\n", "中文", "\u2028", "\xff\xfe", "ok\xe4\xb8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := Append(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Append(%q) = %s: invalid JSON: %v", s, b, err)
		}
		// Each invalid byte becomes one U+FFFD, as ranging over s yields.
		var want strings.Builder
		for _, r := range s {
			want.WriteRune(r)
		}
		if got != want.String() {
			t.Fatalf("round trip of %q gave %q, want %q", s, got, want.String())
		}
	})
}
