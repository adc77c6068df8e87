package httpadapter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/wxsub/wxsub/internal/adaptertest"
	"github.com/wxsub/wxsub/middleware"
)

func TestSharedTable(t *testing.T) {
	mux := http.NewServeMux()
	for path, e := range adaptertest.NewRoutes(t) {
		mux.Handle(path, New(e))
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	adaptertest.Run(t, srv.URL)
}

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
			got, err := readAtMost(r, make([]byte, 0, 4), tt.limit)
			if err != nil || string(got) != tt.want {
				t.Errorf("readAtMost(%d bytes, %d) = %d bytes, %v; want %d bytes", len(tt.in), tt.limit, len(got), err, len(tt.want))
			}
		}
	}
	boom := errors.New("boom")
	if _, err := readAtMost(iotest.ErrReader(boom), nil, 10); !errors.Is(err, boom) {
		t.Errorf("read error = %v, want boom", err)
	}
}

func TestBodyReadError(t *testing.T) {
	e, err := middleware.New(middleware.Config{Token: adaptertest.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	req := httptest.NewRequest("POST", "/?"+adaptertest.SignedQuery(adaptertest.Now, "1"), iotest.ErrReader(errors.New("reset")))
	rec := httptest.NewRecorder()
	New(e).ServeHTTP(rec, req)
	if rec.Code != 400 || strings.TrimSpace(rec.Body.String()) != "cannot read body" {
		t.Errorf("got %d %q, want 400 cannot read body", rec.Code, rec.Body)
	}
}

// TestBodyBufferNotRetained checks that a hook never sees a pooled buffer
// change under it: the Endpoint copies what it keeps.
func TestBodyBufferNotRetained(t *testing.T) {
	routes := adaptertest.NewRoutes(t)
	h := New(routes[adaptertest.PathPlain])
	for i := range 3 {
		body := adaptertest.PopupXML(adaptertest.Now - int64(i))
		req := httptest.NewRequest("POST", "/?"+adaptertest.SignedQuery(adaptertest.Now, "1"), bytes.NewReader([]byte(body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != "success" {
			t.Fatalf("push %d: %d %q", i, rec.Code, rec.Body)
		}
	}
}
