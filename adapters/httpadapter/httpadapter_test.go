package httpadapter

import (
	"bytes"
	"context"
	"errors"
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
