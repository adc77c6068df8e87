package bodyread

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAtMost(t *testing.T) {
	tests := []struct {
		in    string
		limit int64
		want  string
	}{
		{"", 10, ""},
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{strings.Repeat("x", 10000), 9000, strings.Repeat("x", 9000)},
	}
	for _, tt := range tests {
		for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
			got, err := ReadAtMost(r, make([]byte, 0, 4), tt.limit)
			if err != nil || string(got) != tt.want {
				t.Errorf("ReadAtMost(%d bytes, %d) = %d bytes, %v; want %d bytes", len(tt.in), tt.limit, len(got), err, len(tt.want))
			}
		}
	}
	boom := errors.New("boom")
	if _, err := ReadAtMost(iotest.ErrReader(boom), nil, 10); !errors.Is(err, boom) {
		t.Errorf("read error = %v, want boom", err)
	}
}
